#!/usr/bin/env bash
# One row of the README's quality table: train CONFIG (several: later files override earlier ones key
# by key, as in seqzoo-train) on Multi30k for MINUTES (0 = the config's own budget), then score the
# best checkpoint with beam 5 on test_2016_flickr and test_2017_flickr in the run's direction
# (sacreBLEU-compatible BLEU, 13a, cased, detokenized; chrF2) and print a markdown row.
#   bash tools/results.sh CONFIG [CONFIG...] [MINUTES] [--set key=value ...]
#   bash tools/results.sh configs/transformer-small.yaml configs/en-de.yaml       (en->de)
# The run goes to runs/results/<config names joined by +> (with MINUTES or --set overrides:
# <names>--<them>); an existing finished run there is scored again, not retrained (delete it to
# retrain). Needs a build (bash tools/build.sh) and Multi30k ($SEQZOO_DATA or ../shared/data/multi30k).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/hardware.sh
usage() { echo "usage: bash tools/results.sh CONFIG [CONFIG...] [MINUTES] [--set key=value ...]" >&2; exit 2; }
configs=()
sets=()
minutes=0
while [ $# -gt 0 ]; do
  case $1 in
    --set) [ $# -ge 2 ] || usage; sets+=("$2"); shift 2 ;;
    --set=*) sets+=("${1#--set=}"); shift ;;
    -*) echo "results: unknown option '$1'" >&2; usage ;;
    *)
      if [[ $1 =~ ^[0-9.]+$ ]]; then
        [ "$minutes" = 0 ] || usage
        minutes=$1
      else
        configs+=("$1")
      fi
      shift ;;
  esac
done
[ ${#configs[@]} -gt 0 ] || usage
export SEQZOO_DATA=${SEQZOO_DATA:-../shared/data/multi30k}
name=$(for c in "${configs[@]}"; do basename "$c" .yaml; done | paste -sd+ -)
run=runs/results/$name
if [ "$minutes" != 0 ] || [ ${#sets[@]} -gt 0 ]; then  # a variant of the config: its own run directory
  suffix=$( { [ "$minutes" != 0 ] && echo "max_minutes=$minutes"; for a in "${sets[@]}"; do echo "$a"; done; } |
            paste -sd- - | tr -c 'A-Za-z0-9=.,_\n-' '_')
  run=runs/results/$name--$suffix
fi
args=()
for c in "${configs[@]}"; do args+=(--config "$c"); done
args+=(--set run_dir="$run")
[ "$minutes" != 0 ] && args+=(--set train.max_minutes="$minutes")
for a in "${sets[@]}"; do args+=(--set "$a"); done
if ! grep -q '^stopped' "$run/train.log" 2>/dev/null; then
  rm -rf "$run"; mkdir -p runs/results
  ./build/seqzoo-train "${args[@]}" >"$run.train.out" 2>&1 ||
    { echo "results: training failed, see $run.train.out: $(tail -n 1 "$run.train.out")" >&2; exit 1; }
  mv "$run.train.out" "$run/train.out"
fi
src=$(grep -m1 '^  src_lang:' "$run/config.yaml" | awk '{print $2}' | tr -d '"')
tgt=$(grep -m1 '^  tgt_lang:' "$run/config.yaml" | awk '{print $2}' | tr -d '"')
device=$(grep -m1 '^device:' "$run/config.yaml" | awk '{print $2}' | tr -d '"')
params=$(./build/seqzoo-train --config "$run/config.yaml" --summary | grep -m1 -oE '[0-9]+ parameters' | awk '{printf "%.1fM", $1 / 1e6}')
stop=$(grep '^stopped' "$run/train.log" | tail -n 1)
steps=$(sed -E 's/^stopped \([a-z_]+\) at step ([0-9]+).*/\1/' <<<"$stop")
took=$(sed -E 's/.* after ([0-9hms]+).*/\1/' <<<"$stop")
scores=()
mkdir -p "$run/eval"
for test in test_2016_flickr test_2017_flickr; do
  # <data dir>/$test.<src_lang> -> $run/eval/$test.<tgt_lang>.hyp, scored against $test.<tgt_lang>.
  out=$(./build/seqzoo-evaluate --run "$run" --test "$test" --beam-size 5 2>&1) ||
    { echo "results: evaluate failed: $(tail -n 1 <<<"$out")" >&2; exit 1; }
  echo "$out" >"$run/eval/$test.score"
  scores+=("$(grep -m1 -oE '^BLEU = [0-9.]+' <<<"$out" | awk '{print $3}')")
  scores+=("$(grep -m1 -oE '^chrF2 = [0-9.]+' <<<"$out" | awk '{print $3}')")
done
hw=$(describe_hardware "$device")
# What ran: bf16/fp16 when the log says mixed precision was on, else fp32.
precision=$(grep -m1 -oE '^mixed precision: [a-z0-9]+' "$run/train.log" | awk '{print $3}' || true)
cell="bash tools/results.sh ${configs[*]}"
[ "$minutes" != 0 ] && cell+=" $minutes"
for a in "${sets[@]}"; do cell+=" --set $a"; done
printf '| %s | %s→%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | `%s` |\n' "$name" "$src" "$tgt" "$params" \
    "${precision:-fp32}" "$steps" "$took" "${scores[0]}" "${scores[1]}" "${scores[2]}" "${scores[3]}" "$hw" "$(date +%F)" "$cell"
