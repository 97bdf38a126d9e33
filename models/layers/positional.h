#pragma once
// Sinusoidal positional encoding (Vaswani et al. 2017, "Attention Is All You Need", §3.5):
//   PE(pos, 2i)   = sin(pos / 10000^(2i/d))
//   PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
// The table has no fixed length: it is computed on demand, cached, and grown (doubling) when a
// longer sequence arrives. It holds no parameters and is not saved in checkpoints.
#include <torch/torch.h>

#include <cstdint>

namespace seqzoo {

class SinusoidalPositionalEncodingImpl : public torch::nn::Module {
 public:
  explicit SinusoidalPositionalEncodingImpl(int64_t dim);

  // Rows [offset, offset + length) of the table: [length, dim], on `device` in `dtype`.
  torch::Tensor encoding(int64_t length, int64_t offset = 0,
                         const torch::Device& device = torch::kCPU,
                         torch::Dtype dtype = torch::kFloat32);

  // x [B,T,dim] (token embeddings) -> x * scale + PE[offset .. offset+T) : [B,T,dim].
  // The encoding is ADDED (never concatenated); with scale = sqrt(d_model) this is the
  // Transformer's input layer in one fused op. `offset` is the position of x's first row
  // (incremental decoding passes the decoder step).
  torch::Tensor forward(const torch::Tensor& x, int64_t offset = 0, double scale = 1.0);

  int64_t dim() const { return dim_; }
  // Rows currently cached (for tests).
  int64_t cached_length() const { return table_.defined() ? table_.size(0) : 0; }

 private:
  void grow(int64_t length);

  int64_t dim_;
  torch::Tensor table_;  // [L,dim] float32 on CPU: the master cache
  torch::Tensor view_;   // table_ converted to the last device/dtype asked for
};
TORCH_MODULE(SinusoidalPositionalEncoding);

}  // namespace seqzoo
