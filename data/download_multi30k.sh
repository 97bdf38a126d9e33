#!/usr/bin/env bash
# Downloads Multi30k Task 1 (raw, cased; train/val/test_2016_flickr/test_2017_flickr for en, de, fr,
# cs) from the public Multi30k dataset repository into DIR (default: ../shared/data/multi30k).
# seqzoo reads the corpus from data.dir, else $SEQZOO_DATA, else ../shared/data/multi30k.
set -euo pipefail
dir=${1:-../shared/data/multi30k}
base=https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw
mkdir -p "$dir"
for split in train val test_2016_flickr test_2017_flickr; do
  for lang in en de fr cs; do
    [ "$split" = test_2017_flickr ] && [ "$lang" = cs ] && continue
    [ -s "$dir/$split.$lang" ] && continue
    echo "downloading $split.$lang" >&2
    curl -fsSL "$base/$split.$lang.gz" | gunzip > "$dir/$split.$lang.tmp"
    mv "$dir/$split.$lang.tmp" "$dir/$split.$lang"
  done
done
wc -l "$dir"/train.de "$dir"/val.de "$dir"/test_2016_flickr.de
