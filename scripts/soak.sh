#!/usr/bin/env bash
# The soak tests (label soak): TROUPE_SOAK_MESSAGES requests (default 10,000,000) per bridge
# (ipc, tcp) with a side node killed (SIGKILL) and restarted every 0.5-2 s. Prints sent, answered,
# failed, lost, reordered and max RSS per bridge. Usage: scripts/soak.sh [ctest args...]
# The soak tests are registered only for this run (option TROUPE_SOAK), so that a plain `ctest`
# in the build directory never starts them.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${TROUPE_BUILD_DIR:-build}" && pwd)
cmake "$build" -DTROUPE_SOAK=ON >/dev/null
trap 'cmake "$build" -DTROUPE_SOAK=OFF >/dev/null' EXIT
ninja -C "$build" -j "${TROUPE_JOBS:-2}" troupe_bridges_hub_server
cd "$build"
ctest -L soak -V "$@" | grep -E "^[0-9]+: (ipc|tcp|ok|FAIL)|tests passed|tests failed"
exit "${PIPESTATUS[0]}"
