#!/usr/bin/env bash
# Installs the Debian packages Troupe needs (only the missing ones), then configures and builds.
# Usage: scripts/bootstrap.sh [ninja targets...]   (no targets: build everything)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build ccache pkg-config libcaf-dev libzmq3-dev cppzmq-dev
          libmsgpack-cxx-dev libspdlog-dev libtoml11-dev libcli11-dev nlohmann-json3-dev clang libclang-rt-14-dev
          python3 python3-zmq python3-msgpack python3-pip python3-setuptools procps
          libcpp-httplib-dev python3-prometheus-client tmux curl chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${TROUPE_BUILD_DIR:-build}
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${TROUPE_BUILD_TYPE:-Release}"
else
  cmake "$build" >/dev/null
fi
# Two jobs: the machine has two cores and a CAF translation unit needs ~0.5 GB.
ninja -C "$build" -j "${TROUPE_JOBS:-2}" "$@"
