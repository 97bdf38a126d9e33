#!/usr/bin/env bash
# Translation-speed benchmark on Multi30k test_2016_flickr (1,000 sentences): for each trained run,
# greedy and beam 5, batched and one sentence at a time; prints sentences/s and target tokens/s.
#   bash tools/bench-translate.sh RUN_DIR [RUN_DIR...]     (runs written by seqzoo-train)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${SEQZOO_DATA:-../shared/data/multi30k}
[ $# -gt 0 ] || { echo "usage: bash tools/bench-translate.sh RUN_DIR [RUN_DIR...]" >&2; exit 2; }
src_lang=$(grep -m1 'src_lang:' "$1/config.yaml" | awk '{print $2}' | tr -d '"')
tgt_lang=$(grep -m1 'tgt_lang:' "$1/config.yaml" | awk '{print $2}' | tr -d '"')
printf '| run | beam | batching | sentences/s | tgt tokens/s | BLEU | threads |\n|---|---|---|---|---|---|---|\n'
for run in "$@"; do
  for beam in 1 5; do
    for batching in batched single; do
      extra=()
      [ "$batching" = single ] && extra=(--batch-tokens 1)
      log=$(./build/seqzoo-evaluate --run "$run" --src "$data/test_2016_flickr.$src_lang" \
            --ref "$data/test_2016_flickr.$tgt_lang" --beam "$beam" --output /dev/null "${extra[@]}" 2>&1) ||
        { echo "| $run | $beam | $batching | failed: $(tail -n 1 <<<"$log") |"; continue; }
      sps=$(grep -oE '[0-9.]+ sentences/s' <<<"$log" | awk '{print $1}')
      tps=$(grep -oE '[0-9.]+ target tokens/s' <<<"$log" | awk '{print $1}')
      bleu=$(grep -m1 -oE '^BLEU = [0-9.]+' <<<"$log" | awk '{print $3}')
      printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(basename "$run")" "$beam" "$batching" "$sps" "$tps" "$bleu" "$(nproc)"
    done
  done
done
