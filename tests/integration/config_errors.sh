# Bad app files: one line naming file:line, non-zero exit, no crash, no hang — for every program.
source "$(dirname "$0")/lib.sh"

expect_error() { # NAME FILE EXPECTED_PREFIX
  local name=$1 file=$2 prefix=$3 cmd err rc
  for cmd in "troupe check" "troupe run" "prog"; do
    set +e
    err=$(timeout 20 $BIN/$cmd "$file" 2>&1 </dev/null >/dev/null)
    rc=$?
    set -e
    if [[ $rc -ne 2 ]]; then fail "$name ($cmd): exit code $rc, want 2"; continue; fi
    if [[ $(printf '%s\n' "$err" | wc -l) -ne 1 ]]; then fail "$name ($cmd): not one line: $err"; continue; fi
    [[ "$err" == "error: $prefix"* ]] && pass "$name ($cmd)" || fail "$name ($cmd): $err"
  done
}

printf '[app]\nname = "x"\n[nodes.main]\n[[actors]]\nname = "m"\ntype = "nope"\n' > "$WORK/type.toml"
expect_error "unknown actor type" "$WORK/type.toml" "$WORK/type.toml:6: actors.m.type: unknown actor type \"nope\""
printf '[app]\nname = "x"\n[nodes.main]\nlisen = "tcp://127.0.0.1:1"\n' > "$WORK/key.toml"
expect_error "unknown key" "$WORK/key.toml" "$WORK/key.toml:4: nodes.main.lisen: unknown key"
printf '[app]\nname = "x"\n[nodes.main]\nlisten = "tcp://127.0.0.1:*"\n' > "$WORK/port.toml"
expect_error "wildcard port" "$WORK/port.toml" "$WORK/port.toml:4: nodes.main.listen: invalid port"
printf '[app]\nname = "x"\n[nodes.a]\n[nodes.b]\n[[actors]]\nname = "m"\ntype = "mylib_driver"\nnode = "a"\n[[actors]]\nname = "c"\ntype = "config_supervisor"\nnode = "b"\nparams = { driver = "m" }\n' > "$WORK/reach.toml"
expect_error "unreachable node" "$WORK/reach.toml" "$WORK/reach.toml:13: actors.c.params.driver: actor \"m\" runs on node a, which node b cannot reach"
printf '[app]\nname = "x"\n[nodes.main]\n[[actors]]\nname = "m"\ntype = "mylib_driver"\nparams = { read_config = "soon" }\n' > "$WORK/type2.toml"
expect_error "wrong type" "$WORK/type2.toml" "$WORK/type2.toml:7: actors.m.params.read_config: expected a duration range"
printf '[app]\nname = "x"\n[nodes.main]\n[[actors]]\nname = "m"\ntype = "mylib_driver"\n[[actors]]\nname = "m"\ntype = "mylib_driver"\n' > "$WORK/dup.toml"
expect_error "duplicate name" "$WORK/dup.toml" "$WORK/dup.toml:8: actors.m.name: duplicate actor name"
printf '[app]\nname = "x"\n[nodes.main]\n[[actors]]\nname = "m"\ntype = "mylib_driver"\nnode = "backend"\n' > "$WORK/node.toml"
expect_error "missing node" "$WORK/node.toml" "$WORK/node.toml:7: actors.m.node: no node named \"backend\""
printf '[app]\nname = "x"\n[nodes.main\n' > "$WORK/syntax.toml"
expect_error "syntax error" "$WORK/syntax.toml" "$WORK/syntax.toml:3: TOML syntax error"
head -c 3000 /dev/urandom > "$WORK/random.toml"
set +e; timeout 20 "$BIN/troupe" check "$WORK/random.toml" >/dev/null 2>&1; rc=$?; set -e
check "random bytes are rejected, not crashed on" 2 "$rc"

set +e; err=$(timeout 20 "$BIN/troupe" check /nonexistent.toml 2>&1); rc=$?; set -e
[[ $rc -ne 0 && $rc -lt 128 ]] && pass "missing file exits $rc" || fail "missing file exits $rc"
set +e; err=$(timeout 20 "$BIN/prog" "$SRC/examples/slow-config.toml" --timeout 5parsecs 2>&1 </dev/null); rc=$?; set -e
check "bad --timeout exit code" 2 "$rc"
check "bad --timeout message" 'error: --timeout: invalid duration "5parsecs" (e.g. 2s, 500ms)' "$err"

finish
