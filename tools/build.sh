#!/usr/bin/env bash
# Installs the dependencies (Debian packages) and builds seqzoo into ./build (Release).
#   bash tools/build.sh            # then ./build/seqzoo-train --help
set -euo pipefail
cd "$(dirname "$0")/.."
bash third_party/install-deps.sh
jobs=${SEQZOO_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
