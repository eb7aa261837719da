# troupe call: a call to an app that is not running fails at once and says so; an unknown name is
# reported against the app, not the temporary node; floats and booleans on the command line;
# troupe ps shows the pid of a node started by hand; troupe check prints supervisors and binds.
source "$(dirname "$0")/lib.sh"

cat > "$WORK/app.toml" <<TOML
[app]
name = "sdk-call-$$"
log_dir = "$WORK/logs"
[nodes.a]
listen = "ipc://$WORK/a.sock"
[nodes.b]
listen = "tcp://127.0.0.1:7431"
bind = "127.0.0.1"
[nodes.c]
listen = "shm"
[[actors]]
name = "echo"
type = "echo"
node = "a"
[[actors]]
name = "echo2"
type = "echo"
node = "b"
[[actors]]
name = "echo3"
type = "echo"
node = "c"
[[supervisors]]
name = "top"
node = "a"
children = ["echo"]
TOML
APP=$WORK/app.toml

out=$(timeout 10 "$BIN/troupe" check "$APP" 2>&1)
[[ "$out" == *"supervisor top: one_for_one, max 3 restarts in 5s, children echo"* ]] \
  && pass "check prints supervisors" || fail "check: $out"
[[ "$out" == *"listening at tcp://127.0.0.1:7431 (bound to 127.0.0.1)"* ]] \
  && pass "check prints the bind address" || fail "check: $out"

for target in echo echo2 echo3; do
  t0=$(now_ms)
  set +e; out=$(timeout 10 "$BIN/troupe" call "$APP" $target 1 2>&1); rc=$?; set -e
  took=$(( $(now_ms) - t0 ))
  [[ $rc -eq 1 && "$out" == "error: peer_lost: app sdk-call-$$ is not running (node "*", which hosts $target, does not answer at "* ]] \
    && pass "call $target of a stopped app: $out" || fail "call $target of a stopped app (rc $rc): $out"
  (( took < 1000 )) && pass "... in $took ms" || fail "... took $took ms"
done
# A live troupe run recorded for the app (here: this shell) while a node does not answer: the
# message says the node may be restarting rather than that the app is not running.
mkdir -p "$WORK/logs"
printf 'pid %d\nnode a 0 1 restarting \n' $$ > "$WORK/logs/sdk-call-$$.run"
set +e; out=$(timeout 10 "$BIN/troupe" call "$APP" echo 1 2>&1); set -e
[[ "$out" == *"node a of app sdk-call-$$ (which hosts echo) does not answer at ipc://"*"troupe run (pid $$) is running, so the node may be restarting"* ]] \
  && pass "a node down while the app runs: $out" || fail "node down while the app runs: $out"
rm "$WORK/logs/sdk-call-$$.run"
set +e; out=$(timeout 10 "$BIN/troupe" call "$APP" nobody 1 2>&1); rc=$?; set -e
check "unknown name names the app" "error: not_found: app sdk-call-$$ has no actor named nobody (names: echo, echo2, echo3, top)" "$out"

# Node a by hand, node b by hand: no run file, so ps takes their pids from their reports.
"$BIN/troupe" run "$APP" --node a 2> "$WORK/a.err" &
pa=$!
"$BIN/troupe" run "$APP" --node b 2> "$WORK/b.err" &
pb=$!
"$BIN/troupe" run "$APP" --node c 2> "$WORK/c.err" &
pc=$!
for _ in $(seq 200); do
  grep -q running "$WORK/a.err" 2>/dev/null && grep -q running "$WORK/b.err" 2>/dev/null \
    && grep -q running "$WORK/c.err" 2>/dev/null && break
  sleep 0.05
done
check "through node c (shm)" 'true 3' "$(timeout 10 "$BIN/troupe" call "$APP" echo3 true 3 2>&1)"
check "floats, booleans, integers, strings, atoms" '1.5 true false -2 2000 x y' \
  "$(timeout 10 "$BIN/troupe" call "$APP" echo 1.5 true false -2 2e3 '"x"' y 2>&1)"
check "through node b" '-0.25' "$(timeout 10 "$BIN/troupe" call "$APP" echo2 -0.25 2>&1)"
set +e; out=$(timeout 10 "$BIN/troupe" call "$APP" echo 1.5x 2>&1); rc=$?; set -e
check "bad number" "2 error: bad_request: not a number: 1.5x" "$rc $out"
json=$(timeout 10 "$BIN/troupe" ps "$APP" --json 2>&1)
pids=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(str(n["pid"]) for n in json.load(sys.stdin)["nodes"]))' <<< "$json" 2>/dev/null || echo "bad json: $json")
check "ps --json has the pids of hand-started nodes" "$pa $pb $pc" "$pids"
out=$(timeout 10 "$BIN/troupe" ps "$APP" 2>&1)
[[ "$out" == *"node a  pid $pa "* && "$out" == *"node b  pid $pb "* ]] && pass "ps shows them" || fail "ps: $out"
kill $pa $pb $pc
wait $pa $pb $pc || true
finish
