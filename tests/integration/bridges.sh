# Bridges across real processes, one body for every transport: bash bridges.sh BIN SRC TRANSPORT
# Nodes "back" and "mid" run as separate `troupe run --node` processes; `troupe call` and `prog`
# join as further nodes. Covers request/reply, errors, a 1 MiB round trip, the slow-config app with
# CALC-FAIL, a monitor and a link across nodes, kill -9 with a request in flight, restart, garbage
# frames (ZeroMQ transports: from a raw ZeroMQ peer; shm: tests/bridges/hub.cpp), and that a clean
# stop leaves no socket file or shm segment.
source "$(dirname "$0")/lib.sh"
TRANSPORT=$3
PY=/usr/bin/python3

tcp_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
LINKS=""
case $TRANSPORT in
  ipc) BACK="\"ipc://$WORK/back.sock\""; MID="\"ipc://$WORK/mid.sock\"" ;;
  tcp) BACK="\"tcp://127.0.0.1:$(tcp_port)\""; MID="\"tcp://127.0.0.1:$(tcp_port)\"" ;;
  shm) BACK='"shm"'; MID='"shm"' ;; # shm becomes shm://APP.NODE
  # Two transports per node, chosen per link: back-mid and front-back over shm; the short-lived
  # nodes of troupe call (not in the file) use the first endpoint, tcp or ipc.
  links) BACK="[\"tcp://127.0.0.1:$(tcp_port)\", \"shm\"]"; MID="[\"ipc://$WORK/mid.sock\", \"shm\"]"
         LINKS=$'[links]\n"back-mid" = { transport = "shm" }\n"front-back" = { transport = "shm" }' ;;
  *) echo "unknown transport $TRANSPORT" >&2; exit 2 ;;
esac
BACK_EP=$($PY -c 'import sys, json; v = json.loads(sys.argv[1]); print(v[0] if isinstance(v, list) else v)' "$BACK")
APP=$WORK/app.toml
cat > "$APP" <<TOML
[app]
name = "bridges-$$"
log_dir = "$WORK/logs"
log_level = "debug"

[bridges]
heartbeat_interval = "100ms"
heartbeat_timeout = "600ms"

[nodes.back]
listen = $BACK

[nodes.mid]
listen = $MID

$LINKS

[nodes.front]
launch = false

[[actors]]
name = "echo"
type = "echo"
node = "back"

[[actors]]
name = "sleeper"
type = "sleeper"
node = "back"

[[actors]]
name = "mylib"
type = "mylib_driver"
node = "back"
params = { read_config = ["2s", "2s"] }

[[actors]]
name = "config"
type = "config_supervisor"
node = "back"
params = { driver = "mylib", idle_before_reload = "0s" }

[[actors]]
name = "watcher"
type = "watcher"
node = "mid"
params = { target = "echo", link = true }
TOML

start_node() { # NAME -> sets NODE_PID
  "$BIN/troupe" run "$APP" --node "$1" 2>> "$WORK/$1.err" &
  NODE_PID=$!
  for _ in $(seq 200); do grep -q "running (pid $NODE_PID)" "$WORK/$1.err" && return 0; sleep 0.05; done
  fail "node $1 did not start: $(tail -3 "$WORK/$1.err")"
  return 1
}
call() { timeout 20 "$BIN/troupe" call "$APP" "$@" 2>&1 || true; }

start_node back; BACK_PID=$NODE_PID
start_node mid; MID_PID=$NODE_PID
if [[ $TRANSPORT == links ]]; then
  # Whichever of the two opened it (mid does, to resolve the watcher's target), it is over shm.
  cat "$WORK/logs/back.log" "$WORK/logs/mid.log" | grep -qE "session with (mid|back) established \(outgoing, shm://" \
    && pass "[links] puts back-mid on shm" || fail "back-mid: $(grep -h 'established (outgoing' "$WORK"/logs/*.log)"
fi

check "request/reply with mixed payload" 'hello 42 -7 word' "$(call echo '"hello"' 42 -7 word)"
check "64-bit integer" '12345678901' "$(call echo 12345678901)"
check "error from the far side" 'error: not_initialized: calc before init' "$(call config calc 1)"
out=$(call config nonsense)
check "unexpected message error" 'error: unexpected_message' "${out%%$'\n'*}"
[[ "$out" == *"(config is a config_supervisor: "*"accepts (init), (calc, x)"* ]] \
  && pass "... and what config accepts" || fail "no hint of what config accepts: $out"
check "watcher sees the target alive" 'watching' "$(call watcher status)"

# A 1 MiB string there and back (streamed in chunks through a 1 MiB shm ring).
head -c 786432 /dev/urandom | base64 -w 0 > "$WORK/big" # exactly 1 MiB of text
timeout 20 "$BIN/troupe" call "$APP" echo "@$WORK/big" > "$WORK/big.back" 2>&1 || true
printf '\n' >> "$WORK/big"
cmp -s "$WORK/big" "$WORK/big.back" && pass "1 MiB round trip" \
  || fail "1 MiB round trip: $(head -c 200 "$WORK/big.back")"

