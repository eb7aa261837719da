# Supervision across processes: a driver crash inside a supervised slow-config app, and a child
# that lives on another node than its supervisor, restarted after its node was killed.
source "$(dirname "$0")/lib.sh"

# 1. readConfig crashes the driver; its supervisor restarts it on a fresh thread, re-initialized;
#    the user sees an error only for what was in flight.
cat > "$WORK/crash.toml" <<TOML
[app]
name = "crash-$$"
log_dir = "$WORK/logs"
[nodes.main]
[[actors]]
name = "mylib"
type = "mylib_driver"
params = { read_config = ["1s", "1s"], crash_probability = 1.0 }
[[actors]]
name = "config"
type = "config_supervisor"
params = { driver = "mylib", idle_before_reload = "0s" }
[[supervisors]]
name = "sup"
strategy = "one_for_one"
backoff = { initial = "50ms" }
children = ["mylib", "config"]
TOML
coproc PROG { timeout 60 "$BIN/prog" "$WORK/crash.toml"; }
ask() { echo "$1" >&"${PROG[1]}"; read -r -t 10 reply <&"${PROG[0]}" || reply="<no answer>"; }
ask init; check "init" OK "$reply"
ask "calc 1"; check "calc before the crash" 2 "$reply"
ask reload; check "reload" OK "$reply"
ask "calc 1"; check "calc during the reload" CALC-FAIL "$reply"
result=""
for _ in $(seq 50); do sleep 0.1; ask "calc 1"; [[ "$reply" == 2 ]] && { result=$reply; break; }; done
check "calc after the crash reaches the restarted, re-initialized driver" 2 "$result"
echo quit >&"${PROG[1]}"; wait "$PROG_PID"; check "prog exit code" 0 "$?"
grep -q "mylib_driver: mylib: readConfig crashed" "$WORK/logs/main.log" && pass "crash logged" || fail "no crash in log"
grep -q "init on restart" "$WORK/logs/main.log" && pass "restarted driver re-initialized" || fail "no re-init in log"

# 2. A supervisor on node "boss" supervises "worker" on node "work"; kill -9 of node work: the
#    launcher restarts the node, the supervisor restarts the worker there, the name works again.
cat > "$WORK/remote.toml" <<TOML
[app]
name = "remote-$$"
log_dir = "$WORK/logs"
[bridges]
heartbeat_interval = "100ms"
heartbeat_timeout = "600ms"
connect_timeout = "1s"
[nodes.work]
listen = "ipc://$WORK/work.sock"
[nodes.boss]
listen = "ipc://$WORK/boss.sock"
[[actors]]
name = "worker"
type = "echo"
node = "work"
[[supervisors]]
name = "boss-sup"
node = "boss"
intensity = { max_restarts = 10, within = "30s" }
children = ["worker"]  # no backoff: the first restart races the node's reconnect (one session)
TOML
APP=$WORK/remote.toml
"$BIN/troupe" run "$APP" 2> "$WORK/remote.err" &
pid=$!
for _ in $(seq 200); do grep -q "running with 2 nodes" "$WORK/logs/launcher.log" 2>/dev/null && break; sleep 0.05; done
check "call the remotely supervised worker" 5 "$(timeout 10 "$BIN/troupe" call "$APP" worker 5 2>&1 || true)"
# A client cannot take a supervised name down through its relay's control messages.
out=$(timeout 10 "$BIN/troupe" call "$APP" worker relay_clr '"pwned"' 2>&1 || true)
[[ "$out" == *"accepted only from its node's own runtime"* ]] && pass "relay_clr from a client is refused" || fail "relay_clr: $out"
check "the name still answers after the refused relay_clr" 7 "$(timeout 10 "$BIN/troupe" call "$APP" worker 7 2>&1 || true)"
ps_out=$(timeout 20 "$BIN/troupe" ps "$APP")
[[ "$ps_out" == *"worker  echo  node work  running  restarts 0"* ]] && pass "ps shows the remote child" || fail "ps: $ps_out"
kill -9 "$(pgrep -P "$pid" -f -- "--node work$")"
t0=$(now_ms); out=""
while (( $(now_ms) - t0 < 10000 )); do
  out=$(timeout 5 "$BIN/troupe" call "$APP" worker 6 2>&1 || true)
  [[ "$out" == 6 ]] && break
  sleep 0.1
