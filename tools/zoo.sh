#!/usr/bin/env bash
# The zoo, in one command: trains every family's small config for the same wall-clock budget on
# Multi30k (de->en), then compares them with seqzoo-compare on test_2016_flickr and writes
# runs/zoo/report.html (self-contained: tables, plots, attention maps) and runs/zoo/report.md.
#   bash tools/zoo.sh [MINUTES] [--set key=value ...]      (default 12 minutes per model)
#   SEQZOO_ZOO="seq2seq-gru-small transformer-small" bash tools/zoo.sh 5      (other configs)
# The --set overrides go to every training (e.g. --set data.src_lang=en --set data.tgt_lang=de).
# A finished run in runs/zoo/<config>-<MINUTES>m is reused, not retrained (delete it to retrain).
# Alpha is not tuned after training (train.tune_alpha=false): every model decodes with its
# config's beam and alpha, so the budget is the training time alone. Needs Multi30k
# ($SEQZOO_DATA or ../shared/data/multi30k); builds first when ./build has no seqzoo-compare.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/hardware.sh
usage() { echo "usage: bash tools/zoo.sh [MINUTES] [--set key=value ...]" >&2; exit 2; }
minutes=12
sets=()
while [ $# -gt 0 ]; do
  case $1 in
    --set) [ $# -ge 2 ] || usage; sets+=(--set "$2"); shift 2 ;;
    --set=*) sets+=(--set "${1#--set=}"); shift ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "zoo: unknown option '$1'" >&2; usage ;;
    *) [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "zoo: MINUTES must be a number, got '$1'" >&2; usage; }
       minutes=$1; shift ;;
  esac
done
export SEQZOO_DATA=${SEQZOO_DATA:-../shared/data/multi30k}
[ -d "$SEQZOO_DATA" ] || { echo "zoo: no Multi30k at $SEQZOO_DATA (set SEQZOO_DATA)" >&2; exit 1; }
[ -x build/seqzoo-compare ] || bash tools/build.sh
read -r -a configs <<<"${SEQZOO_ZOO:-seq2seq-lstm-small attention-bahdanau-small attention-luong-general-small transformer-small}"
mkdir -p runs/zoo
runs=()
names=()
for c in "${configs[@]}"; do
  [ -f "configs/$c.yaml" ] || { echo "zoo: no config configs/$c.yaml" >&2; exit 1; }
  run=runs/zoo/$c-${minutes}m
  if ! grep -q '^stopped' "$run/train.log" 2>/dev/null; then
    rm -rf "$run"
    echo "zoo: training $c for $minutes minutes -> $run" >&2
    ./build/seqzoo-train --config "configs/$c.yaml" --set run_dir="$run" --set train.max_minutes="$minutes" \
        --set train.max_steps=0 --set train.tune_alpha=false "${sets[@]}" >"$run.train.out" 2>&1 ||
      { echo "zoo: training $c failed, see $run.train.out: $(tail -n 1 "$run.train.out")" >&2; exit 1; }
    mv "$run.train.out" "$run/train.out"
  else
    echo "zoo: reusing $run" >&2
  fi
  runs+=("$run")
  names+=(--name "${c%-small}")
done
device=$(grep -m1 '^device:' "${runs[0]}/config.yaml" | awk '{print $2}' | tr -d '"')
title="seqzoo zoo: ${#runs[@]} models, $minutes minutes of training each, $(describe_hardware "$device"), $(date +%F)"
./build/seqzoo-compare "${runs[@]}" "${names[@]}" --test test_2016_flickr --title "$title" \
    --report runs/zoo/report.html --markdown runs/zoo/report.md
echo "zoo: $title" >&2
echo "zoo: report runs/zoo/report.html, summary runs/zoo/report.md" >&2
