#!/usr/bin/env bash
# Load test of seqzoo-serve on loopback: starts the server on a free port with RUN, sends test_2016's
# sources from 1, 4, 16 and 64 concurrent clients for DURATION seconds each (one line per request),
# prints a markdown table with the server's RSS after each level, then batched seqzoo-evaluate's
# throughput on the same sentences for comparison, and stops the server with SIGTERM (exit 0 expected).
#   bash tools/bench-serve.sh RUN [DURATION=60] [CLIENTS="1 4 16 64"]
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:?usage: bash tools/bench-serve.sh RUN [DURATION] [CLIENTS]}
duration=${2:-60}
levels=${3:-"1 4 16 64"}
data=${SEQZOO_DATA:-../shared/data/multi30k}
src=$(mktemp) log=$(mktemp)
trap 'rm -f "$src" "$log"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT
# the run's source language (data.src_lang in its config.yaml)
lang=$(awk '/^data:/ {d=1; next} /^[^ ]/ {d=0} d && $1 == "src_lang:" {print $2; exit}' "$run/config.yaml")
cp "$data/test_2016_flickr.$lang" "$src"
./build/seqzoo-serve --run "$run" --port 0 2>"$log" &
pid=$!
for _ in $(seq 600); do grep -q 'listening on' "$log" && break; sleep 0.1; done
port=$(grep -o 'listening on http://[^ ]*' "$log" | sed 's/.*://')
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $(date -u +%F)"
echo "server RSS after start: $(rss) MB"
./build/seqzoo-serve-load --port "$port" --file "$src" --clients 4 --duration 5 >/dev/null  # warm-up
echo "server RSS after warm-up: $(rss) MB"
first=1
for c in $levels; do
  row=$(./build/seqzoo-serve-load --port "$port" --file "$src" --clients "$c" --duration "$duration" ${first:+--header} || true)
  first=
  echo "$row" | sed "\$s/\$/ RSS $(rss) MB/"
done
kill -TERM "$pid"
wait "$pid" && echo "server: exit 0 after SIGTERM" || echo "server: exit $? after SIGTERM"
pid=
start=$(date +%s.%N)
./build/seqzoo-translate --run "$run" <"$src" >/dev/null
end=$(date +%s.%N)
echo "batched seqzoo-translate on the same $(wc -l <"$src") sentences: $(awk -v n="$(wc -l <"$src")" -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", n / (b - a) }') sentences/s (load included)"
