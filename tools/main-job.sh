#!/usr/bin/env bash
# The main job: build, then train -> evaluate -> translate on Multi30k with a small Transformer that
# trains on 2 CPU cores in about 12 minutes; de->en unless the configs or overrides say otherwise.
#   bash tools/main-job.sh [CONFIG...] [--set key=value ...]     (default configs/transformer-small.yaml)
#   bash tools/main-job.sh configs/transformer-small.yaml configs/en-de.yaml                     (en->de)
#   bash tools/main-job.sh configs/transformer-small.yaml --set data.src_lang=en --set data.tgt_lang=de
# The configs are given to seqzoo-train in order (later files override earlier ones key by key), the
# --set overrides after them. The run goes to runs/main-job (replaced each time); it is evaluated on its
# own test set (data.test, default test_2016_flickr) in its own direction, and two demo sentences in its
# source language are translated.
# The corpus is read from $SEQZOO_DATA or ../shared/data/multi30k (data/download_multi30k.sh fetches it).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() {
  echo "usage: bash tools/main-job.sh [CONFIG...] [--set key=value ...]" >&2
  exit "${1:-2}"
}
configs=()
sets=()
while [ $# -gt 0 ]; do
  case $1 in
    --set) [ $# -ge 2 ] || usage; sets+=(--set "$2"); shift 2 ;;
    --set=*) sets+=(--set "${1#--set=}"); shift ;;
    -h | --help) usage 0 ;;
    -*) echo "main-job: unknown option '$1'" >&2; usage ;;
    *) configs+=(--config "$1"); shift ;;
  esac
done
[ ${#configs[@]} -gt 0 ] || configs=(--config configs/transformer-small.yaml)
for s in "${sets[@]}"; do
  case $s in run_dir=*)
    echo "main-job: the run always goes to runs/main-job; train with ./build/seqzoo-train for another run_dir" >&2
    exit 2 ;;
  esac
done

data=${SEQZOO_DATA:-../shared/data/multi30k}
if [ ! -s "$data/train.de" ]; then
  echo "main-job: no Multi30k in $data; downloading it" >&2
  bash data/download_multi30k.sh "$data"
fi
export SEQZOO_DATA=$data
bash tools/build.sh
run=runs/main-job
rm -rf "$run"
./build/seqzoo-train "${configs[@]}" --set run_dir="$run" "${sets[@]}"
# data.test (default test_2016_flickr) in the run's direction; hypotheses in $run/eval/.
./build/seqzoo-evaluate --run "$run"

# data.KEY from the run's resolved config.yaml (keys under `data:` are indented by two spaces).
data_key() {
  awk -v k="$1" '/^[^ #]/ { sec = $0; sub(/:.*/, "", sec) }
                 sec == "data" && $1 == k ":" { v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+#.*$/, "", v)
                                                gsub(/^["\047]|["\047]$/, "", v); print v; exit }' "$run/config.yaml"
}
src_lang=$(data_key src_lang)
case $src_lang in
  de) demo=$'Ein Mann fährt mit dem Fahrrad die Straße entlang.\nZwei Hunde spielen im Schnee.\n' ;;
  en) demo=$'A man rides a bicycle down the street.\nTwo dogs play in the snow.\n' ;;
  *)
    dir=$(data_key dir)
    test=$(data_key test)
    file=${dir:-$data}/${test:-test_2016_flickr}.$src_lang
    echo "main-job: no demo sentence in '$src_lang'; translating the first two lines of $file" >&2
    demo=$(head -n 2 "$file")$'\n' ;;
esac
printf '%s' "$demo" | ./build/seqzoo-translate --run "$run"
