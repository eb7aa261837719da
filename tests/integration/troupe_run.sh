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

printf '[app]\nname = "x"\n[nodes.a]\n[nodes.b]\n' > "$WORK/two.toml"
set +e; err=$(timeout 20 "$BIN/troupe" run "$WORK/two.toml" 2>&1); rc=$?; set -e
check "two launchable nodes without --node" 2 "$rc"
[[ "$err" == *"pass --node NAME"* ]] && pass "explains --node" || fail "message: $err"

finish
