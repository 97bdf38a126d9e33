#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <limits>

#include "models/layers/multihead_attention.h"
#include "models/transformer/layers.h"

using namespace seqzoo;

namespace {

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// Copies our weights into LibTorch's MultiheadAttention (in_proj rows are q;k;v in both).
void copy_into(MultiheadAttention& mine, torch::nn::MultiheadAttention& ref) {
  torch::NoGradGuard no_grad;
  if (mine->self_attention()) {
    ref->in_proj_weight.copy_(mine->in_proj->weight);
    ref->in_proj_bias.copy_(mine->in_proj->bias);
  } else {
    ref->in_proj_weight.copy_(torch::cat({mine->q_proj->weight, mine->kv_proj->weight}, 0));
    ref->in_proj_bias.copy_(torch::cat({mine->q_proj->bias, mine->kv_proj->bias}, 0));
  }
  ref->out_proj->weight.copy_(mine->out_proj->weight);
  ref->out_proj->bias.copy_(mine->out_proj->bias);
}

void randomise_biases(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters())
    if (p.key().find("bias") != std::string::npos) p.value().uniform_(-0.5, 0.5);
}

}  // namespace

TEST_CASE("multi-head attention matches torch::nn::MultiheadAttention",
          "[models][transformer][attention]") {
  torch::manual_seed(11);
  torch::NoGradGuard no_grad;
  const int64_t d = 16, h = 2, b = 3, t = 5, s = 7;
  torch::nn::MultiheadAttention ref(torch::nn::MultiheadAttentionOptions(d, h).dropout(0.0));
  ref->eval();
  auto lengths = torch::tensor({7, 4, 2}, torch::kInt64);

  SECTION("self-attention, with and without masks") {
    MultiheadAttention mine(d, h, 0.0, /*self_attention=*/true);
    mine->eval();
    randomise_biases(*mine);
    copy_into(mine, ref);
    auto x = torch::randn({b, s, d});       // batch-first
    auto x_sf = x.transpose(0, 1);           // [S,B,D] for LibTorch
    auto valid = length_mask(lengths, s);    // [B,S]
    auto causal = torch::full({s, s}, -std::numeric_limits<float>::infinity()).triu(1);

    // no mask
    torch::Tensor w;
    auto out = mine->forward(x, {}, {}, false, &w);
    auto expect = ref->forward(x_sf, x_sf, x_sf);
    CHECK(max_diff(out, std::get<0>(expect).transpose(0, 1)) < 1e-5);
    CHECK(max_diff(w, std::get<1>(expect)) < 1e-5);
    // fast path (no weights requested) gives the same output
    CHECK(max_diff(mine->forward(x), out) < 1e-5);

    // key padding mask
    out = mine->forward(x, {}, key_padding_bias(valid), false, &w);
    expect = ref->forward(x_sf, x_sf, x_sf, valid.logical_not());
    auto real = valid.unsqueeze(-1);  // compare real query rows
    CHECK(max_diff(out * real, std::get<0>(expect).transpose(0, 1) * real) < 1e-5);
    CHECK(max_diff(w * real, std::get<1>(expect) * real) < 1e-5);
    CHECK(w.masked_select(valid.logical_not().unsqueeze(1).expand_as(w)).abs().max().item<float>() == 0.0f);

    // causal mask
    out = mine->forward(x, {}, {}, /*causal=*/true, &w);
    expect = ref->forward(x_sf, x_sf, x_sf, {}, true, causal);
    CHECK(max_diff(out, std::get<0>(expect).transpose(0, 1)) < 1e-5);
    CHECK(max_diff(w, std::get<1>(expect)) < 1e-5);
    CHECK(max_diff(mine->forward(x, {}, {}, true), out) < 1e-5);

    // causal + key padding
    out = mine->forward(x, {}, key_padding_bias(valid), true);
    expect = ref->forward(x_sf, x_sf, x_sf, valid.logical_not(), true, causal);
    CHECK(max_diff(out * real, std::get<0>(expect).transpose(0, 1) * real) < 1e-5);
  }

  SECTION("cross-attention with key padding mask") {
    MultiheadAttention mine(d, h, 0.0, /*self_attention=*/false);
    mine->eval();
    randomise_biases(*mine);
    copy_into(mine, ref);
    auto q = torch::randn({b, t, d});
    auto mem = torch::randn({b, s, d});
    auto valid = length_mask(lengths, s);
    torch::Tensor w;
    auto out = mine->forward(q, mem, key_padding_bias(valid), false, &w);
    auto expect = ref->forward(q.transpose(0, 1), mem.transpose(0, 1), mem.transpose(0, 1),
                               valid.logical_not());
    CHECK(max_diff(out, std::get<0>(expect).transpose(0, 1)) < 1e-5);
    CHECK(max_diff(w, std::get<1>(expect)) < 1e-5);
    CHECK(max_diff(mine->forward(q, mem, key_padding_bias(valid)), out) < 1e-5);
    // weights: rows sum to 1, zero on padded keys
    CHECK(max_diff(w.sum(-1), torch::ones({b, t})) < 1e-5);
    CHECK(w.index({2, torch::indexing::Slice(), torch::indexing::Slice(2, s)}).abs().max().item<float>() == 0.0f);
  }

  SECTION("a causal mask needs square attention") {
    MultiheadAttention mine(d, h, 0.0, false);
    CHECK_THROWS_AS(mine->forward(torch::randn({1, 2, d}), torch::randn({1, 3, d}), {}, true),
                    std::invalid_argument);
    CHECK_THROWS_AS(MultiheadAttention(d, 3, 0.0, true), std::invalid_argument);
  }
}

