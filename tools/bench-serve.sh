#!/usr/bin/env bash
# Load test of seqzoo-serve on loopback: starts the server on a free port with RUN, warms it up with
# the largest client count for WARMUP seconds (default 30: the allocator's and oneDNN's high-water mark
# is reached under the heaviest load; RSS after it is what a leak would make grow), sends test_2016's
# sources from 1, 4, 16 and 64 concurrent clients for DURATION seconds each (LINES lines per request,
# default 1), prints a markdown table with the server's RSS a quarter into each level and at its end, stops the server with
# SIGTERM (exit 0 expected), then prints batched seqzoo-evaluate's decoding speed on the same test set
# (its "translated N sentences in S s" line, with the server's --precision when one is given), the
# fastest of three runs (this machine's speed varies from run to run), for comparison.
#   [LINES=1] [WARMUP=30] bash tools/bench-serve.sh RUN [DURATION=60] [CLIENTS="1 4 16 64"] [SERVER OPTIONS...]
# e.g. LINES=8 bash tools/bench-serve.sh runs/x 60 "16 64" --replicas 2 --precision bf16
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:?usage: bash tools/bench-serve.sh RUN [DURATION] [CLIENTS]}
duration=${2:-60}
levels=${3:-"1 4 16 64"}
shift $(( $# < 3 ? $# : 3 ))
server_options=("$@")
data=${SEQZOO_DATA:-../shared/data/multi30k}
src=$(mktemp) log=$(mktemp)
trap 'rm -f "$src" "$src.hyp" "$log" "$log.row"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT
# the run's source language (data.src_lang in its config.yaml)
lang=$(awk '/^data:/ {d=1; next} /^[^ ]/ {d=0} d && $1 == "src_lang:" {print $2; exit}' "$run/config.yaml")
cp "$data/test_2016_flickr.$lang" "$src"
./build/seqzoo-serve --run "$run" --port 0 ${server_options[@]+"${server_options[@]}"} 2>"$log" &
pid=$!
for _ in $(seq 600); do grep -q 'listening on' "$log" && break; sleep 0.1; done
port=$(grep -o 'listening on http://[^ ]*' "$log" | sed 's/.*://')
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $(date -u +%F)"
echo "server options: ${server_options[*]:-(defaults)}; ${LINES:-1} line(s) per request"
echo "server RSS after start: $(rss) MB"
most=$(tr ' ' '\n' <<<"$levels" | sort -n | tail -1)
./build/seqzoo-serve-load --port "$port" --file "$src" --clients "$most" --duration "${WARMUP:-30}" \
  --lines-per-request "${LINES:-1}" >/dev/null  # warm-up
echo "server RSS after warm-up (${WARMUP:-30} s at $most clients): $(rss) MB"
first=1
for c in $levels; do
  # RSS is sampled a quarter into the level and at its end: flat under a steady load means no leak.
  ./build/seqzoo-serve-load --port "$port" --file "$src" --clients "$c" --duration "$duration" \
    --lines-per-request "${LINES:-1}" ${first:+--header} >"$log.row" || true &
  load=$!
  from=$(wc -l <"$log")
  sleep "$(awk -v d="$duration" 'BEGIN { print d / 4 }')"
  early=$(rss)
  wait "$load" || true
  first=
  # the mean number of lines a request shared its decoder batch with, from the server's log lines
  batch=$(tail -n +"$((from + 1))" "$log" | grep -o 'batch=[0-9]*lines' | tr -dc '0-9\n' |
          awk '{ s += $1; n++ } END { if (n) printf "%.1f", s / n; else printf "-" }')
  sed "\$s/\$/ RSS ${early} → $(rss) MB, mean batch ${batch} lines/" "$log.row"
done
kill -TERM "$pid"
wait "$pid" && echo "server: exit 0 after SIGTERM" || echo "server: exit $? after SIGTERM"
pid=
# the baseline decodes in the server's precision
precision=()
for ((i = 0; i + 1 < ${#server_options[@]}; i++)); do
  [ "${server_options[i]}" = --precision ] && precision=(--precision "${server_options[i + 1]}")
done
tgt=$(awk '/^data:/ {d=1; next} /^[^ ]/ {d=0} d && $1 == "tgt_lang:" {print $2; exit}' "$run/config.yaml")
best=
for _ in 1 2 3; do
  line=$(./build/seqzoo-evaluate --run "$run" --src "$src" --ref "$data/test_2016_flickr.$tgt" --output "$src.hyp" \
    ${precision[@]+"${precision[@]}"} 2>&1 | grep -m1 '^translated')
  speed=$(grep -o '[0-9.]* sentences/s' <<<"$line" | cut -d' ' -f1)
  if [ -z "$best" ] || awk -v a="$speed" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$speed bestline=$line; fi
done
echo "batched seqzoo-evaluate on the same sentences (fastest of 3): $bestline"
