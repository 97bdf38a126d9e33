#pragma once
// Mixed precision: autocast scopes for CUDA (bf16/fp16) and the CPU (bf16), and whether the CPU
// runs bf16 matmuls natively. Micikevicius et al. 2018, "Mixed Precision Training": the weights,
// the optimizer state, the loss and (in seqzoo's Transformer) the residual stream stay in fp32;
// the matrix products run in the lower precision.
#include <torch/torch.h>

#include <string>

namespace seqzoo {

// Whether CPU autocast to bf16 pays off here: the CPU has native bf16 instructions (AVX512-BF16;
// AMX-BF16 CPUs have them too), which oneDNN uses for LibTorch's bf16 matmuls. Without them bf16
// matmuls are emulated and slower than fp32 (README, "CPU bf16", has the measurements).
bool cpu_has_native_bf16();

// The autocast dtype for `precision` ("fp32" | "bf16" | "fp16") on `device`, or nullopt when that
// device runs it in fp32: the CPU autocasts bf16 only, and only with native bf16 (above).
// Throws std::invalid_argument for an unknown precision.
c10::optional<torch::ScalarType> autocast_dtype(const std::string& precision, const torch::Device& device);

// Autocast on `device`'s type for the scope's lifetime (forward passes and the loss; backward runs
// outside it), restored on exit. Disabled scopes do nothing.
class AutocastScope {
 public:
  AutocastScope(bool enabled, c10::DeviceType device, torch::ScalarType dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool cpu_;
  bool prev_enabled_ = false;
  torch::ScalarType prev_dtype_ = torch::kHalf;
};

}  // namespace seqzoo
