#include "models/layers/multihead_attention.h"

#include "models/layers/linear.h"

#include "models/layers/dropout.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace seqzoo {

torch::Tensor key_padding_bias(const torch::Tensor& valid, torch::Dtype dtype) {
  // valid [B,S] bool -> [B,1,1,S]: 0 where valid, -inf on padding.
  auto bias = torch::zeros(valid.sizes(), valid.options().dtype(dtype));
  bias.masked_fill_(valid.logical_not(), -std::numeric_limits<double>::infinity());
  return bias.unsqueeze(1).unsqueeze(1);
}


namespace {

// [T,S] additive causal bias: -inf above the diagonal (key j > query i).
torch::Tensor causal_bias(int64_t t, const torch::TensorOptions& options) {
  return torch::full({t, t}, -std::numeric_limits<double>::infinity(), options).triu(1);
}

}  // namespace

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t embed_dim, int64_t heads, double dropout,
                                               bool self_attention)
    : embed_dim_(embed_dim),
      heads_(heads),
      head_dim_(heads > 0 ? embed_dim / heads : 0),
      dropout_(dropout),
      self_attention_(self_attention) {
  if (embed_dim <= 0 || heads <= 0 || embed_dim % heads != 0)
    throw std::invalid_argument("multi-head attention: heads (" + std::to_string(heads) +
                                ") must be positive and divide the model width (" +
                                std::to_string(embed_dim) + ")");
  if (dropout < 0 || dropout >= 1)
    throw std::invalid_argument("multi-head attention: dropout must be in [0, 1)");
  const int64_t d = embed_dim;
  // Xavier uniform per d x d block with gain 1/sqrt(2) (fairseq multihead_attention.py): the
  // same bound as xavier over the fused [3D,D] matrix (torch.nn.MultiheadAttention).
  const double block_gain = 1.0 / std::sqrt(2.0);
  auto init_blocks = [&](torch::nn::Linear& lin, int64_t blocks) {
    torch::NoGradGuard no_grad;
    for (int64_t i = 0; i < blocks; ++i)
      torch::nn::init::xavier_uniform_(lin->weight.narrow(0, i * d, d), block_gain);
    lin->bias.zero_();
  };
  if (self_attention) {
    in_proj = register_module("in_proj", torch::nn::Linear(d, 3 * d));
    init_blocks(in_proj, 3);
  } else {
    q_proj = register_module("q_proj", torch::nn::Linear(d, d));
    kv_proj = register_module("kv_proj", torch::nn::Linear(d, 2 * d));
    init_blocks(q_proj, 1);
    init_blocks(kv_proj, 2);
  }
  out_proj = register_module("out_proj", torch::nn::Linear(d, d));
  {
    torch::NoGradGuard no_grad;
    torch::nn::init::xavier_uniform_(out_proj->weight);
    out_proj->bias.zero_();
  }
}

