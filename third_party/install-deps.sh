#!/usr/bin/env bash
# Installs seqzoo's build and runtime dependencies from Debian's packages.
# Idempotent: when every package is already present it returns in well under a second.
#   bash third_party/install-deps.sh
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config
      libtorch-dev libsentencepiece-dev sentencepiece libyaml-cpp-dev libcxxopts-dev catch2
      libgloo-dev libopenblas0-pthread libdnnl-dev
      libcpp-httplib-dev nlohmann-json3-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# LibTorch picks its BLAS through Debian's alternatives: make sure OpenBLAS (pthread) is the one.
for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
  path=$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-pthread | head -n 1 || true)
  [ -n "$path" ] && "${sudo_cmd[@]}" update-alternatives --set "$alt" "$path" >/dev/null || true
done
echo "install-deps: done" >&2
