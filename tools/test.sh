#!/usr/bin/env bash
# The test command: installs dependencies, builds, runs the Catch2 suite through CTest.
# Slow tests ([slow], e.g. full convergence runs) are opt-in: SEQZOO_SLOW_TESTS=1 bash tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
label_filter=(-LE slow)
[ "${SEQZOO_SLOW_TESTS:-0}" = "1" ] && label_filter=(-LE cuda)
ctest --test-dir build -j"$(nproc)" --output-on-failure --timeout 900 "${label_filter[@]}"
