# troupe inspect: a running actor's state as JSON, taken between two of its messages; and the web
# view of a one-node app run in-process.
source "$(dirname "$0")/lib.sh"
APP=$WORK/app.toml
cat > "$APP" <<TOML
[app]
name = "obs-inspect-$$"
log_dir = "$WORK/logs"
[launcher]
web = "127.0.0.1:7499"
[nodes.main]
listen = "ipc://$WORK/main.sock"
[[actors]]
name = "mylib"
type = "mylib_driver"
params = { read_config = ["0s", "0s"] }
[[actors]]
name = "config"
type = "config_supervisor"
params = { driver = "mylib", idle_before_reload = "0s" }
[[actors]]
name = "e"
type = "echo"
[[actors]]
name = "w"
type = "watcher"
params = { target = "e" }
TOML
"$BIN/troupe" run "$APP" 2> "$WORK/run.err" &
for _ in $(seq 200); do grep -q "running (pid" "$WORK/run.err" && break; sleep 0.05; done
field() { # field JSON KEY: prints the value of KEY (JSON-encoded)
  /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])[sys.argv[2]]))' "$1" "$2"
}
state=$("$BIN/troupe" inspect "$APP" config)
check "config state type" '"config_supervisor_state"' "$(field "$state" type)"
check "not initialized yet" false "$(field "$state" initialized)"
check "idle_before_reload" '"0s"' "$(field "$state" idle_before_reload)"
[[ "$(field "$state" driver)" =~ ^\"actor\ [0-9]+\"$ ]] && pass "driver handle shown" || fail "driver: $state"
check "no driver failure" null "$(field "$state" driver_down)"
check "init" ok "$("$BIN/troupe" call "$APP" config init)"
check "calc" 6 "$("$BIN/troupe" call "$APP" config calc 5)"
check "reload" ok "$("$BIN/troupe" call "$APP" config reload)"
sleep 0.3
state=$("$BIN/troupe" inspect "$APP" config)
check "initialized after init" true "$(field "$state" initialized)"
check "one reload counted" 1 "$(field "$state" reloads)"
check "driver initialized" '{"type": "mylib_driver_state", "initialized": true}' \
  "$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])))' "$("$BIN/troupe" inspect "$APP" mylib)")"
check "watcher saw nothing yet" '[]' "$(field "$("$BIN/troupe" inspect "$APP" w)" events)"
# Inspecting is not a handled message: the handled counter of config does not move.
handled() { "$BIN/troupe" ps "$APP" | grep -E '^  config ' | grep -Eo 'handled [0-9]+'; }
before=$(handled)
for _ in 1 2 3; do "$BIN/troupe" inspect "$APP" config > /dev/null; done
check "inspect does not count as handled" "$before" "$(handled)"
out=$("$BIN/troupe" inspect "$APP" e 2>&1) && rc=0 || rc=$?
[[ $rc == 1 && "$out" == *"no state to inspect"* ]] && pass "a stateless actor says so" || fail "e: $rc $out"
out=$("$BIN/troupe" inspect "$APP" nope 2>&1) && rc=0 || rc=$?
[[ $rc == 1 && "$out" == error:* ]] && pass "an unknown name is an error" || fail "nope: $rc $out"
# A one-node app run in-process serves the web view too.
st=$(curl -s --max-time 5 http://127.0.0.1:7499/api/status)
check "one-node app: web API reports the node" '["main", "running", "config"]' \
  "$(/usr/bin/python3 -c 'import json,sys; n=json.loads(sys.argv[1])["nodes"][0]; print(json.dumps([n["node"], n["state"], [a["name"] for a in n["report"]["actors"]][1]]))' "$st")"
page=$(curl -s --max-time 5 http://127.0.0.1:7499/ || true)
[[ "$page" == *"<title>troupe</title>"* ]] && pass "one-node app: page served" || fail "no page"
"$BIN/troupe" stop "$APP" > /dev/null
finish
