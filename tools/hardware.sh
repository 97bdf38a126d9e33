# Sourced by the scripts that print figures (results.sh, zoo.sh): describe_hardware DEVICE prints
# what the figures come from, e.g. "2-core AMD EPYC (AVX-512, AVX512-BF16) CPU" or the GPU's name.
# DEVICE is a run's device setting (cpu | cuda | auto).
describe_hardware() {
  local device=$1
  if [ "$device" = cuda ] || { [ "$device" = auto ] && command -v nvidia-smi >/dev/null; }; then
    nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1
    return
  fi
  local flags isa=() hw
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  [[ $flags == *" avx512f "* ]] && isa+=("AVX-512")
  [[ $flags == *" avx512_bf16 "* ]] && isa+=("AVX512-BF16")
  [[ $flags == *" amx_bf16 "* ]] && isa+=("AMX")
  [ ${#isa[@]} -eq 0 ] && [[ $flags == *" avx2 "* ]] && isa+=("AVX2")
  hw="$(nproc)-core $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
  [ ${#isa[@]} -gt 0 ] && hw+=" ($(IFS=,; echo "${isa[*]}" | sed 's/,/, /g'))"
  echo "$hw CPU"
}
