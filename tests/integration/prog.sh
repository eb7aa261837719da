# prog end to end: exact output, CALC-FAIL during a reload, idle reloads, bad commands.
source "$(dirname "$0")/lib.sh"

# The README's example, verbatim.
out=$(printf 'init\ncalc 5\nquit\n' | timeout 20 "$BIN/prog" "$SRC/examples/slow-config.toml")
check "init, calc 5 prints OK then 6" $'OK\n6' "$out"

# Bad commands and calls before init each give one ERROR line and prog keeps going.
write_app "$WORK/fast.toml" '["0s", "0s"]' '0s'
out=$(printf 'calc 1\nbogus\ncalc\ncalc x\ncalc 99999999999\ninit\ninit\ncalc -4\nreload\nuninit\ncalc 1\n' \
  | timeout 20 "$BIN/prog" "$WORK/fast.toml")
mapfile -t lines <<< "$out"
check "eleven commands, eleven lines" 11 "${#lines[@]}"
check "calc before init" "ERROR: not_initialized: calc before init" "${lines[0]}"
[[ "${lines[1]}" == "ERROR: unknown command 'bogus'"* ]] && pass "unknown command" || fail "unknown command: ${lines[1]}"
check "calc without argument" "ERROR: calc takes one integer argument, e.g. calc 5" "${lines[2]}"
check "calc with a word" "ERROR: not a 32-bit integer: x" "${lines[3]}"
check "calc out of range" "ERROR: not a 32-bit integer: 99999999999" "${lines[4]}"
check "init" "OK" "${lines[5]}"
check "init twice" "OK" "${lines[6]}"
check "calc negative" "-3" "${lines[7]}"
check "reload" "OK" "${lines[8]}"
check "uninit" "OK" "${lines[9]}"
check "calc after uninit" "ERROR: not_initialized: calc before init" "${lines[10]}"

# A 3 s reload: calc during it fails fast, calc after it works.
write_app "$WORK/slow.toml" '["3s", "3s"]' '0s'
coproc PROG { timeout 60 "$BIN/prog" "$WORK/slow.toml"; }
ask() { echo "$1" >&"${PROG[1]}"; read -r -t 10 reply <&"${PROG[0]}" || reply="<no answer>"; }
ask init; check "init (slow app)" OK "$reply"
ask reload; check "reload starts" OK "$reply"
reload_start=$(now_ms)
t0=$(now_ms); ask "calc 5"; t1=$(now_ms)
check "calc during reload" CALC-FAIL "$reply"
if (( t1 - t0 < 250 )); then pass "CALC-FAIL came in $((t1 - t0)) ms"; else fail "CALC-FAIL took $((t1 - t0)) ms"; fi
result=CALC-FAIL
while [[ "$result" == CALC-FAIL ]] && (( $(now_ms) - reload_start < 15000 )); do
  sleep 0.1; ask "calc 5"; result=$reply
done
done_after=$(( $(now_ms) - reload_start ))
check "calc after reload" 6 "$result"
if (( done_after >= 2500 )); then pass "reload lasted ~3 s (${done_after} ms)"; else fail "reload ended after ${done_after} ms"; fi
ask uninit; check "uninit" OK "$reply"
echo quit >&"${PROG[1]}"
wait "$PROG_PID"; check "prog exit code" 0 "$?"

# An idle period starts a reload by itself.
write_app "$WORK/idle.toml" '["2s", "2s"]' '500ms'
coproc PROG { timeout 60 "$BIN/prog" "$WORK/idle.toml"; }
ask init; check "init (idle app)" OK "$reply"
ask "calc 1"; check "calc before idle" 2 "$reply"
sleep 1
ask "calc 1"; check "calc after idle period hits the idle reload" CALC-FAIL "$reply"
echo quit >&"${PROG[1]}"
wait "$PROG_PID"; check "prog exit code (idle app, quit during reload)" 0 "$?"
grep -q "config_supervisor: reload started" "$WORK/logs/main.log" && pass "reload logged" || fail "no reload in log"

finish