TEST_CASE("post-norm encoder layer matches torch::nn::TransformerEncoderLayer",
          "[models][transformer][attention]") {
  torch::manual_seed(5);
  torch::NoGradGuard no_grad;
  const int64_t d = 16, h = 2, f = 24, b = 3, s = 6;
  TransformerLayerOptions o;
  o.d_model = d;
  o.heads = h;
  o.ffn_dim = f;
  o.dropout = 0.0;
  o.pre_norm = false;
  o.activation = "relu";
  TransformerEncoderLayer mine(o);
  mine->eval();
  randomise_biases(*mine);
  mine->self_attn_norm->weight.uniform_(0.5, 1.5);
  mine->ffn_norm->weight.uniform_(0.5, 1.5);

  torch::nn::TransformerEncoderLayer ref(
      torch::nn::TransformerEncoderLayerOptions(d, h).dim_feedforward(f).dropout(0.0));
  ref->eval();
  ref->self_attn->in_proj_weight.copy_(mine->self_attn->in_proj->weight);
  ref->self_attn->in_proj_bias.copy_(mine->self_attn->in_proj->bias);
  ref->self_attn->out_proj->weight.copy_(mine->self_attn->out_proj->weight);
  ref->self_attn->out_proj->bias.copy_(mine->self_attn->out_proj->bias);
  ref->linear1->weight.copy_(mine->ffn->fc1->weight);
  ref->linear1->bias.copy_(mine->ffn->fc1->bias);
  ref->linear2->weight.copy_(mine->ffn->fc2->weight);
  ref->linear2->bias.copy_(mine->ffn->fc2->bias);
  ref->norm1->weight.copy_(mine->self_attn_norm->weight);
  ref->norm1->bias.copy_(mine->self_attn_norm->bias);
  ref->norm2->weight.copy_(mine->ffn_norm->weight);
  ref->norm2->bias.copy_(mine->ffn_norm->bias);

  auto x = torch::randn({b, s, d});
  auto valid = length_mask(torch::tensor({6, 3, 1}, torch::kInt64), s);
  auto out = mine->forward(x, key_padding_bias(valid));                           // [B,S,D]
  auto expect = ref->forward(x.transpose(0, 1), {}, valid.logical_not()).transpose(0, 1);
  auto real = valid.unsqueeze(-1);
  CHECK(max_diff(out * real, expect * real) < 1e-5);
  // unmasked too
  CHECK(max_diff(mine->forward(x), ref->forward(x.transpose(0, 1)).transpose(0, 1)) < 1e-5);
}