done
check "the same name works after the node restart" 6 "$out"
echo "# back after $(( $(now_ms) - t0 )) ms"
ps_out=$(timeout 20 "$BIN/troupe" ps "$APP")
[[ "$ps_out" == *"worker  echo  node work  running  restarts 1"* ]] && pass "ps shows the child's restart" || fail "ps: $ps_out"
[[ "$ps_out" == *"node work  pid "*"  restarts 1  running"* ]] && pass "ps shows the node's restart" || fail "ps: $ps_out"
[[ "$ps_out" == *"node work  pid "*"  restarts 1  running  last exit: was killed by signal Killed"* ]] \
  && pass "ps shows how the node's last process ended" || fail "ps: $ps_out"
[[ "$ps_out" == *"worker  echo  node work  running  restarts 1  "*"last exit: remote_link_unreachable"* ]] \
  && pass "ps shows how the child's last incarnation ended" || fail "ps: $ps_out"
json_out=$(timeout 20 "$BIN/troupe" ps "$APP" --json)
[[ "$json_out" == *'"last_exit":"was killed by signal Killed"'* ]] && pass "ps --json has the node's last exit" \
  || fail "ps --json: $json_out"
set +e; timeout 40 "$BIN/troupe" stop "$APP" >/dev/null; rc=$?; wait "$pid"; set -e
check "troupe stop" 0 "$rc"
check "no process left" 0 "$(pgrep -f -- "$APP" | wc -l || true)"

# 3. Supervision ends where OTP ends it: a top supervisor that exceeds its restart intensity stops
#    its node with status 1 and one clear log line; under `troupe run` with several nodes, the
#    launcher counts that as a node failure (restart, then escalation past its own intensity).
cat > "$WORK/giveup.toml" <<TOML
[app]
name = "giveup-$$"
log_dir = "$WORK/gulogs"
[launcher]
max_restarts = 1
within = "60s"
[nodes.main]
listen = "ipc://$WORK/gu-main.sock"
[nodes.side]
listen = "ipc://$WORK/gu-side.sock"
[[actors]]
name = "mylib"
type = "mylib_driver"
node = "main"
params = { read_config = ["0s", "0s"], crash_probability = 1.0 }
[[actors]]
name = "other"
type = "echo"
node = "side"
[[supervisors]]
name = "gu-sup"
node = "main"
intensity = { max_restarts = 0, within = "10s" }
children = ["mylib"]
TOML
APP=$WORK/giveup.toml
# One node in this process: the give-up ends it with status 1.
"$BIN/troupe" run "$APP" --node main 2> "$WORK/gu-node.err" &
pid=$!
for _ in $(seq 200); do grep -q "running (pid" "$WORK/gu-node.err" 2>/dev/null && break; sleep 0.05; done
timeout 10 "$BIN/troupe" call "$APP" mylib init >/dev/null 2>&1 || true
timeout 10 "$BIN/troupe" call "$APP" mylib readconfig >/dev/null 2>&1 || true
set +e; timeout 20 tail --pid="$pid" -f /dev/null; wait "$pid"; rc=$?; set -e
check "a node whose top supervisor gave up exits with status 1" 1 "$rc"
grep -q "critical \[main\] supervisor gu-sup gave up: .*restart intensity exceeded" "$WORK/gulogs/main.log" \
  && pass "one clear log line names the supervisor and why" || fail "no give-up line: $(tail -3 "$WORK/gulogs/main.log")"
# Launched: the launcher restarts the failed node once, then stops the app with status 1.
"$BIN/troupe" run "$APP" 2> "$WORK/gu-run.err" &
pid=$!
crash() {
  for _ in $(seq 100); do
    out=$(timeout 5 "$BIN/troupe" call "$APP" mylib init 2>&1 || true)
    [[ "$out" == *ok* || "$out" == *OK* || "$out" == "" ]] && break
    sleep 0.1
  done
  timeout 10 "$BIN/troupe" call "$APP" mylib readconfig >/dev/null 2>&1 || true
}
for _ in $(seq 200); do grep -q "running with 2 nodes" "$WORK/gulogs/launcher.log" 2>/dev/null && break; sleep 0.05; done
crash
for _ in $(seq 200); do grep -q "node main restarted" "$WORK/gulogs/launcher.log" 2>/dev/null && break; sleep 0.05; done
grep -q "node main (pid [0-9]*) exited with status 1; restarting it" "$WORK/gulogs/launcher.log" \
  && pass "the launcher counts the give-up as a node failure and restarts the node" \
  || fail "launcher log: $(cat "$WORK/gulogs/launcher.log")"
