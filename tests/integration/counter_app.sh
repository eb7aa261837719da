# examples/counter-app as its users would build it: install Troupe into a fresh prefix, build the
# out-of-tree example against it (find_package), run its own test, run its app across two nodes
# with its own executable, and link a program through pkg-config.
# Usage: counter_app.sh BIN_DIR SOURCE_DIR BUILD_DIR [COMPILER_LAUNCHER]
source "$(dirname "$0")/lib.sh"
BUILD=$3
LAUNCHER=${4:-}
# A fixed place under the build tree (wiped first) so that ccache recognises the example's
# compiles from one run to the next; the app's files live in $WORK.
IT=$BUILD/counter-app-it
rm -rf "$IT"
mkdir -p "$IT"
PREFIX=$IT/prefix

t0=$(now_ms)
cmake --install "$BUILD" --prefix "$PREFIX" > "$IT/install.log" 2>&1 \
  && pass "cmake --install into a fresh prefix" || { fail "install: $(tail -5 "$IT/install.log")"; finish; }
for f in bin/troupe include/troupe/troupe.hpp include/troupe/define.hpp lib/libtroupe_runtime.a \
         lib/cmake/Troupe/TroupeConfig.cmake lib/cmake/Troupe/TroupeTargets.cmake lib/pkgconfig/troupe.pc; do
  [[ -e "$PREFIX/$f" ]] && pass "installed $f" || fail "not installed: $f"
done
# The installed tree has no test or bench binaries.
[[ -z "$(ls "$PREFIX/bin" | grep -v '^troupe$')" ]] && pass "only troupe in bin/" || fail "bin/: $(ls "$PREFIX/bin")"

cfg=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX")
[[ -n "$LAUNCHER" ]] && cfg+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$LAUNCHER")
if cmake -S "$SRC/examples/counter-app" -B "$IT/build" "${cfg[@]}" > "$IT/configure.log" 2>&1 \
   && ninja -C "$IT/build" -j2 > "$IT/build.log" 2>&1; then
  pass "example built against the installed package ($(( $(now_ms) - t0 )) ms incl. install)"
else
  fail "example build: $(tail -20 "$IT/configure.log" "$IT/build.log" 2>/dev/null)"
  finish
fi
APPEXE=$IT/build/counter-app
(cd "$IT/build" && ctest --output-on-failure > "$IT/ctest.log" 2>&1) \
  && pass "example's own test passes" || fail "example test: $(cat "$IT/ctest.log")"

# The example's app file, with unique names and ipc endpoints for this run.
sed -e "s|^name = \"counter-app\"|name = \"sdk-counter-$$\"|" \
    -e "s|^log_dir = .*|log_dir = \"$WORK/logs\"|" \
    -e "s|tcp://127.0.0.1:7420|ipc://$WORK/counters.sock|" \
    -e "s|tcp://127.0.0.1:7421|ipc://$WORK/totals.sock|" \
    "$SRC/examples/counter-app/counter-app.toml" > "$WORK/app.toml"
APP=$WORK/app.toml
grep -q "ipc://$WORK/totals.sock" "$APP" && pass "app file rewritten" || fail "app file: $(cat "$APP")"

out=$("$APPEXE" check "$APP" 2>&1) || true
[[ "$out" == *'total: aggregator counters=["apples", "pears"]'* ]] \
  && pass "check knows the example's types" || fail "check: $out"
out=$(timeout 10 "$BIN/troupe" check "$APP" 2>&1) && fail "stock troupe accepted counter" \
  || { [[ "$out" == *'unknown actor type "counter"'* ]] && pass "stock troupe does not know counter" || fail "stock: $out"; }

"$APPEXE" run "$APP" 2> "$WORK/run.err" &
launcher=$!
ready=0
for _ in $(seq 200); do
  grep -q "starting 2 nodes" "$WORK/run.err" 2>/dev/null \
    && out=$(timeout 10 "$APPEXE" call "$APP" apples get 2>&1) && [[ "$out" == 0 ]] && { ready=1; break; }
  sleep 0.1
done
(( ready )) && pass "two nodes up, apples answers" || fail "app not up: $out $(cat "$WORK/run.err")"
check "call apples add" 1 "$(timeout 10 "$APPEXE" call "$APP" apples add 2>&1)"
check "call apples add 41" 42 "$(timeout 10 "$APPEXE" call "$APP" apples add 41 2>&1)"
check "call pears add (start 100, step 10)" 110 "$(timeout 10 "$APPEXE" call "$APP" pears add 2>&1)"
out=$(timeout 10 "$APPEXE" call "$APP" apples nonsense 2>&1) || true
[[ "$out" == *"unexpected_message"*"(apples is a counter: counts: (add), (add, n), (get))"* ]] \
  && pass "an unexpected message says what the counter accepts" || fail "unexpected message: $out"
out=$(timeout 10 "$APPEXE" call "$APP" total sum 2>&1)
[[ "$out" == *152*2* ]] && pass "aggregator on the other node sums both counters: $out" || fail "total sum: $out"

# Every node process is the example's own executable.
json=$(timeout 10 "$APPEXE" ps "$APP" --json 2>&1)
pids=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(str(n["pid"]) for n in json.load(sys.stdin)["nodes"]))' <<< "$json" 2>/dev/null || true)
n=0
for p in $pids; do
  [[ "$(readlink "/proc/$p/exe" 2>/dev/null)" == "$(readlink -f "$APPEXE")" ]] && n=$((n + 1))
done
check "nodes run the example's executable" 2 "$n"

timeout 40 "$APPEXE" stop "$APP" > /dev/null 2>&1 && pass "stop" || fail "stop"
set +e; wait "$launcher"; rc=$?; set -e
check "launcher exit status" 0 "$rc"

# pkg-config: a program built without CMake links the installed libraries.
cat > "$IT/pc.cpp" <<'CPP'
#include "troupe/cli.hpp"
int main(int argc, char** argv) {
  return troupe::cli_main(argc, argv, troupe::catalog{});
}
CPP
cc=(c++)
[[ -n "$LAUNCHER" ]] && cc=("$LAUNCHER" c++)
if flags=$(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --cflags --libs troupe) \
   && "${cc[@]}" -O1 "$IT/pc.cpp" -o "$IT/pc" $flags > "$IT/pc.log" 2>&1; then
  out=$(printf '[app]\nname = "sdk-pc"\n[nodes.main]\n[[actors]]\nname = "e"\ntype = "echo"\n' > "$WORK/pc.toml"; "$IT/pc" check "$WORK/pc.toml" 2>&1) || true
  [[ "$out" == *"e: echo"* ]] && pass "pkg-config build runs" || fail "pkg-config program: $out"
else
  fail "pkg-config build: $(tail -20 "$IT/pc.log")"
fi
echo "total $(( $(now_ms) - t0 )) ms"
finish