torch::Tensor MultiheadAttentionImpl::split_heads(const torch::Tensor& x) const {
  // [B,T,D] -> [B,T,H,dh] -> [B,H,T,dh]
  // view() needs the last dim contiguous, which holds for chunks of a projection's output too.
  return x.view({x.size(0), x.size(1), heads_, head_dim_}).transpose(1, 2);
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> MultiheadAttentionImpl::project_qkv(
    const torch::Tensor& x) {
  if (!self_attention_)
    throw std::invalid_argument("project_qkv called on a cross-attention module");
  // [B,T,3D] -> 3 x [B,T,D] -> [B,H,T,dh]. chunk (not select on a permuted view): its backward
  // is one concatenation instead of three zero-filled full-size gradients.
  auto qkv = linear(in_proj, x).chunk(3, -1);
  return {split_heads(qkv[0]), split_heads(qkv[1]), split_heads(qkv[2])};
}

torch::Tensor MultiheadAttentionImpl::project_q(const torch::Tensor& x) {
  if (self_attention_) throw std::invalid_argument("project_q called on a self-attention module");
  return split_heads(linear(q_proj, x));
}

std::pair<torch::Tensor, torch::Tensor> MultiheadAttentionImpl::project_kv(
    const torch::Tensor& memory) {
  if (self_attention_) throw std::invalid_argument("project_kv called on a self-attention module");
  // [B,S,2D] -> 2 x [B,S,D] -> [B,H,S,dh]
  auto kv = linear(kv_proj, memory).chunk(2, -1);
  return {split_heads(kv[0]), split_heads(kv[1])};
}

torch::Tensor MultiheadAttentionImpl::attend(const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v, const torch::Tensor& bias,
                                             bool causal, torch::Tensor* weights, torch::Tensor* head_weights) {
  const int64_t b = q.size(0), t = q.size(2), s = k.size(2);
  if (causal && t != s)
    throw std::invalid_argument("multi-head attention: a causal mask needs as many queries as keys");
  const double p = is_training() ? dropout_ : 0.0;
  torch::Tensor ctx;  // [B,H,T,dh]

#if TORCH_VERSION_MAJOR >= 2
  if (weights == nullptr && head_weights == nullptr) {
    c10::optional<torch::Tensor> mask;
    bool is_causal = causal;
    if (bias.defined()) {
      auto m = bias.to(q.scalar_type());
      if (causal) {  // SDPA takes either is_causal or a mask: fold the causal part into the bias
        m = m + causal_bias(t, m.options());
        is_causal = false;
      }
      mask = m;
    }
    ctx = at::scaled_dot_product_attention(q, k, v, mask, p, is_causal);
  }
#endif
  if (!ctx.defined()) {
    torch::Tensor full_bias = bias;
    if (causal) {
      auto cb = causal_bias(t, q.options());
      full_bias = full_bias.defined() ? full_bias + cb : cb;  // [.., T, S]
    }
    const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
    const int64_t h = heads_, dh = head_dim_;
    // Explicit [B*H,..] operands for bmm: one copy each of the head-split views (matmul on the
    // 4-d views costs about twice as much on CPU, forward + backward).
    auto q3 = q.reshape({b * h, t, dh});
    auto k3 = k.reshape({b * h, s, dh});
    auto v3 = v.reshape({b * h, s, dh});
    auto scores = torch::bmm(q3, k3.transpose(1, 2)).view({b, h, t, s});  // [B,H,T,S]
    // bias + scale * scores in one pass
    scores = full_bias.defined() ? torch::add(full_bias.to(scores.scalar_type()), scores, scale)
                                 : scores.mul(scale);
    auto probs = torch::softmax(scores, -1);  // [B,H,T,S]
    if (weights != nullptr) *weights = probs.mean(1);  // [B,T,S]
    if (head_weights != nullptr) *head_weights = probs;  // [B,H,T,S]
    if (p > 0) probs = fast_dropout(probs, p, /*training=*/true);
    ctx = torch::bmm(probs.reshape({b * h, t, s}), v3).view({b, h, t, dh});  // [B,H,T,dh]
  }
  // [B,H,T,dh] -> [B,T,H,dh] -> [B,T,D]
  return linear(out_proj, ctx.transpose(1, 2).reshape({b, t, embed_dim_}));
}

torch::Tensor MultiheadAttentionImpl::forward(const torch::Tensor& query,
                                              const torch::Tensor& memory,
                                              const torch::Tensor& bias, bool causal,
                                              torch::Tensor* weights) {
  if (self_attention_) {
    if (memory.defined())
      throw std::invalid_argument("multi-head attention: self-attention takes no memory");
    auto qkv = project_qkv(query);
    return attend(std::get<0>(qkv), std::get<1>(qkv), std::get<2>(qkv), bias, causal, weights);
  }
  if (!memory.defined())
    throw std::invalid_argument("multi-head attention: cross-attention needs a memory");
  auto kv = project_kv(memory);
  return attend(project_q(query), kv.first, kv.second, bias, causal, weights);
}

}  // namespace seqzoo