crash
set +e; timeout 30 tail --pid="$pid" -f /dev/null; wait "$pid"; rc=$?; set -e
check "a second give-up exceeds the launcher's intensity: the app stops with status 1" 1 "$rc"

# 4. A child that cannot start fails its node's start, and the launcher says which child and why
#    (here: the supervisor on main must start mylib on node user, which is not launched and does
#    not listen, so it never connects; a reference alone, as config's, would simply wait for it).
cat > "$WORK/failstart.toml" <<TOML
[app]
name = "failstart-$$"
log_dir = "$WORK/fslogs"
[bridges]
connect_timeout = "1s"
[nodes.main]
listen = "ipc://$WORK/fs-main.sock"
[nodes.side]
listen = "ipc://$WORK/fs-side.sock"
[nodes.user]
launch = false
[[actors]]
name = "mylib"
type = "mylib_driver"
node = "user"
[[actors]]
name = "config"
type = "config_supervisor"
node = "main"
params = { driver = "mylib" }
[[supervisors]]
name = "fs-sup"
node = "main"
children = ["config", "mylib"]
TOML
set +e; timeout 30 "$BIN/troupe" run "$WORK/failstart.toml" 2> "$WORK/fs.err"; rc=$?; set -e
check "an app whose child cannot start does not run" 1 "$rc"
grep -q "launcher: node main (pid [0-9]*) failed to start: .*fs-sup.*child mylib failed to start: .*node user has not connected to node main" "$WORK/fs.err" \
  && pass "the launcher names the node, the supervisor, the child and the reason" || fail "stderr: $(cat "$WORK/fs.err")"

# 5. Placement is one line: move c2 from node store to node front by its node line alone. The
#    supervisor on store then starts a child on front, so front starts first although the file
#    lists it first anyway... and the other way round: store is listed first here.
move_app() { # FILE C2_NODE
  cat > "$1" <<TOML
[app]
name = "move-$$"
log_dir = "$WORK/mvlogs"
[bridges]
connect_timeout = "2s"
[nodes.store]
listen = "ipc://$WORK/mv-store.sock"
[nodes.front]
listen = "ipc://$WORK/mv-front.sock"
[[actors]]
name = "w"
type = "watcher"
node = "front"
params = { target = "c2" }
[[actors]]
name = "c1"
type = "echo"
node = "store"
[[actors]]
name = "c2"
type = "echo"
node = "$2"
[[supervisors]]
name = "store-sup"
node = "store"
children = ["c1", "c2"]
[[supervisors]]
name = "front-sup"
node = "front"
children = ["w"]
TOML
}
for where in store front; do
  move_app "$WORK/move.toml" "$where"
  "$BIN/troupe" run "$WORK/move.toml" 2> "$WORK/move.err" &
  pid=$!
  for _ in $(seq 200); do grep -q "running with 2 nodes" "$WORK/mvlogs/launcher.log" 2>/dev/null && break; sleep 0.05; done
  check "c2 on $where: c1 answers" 5 "$(timeout 10 "$BIN/troupe" call "$WORK/move.toml" c1 5 2>&1 || true)"
  check "c2 on $where: c2 answers" 6 "$(timeout 10 "$BIN/troupe" call "$WORK/move.toml" c2 6 2>&1 || true)"
  check "c2 on $where: the watcher holds c2" watching "$(timeout 10 "$BIN/troupe" call "$WORK/move.toml" w status 2>&1 || true)"
  ps_out=$(timeout 20 "$BIN/troupe" ps "$WORK/move.toml")
  [[ "$ps_out" == *"c2  echo  node $where  running"* ]] && pass "ps shows c2 on $where, supervised from store" || fail "ps: $ps_out"
  order=$(grep -o "node [a-z]* ready" "$WORK/mvlogs/launcher.log" | tail -2 | tr '\n' ' ')
  if [[ $where == front ]]; then
    check "the child's node starts before its supervisor's" "node front ready node store ready " "$order"
  fi
  set +e; timeout 40 "$BIN/troupe" stop "$WORK/move.toml" >/dev/null; wait "$pid"; set -e
  : > "$WORK/mvlogs/launcher.log"
done

finish
