#!/usr/bin/env bash
# Translation-speed benchmark on Multi30k test_2016_flickr (1,000 sentences): for each trained run,
# greedy and beam 5, batched and one sentence at a time; prints sentences/s and target tokens/s.
#   bash tools/bench-translate.sh RUN_DIR [RUN_DIR...]     (runs written by seqzoo-train)
# Each run translates test_2016_flickr in its own direction (<data dir>/test_2016_flickr.<src_lang>,
# scored against .<tgt_lang>); the data dir is the run's data.dir, else $SEQZOO_DATA, else
# ../shared/data/multi30k.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: bash tools/bench-translate.sh RUN_DIR [RUN_DIR...]" >&2; exit 2; }
printf '| run | beam | batching | sentences/s | tgt tokens/s | BLEU | threads |\n|---|---|---|---|---|---|---|\n'
for run in "$@"; do
  for beam in 1 5; do
    for batching in batched single; do
      extra=()
      [ "$batching" = single ] && extra=(--batch-tokens 1)
      log=$(./build/seqzoo-evaluate --run "$run" --test test_2016_flickr --beam-size "$beam" --output /dev/null \
            "${extra[@]}" 2>&1) ||
        { echo "| $run | $beam | $batching | failed: $(tail -n 1 <<<"$log") |"; continue; }
      sps=$(grep -oE '[0-9.]+ sentences/s' <<<"$log" | awk '{print $1}')
      tps=$(grep -oE '[0-9.]+ target tokens/s' <<<"$log" | awk '{print $1}')
      bleu=$(grep -m1 -oE '^BLEU = [0-9.]+' <<<"$log" | awk '{print $3}')
      printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(basename "$run")" "$beam" "$batching" "$sps" "$tps" "$bleu" "$(nproc)"
    done
  done
done