# The slow-config app with prog on its own node: results and a fast CALC-FAIL during a reload.
coproc PROG { timeout 60 "$BIN/prog" "$APP" --node front; }
ask() { echo "$1" >&"${PROG[1]}"; read -r -t 10 reply <&"${PROG[0]}" || reply="<no answer>"; }
ask init; check "prog init" OK "$reply"
ask "calc 5"; check "prog calc" 6 "$reply"
ask reload; check "prog reload" OK "$reply"
t0=$(now_ms); ask "calc 5"; t1=$(now_ms)
check "prog calc during reload" CALC-FAIL "$reply"
(( t1 - t0 < 250 )) && pass "CALC-FAIL over $TRANSPORT in $((t1 - t0)) ms" || fail "CALC-FAIL took $((t1 - t0)) ms"
sleep 2.3
ask "calc 5"; check "prog calc after reload" 6 "$reply"
ask uninit; check "prog uninit" OK "$reply"
echo quit >&"${PROG[1]}"; wait "$PROG_PID"; check "prog exit code" 0 "$?"
if [[ $TRANSPORT == links ]]; then
  grep -q "session with back established (outgoing, shm://" "$WORK/logs/front.log" \
    && pass "[links] puts front-back on shm" || fail "front-back: $(grep 'session with back' "$WORK/logs/front.log")"
fi

# kill -9 the back node while a request is in flight: the caller fails fast, not at its timeout.
( t0=$(now_ms); rc=0; out=$(timeout 40 "$BIN/troupe" call "$APP" sleeper sleep 20000 --timeout 30s 2>&1) || rc=$?; \
  echo "$rc $(( $(now_ms) - t0 )) $out" > "$WORK/inflight" ) &
CALLER=$!
sleep 0.7
kill -9 "$BACK_PID"
wait "$CALLER" || true
read -r rc took rest < "$WORK/inflight"
[[ $rc -ne 0 ]] && pass "in-flight request failed (exit $rc): $rest" || fail "in-flight request succeeded?"
(( took < 3500 )) && pass "in-flight request failed after ${took} ms (timeout was 30 s)" || fail "in-flight request took ${took} ms"
[[ "$rest" == *peer_lost* ]] && pass "error names the lost peer" || fail "error: $rest"

# The watcher on node mid got a down message and an exit message for the dead echo actor.
# (Each node detects the loss on its own: over shm within a tick of the transport, so poll briefly.)
for _ in $(seq 30); do status=$(call watcher status); [[ "$status" == *"exit: "* ]] && break; sleep 0.1; done
[[ "$status" == *"down: "* ]] && pass "monitor across nodes: $status" || fail "no down_msg: $status"
[[ "$status" == *"exit: "* ]] && pass "link across nodes delivered exit_msg" || fail "no exit_msg: $status"

# A dead node answers nothing, and says so quickly.
t0=$(now_ms); out=$(call echo 1); t1=$(now_ms)
[[ "$out" == error:* ]] && pass "call to a dead node fails: $out" || fail "call to dead node: $out"
(( t1 - t0 < 15000 )) && pass "... in $((t1 - t0)) ms" || fail "... took $((t1 - t0)) ms"

# Restart the node: names resolve to the new incarnation.
start_node back; BACK_PID=$NODE_PID
check "restarted node answers" '7' "$(call echo 7)"

# Garbage to the back node's endpoint from a raw ZeroMQ peer: rejected, node keeps serving.
if [[ $BACK_EP != shm ]]; then
$PY - "$BACK_EP" <<'PYEOF'
import os, sys, zmq
ctx = zmq.Context()
for kind in (zmq.DEALER, zmq.PAIR, zmq.PUSH):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 500)
    s.connect(sys.argv[1])
    for n in (0, 1, 7, 100, 70000):
        try:
            s.send(os.urandom(n), zmq.NOBLOCK)
            s.send_multipart([b"\x92\x01\xc1", os.urandom(16)], zmq.NOBLOCK)
        except zmq.Again:
            pass
    s.close()
ctx.term()
PYEOF
check "node serves after garbage frames" 'still 1' "$(call echo '"still"' 1)"
kill -0 "$BACK_PID" 2>/dev/null && pass "node survived garbage" || fail "node died"
fi

# A clean stop: SIGTERM ends both nodes within a bound.
t0=$(now_ms)
kill -TERM "$BACK_PID" "$MID_PID"
set +e; wait "$BACK_PID"; rc1=$?; wait "$MID_PID"; rc2=$?; set -e
check "back exit code after SIGTERM" 0 "$rc1"
check "mid exit code after SIGTERM" 0 "$rc2"
(( $(now_ms) - t0 < 8000 )) && pass "both stopped in $(( $(now_ms) - t0 )) ms" || fail "slow stop"

# Nothing left behind: no shm segment of this app (the killed incarnation's were removed by the
# restarted node), no ipc socket file.
left=$(ls /dev/shm | grep -F "bridges-$$" || true)
[[ -z "$left" ]] && pass "no shm segment left" || fail "left in /dev/shm: $left"
socks=$(ls "$WORK"/*.sock 2>/dev/null || true)
[[ -z "$socks" ]] && pass "no ipc socket file left" || fail "ipc socket files left: $socks"

finish
