# Troupe as a sub-project: configure (not build) tests/integration/subproject, which pulls Troupe
# in with add_subdirectory. Usage: add_subdirectory.sh BIN_DIR SOURCE_DIR
source "$(dirname "$0")/lib.sh"
if cmake -S "$SRC/tests/integration/subproject" -B "$WORK/parent" -G Ninja \
     -DTROUPE_SOURCE_DIR="$SRC" > "$WORK/configure.log" 2>&1; then
  pass "parent project configures with add_subdirectory(troupe)"
else
  fail "configure: $(tail -30 "$WORK/configure.log")"
fi
grep -q "parent build type: \[\]" "$WORK/configure.log" && pass "build type left alone" \
  || fail "build type: $(grep 'parent build type' "$WORK/configure.log")"
grep -q "^CMAKE_BUILD_TYPE:STRING=$" "$WORK/parent/CMakeCache.txt" && pass "no build type forced into the cache" \
  || fail "cache: $(grep '^CMAKE_BUILD_TYPE' "$WORK/parent/CMakeCache.txt")"
grep -q "^TROUPE_BUILD_TESTS:BOOL=OFF$" "$WORK/parent/CMakeCache.txt" && pass "tests off" \
  || fail "tests: $(grep '^TROUPE_BUILD_TESTS' "$WORK/parent/CMakeCache.txt")"
# The parent's executable links the namespaced umbrella target (and through it CAF, spdlog, ...).
grep -q "libtroupe_cli.a" "$WORK/parent/build.ninja" && grep -q "libcaf_core" "$WORK/parent/build.ninja" \
  && pass "parent_app links Troupe's libraries and CAF" || fail "link line lacks Troupe or CAF"
finish
