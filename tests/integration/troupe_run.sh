# troupe run: starts, runs until a signal, stops cleanly and quickly; troupe check describes the app.
source "$(dirname "$0")/lib.sh"

out=$(timeout 20 "$BIN/troupe" check "$SRC/examples/slow-config.toml")
[[ "$out" == *"config: config_supervisor driver=\"mylib\""* ]] && pass "check lists placements" || fail "check output: $out"

write_app "$WORK/app.toml" '["30s", "30s"]' '100ms'
# A one-node app runs its node as a child process of the launcher (restarted when it crashes);
# --inline runs it in the troupe process itself.
for sig in TERM INT INLINE; do
  if [[ $sig == INLINE ]]; then
    "$BIN/troupe" run --inline "$WORK/app.toml" 2> "$WORK/run.err" &
    pid=$!
    sig=TERM
    node_of() { echo "$pid"; }
  else
    "$BIN/troupe" run "$WORK/app.toml" 2> "$WORK/run.err" &
    pid=$!
    node_of() { pgrep -P "$pid" -f -- "--node main$" || true; }
  fi
  for _ in $(seq 100); do grep -q "running (pid" "$WORK/run.err" && break; sleep 0.05; done
  node_pid=$(node_of)
  [[ -n "$node_pid" ]] && grep -q "running (pid $node_pid)" "$WORK/run.err" && pass "run reports the node's pid" || fail "run did not start: $(cat "$WORK/run.err")"
  t0=$(now_ms)
  kill -s "$sig" "$pid"
  set +e; wait "$pid"; rc=$?; set -e
  check "SIG$sig: exit code" 0 "$rc"
  (( $(now_ms) - t0 < 5000 )) && pass "SIG$sig: stopped in $(( $(now_ms) - t0 )) ms" || fail "SIG$sig: slow stop"
done
grep -q "node main stopped" "$WORK/logs/main.log" && pass "clean stop logged" || fail "no clean stop in log"

# The node of a one-node app killed with -9 (a crash in a vendor library) is restarted.
"$BIN/troupe" run "$WORK/app.toml" 2> "$WORK/run.err" &
pid=$!
for _ in $(seq 100); do grep -q "running (pid" "$WORK/run.err" && break; sleep 0.05; done
first=$(pgrep -P "$pid" -f -- "--node main$" || true)
kill -9 "$first"
second=""
for _ in $(seq 100); do
  second=$(pgrep -P "$pid" -f -- "--node main$" || true)
  [[ -n "$second" && "$second" != "$first" ]] && break
  sleep 0.05
done
[[ -n "$second" && "$second" != "$first" ]] && pass "one-node app: crashed node restarted" || fail "one-node app: no restart ($first, $second)"
kill -TERM "$pid"; set +e; wait "$pid"; rc=$?; set -e
check "one-node app: exit code after the restart" 0 "$rc"

