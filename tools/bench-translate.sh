#!/usr/bin/env bash
# Translation-speed benchmark on Multi30k test_2016_flickr: for each trained run, greedy and beam 5,
# batched (all 1,000 sentences) and one sentence at a time (the first SINGLE_LINES, default 200), for
# each number of workers in WORKERS (default "1") and each --precision in PRECISIONS (default "fp32");
# prints sentences/s and target tokens/s, then the time from start to the first translation (the
# median of 3 starts) beside the start of `seqzoo-translate --help` (LibTorch loaded, no model: the
# floor of a start).
#   [BUILDS="build ../old/build"] [WORKERS="1 2"] [BEAMS="1 5"] [MODES="batched single"] \
#     [PRECISIONS="fp32 bf16 int8"] \
#     bash tools/bench-translate.sh RUN_DIR [RUN_DIR...]
# With two builds (e.g. the previous commit's and today's, each a build folder with seqzoo-evaluate
# and seqzoo-translate), every row runs both, one right after the other, and adds their ratio and
# whether their hypotheses are the same byte for byte.
# Each run translates test_2016_flickr in its own direction (<data dir>/test_2016_flickr.<src_lang>,
# scored against .<tgt_lang>); the data dir is $SEQZOO_DATA, else ../shared/data/multi30k.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: [BUILDS=...] [WORKERS=...] bash tools/bench-translate.sh RUN_DIR [RUN_DIR...]" >&2; exit 2; }
read -r -a builds <<<"${BUILDS:-build}"
[ "${#builds[@]}" -le 2 ] || { echo "bench-translate: BUILDS takes one or two build folders" >&2; exit 2; }
for b in "${builds[@]}"; do
  [ -x "$b/seqzoo-evaluate" ] || { echo "bench-translate: $b/seqzoo-evaluate not found" >&2; exit 1; }
done
data=${SEQZOO_DATA:-../shared/data/multi30k}
single_lines=${SINGLE_LINES:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

lang() {  # lang RUN KEY: data.KEY of the run's config.yaml
  awk -v k="$2:" '/^data:/ {d=1; next} /^[^ ]/ {d=0} d && $1 == k {print $2; exit}' "$1/config.yaml"
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $(date -u +%F)"
echo "builds: ${builds[*]}"
if [ "${#builds[@]}" -eq 2 ]; then
  printf '| run | beam | batching | workers | precision | %s sent/s | %s sent/s | ratio | same output | tgt tokens/s | BLEU |\n' "${builds[0]}" "${builds[1]}"
  printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
else
  printf '| run | beam | batching | workers | precision | sentences/s | tgt tokens/s | BLEU | threads |\n|---|---|---|---|---|---|---|---|---|\n'
fi
for run in "$@"; do
  src_lang=$(lang "$run" src_lang) tgt_lang=$(lang "$run" tgt_lang)
  head -n "$single_lines" "$data/test_2016_flickr.$src_lang" >"$tmp/single.src"
  head -n "$single_lines" "$data/test_2016_flickr.$tgt_lang" >"$tmp/single.ref"
  for beam in ${BEAMS:-1 5}; do
    for batching in ${MODES:-batched single}; do
      for workers in ${WORKERS:-1}; do
      for precision in ${PRECISIONS:-fp32}; do
        if [ "$batching" = single ]; then
          input=(--src "$tmp/single.src" --ref "$tmp/single.ref" --batch-tokens 1)
        else
          input=(--src "$data/test_2016_flickr.$src_lang" --ref "$data/test_2016_flickr.$tgt_lang")
        fi
        sps=() tps="" bleu=""
        for i in "${!builds[@]}"; do
          log=$("${builds[$i]}/seqzoo-evaluate" --run "$run" "${input[@]}" --beam-size "$beam" --workers "$workers" \
                --precision "$precision" --output "$tmp/hyp$i" 2>&1) ||
            { echo "| $(basename "$run") | $beam | $batching | $workers | $precision | failed: $(tail -n 1 <<<"$log") |"; continue 2; }
          sps+=("$(grep -oE '[0-9.]+ sentences/s' <<<"$log" | awk '{print $1}')")
          tps=$(grep -oE '[0-9.]+ target tokens/s' <<<"$log" | awk '{print $1}')
          bleu=$(grep -m1 -oE '^BLEU = [0-9.]+' <<<"$log" | awk '{print $3}')
        done
        if [ "${#builds[@]}" -eq 2 ]; then
          same=$(cmp -s "$tmp/hyp0" "$tmp/hyp1" && echo yes || echo NO)
          ratio=$(awk -v a="${sps[0]}" -v b="${sps[1]}" 'BEGIN { printf "%.2f", b / a }')
          printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(basename "$run")" "$beam" "$batching" "$workers" \
            "$precision" "${sps[0]}" "${sps[1]}" "$ratio" "$same" "$tps" "$bleu"
        else
          printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(basename "$run")" "$beam" "$batching" "$workers" \
            "$precision" "${sps[0]}" "$tps" "$bleu" "$(nproc)"
        fi
      done
      done
    done
  done
done

# Start to first translation: one line through seqzoo-translate, the median of 3 starts per build;
# beside it the median of 3 starts of `seqzoo-translate --help` (the same program loading LibTorch
# and its libraries, no model).
median3() {  # median3 CMD...: the median wall time of 3 runs of CMD (stdin: this script's $line)
  local times=() start end
  for _ in 1 2 3; do
    start=$(date +%s.%N)
    "$@" <<<"$line" >/dev/null
    end=$(date +%s.%N)
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}
echo
printf '| run | build | first translation (s, median of 3) | --help, no model (s, median of 3) |\n|---|---|---|---|\n'
for run in "$@"; do
  line=$(head -n 1 "$data/test_2016_flickr.$(lang "$run" src_lang)")
  for b in "${builds[@]}"; do
    printf '| %s | %s | %s | %s |\n' "$(basename "$run")" "$b" "$(median3 "$b/seqzoo-translate" --run "$run")" \
      "$(median3 "$b/seqzoo-translate" --help)"
  done
done
