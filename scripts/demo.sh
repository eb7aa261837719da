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
echo "== prog $app  (user commands on the left, prog's answers on the right)"
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
say reload "readConfig now runs for 2 s on the driver thread"
say "calc 7" "answered at once: a reload is in progress"
sleep 2.5
say "calc 7" "reload finished, calc works again"
say uninit
echo quit >&"${PROG[1]}"
wait "$PROG_PID"
echo
echo "== log (logs/main.log)"
tail -n 12 logs/main.log
