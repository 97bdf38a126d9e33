#!/usr/bin/env bash
# The GPU work of issue 20 as two commands for the lent GPU machine (the device tool: one command runs
# 10 minutes at most, the build outputs stay on a warm machine between commands). Carry .device-deps
# (../shared/device/prepare-deps, run here first). Everything printed also goes to $OUT/gpu-check-*.txt
# when $OUT is set (the device tool brings $OUT back).
#   bash tools/gpu-check.sh build     CUDA build against that machine's PyTorch LibTorch (build-cuda/)
#   bash tools/gpu-check.sh measure   [cuda] tests, Transformer-base bf16 training throughput and model
#                                     FLOPs utilisation, test_2016 beam-5 decoding time, a short
#                                     Transformer-small training on the GPU scored on test_2016/2017;
#                                     one table at the end
# Dry run on a CPU machine (checks the script, not the GPU): GPU_CHECK_DRY=1 uses ./build, the CPU,
# tiny step counts and the first 100 test sentences.
# Settings: TRAIN_MINUTES (default 3) bounds the quality run; BASE_STEPS (default 60) the throughput run;
# PEAK_TFLOPS (default 790, the H200's bf16 matrix rate measured on that machine) is the MFU's denominator.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:?usage: bash tools/gpu-check.sh build|measure}
dry=${GPU_CHECK_DRY:-}
data=${SEQZOO_DATA:-../shared/data/multi30k}
out_dir=${OUT:-}
log=/dev/null
[ -n "$out_dir" ] && log="$out_dir/gpu-check-$stage.txt"
exec > >(tee -a "$log") 2>&1

if [ -n "$dry" ]; then
  build=build device=cpu
else
  build=build-cuda device=cuda
  # shellcheck disable=SC1091
  source .device-deps/env.sh
fi

case "$stage" in
build)
  [ -n "$dry" ] && { echo "dry run: using ./build"; exit 0; }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  # Hopper: sm_90 (HOPPER.md); seqzoo has no CUDA kernels of its own, LibTorch's are prebuilt.
  TORCH_CUDA_ARCH_LIST=9.0 cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$DEVICE_PREFIX_PATH" -DCMAKE_CUDA_ARCHITECTURES=90
  time cmake --build "$build" -j"$(nproc)"
  ls -l "$build"/seqzoo-train "$build"/seqzoo-evaluate "$build"/seqzoo_tests
  ;;
