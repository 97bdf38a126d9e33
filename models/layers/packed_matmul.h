#pragma once
// y = x Wᵀ + b for inference, through oneDNN's matmul with W reordered once, at load, into the
// blocked layout its kernels read.
//
// Why: LibTorch's fp32 products go to BLAS, which repacks the whole weight matrix at every call.
// At the row counts of decoding (a beam of 5 rows, a few dozen sentences) that copy costs more
// than the arithmetic: for the 8k-word output layer it is most of a decoder step. A weight packed
// once is only read. bf16 weights (on CPUs with native bf16) halve what is read again; int8
// weights (on CPUs with VNNI) quarter it: one scale per weight row, the inputs quantized at each
// call with one scale (dynamic quantization), the int32 sums scaled to fp32 inside the kernel (one
// output scale per column: the input's scale times the weight row's), so the output is written once.
//
// One primitive per row count (exact up to 32 rows, then in steps of 16: padded with zero rows)
// is created on first use and kept (oneDNN compiles a kernel per shape); the cache is bounded. Thread-safe: several threads may call forward() at once.
// Available when seqzoo was built with oneDNN 2.x (Debian: libdnnl-dev, the library LibTorch
// itself uses); otherwise packed_matmul_available() is false and nothing here is used.
#include <torch/torch.h>

#include <memory>

namespace seqzoo {

// The symmetric int8 scales of a weight [out, in], one per row: row i ≈ scale_i * q_i with q_i in
// [-127, 127], scale_i = max |w_i| / 127 (at least 1e-12) -> fp32 [out]. The int8 copies of both
// paths (this one and LibTorch's quantized engine, linear.cpp) are quantized with them.
torch::Tensor int8_row_scales(const torch::Tensor& weight);

// Whether PackedMatmul can be built for `dtype`: kFloat32; kBFloat16 on a CPU with native bf16;
// kInt8 on a CPU with VNNI (AVX512-VNNI).
bool packed_matmul_available(torch::ScalarType dtype);

class PackedMatmul {
 public:
  // weight [out, in] (any floating dtype, copied: later changes to it are not seen); dtype of the
  // packed copy: kFloat32, kBFloat16 or kInt8. std::invalid_argument when not available.
  PackedMatmul(const torch::Tensor& weight, torch::ScalarType dtype);
  ~PackedMatmul();
  PackedMatmul(const PackedMatmul&) = delete;
  PackedMatmul& operator=(const PackedMatmul&) = delete;

  // x [rows, in] (any floating dtype; converted to the packed dtype), bias [out] fp32 or undefined
  // -> [rows, out] fp32.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias) const;

  torch::ScalarType dtype() const { return dtype_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  torch::ScalarType dtype_;
};

}  // namespace seqzoo
