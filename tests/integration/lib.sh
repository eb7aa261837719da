# Shared helpers for the integration drivers. Usage: source lib.sh BIN_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/troupe-it.XXXXXX")
# On any exit: end the processes this driver started (a leftover one would keep CTest's pipe open).
cleanup() {
  local kids
  kids=$(jobs -p 2>/dev/null || true)
  [[ -n "$kids" ]] && kill -9 $kids 2>/dev/null || true
  pkill -9 -f -- "$WORK/" 2>/dev/null || true
  [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT
KEEP_WORK=${KEEP_WORK:-}
FAILS=0
PASSES=0

pass() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }

# check NAME EXPECTED ACTUAL
check() {
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

finish() {
  echo "$PASSES passed, $FAILS failed"
  [[ $FAILS -eq 0 ]]
}

# Writes a one-node slow-config app file: write_app FILE READ_CONFIG_RANGE IDLE
write_app() {
  cat > "$1" <<TOML
[app]
name = "it-$$"
log_dir = "$WORK/logs"

[nodes.main]

[[actors]]
name = "mylib"
type = "mylib_driver"
params = { read_config = $2 }

[[actors]]
name = "config"
type = "config_supervisor"
params = { driver = "mylib", idle_before_reload = "$3" }
TOML
}
