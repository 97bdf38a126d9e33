#pragma once
// Multi-head scaled dot-product attention (Vaswani et al. 2017, §3.2):
//   Attention(Q,K,V) = softmax(Q K^T / sqrt(d_head) + mask) V,  heads concatenated, then W_o.
// Batch-first throughout. Self-attention uses one fused [3D,D] q/k/v projection (rows q;k;v, the
// layout of torch::nn::MultiheadAttention's in_proj_weight); cross-attention uses a [D,D] query
// projection and a fused [2D,D] key/value projection, so the keys/values of the encoder output can
// be computed once and cached for incremental decoding.
// On LibTorch >= 2 the product runs through at::scaled_dot_product_attention (fused kernels),
// except when the attention weights are asked for; otherwise matmul + masked softmax.
#include <torch/torch.h>

#include "models/layers/masks.h"

#include <cstdint>
#include <tuple>
#include <utility>

namespace seqzoo {

// valid [B,S] bool (true = real token) -> additive attention bias [B,1,1,S] (0 or -inf) in dtype.
torch::Tensor key_padding_bias(const torch::Tensor& valid, torch::Dtype dtype = torch::kFloat32);


class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  // embed_dim D, heads H (H divides D), dropout on the attention weights; self_attention selects
  // the fused q/k/v projection (else q + fused k/v). Xavier-uniform initialisation (each q/k/v
  // block with gain 1/sqrt(2), as fairseq; equal to xavier over the fused [3D,D] matrix), zero biases.
  MultiheadAttentionImpl(int64_t embed_dim, int64_t heads, double dropout, bool self_attention);

  // Self-attention projections: x [B,T,D] -> q, k, v, each [B,H,T,dh] (views, no copy).
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> project_qkv(const torch::Tensor& x);
  // Cross-attention query projection: x [B,T,D] -> q [B,H,T,dh].
  torch::Tensor project_q(const torch::Tensor& x);
  // Cross-attention key/value projection: memory [B,S,D] -> k, v, each [B,H,S,dh].
  std::pair<torch::Tensor, torch::Tensor> project_kv(const torch::Tensor& memory);

  // q [B,H,T,dh], k and v [B,H,S,dh] -> output [B,T,D] (after the output projection).
  // bias: additive float mask broadcastable to [B,H,T,S] (e.g. key_padding_bias), or undefined.
  // causal: query t may only see keys <= t (needs T == S). When `weights` is given it receives
  // the attention weights averaged over heads, [B,T,S], and `head_weights` those of every head,
  // [B,H,T,S] (both before dropout).
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& bias = {}, bool causal = false,
                       torch::Tensor* weights = nullptr, torch::Tensor* head_weights = nullptr);

  // query [B,T,D]; memory [B,S,D] for cross-attention, undefined for self-attention.
  // Same masks and `weights` as attend(). Returns [B,T,D].
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& memory = {},
                        const torch::Tensor& bias = {}, bool causal = false,
                        torch::Tensor* weights = nullptr);

  int64_t embed_dim() const { return embed_dim_; }
  int64_t heads() const { return heads_; }
  int64_t head_dim() const { return head_dim_; }
  bool self_attention() const { return self_attention_; }

  // Parameters (registered): in_proj [3D,D] (self) or q_proj [D,D] + kv_proj [2D,D] (cross); out_proj.
  torch::nn::Linear in_proj{nullptr}, q_proj{nullptr}, kv_proj{nullptr}, out_proj{nullptr};

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // [B,T,D] -> [B,H,T,dh] (view)

  int64_t embed_dim_, heads_, head_dim_;
  double dropout_;
  bool self_attention_;
};
TORCH_MODULE(MultiheadAttention);

}  // namespace seqzoo
