#!/usr/bin/env bash
# The demo command: install what is missing, build, and run the slow-config app with a scripted
# user session that shows calc results and a CALC-FAIL during a configuration reload.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh troupe_app prog_app
bin=${TROUPE_BUILD_DIR:-build}/bin
app=examples/slow-config-demo.toml

echo
echo "== troupe check $app"
"$bin/troupe" check "$app"
echo
echo "== troupe run $app  (starts node backend: the mylib driver and the config supervisor)"
"$bin/troupe" run "$app" 2> logs-demo-run.err &
run_pid=$!
trap '"$bin/troupe" stop "$app" >/dev/null 2>&1 || kill "$run_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q running logs-demo-run.err 2>/dev/null && break; sleep 0.1; done
"$bin/troupe" ps "$app"
echo
echo "== prog $app  (node frontend; user commands on the left, prog's answers on the right)"
coproc PROG { "$bin/prog" "$app"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
say() {
  local t0 t1 reply
  t0=$(ms)
  echo "$1" >&"${PROG[1]}"
  read -r -t 10 reply <&"${PROG[0]}" || reply="<no answer>"
  t1=$(ms)
  printf '  %-10s -> %-10s (%d ms)  %s\n' "$1" "$reply" $((t1 - t0)) "${2:-}"
}
say init "driver thread initializes mylib"
say "calc 5"
say "calc 41"
say reload "readConfig now runs on the driver thread (and crashes after 1 s)"
say "calc 7" "answered at once: a reload is in progress"
sleep 1.5
say "calc 7" "the crashed driver was restarted on a new thread and re-initialized"
echo
echo "== troupe ps $app  (the driver's restart)"
"$bin/troupe" ps "$app"
echo
say uninit
echo quit >&"${PROG[1]}"
wait "$PROG_PID"
echo
echo "== troupe call $app config status  (initialized, reloading, reloads, calc-fails)"
"$bin/troupe" call "$app" config status
echo
echo "== troupe stop $app"
"$bin/troupe" stop "$app"
wait "$run_pid"
trap - EXIT
rm -f logs-demo-run.err
echo
echo "== log of node backend (logs/backend.log)"
tail -n 12 logs/backend.log
