# troupe run: starts, runs until a signal, stops cleanly and quickly; troupe check describes the app.
source "$(dirname "$0")/lib.sh"

out=$(timeout 20 "$BIN/troupe" check "$SRC/examples/slow-config.toml")
[[ "$out" == *"config: config_supervisor driver=\"mylib\""* ]] && pass "check lists placements" || fail "check output: $out"

write_app "$WORK/app.toml" '["30s", "30s"]' '100ms'
for sig in TERM INT; do
  "$BIN/troupe" run "$WORK/app.toml" 2> "$WORK/run.err" &
  pid=$!
  for _ in $(seq 100); do grep -q running "$WORK/run.err" && break; sleep 0.05; done
  grep -q "running (pid $pid)" "$WORK/run.err" && pass "run reports its pid" || fail "run did not start: $(cat "$WORK/run.err")"
  t0=$(now_ms)
  kill -s "$sig" "$pid"
  set +e; wait "$pid"; rc=$?; set -e
  check "SIG$sig: exit code" 0 "$rc"
  (( $(now_ms) - t0 < 5000 )) && pass "SIG$sig: stopped in $(( $(now_ms) - t0 )) ms" || fail "SIG$sig: slow stop"
done
grep -q "node main stopped" "$WORK/logs/main.log" && pass "clean stop logged" || fail "no clean stop in log"

# Several launchable nodes: one process each, all stopped by one signal; a node that dies stops
# the app (until node supervision exists).
cat > "$WORK/three.toml" <<TOML
[app]
name = "three-$$"
log_dir = "$WORK/logs"
[nodes.a]
listen = "ipc://$WORK/a.sock"
[nodes.b]
listen = "ipc://$WORK/b.sock"
[nodes.c]
[[actors]]
name = "mylib"
type = "mylib_driver"
node = "a"
[[actors]]
name = "config"
type = "config_supervisor"
node = "b"
params = { driver = "mylib" }
TOML
for mode in term kill9; do
  "$BIN/troupe" run "$WORK/three.toml" 2> "$WORK/launch.err" &
  pid=$!
  for _ in $(seq 200); do grep -q "running with 3 nodes" "$WORK/logs/launcher.log" 2>/dev/null && break; sleep 0.05; done
  nodes=$(pgrep -P "$pid" -f -- "--node [abc]$" | wc -l || true)
  check "$mode: three node processes" 3 "$nodes"
  out=$(timeout 10 "$BIN/troupe" call "$WORK/three.toml" config calc 1 2>&1 || true)
  check "$mode: call through node b to the driver on node a" "ERROR-free: error: not_initialized: calc before init" "ERROR-free: $out"
  if [[ $mode == term ]]; then
    kill -TERM "$pid"
    want=0
  else
    kill -9 "$(pgrep -P "$pid" -f -- "--node a$")"
    want=1
  fi
  set +e; timeout 20 tail --pid="$pid" -f /dev/null; wait "$pid"; rc=$?; set -e
  check "$mode: launcher exit code" "$want" "$rc"
  check "$mode: no node process left" 0 "$(pgrep -f -- "$WORK/three.toml" | wc -l || true)"
  rm -f "$WORK/logs/launcher.log"
done
[[ ! -e "$WORK/a.sock" && ! -e "$WORK/b.sock" ]] && pass "no ipc socket file left" || fail "ipc socket files left: $(ls "$WORK")"

finish
