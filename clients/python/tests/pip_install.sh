#!/bin/sh
# `pip install ./clients/python` works offline with Debian's pip and setuptools: installs the
# package into a temporary --target from a copy of the source (no build files left in the tree),
# then imports it from there.  usage: pip_install.sh PYTHON PACKAGE_DIR
set -eu
py=$1
src=$2
if ! "$py" -m pip --version >/dev/null 2>&1 || ! "$py" -c 'import setuptools' 2>/dev/null; then
  echo "python3-pip/python3-setuptools missing: skipped"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/troupe-pip.$$.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -r "$src" "$tmp/src"
rm -rf "$tmp/src/build" "$tmp/src"/*.egg-info
"$py" -m pip install --quiet --no-index --no-build-isolation --no-deps --target "$tmp/site" \
  "$tmp/src" 2>&1 | grep -v "WARNING: Running pip as the 'root' user" || true
cd "$tmp"
PYTHONPATH="$tmp/site" "$py" -c '
import troupe, sys
assert troupe.__file__.startswith(sys.argv[1]), troupe.__file__
assert callable(troupe.connect) and callable(troupe.connect_async)
print("installed", troupe.__file__)' "$tmp/site"
