# Names outlive processes, over one transport: bash names.sh BIN SRC TRANSPORT (ipc, tcp or shm).
# Node a hosts the mylib driver and two echoes, node b the config supervisor (driver = "mylib") and
# a watcher of echo; every caller is a third node (troupe call, name_stream). Node a is killed
# with -9 again and again: references from node b and from the callers follow the name to each new
# incarnation, monitors see every incarnation go down, no request hangs, and a buffered name loses
# none.
source "$(dirname "$0")/lib.sh"
TRANSPORT=$3
PY=/usr/bin/python3
tcp_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
case $TRANSPORT in
  ipc) A="\"ipc://$WORK/a.sock\""; B="\"ipc://$WORK/b.sock\"" ;;
  tcp) A="\"tcp://127.0.0.1:$(tcp_port)\""; B="\"tcp://127.0.0.1:$(tcp_port)\"" ;;
  shm) A='"shm"'; B='"shm"' ;;
  *) echo "unknown transport $TRANSPORT" >&2; exit 2 ;;
esac
APP=$WORK/app.toml
cat > "$APP" <<TOML
[app]
name = "names-$$"
log_dir = "$WORK/logs"
[bridges]
heartbeat_interval = "100ms"
heartbeat_timeout = "600ms"
connect_timeout = "2s"
[launcher]
max_restarts = 100
within = "120s"
[nodes.a]
listen = $A
[nodes.b]
listen = $B
[[actors]]
name = "config"
type = "config_supervisor"
node = "b"
params = { driver = "mylib", idle_before_reload = "0s" }
[[actors]]
name = "mylib"
type = "mylib_driver"
node = "a"
[[actors]]
name = "echo"
type = "echo"
node = "a"
[[actors]]
name = "echo-buffered"
type = "echo"
node = "a"
buffer = "5s"
[[actors]]
name = "watcher"
type = "watcher"
node = "b"
params = { target = "echo" }
TOML
call() { timeout 10 "$BIN/troupe" call "$APP" "$@" 2>&1 || true; }
node_pid() { pgrep -P "$LAUNCHER" -f -- "--node $1\$" || true; }
wait_new_pid() { # NODE OLD_PID
  local p
  for _ in $(seq 200); do
    p=$(node_pid "$1")
    [[ -n "$p" && "$p" != "$2" ]] && { echo "$p"; return; }
    sleep 0.02
  done
}

"$BIN/troupe" run "$APP" 2> "$WORK/launch.err" &
LAUNCHER=$!
for _ in $(seq 200); do grep -q "running with 2 nodes" "$WORK/logs/launcher.log" 2>/dev/null && break; sleep 0.05; done
grep -q "running with 2 nodes" "$WORK/logs/launcher.log" && pass "app started ($TRANSPORT)" || { fail "launch: $(cat "$WORK/launch.err")"; finish; }
# config's reference to mylib was declared before mylib (any file order works).
check "init through node b" ok "$(call config init)"
check "calc through node b to node a, reply routed back through b" 8 "$(call config calc 7)"

# 1. kill -9 node a three times: config (node b) follows mylib to each new incarnation.
for round in 1 2 3; do
  old=$(node_pid a)
  kill -9 "$old"
  t0=$(now_ms)
  new=$(wait_new_pid a "$old")
  out=""
  while (( $(now_ms) - t0 < 5000 )); do
    if [[ "$(call config init)" == ok ]]; then
      out=$(call config calc 7)
      [[ "$out" == 8 ]] && break
    fi
    sleep 0.05
  done
  took=$(( $(now_ms) - t0 ))
  check "round $round: config calc 7 answers again after node a's restart (pid $old -> $new)" 8 "$out"
  (( took < 2000 )) && pass "round $round: back within 2 s (${took} ms, init included)" || fail "round $round: took ${took} ms"
done
ps_out=$(timeout 20 "$BIN/troupe" ps "$APP")
[[ "$ps_out" == *"node a  pid $(node_pid a)  restarts 3  running"* ]] && pass "ps shows node a's 3 restarts" || fail "ps: $ps_out"
[[ "$ps_out" == *"name mylib -> node a  bound  epoch 4"* ]] && pass "ps shows node b's name mylib bound to its 4th incarnation" || fail "ps: $ps_out"
[[ "$ps_out" == *"app file hash "* ]] && pass "ps shows the app file hash" || fail "ps: $ps_out"
status=$(call watcher status)
downs=$(grep -o "down: " <<< "$status" | wc -l)
check "the watcher on node b saw each of the 3 incarnations of echo go down" 3 "$downs"
[[ "$status" == *"remote_link_unreachable"* || "$status" == *"peer_lost"* ]] && pass "with the real reason: $status" || fail "watcher: $status"

# 2. Stream requests to both echoes through 20 kills of node a.
rm -f "$WORK/stop"
"$BIN/name_stream" "$APP" echo "$WORK/stop" 3000 > "$WORK/plain.out" 2>&1 &
S1=$!
"$BIN/name_stream" "$APP" echo-buffered "$WORK/stop" 6000 > "$WORK/buffered.out" 2>&1 &
S2=$!
sleep 0.5
for round in $(seq 20); do
  old=$(node_pid a)
  kill -9 "$old"
  wait_new_pid a "$old" > /dev/null
  sleep 0.3
done
sleep 1
touch "$WORK/stop"
wait "$S1" "$S2" || true
echo "plain:    $(tr '\n' ' ' < "$WORK/plain.out")"
echo "buffered: $(tr '\n' ' ' < "$WORK/buffered.out")"
read_count() { sed -n "s/.*sent [0-9]* .*$1 \([0-9]*\).*/\1/p" "$2" | tail -1; }
sent=$(sed -n 's/^sent \([0-9]*\).*/\1/p' "$WORK/plain.out")
(( ${sent:-0} > 100 )) && pass "plain: $sent requests streamed" || fail "plain: $(cat "$WORK/plain.out")"
check "plain: no request hung" 0 "$(read_count hung "$WORK/plain.out")"
check "plain: no wrong answer" 0 "$(read_count wrong "$WORK/plain.out")"
check "buffered: no request failed" 0 "$(read_count failed "$WORK/buffered.out")"
check "buffered: no request hung" 0 "$(read_count hung "$WORK/buffered.out")"
check "buffered: no wrong answer" 0 "$(read_count wrong "$WORK/buffered.out")"

timeout 40 "$BIN/troupe" stop "$APP" > /dev/null || true
set +e; wait "$LAUNCHER"; rc=$?; set -e
check "launcher exit code" 0 "$rc"
finish
