# CURVE on tcp: troupe keys writes a 0600 key file; with [bridges] curve_key the app's nodes and
# tools talk as before, while a peer without the app's key pair gets nothing (not even a
# hello_ack); check refuses a key file others can read and warns about plain tcp.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if ! $PY -c 'import zmq, msgpack; assert zmq.has("curve")' 2>/dev/null; then
  echo "python3-zmq with CURVE missing: skipped"; exit 77
fi

set +e; out=$("$BIN/troupe" keys "$WORK/app.key" 2>&1); rc=$?; set -e
check "troupe keys exits 0 ($out)" 0 "$rc"
check "key file mode" 600 "$(stat -c %a "$WORK/app.key")"
set +e; out=$("$BIN/troupe" keys "$WORK/app.key" 2>&1); rc=$?; set -e
check "an existing key file is not overwritten ($out)" 2 "$rc"

port_a=7556
port_b=7557
cat > "$WORK/app.toml" <<TOML
[app]
name = "hd-curve-$$"
log_dir = "$WORK/logs"
[bridges]
curve_key = "$WORK/app.key"
[nodes.a]
listen = "tcp://127.0.0.1:$port_a"
[nodes.b]
listen = "tcp://127.0.0.1:$port_b"
[[actors]]
name = "e"
type = "echo"
node = "a"
[[actors]]
name = "f"
type = "echo"
node = "b"
TOML
set +e; out=$("$BIN/troupe" check "$WORK/app.toml" 2>&1); rc=$?; set -e
check "check accepts the key file" 0 "$rc"
[[ "$out" != *warning* ]] && pass "no plain-tcp warning with curve_key" || fail "warning: $out"

"$BIN/troupe" run "$WORK/app.toml" > "$WORK/run.out" 2>&1 &
for _ in $(seq 100); do
  "$BIN/troupe" call "$WORK/app.toml" e '"up"' >/dev/null 2>&1 && break
  sleep 0.1
done
check "call through CURVE (node a)" 'hi' "$(timeout 20 "$BIN/troupe" call "$WORK/app.toml" e '"hi"' 2>&1)"
check "call through CURVE (node b)" 'ho' "$(timeout 20 "$BIN/troupe" call "$WORK/app.toml" f '"ho"' 2>&1)"
py_out=$(PYTHONPATH="$SRC/clients/python" timeout 20 $PY -c "
import troupe
with troupe.connect('$WORK/app.toml', node='a') as c:
    print(c.call('e', 'py'))" 2>&1)
check "the Python client uses the app's key file" "py" "$py_out"
probe=$($PY "$(dirname "$0")/curve_probe.py" "tcp://127.0.0.1:$port_a" "$WORK/app.key")
echo "$probe" | sed 's/^/     /'
check "a plain peer gets nothing" "plain: nothing" "$(echo "$probe" | grep '^plain')"
check "a stranger's key pair gets nothing" "own keys: nothing" "$(echo "$probe" | grep '^own')"
check "the app's key pair gets a hello_ack" "app keys: kind 2" "$(echo "$probe" | grep '^app')"
grep -q "refused a CURVE client" "$WORK/logs/a.log" && pass "the refusal is logged" \
  || fail "no log line for the refused client"
"$BIN/troupe" stop "$WORK/app.toml" >/dev/null

chmod 644 "$WORK/app.key"
set +e; out=$("$BIN/troupe" check "$WORK/app.toml" 2>&1); rc=$?; set -e
check "a world-readable key file is refused ($out)" 2 "$rc"
[[ "$out" == *"mode 0644 lets other users read the secret"* ]] && pass "it says why" || fail "$out"

sed -i '/^\[bridges\]/d; /^curve_key/d' "$WORK/app.toml"
set +e; out=$("$BIN/troupe" check "$WORK/app.toml" 2>&1 >/dev/null); rc=$?; set -e
check "plain tcp still passes check" 0 "$rc"
[[ "$out" == "warning: node a listens on plain tcp://127.0.0.1:$port_a"* ]] && pass "check warns about plain tcp" \
  || fail "no warning: $out"

finish
