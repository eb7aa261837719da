#!/usr/bin/env bash
# The test command: install what is missing, build everything, run the whole suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
cd "${TROUPE_BUILD_DIR:-build}"
ctest --output-on-failure -j 2 "$@"
