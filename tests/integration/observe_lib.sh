# Shared by the observability drivers: write_obs_app FILE APP PORT_BASE [EXTRA_TOML]
# A three-node app: gamma (worker), alpha (supervisor sup of echo-a and of worker, which lives on
# gamma), beta (echo-b; watch-w monitors echo-a, so beta keeps a bridge to alpha). Node listen ports are PORT_BASE+1,+3,+5, metrics PORT_BASE+2,+4,+6, web
# PORT_BASE. Nodes whose actors others need come first (see docs/CONFIG.md).
write_obs_app() {
  local file=$1 app=$2 base=$3
  cat > "$file" <<TOML
[app]
name = "$app"
log_dir = "$WORK/logs"
[bridges]
heartbeat_interval = "100ms"
heartbeat_timeout = "600ms"
connect_timeout = "2s"
[launcher]
web = "127.0.0.1:$base"
max_restarts = 10
within = "60s"
[nodes.gamma]
listen = "tcp://127.0.0.1:$((base + 5))"
metrics = "127.0.0.1:$((base + 6))"
[nodes.alpha]
listen = "tcp://127.0.0.1:$((base + 1))"
metrics = "127.0.0.1:$((base + 2))"
[nodes.beta]
listen = "tcp://127.0.0.1:$((base + 3))"
metrics = "127.0.0.1:$((base + 4))"
[[actors]]
name = "echo-a"
type = "echo"
node = "alpha"
[[actors]]
name = "echo-b"
type = "echo"
node = "beta"
[[actors]]
name = "worker"
type = "echo"
node = "gamma"
[[actors]]
name = "watch-w"
type = "watcher"
node = "beta"
params = { target = "echo-a" }
[[supervisors]]
name = "sup"
node = "alpha"
intensity = { max_restarts = 10, within = "60s" }
children = ["echo-a", "worker"]
${4:-}
TOML
}

# Waits until the launcher of app file $1 reports all nodes running (its log says so).
wait_running() {
  for _ in $(seq 300); do
    grep -q "running with 3 nodes" "$WORK/logs/launcher.log" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# Returns the pid of node $2 of the launcher with pid $1.
node_pid() { pgrep -P "$1" -f -- "--node $2\$"; }
