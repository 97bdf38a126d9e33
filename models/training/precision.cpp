#include "models/training/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <stdexcept>

namespace seqzoo {

bool cpu_has_native_bf16() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

c10::optional<torch::ScalarType> autocast_dtype(const std::string& precision, const torch::Device& device) {
  if (precision == "fp32") return c10::nullopt;
  if (precision != "bf16" && precision != "fp16")
    throw std::invalid_argument("precision: unknown precision '" + precision + "' (known: fp32, bf16, fp16)");
  if (device.is_cuda()) return precision == "bf16" ? torch::kBFloat16 : torch::kHalf;
  if (device.is_cpu() && precision == "bf16" && cpu_has_native_bf16()) return torch::kBFloat16;
  return c10::nullopt;
}

// LibTorch 2.4 made the autocast calls device-generic; before, CPU and CUDA had their own.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SEQZOO_AUTOCAST_GENERIC 1
#endif

AutocastScope::AutocastScope(bool enabled, c10::DeviceType device, torch::ScalarType dtype)
    : enabled_(enabled), cpu_(device == c10::DeviceType::CPU) {
  if (!enabled_) return;
#ifdef SEQZOO_AUTOCAST_GENERIC
  const auto type = cpu_ ? at::kCPU : at::kCUDA;
  prev_enabled_ = at::autocast::is_autocast_enabled(type);
  prev_dtype_ = at::autocast::get_autocast_dtype(type);
  at::autocast::set_autocast_enabled(type, true);
  at::autocast::set_autocast_dtype(type, dtype);
#else
  if (cpu_) {
    prev_enabled_ = at::autocast::is_cpu_enabled();
    prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    prev_enabled_ = at::autocast::is_enabled();
    prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
#endif
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  // The outermost scope drops the cached low-precision copies of the weights (they change with
  // every optimizer step).
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#ifdef SEQZOO_AUTOCAST_GENERIC
  const auto type = cpu_ ? at::kCPU : at::kCUDA;
  at::autocast::set_autocast_enabled(type, prev_enabled_);
  at::autocast::set_autocast_dtype(type, prev_dtype_);
#else
  if (cpu_) {
    at::autocast::set_cpu_enabled(prev_enabled_);
    at::autocast::set_autocast_cpu_dtype(prev_dtype_);
  } else {
    at::autocast::set_enabled(prev_enabled_);
    at::autocast::set_autocast_gpu_dtype(prev_dtype_);
  }
#endif
}

}  // namespace seqzoo
