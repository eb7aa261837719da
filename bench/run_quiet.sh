#!/bin/sh
# Runs a benchmark once the machine is quiet: waits (at most MAX_WAIT seconds, default 600) until
# no compiler runs and the 1-minute load average is below LOAD (default 0.5), prints the machine
# and its load, then runs "$@" under a 10-minute timeout.
#   bench/run_quiet.sh build-bench/bin/bench_transport_pingpong [--quick] ...
max_wait=${MAX_WAIT:-600}
load_max=${LOAD:-0.5}
waited=0
while [ "$waited" -lt "$max_wait" ]; do
  busy=$(pgrep -c -x 'cc1plus|ld|ninja|clang|clang\+\+' 2>/dev/null || true)
  load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "${busy:-0}" -eq 0 ] && awk "BEGIN { exit !($load < $load_max) }"; then
    break
  fi
  sleep 5
  waited=$((waited + 5))
done
echo "# $(date -Is) nproc=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\" kernel=$(uname -r)"
echo "# waited ${waited}s for quiet; loadavg: $(cat /proc/loadavg)"
echo "# command: $*"
timeout 600 "$@"
rc=$?
echo "# loadavg after: $(cat /proc/loadavg)"
exit $rc