# Several launchable nodes: one process each; troupe ps shows them; a node killed with -9 is
# restarted and its names work again; more restarts than the intensity allows stop the app;
# troupe stop (or SIGTERM) ends everything, leaving no process, no socket file and no shm segment
# (nodes a and c listen on ipc, node b on shared memory).
cat > "$WORK/three.toml" <<TOML
[app]
name = "three-$$"
log_dir = "$WORK/logs"
[launcher]
max_restarts = 2
within = "60s"
[nodes.a]
listen = "ipc://$WORK/a.sock"
[nodes.b]
listen = "shm"
[nodes.c]
listen = "ipc://$WORK/c.sock"
[[actors]]
name = "echo"
type = "echo"
node = "a"
[[actors]]
name = "mylib"
type = "mylib_driver"
node = "a"
[[actors]]
name = "config"
type = "config_supervisor"
node = "b"
params = { driver = "mylib" }
[[actors]]
name = "watcher"
type = "watcher"
node = "c"
params = { target = "echo" }
TOML
APP3=$WORK/three.toml
wait_for_log() { # PATTERN FILE
  for _ in $(seq 200); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
node_pid() { pgrep -P "$1" -f -- "--node $2\$" || true; }

"$BIN/troupe" run "$APP3" 2> "$WORK/launch.err" &
pid=$!
wait_for_log "running with 3 nodes" "$WORK/logs/launcher.log" && pass "three nodes started" || fail "launch: $(cat "$WORK/launch.err")"
shm_left() { ls /dev/shm | grep -F "three-$$" || true; }
[[ -n "$(shm_left)" ]] && pass "node b's shm segments exist while it runs" || fail "no shm segment for node b"
check "three node processes" 3 "$(pgrep -P "$pid" -f -- "--node [abc]$" | wc -l || true)"
check "call through node b to the driver on node a" "error: not_initialized: calc before init" \
  "$(timeout 10 "$BIN/troupe" call "$APP3" config calc 1 2>&1 || true)"
ps_out=$(timeout 20 "$BIN/troupe" ps "$APP3")
[[ "$ps_out" == *"node a  pid $(node_pid "$pid" a)  restarts 0  running"* ]] && pass "ps shows node a" || fail "ps: $ps_out"
[[ "$ps_out" == *"watcher  watcher  running"* ]] && pass "ps shows actor states" || fail "ps: $ps_out"
json=$(timeout 20 "$BIN/troupe" ps "$APP3" --json)
echo "$json" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert [n["node"] for n in d["nodes"]]==["a","b","c"]; assert d["nodes"][0]["report"]["actors"][0]["name"]=="echo"' \
  && pass "ps --json parses" || fail "ps --json: $json"

old=$(node_pid "$pid" a)
t0=$(now_ms)
kill -9 "$old"
back=""
while (( $(now_ms) - t0 < 5000 )); do
  out=$(timeout 5 "$BIN/troupe" call "$APP3" echo 1 2>&1 || true)
  [[ "$out" == 1 ]] && { back=yes; break; }
  sleep 0.1
done
took=$(( $(now_ms) - t0 ))
[[ -n "$back" ]] && pass "killed node answers again after ${took} ms" || fail "node a not back: $out"
(( took < 2000 )) && pass "back within 2 s" || fail "took ${took} ms"
ps_out=$(timeout 20 "$BIN/troupe" ps "$APP3")
[[ "$ps_out" == *"node a  pid $(node_pid "$pid" a)  restarts 1  running"* ]] && pass "ps shows the restart" || fail "ps: $ps_out"
wait_for_log "node c .*\|watcher" /dev/null || true
check "the watcher on node c saw the old echo go down" "down: remote_link_unreachable" \
  "$(timeout 10 "$BIN/troupe" call "$APP3" watcher status 2>&1 || true)"

set +e; out=$(timeout 40 "$BIN/troupe" stop "$APP3"); rc=$?; set -e
check "troupe stop exit code" 0 "$rc"
[[ "$out" == "stopped app three-$$ (pid $pid)" ]] && pass "troupe stop reports" || fail "stop: $out"
set +e; wait "$pid"; rc=$?; set -e
check "launcher exit code after troupe stop" 0 "$rc"
check "no node process left" 0 "$(pgrep -f -- "$APP3" | wc -l || true)"
[[ -z "$(ls "$WORK"/*.sock 2>/dev/null)" ]] && pass "no ipc socket file left" || fail "socket files left: $(ls "$WORK")"
[[ -z "$(shm_left)" ]] && pass "no shm segment left" || fail "shm segments left: $(shm_left)"
set +e; timeout 20 "$BIN/troupe" stop "$APP3" 2>/dev/null; rc=$?; set -e
check "troupe stop of a stopped app fails" 1 "$rc"

# Exceeding the restart intensity stops the whole app with a clear log line.
rm -f "$WORK/logs/launcher.log"
"$BIN/troupe" run "$APP3" 2>> "$WORK/launch.err" &
pid=$!
wait_for_log "running with 3 nodes" "$WORK/logs/launcher.log" || fail "relaunch"
for i in 1 2 3; do
  victim=""
  for _ in $(seq 100); do victim=$(node_pid "$pid" b); [[ -n "$victim" ]] && break; sleep 0.05; done
  [[ -n "$victim" ]] && kill -9 "$victim"
  [[ $i -lt 3 ]] && wait_for_log "restart $i)" "$WORK/logs/launcher.log"
done
set +e; timeout 20 tail --pid="$pid" -f /dev/null; wait "$pid"; rc=$?; set -e
check "launcher exit code after too many restarts" 1 "$rc"
grep -q "restart intensity exceeded (2 restarts within 1min): stopping the app" "$WORK/logs/launcher.log" \
  && pass "intensity log line" || fail "log: $(tail -3 "$WORK/logs/launcher.log")"
check "no node process left after escalation" 0 "$(pgrep -f -- "$APP3" | wc -l || true)"
[[ -z "$(shm_left)" ]] && pass "no shm segment left after escalation (node b was killed last)" \
  || fail "shm segments left: $(shm_left)"
[[ -z "$(ls "$WORK"/*.sock 2>/dev/null)" ]] && pass "no ipc socket file left after escalation" \
  || fail "socket files left: $(ls "$WORK")"

finish
