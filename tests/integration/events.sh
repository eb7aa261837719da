# Events: the supervisors, the launcher and the bridges write JSON lines to LOG_DIR/APP.events.jsonl;
# `troupe events` prints them and `-f` follows them. A kill -9 of a node must leave the whole story.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/observe_lib.sh"
APP=$WORK/app.toml
write_obs_app "$APP" "obs-events-$$" 7490
EV=$WORK/logs/obs-events-$$.events.jsonl
"$BIN/troupe" run "$APP" 2> "$WORK/run.err" &
launcher=$!
wait_running && pass "app running" || { fail "app did not start: $(cat "$WORK/run.err")"; finish; exit 1; }
"$BIN/troupe" events "$APP" -f > "$WORK/follow.out" &
follower=$!
sleep 0.5
check "call before the kill" 5 "$(timeout 10 "$BIN/troupe" call "$APP" worker 5 2>&1 || true)"
gamma=$(node_pid "$launcher" gamma)
kill -9 "$gamma"
t0=$(now_ms); out=""
while (( $(now_ms) - t0 < 15000 )); do
  out=$(timeout 5 "$BIN/troupe" call "$APP" worker 6 2>&1 || true)
  [[ "$out" == 6 ]] && break
  sleep 0.1
done
check "worker answers again after the node restart" 6 "$out"
sleep 0.5
has() { # has KIND FIELD=VALUE...: an event line of KIND with those fields exists
  /usr/bin/python3 - "$EV" "$@" <<'PY'
import json, sys
path, kind, *conds = sys.argv[1:]
want = dict(c.split("=", 1) for c in conds)
for line in open(path):
    e = json.loads(line)  # every line must be valid JSON
    if e["kind"] == kind and all(str(e.get(k)) == v for k, v in want.items()):
        sys.exit(0)
sys.exit(1)
PY
}
has node_started node=gamma && pass "node_started" || fail "no node_started event"
has app_started nodes=3 && pass "app_started" || fail "no app_started event"
has node_lost node=gamma pid="$gamma" "reason=was killed by signal Killed" source=launcher \
  && pass "node_lost with pid and reason" || fail "no node_lost event for gamma"
has node_restarted node=gamma restarts=1 && pass "node_restarted" || fail "no node_restarted event"
has peer_lost source=alpha peer=gamma && pass "peer_lost seen by alpha" || fail "no peer_lost event"
has peer_reconnected source=alpha peer=gamma && pass "peer_reconnected" \
  || fail "no peer_reconnected event"
has child_exited supervisor=sup child=worker source=alpha && pass "child_exited" \
  || fail "no child_exited event"
has child_restarted supervisor=sup child=worker restarts=1 && pass "child_restarted" \
  || fail "no child_restarted event"
grep -q '"peer":"call-' "$EV" && fail "sessions of troupe call are events" \
  || pass "tool sessions are not events"
# Order: the loss comes before the restart.
lost=$(grep -n '"kind":"node_lost"' "$EV" | head -1 | cut -d: -f1)
back=$(grep -n '"kind":"node_restarted"' "$EV" | head -1 | cut -d: -f1)
(( lost < back )) && pass "node_lost before node_restarted" || fail "order: $lost $back"
# The follower saw the events that happened after it started, rendered for people.
grep -q "launcher  node_lost .*node=gamma" "$WORK/follow.out" && pass "events -f follows" \
  || fail "events -f: $(cat "$WORK/follow.out")"
kill -TERM "$follower"; wait "$follower" && rc=0 || rc=$?
check "events -f ends on SIGTERM with status 0" 0 "$rc"
plain=$("$BIN/troupe" events "$APP")
[[ "$plain" == *"launcher  node_restarted  node=gamma  pid="*"restarts=1"* ]] \
  && pass "troupe events prints readable lines" || fail "troupe events: $plain"
json_lines=$("$BIN/troupe" events "$APP" --json | wc -l)
check "--json prints every line" "$(wc -l < "$EV")" "$json_lines"
"$BIN/troupe" stop "$APP" > /dev/null
wait "$launcher"
has app_stopped status=0 && pass "app_stopped" || fail "no app_stopped event"
finish
