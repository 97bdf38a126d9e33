#include "models/layers/positional.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace seqzoo {

SinusoidalPositionalEncodingImpl::SinusoidalPositionalEncodingImpl(int64_t dim) : dim_(dim) {
  if (dim <= 0)
    throw std::invalid_argument("positional encoding: dim must be positive, got " +
                                std::to_string(dim));
  grow(256);
}

void SinusoidalPositionalEncodingImpl::grow(int64_t length) {
  int64_t rows = std::max<int64_t>(cached_length(), 1);
  while (rows < length) rows *= 2;
  // Computed in double precision so that far positions stay accurate, then stored as float.
  torch::NoGradGuard no_grad;
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto pos = torch::arange(rows, opts).unsqueeze(1);                         // [L,1]
  auto pair = torch::arange(dim_, opts).div(2, "floor").mul(2.0);           // [d]: 2i for 2i, 2i+1
  auto inv_freq = torch::exp(pair * (-std::log(10000.0) / static_cast<double>(dim_)));  // [d]
  auto angle = pos * inv_freq.unsqueeze(0);                                  // [L,d]
  auto even = torch::arange(dim_, torch::kInt64).remainder(2).eq(0).unsqueeze(0);  // [1,d]
  table_ = torch::where(even, angle.sin(), angle.cos()).to(torch::kFloat32);
  view_ = torch::Tensor();
}

torch::Tensor SinusoidalPositionalEncodingImpl::encoding(int64_t length, int64_t offset,
                                                         const torch::Device& device,
                                                         torch::Dtype dtype) {
  if (length < 0 || offset < 0)
    throw std::invalid_argument("positional encoding: negative length or offset");
  if (offset + length > cached_length()) grow(offset + length);
  if (!view_.defined() || view_.device() != device || view_.scalar_type() != dtype) {
    torch::NoGradGuard no_grad;
    view_ = table_.to(device, dtype);
  }
  return view_.narrow(0, offset, length);
}

torch::Tensor SinusoidalPositionalEncodingImpl::forward(const torch::Tensor& x, int64_t offset,
                                                        double scale) {
  // x [B,T,d]
  if (x.dim() < 2 || x.size(-1) != dim_)
    throw std::invalid_argument("positional encoding: expected [...,T," + std::to_string(dim_) +
                                "] input");
  auto pe = encoding(x.size(-2), offset, x.device(), x.scalar_type());  // [T,d]
  return torch::add(pe, x, scale);                                      // pe + scale * x, [B,T,d]
}

}  // namespace seqzoo
