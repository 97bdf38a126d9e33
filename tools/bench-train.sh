#!/usr/bin/env bash
# Training-throughput benchmark: trains each family's small Multi30k de->en config for a fixed number
# of updates (batch 4096 tokens) and prints target and source+target tokens/s and peak memory.
#   bash tools/bench-train.sh [STEPS] [CONFIG...]     (default: 60 steps, every family's small config)
#   PRECISION=fp32 bash tools/bench-train.sh ...       (override train.precision: fp32 | bf16 | fp16)
# The precision column is what ran: bf16 only where the device supports it (see train.precision).
# Needs a build (bash tools/build.sh) and Multi30k ($SEQZOO_DATA or ../shared/data/multi30k).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-60}; shift || true
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(configs/transformer-small.yaml configs/seq2seq-lstm-small.yaml
  configs/seq2seq-gru-small.yaml configs/attention-bahdanau-small.yaml configs/attention-luong-general-small.yaml
  configs/attention-luong-dot-small.yaml)
out=$(mktemp -d)
extra=()
[ -n "${PRECISION:-}" ] && extra=(--set train.precision="$PRECISION")
printf '| config | params | precision | steps | tgt tok/s | src+tgt tok/s | peak RSS (MiB) | threads |\n|---|---|---|---|---|---|---|---|\n'
for cfg in "${configs[@]}"; do
  name=$(basename "$cfg" .yaml)
  run="$out/$name"
  /usr/bin/time -f '%M' -o "$out/$name.rss" ./build/seqzoo-train --config "$cfg" --set run_dir="$run" \
      --set train.max_steps="$steps" --set train.max_minutes=0 --set train.log_every=$((steps / 3)) \
      --set train.valid_every=1000000 --set train.valid_bleu=false --set train.tune_alpha=false --set data.batch_tokens=4096 "${extra[@]}" \
      >"$out/$name.log" 2>&1 || { echo "| $name | failed: $(tail -n 1 "$out/$name.log") |"; continue; }
  params=$(./build/seqzoo-train --config "$cfg" --summary 2>/dev/null | grep -m1 -oE '[0-9,]+ parameters' | head -1 | awk '{print $1}')
  # The last progress line measures the last third of the run (warm caches, no start-up cost).
  line=$(grep -E 'tgt [0-9]+ tok/s' "$out/$name.log" | tail -n 1)
  src=$(sed -E 's/.*src ([0-9]+) tok\/s.*/\1/' <<<"$line")
  tgt=$(sed -E 's/.*tgt ([0-9]+) tok\/s.*/\1/' <<<"$line")
  precision=$(grep -m1 -oE 'mixed precision: [a-z0-9]+' "$out/$name.log" | awk '{print $3}' || true)
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "${params:-?}" "${precision:-fp32}" "$steps" "$tgt" "$((src + tgt))" \
      "$(( $(cat "$out/$name.rss") / 1024 ))" "$(nproc)"
done
rm -rf "$out"
