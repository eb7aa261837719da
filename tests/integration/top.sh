# `troupe top` as a person uses it: in a terminal (tmux), keys sort, a killed node shows up, q quits.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/observe_lib.sh"
APP=$WORK/app.toml
write_obs_app "$APP" "obs-top-$$" 7470
"$BIN/troupe" run "$APP" 2> "$WORK/run.err" &
launcher=$!
wait_running && pass "app running" || { fail "app did not start: $(cat "$WORK/run.err")"; finish; exit 1; }
for i in 1 2 3 4; do timeout 10 "$BIN/troupe" call "$APP" echo-b $i > /dev/null; done

# --once: one frame for scripts.
once=$(timeout 20 "$BIN/troupe" top "$APP" --once)
for n in alpha beta gamma; do
  echo "$once" | grep -Eq "^$n +running +[0-9]+ " && pass "--once: node $n" || fail "--once: node $n: $once"
done
echo "$once" | grep -Eq '^echo-b +beta +running +[0-9.]+ +0 +4 ' && pass "--once: echo-b handled 4" \
  || fail "--once: echo-b: $once"
echo "$once" | grep -Eq '^worker +gamma +running .* 0 +- *$' && pass "--once: worker, restarts 0" \
  || fail "--once: worker: $once"
echo "$once" | grep -Eq '^alpha +gamma +tcp +up +[0-9.]+ +[0-9.]+[KMG]? +[0-9.]+ms ' \
  && pass "--once: bridge alpha-gamma with a round trip" || fail "--once: bridge: $once"

# Live, under tmux (its own server socket, so no other tmux is touched).
T="tmux -S $WORK/tmux.sock"
$T new-session -d -s top -x 180 -y 50 "$BIN/troupe top $APP; echo TOP-EXIT-\$?; sleep 60"
screen() { $T capture-pane -p -t top; }
wait_screen() { # wait_screen REGEX SECONDS
  local end=$(( $(now_ms) + $2 * 1000 ))
  while (( $(now_ms) < end )); do grep -Eq "$1" <<< "$(screen)" && return 0; sleep 0.1; done
  return 1
}
wait_screen '^worker +gamma +running' 10 && pass "top shows the actors" || fail "top: $(screen)"
grep -q "sort: msgs/s" <<< "$(screen)" && pass "sorted by message rate at first" || fail "sort: $(screen)"
$T send-keys -t top b
wait_screen "sort: mailbox" 3 && pass "b sorts by mailbox depth" || fail "b: $(screen)"
$T send-keys -t top n
wait_screen "sort: name" 3 && pass "n sorts by name" || fail "n: $(screen)"
# By name: echo-a, echo-b, worker in this order.
order=$(screen | grep -Eo '^(echo-a|echo-b|worker) ' | tr -d ' ' | tr '\n' ' ')
check "actors in name order" "echo-a echo-b worker " "$order"
$T send-keys -t top r
wait_screen "sort: restarts" 3 && pass "r sorts by restarts" || fail "r: $(screen)"
kill -9 "$(node_pid "$launcher" gamma)"
# The node row (RESTARTS is the 7th column) and the worker row (7th column too) count it.
wait_screen '^gamma +running +[0-9]+ +[0-9.-]+ +[0-9.KMG-]+ +[0-9-]+ +1 ' 10 \
  && pass "top shows gamma restarted once" || fail "gamma restart: $(screen)"
wait_screen '^worker +gamma +running +[^ ]+ +[^ ]+ +[^ ]+ +1 ' 10 \
  && pass "top shows the worker restarted once" || fail "worker restart: $(screen)"
# Sorted by restarts, the restarted worker comes first among the actors.
first=$(screen | grep -Eo '^(echo-a|echo-b|worker) ' | head -1 | tr -d ' ')
check "restarted actor first when sorted by restarts" worker "$first"
wait_screen "node_(lost|restarted) +node=gamma" 5 && pass "top shows the event stream" || fail "events: $(screen)"
t0=$(now_ms)
$T send-keys -t top q
wait_screen "TOP-EXIT-0" 3 && pass "q quits within $(( $(now_ms) - t0 )) ms with status 0" \
  || fail "q: $(screen)"
$T kill-server 2>/dev/null || true
"$BIN/troupe" stop "$APP" > /dev/null; wait "$launcher"
finish
