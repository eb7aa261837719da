#!/bin/bash
# Idle CPU of two real nodes: `troupe run --node` processes of one app, connected over each
# transport (node "mid" watches and links to an actor on node "back", so a session exists), then
# left alone. Samples each process's CPU time (sum of /proc/PID/task/*/schedstat, ns; and
# utime+stime from /proc/PID/stat) over WINDOW seconds (default 10) after SETTLE (default 2).
#   bench/idle_cpu/nodes.sh BUILD_BIN_DIR [shm ipc tcp]
# Prints one markdown row per transport; leaves nothing in /dev/shm or /tmp (checked).
set -euo pipefail
BIN=${1:?usage: nodes.sh BUILD_BIN_DIR [TRANSPORT...]}
shift
TRANSPORTS=${*:-shm ipc tcp}
WINDOW=${WINDOW:-10}
SETTLE=${SETTLE:-2}
WORK=$(mktemp -d /tmp/troupe-idle-nodes.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# cpu_ns PID -> "SCHEDSTAT_NS STAT_TICKS VOLUNTARY_SWITCHES"
cpu_of() {
  python3 - "$1" <<'PY'
import os, sys
pid = sys.argv[1]
ns = 0; vol = 0
for t in os.listdir(f"/proc/{pid}/task"):
    try:
        ns += int(open(f"/proc/{pid}/task/{t}/schedstat").read().split()[0])
        for line in open(f"/proc/{pid}/task/{t}/status"):
            if line.startswith("voluntary_ctxt_switches:"):
                vol += int(line.split()[1])
    except OSError:
        pass
stat = open(f"/proc/{pid}/stat").read()
fields = stat[stat.rindex(")") + 2:].split()
print(ns, int(fields[11]) + int(fields[12]), vol)
PY
}

endpoint() { # TRANSPORT NODE
  case $1 in
    shm) echo "shm" ;;
    ipc) echo "ipc://$WORK/$2.sock" ;;
    tcp) echo "tcp://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')" ;;
  esac
}

start_node() { # APP NAME -> prints the pid
  "$BIN/troupe" run "$1" --node "$2" 2>> "$WORK/$2.err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 200); do
    grep -q "running (pid $pid)" "$WORK/$2.err" && { LAST_PID=$pid; return 0; }
    sleep 0.05
  done
  echo "node $2 did not start: $(tail -3 "$WORK/$2.err")" >&2
  exit 1
}

tck=$(getconf CLK_TCK)
echo "| nodes over | back CPU % | mid CPU % | wakeups/s (back / mid) | threads (back / mid) |"
echo "|---|---:|---:|---:|---:|"
for tr in $TRANSPORTS; do
  app="$WORK/idle-$tr.toml"
  cat > "$app" <<TOML
[app]
name = "idle-$$-$tr"
log_dir = "$WORK/logs"
log_level = "warn"

[nodes.back]
listen = "$(endpoint "$tr" back)"

[nodes.mid]
listen = "$(endpoint "$tr" mid)"

[[actors]]
name = "echo"
type = "echo"
node = "back"

[[actors]]
name = "watcher"
type = "watcher"
node = "mid"
params = { target = "echo", link = true }
TOML
  start_node "$app" back; back=$LAST_PID
  start_node "$app" mid; mid=$LAST_PID
  sleep "$SETTLE"
  read -r b0 bt0 bv0 < <(cpu_of "$back")
  read -r m0 mt0 mv0 < <(cpu_of "$mid")
  t0=$(date +%s%N)
  sleep "$WINDOW"
  read -r b1 bt1 bv1 < <(cpu_of "$back")
  read -r m1 mt1 mv1 < <(cpu_of "$mid")
  t1=$(date +%s%N)
  bth=$(ls "/proc/$back/task" | wc -l)
  mth=$(ls "/proc/$mid/task" | wc -l)
  python3 - "$tr" $b0 $b1 $bt0 $bt1 $bv0 $bv1 $m0 $m1 $mt0 $mt1 $mv0 $mv1 $t0 $t1 "$tck" "$bth" "$mth" <<'PY'
import sys
tr, *v = sys.argv[1:]
b0, b1, bt0, bt1, bv0, bv1, m0, m1, mt0, mt1, mv0, mv1, t0, t1, tck, bth, mth = map(int, v)
wall = (t1 - t0) / 1e9
pct = lambda a, b: 100.0 * (b - a) / 1e9 / wall
tpct = lambda a, b: 100.0 * (b - a) / tck / wall
print(f"| {tr} | {pct(b0, b1):.3f} ({tpct(bt0, bt1):.2f}) | {pct(m0, m1):.3f} ({tpct(mt0, mt1):.2f}) "
      f"| {(bv1 - bv0) / wall:.0f} / {(mv1 - mv0) / wall:.0f} | {bth} / {mth} |")
PY
  grep -q "watching\|session\|connected" "$WORK/mid.err" 2>/dev/null || true
  kill -TERM "$mid" "$back"
  wait "$mid" 2>/dev/null || true
  wait "$back" 2>/dev/null || true
  PIDS=()
done
left=$(ls /dev/shm | grep -c "idle-$$" || true)
[[ $left -eq 0 ]] || echo "WARNING: $left segments left in /dev/shm" >&2
