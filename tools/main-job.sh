#!/usr/bin/env bash
# The main job: build, then train -> evaluate -> translate on Multi30k (de->en) with a small
# Transformer that trains on 2 CPU cores in about 12 minutes.
#   bash tools/main-job.sh [CONFIG]        (default configs/transformer-small.yaml)
# The corpus is read from $SEQZOO_DATA or ../shared/data/multi30k (data/download_multi30k.sh fetches it).
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/transformer-small.yaml}
data=${SEQZOO_DATA:-../shared/data/multi30k}
if [ ! -s "$data/train.de" ]; then
  echo "main-job: no Multi30k in $data; downloading it" >&2
  bash data/download_multi30k.sh "$data"
fi
export SEQZOO_DATA=$data
bash tools/build.sh
run=runs/main-job
rm -rf "$run"
./build/seqzoo-train --config "$config" --set run_dir="$run"
./build/seqzoo-evaluate --run "$run" --src "$data/test_2016_flickr.de" --ref "$data/test_2016_flickr.en" \
    --output "$run/test_2016_flickr.hyp.en"
printf 'Ein Mann fährt mit dem Fahrrad die Straße entlang.\nZwei Hunde spielen im Schnee.\n' |
    ./build/seqzoo-translate --run "$run"