measure)
  [ -x "$build/seqzoo_tests" ] || { echo "gpu-check: $build/seqzoo_tests missing: run the build stage first" >&2; exit 1; }
  work=$(mktemp -d)
  steps=${BASE_STEPS:-60}
  minutes=${TRAIN_MINUTES:-3}
  tokens=16384
  test_lines=1000
  if [ -n "$dry" ]; then steps=6; minutes=1; tokens=2048; test_lines=100; fi
  rows=()

  echo "== [cuda] tests"
  if "$build/seqzoo_tests" "[cuda]" >"$work/cuda-tests.txt" 2>&1; then result=passed; else result=FAILED; fi
  tail -n 3 "$work/cuda-tests.txt"
  counts=$(grep -E '^(All tests passed|test cases|assertions)' "$work/cuda-tests.txt" | tr '|\n' ', ' | tr -s ' ')
  [ -n "$dry" ] && counts="$counts (on a CPU each [cuda] case says so and returns)"
  rows+=("| [cuda] tests | $result: $counts |")

  echo "== Transformer-base, bf16, $tokens-token batches, $steps updates"
  base="$work/base"
  "$build/seqzoo-train" --config configs/transformer-base.yaml --set run_dir="$base" --set device="$device" \
    --set data.batch_tokens="$tokens" --set train.max_steps="$steps" --set train.max_minutes=0 \
    --set train.log_every=$((steps / 3 > 0 ? steps / 3 : 1)) --set train.valid_every=1000000 \
    --set train.valid_bleu=false --set train.tune_alpha=false >"$work/base.log" 2>&1 ||
    { tail -n 5 "$work/base.log"; exit 1; }
  # The last progress line measures the last third of the run (warm caches, no start-up cost).
  line=$(grep -E 'tgt [0-9]+ tok/s' "$work/base.log" | tail -n 1)
  src_tps=$(sed -E 's/.*src ([0-9]+) tok\/s.*/\1/' <<<"$line")
  tgt_tps=$(sed -E 's/.*tgt ([0-9]+) tok\/s.*/\1/' <<<"$line")
  # Model FLOPs per second: 6 x (the multiply-adds a token meets) per token, forward and backward
  # (Kaplan et al. 2020), counted from the configuration: encoder layers 4d^2 + 2d*ffn per source
  # token, decoder layers 8d^2 + 2d*ffn and the output projection d*V per target token, and the
  # attention products 2*L*d per layer and attention (L the mean length of the side attended to).
  spm_len() { spm_encode --model "$base/spm.model" <"$1" | awk '{ n += NF } END { printf "%.2f", n / NR }'; }
  ls_src=$(spm_len "$data/train.de") ls_tgt=$(spm_len "$data/train.en")
  vocab=$(wc -l <"$base/spm.vocab")
  mfu=$(awk -v s="$src_tps" -v t="$tgt_tps" -v ls="$ls_src" -v lt="$ls_tgt" -v v="$vocab" -v peak="${PEAK_TFLOPS:-790}" 'BEGIN {
    d = 512; f = 2048; n = 6
    enc = n * (4 * d * d + 2 * d * f + 2 * ls * d)                            # per source token
    dec = n * (8 * d * d + 2 * d * f + 2 * lt * d + 2 * ls * d) + d * v       # per target token
    flops = 6 * (enc * s + dec * t)
    printf "%.1f TFLOP/s, MFU %.1f%%", flops / 1e12, 100 * flops / (peak * 1e12) }')
  echo "src $src_tps tok/s, tgt $tgt_tps tok/s; mean lengths $ls_src / $ls_tgt; $mfu"
  rows+=("| Transformer-base bf16 training | src+tgt $((src_tps + tgt_tps)) tok/s, $mfu (of ${PEAK_TFLOPS:-790} TFLOP/s) |")

  echo "== Transformer-small on the GPU, $minutes minutes, then test_2016 and test_2017"
  small="$work/small"
  "$build/seqzoo-train" --config configs/transformer-small.yaml --set run_dir="$small" --set device="$device" \
    --set train.precision=bf16 --set train.max_minutes="$minutes" --set train.max_steps=1000000 \
    >"$work/small.log" 2>&1 || { tail -n 5 "$work/small.log"; exit 1; }
  tail -n 2 "$work/small.log"
  for t in test_2016_flickr test_2017_flickr; do
    head -n "$test_lines" "$data/$t.de" >"$work/$t.de"
    head -n "$test_lines" "$data/$t.en" >"$work/$t.en"
    res=$("$build/seqzoo-evaluate" --run "$small" --device "$device" --src "$work/$t.de" --ref "$work/$t.en" \
      --output "$work/$t.hyp" 2>&1 | grep -E '^(translated|BLEU)' | tr '\n' ' ')
    echo "$t: $res"
    rows+=("| Transformer-small, $minutes min on $device, $t ($test_lines lines, beam 5) | $res |")
  done

  echo
  echo "device: $( [ -n "$dry" ] && echo "CPU (dry run): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)" ||
    nvidia-smi --query-gpu=name --format=csv,noheader ); $(date -u +%F)"
  echo "| check | result |"
  echo "|---|---|"
  printf '%s\n' "${rows[@]}"
  rm -rf "$work"
  ;;
*)
  echo "usage: bash tools/gpu-check.sh build|measure" >&2
  exit 2
  ;;
esac
