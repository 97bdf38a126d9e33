#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "data/batch.h"
#include "models/core/registry.h"
#include "models/transformer/transformer.h"
#include "tests/models/transformer/transformer_test_util.h"

using namespace seqzoo;
using torch::indexing::Slice;

namespace {

std::shared_ptr<TransformerModelImpl> make(const ModelConfig& c, int64_t src_vocab, int64_t tgt_vocab) {
  auto m = std::dynamic_pointer_cast<TransformerModelImpl>(make_transformer(c, src_vocab, tgt_vocab));
  REQUIRE(m != nullptr);
  return m;
}

// Random padded batch: real tokens in [4, vocab), lengths as given.
Batch make_batch(const std::vector<int64_t>& src_lens, const std::vector<int64_t>& tgt_lens,
                 int64_t src_vocab, int64_t tgt_vocab) {
  const int64_t b = static_cast<int64_t>(src_lens.size());
  const int64_t s = *std::max_element(src_lens.begin(), src_lens.end());
  const int64_t t = *std::max_element(tgt_lens.begin(), tgt_lens.end()) + 1;  // + bos / eos
  Batch batch;
  batch.src = torch::full({b, s}, kPadId, torch::kInt64);
  batch.tgt_in = torch::full({b, t}, kPadId, torch::kInt64);
  batch.tgt_out = torch::full({b, t}, kPadId, torch::kInt64);
  batch.src_len = torch::tensor(src_lens, torch::kInt64);
  std::vector<int64_t> tl;
  for (int64_t i = 0; i < b; ++i) {
    batch.src[i].narrow(0, 0, src_lens[i]).copy_(torch::randint(4, src_vocab, {src_lens[i]}, torch::kInt64));
    auto y = torch::randint(4, tgt_vocab, {tgt_lens[i]}, torch::kInt64);
    batch.tgt_in[i][0] = kBosId;
    batch.tgt_in[i].narrow(0, 1, tgt_lens[i]).copy_(y);
    batch.tgt_out[i].narrow(0, 0, tgt_lens[i]).copy_(y);
    batch.tgt_out[i][tgt_lens[i]] = kEosId;
    tl.push_back(tgt_lens[i] + 1);
    batch.src_tokens += src_lens[i];
    batch.tgt_tokens += tgt_lens[i] + 1;
  }
  batch.tgt_len = torch::tensor(tl, torch::kInt64);
  return batch;
}

// Sentence i of a batch, alone and trimmed to its own lengths.
Batch single(const Batch& b, int64_t i) {
  const int64_t s = b.src_len[i].item<int64_t>(), t = b.tgt_len[i].item<int64_t>();
  Batch one;
  one.src = b.src.index({Slice(i, i + 1), Slice(0, s)});
  one.src_len = b.src_len.index({Slice(i, i + 1)});
  one.tgt_in = b.tgt_in.index({Slice(i, i + 1), Slice(0, t)});
  one.tgt_out = b.tgt_out.index({Slice(i, i + 1), Slice(0, t)});
  one.tgt_len = b.tgt_len.index({Slice(i, i + 1)});
  return one;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

}  // namespace

TEST_CASE("transformer: step over a sequence reproduces forward", "[models][transformer]") {
  const bool pre_norm = GENERATE(true, false);
  const bool tie = GENERATE(true, false);
  const int64_t src_vocab = GENERATE(20, 23);  // 20 = joint (three-way tying when tied)
  const int64_t tgt_vocab = 20;
  CAPTURE(pre_norm, tie, src_vocab);
  torch::manual_seed(1);
  auto model = make(tiny_transformer_config(pre_norm, tie), src_vocab, tgt_vocab);
  model->eval();
  torch::NoGradGuard no_grad;
  CHECK(model->family() == "transformer");
  CHECK(model->ties_output() == tie);
  CHECK(model->shares_source_embedding() == (tie && src_vocab == tgt_vocab));

  auto batch = make_batch({5, 3, 7}, {6, 2, 4}, src_vocab, tgt_vocab);
  auto logits = model->forward(batch);  // [B,T,V]
  REQUIRE(logits.sizes() == torch::IntArrayRef({3, 7, tgt_vocab}));
  auto expect = torch::log_softmax(logits, -1);

  auto state = model->encode(batch.src, batch.src_len);
  CHECK(state.step == 0);
  CHECK(state.at("src_mask").scalar_type() == torch::kBool);
  CHECK(state.at("cross_k_1").sizes() == torch::IntArrayRef({3, 2, 7, 8}));
  // The encoder side is shared by a sentence's hypotheses: source entries, never expanded.
  CHECK(state.is_source("src_mask"));
  CHECK(state.is_source("cross_k_1"));
  CHECK(state.is_source("cross_v_0"));
  CHECK_FALSE(state.is_source("self_k_0"));
  for (int64_t t = 0; t < batch.tgt_in.size(1); ++t) {
    auto lp = model->step(batch.tgt_in.select(1, t), state);  // [B,V]
    REQUIRE(lp.sizes() == torch::IntArrayRef({3, tgt_vocab}));
    CHECK(max_diff(lp, expect.select(1, t)) < 1e-5);
    CHECK(state.step == t + 1);
    CHECK(state.at("self_k_0").size(2) == t + 1);  // the cache grows one position per step
    CHECK(state.at("self_v_1").sizes() == torch::IntArrayRef({3, 2, t + 1, 8}));
  }
}

TEST_CASE("transformer: outputs do not depend on padding", "[models][transformer]") {
  const bool pre_norm = GENERATE(true, false);
  CAPTURE(pre_norm);
  torch::manual_seed(2);
  const int64_t v = 20;
  auto model = make(tiny_transformer_config(pre_norm, true), v, v);
  model->eval();
  torch::NoGradGuard no_grad;
  auto batch = make_batch({2, 9, 5, 4}, {3, 5, 8, 1}, v, v);
  auto logits = model->forward(batch);  // [B,T,V]
  auto state = model->encode(batch.src, batch.src_len);
  std::vector<torch::Tensor> step_lp, step_attn;
  for (int64_t t = 0; t < batch.tgt_in.size(1); ++t) {
    step_lp.push_back(model->step(batch.tgt_in.select(1, t), state));
    step_attn.push_back(state.at("attention"));
  }
  for (int64_t i = 0; i < batch.size(); ++i) {
    CAPTURE(i);
    auto one = single(batch, i);
    const int64_t s = one.src.size(1), t = one.tgt_in.size(1);
    auto alone = model->forward(one);  // [1,t,V]
    CHECK(max_diff(alone[0], logits[i].narrow(0, 0, t)) < 1e-5);
    auto st = model->encode(one.src, one.src_len);
    for (int64_t j = 0; j < t; ++j) {
      auto lp = model->step(one.tgt_in.select(1, j), st);  // [1,V]
      CHECK(max_diff(lp[0], step_lp[j][i]) < 1e-5);
      CHECK(max_diff(st.at("attention")[0], step_attn[j][i].narrow(0, 0, s)) < 1e-5);
    }
  }
}

TEST_CASE("transformer: attention entry is a distribution over real source tokens",
          "[models][transformer]") {
  torch::manual_seed(3);
  const int64_t v = 20;
  auto model = make(tiny_transformer_config(true, true), v, v);
  model->eval();
  torch::NoGradGuard no_grad;
  auto batch = make_batch({6, 2, 4}, {3, 3, 3}, v, v);
  auto state = model->encode(batch.src, batch.src_len);
  CHECK_FALSE(state.contains("attention"));
  auto valid = batch.src.ne(kPadId);
  for (int64_t t = 0; t < 4; ++t) {
    model->step(batch.tgt_in.select(1, t), state);
    REQUIRE(state.contains("attention"));
    auto a = state.at("attention");  // [N,S]
    REQUIRE(a.sizes() == torch::IntArrayRef({3, 6}));
    CHECK(max_diff(a.sum(-1), torch::ones({3})) < 1e-5);
    CHECK(a.masked_select(valid.logical_not()).abs().max().item<float>() == 0.0f);
    CHECK(a.ge(0).all().item<bool>());
  }
}

TEST_CASE("transformer: reordering or expanding the state equals stepping the reordered batch",
          "[models][transformer]") {
  const bool pre_norm = GENERATE(true, false);
  CAPTURE(pre_norm);
  torch::manual_seed(4);
  const int64_t v = 20;
  auto model = make(tiny_transformer_config(pre_norm, false), v, v);
  model->eval();
  torch::NoGradGuard no_grad;
  auto batch = make_batch({4, 6, 3}, {4, 4, 4}, v, v);
  auto state = model->encode(batch.src, batch.src_len);
  for (int64_t t = 0; t < 2; ++t) model->step(batch.tgt_in.select(1, t), state);
  auto next = batch.tgt_in.select(1, 2);  // [N]

  SECTION("index_select") {
    auto idx = torch::tensor({2, 0, 0, 1}, torch::kInt64);
    DecoderState reordered = state;
    reordered.index_select(idx);
    auto lp = model->step(next.index_select(0, idx), reordered);
    // reference: the reordered batch decoded from scratch
    auto ref_state = model->encode(batch.src.index_select(0, idx), batch.src_len.index_select(0, idx));
    for (int64_t t = 0; t < 2; ++t)
      model->step(batch.tgt_in.select(1, t).index_select(0, idx), ref_state);
    auto ref_lp = model->step(next.index_select(0, idx), ref_state);
    CHECK(max_diff(lp, ref_lp) < 1e-5);
    CHECK(max_diff(reordered.at("attention"), ref_state.at("attention")) < 1e-5);
    // and the original state's step, reordered
    auto orig = model->step(next, state);
    CHECK(max_diff(lp, orig.index_select(0, idx)) < 1e-5);
  }
  SECTION("repeat_interleave") {
    DecoderState expanded = state;
    expanded.repeat_interleave(3);
    CHECK(expanded.batch_size() == 9);
    auto lp = model->step(next.repeat_interleave(3), expanded);
    auto orig = model->step(next, state);
    CHECK(max_diff(lp, orig.repeat_interleave(3, 0)) < 1e-5);
    CHECK(max_diff(expanded.at("attention"), state.at("attention").repeat_interleave(3, 0)) < 1e-5);
  }
}

TEST_CASE("transformer: beam-style expansion right after encode", "[models][transformer]") {
  torch::manual_seed(7);
  const int64_t v = 20, k = 4;
  auto model = make(tiny_transformer_config(true, true), v, v);
  model->eval();
  torch::NoGradGuard no_grad;
  auto batch = make_batch({3, 5}, {3, 3}, v, v);
  auto state = model->encode(batch.src, batch.src_len);
  DecoderState beams = state;
  beams.repeat_interleave(k);  // before any step: the caches are still empty
  CHECK(beams.at("self_k_0").sizes() == torch::IntArrayRef({2 * k, 2, 0, 8}));
  for (int64_t t = 0; t < 3; ++t) {
    auto tok = batch.tgt_in.select(1, t);
    auto lp = model->step(tok, state);
    auto lpk = model->step(tok.repeat_interleave(k), beams);
    CHECK(max_diff(lpk, lp.repeat_interleave(k, 0)) < 1e-5);
  }
}

TEST_CASE("transformer: beam reorder (within sentences, then dropping one) equals decoding each "
          "hypothesis alone", "[models][transformer]") {
  torch::manual_seed(8);
  const int64_t v = 20, k = 2;
  auto model = make(tiny_transformer_config(true, false), v, v);
  model->eval();
  torch::NoGradGuard no_grad;
  auto batch = make_batch({4, 6, 3}, {3, 3, 3}, v, v);
  auto state = model->encode(batch.src, batch.src_len);
  state.repeat_interleave(k);
  // Every hypothesis row: its sentence and its own token history (bos first).
  auto sentence = torch::arange(3, torch::kInt64).repeat_interleave(k);  // [6]
  auto history = torch::full({6, 1}, kBosId, torch::kInt64);
  // Reference: each row's source encoded alone and its whole history stepped from scratch.
  auto reference = [&](torch::Tensor* attention) {
    auto ref = model->encode(batch.src.index_select(0, sentence),
                             batch.src_len.index_select(0, sentence));
    torch::Tensor lp;
    for (int64_t t = 0; t < history.size(1); ++t) lp = model->step(history.select(1, t), ref);
    *attention = ref.at("attention");
    return lp;
  };
  auto check_step = [&] {
    auto lp = model->step(history.select(1, -1), state);
    torch::Tensor ref_att;
    auto ref_lp = reference(&ref_att);
    CHECK(max_diff(lp, ref_lp) < 1e-5);
    CHECK(max_diff(state.at("attention"), ref_att) < 1e-5);
    history = torch::cat({history, torch::randint(4, v, {history.size(0), 1}, torch::kInt64)}, 1);
  };
  check_step();
  // Within sentences: rows swap and duplicate, every sentence stays.
  auto rows = torch::tensor({1, 1, 3, 2, 4, 5}, torch::kInt64);
  state.reorder(rows, torch::Tensor());
  history = history.index_select(0, rows);
  check_step();
  // Sentence 1 leaves the batch.
  rows = torch::tensor({1, 0, 5, 5}, torch::kInt64);
  state.reorder(rows, torch::tensor({0, 2}, torch::kInt64));
  history = history.index_select(0, rows);
  sentence = sentence.index_select(0, rows);
  CHECK(state.at("cross_k_0").size(0) == 2);
  check_step();
  check_step();
}

TEST_CASE("transformer: every parameter gets a gradient", "[models][transformer]") {
  const bool pre_norm = GENERATE(true, false);
  const bool tie = GENERATE(true, false);
  const std::string act = GENERATE(std::string("relu"), std::string("gelu"));
  CAPTURE(pre_norm, tie, act);
  torch::manual_seed(5);
  auto model = make(tiny_transformer_config(pre_norm, tie, act), 20, 20);
  model->train();
  auto batch = make_batch({5, 3, 7}, {6, 2, 4}, 20, 20);
  auto logits = model->forward(batch);
  auto loss = torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), batch.tgt_out.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kPadId));
  loss.backward();
  int64_t checked = 0;
  for (const auto& p : model->named_parameters()) {
    CAPTURE(p.key());
    REQUIRE(p.value().grad().defined());
    CHECK(p.value().grad().abs().sum().item<double>() > 0);
    ++checked;
  }
  // 2 encoder layers x 12 + 2 decoder layers x 20 tensors, plus embeddings/output/final norms
  CHECK(checked >= 64);
  // the padding row of the embedding never learns from lookups
  if (!tie) CHECK(model->src_embed->weight.grad()[kPadId].abs().sum().item<double>() == 0.0);
}

TEST_CASE("transformer: tying shares tensors", "[models][transformer]") {
  auto joint_tied = make(tiny_transformer_config(true, true), 20, 20);
  auto split_tied = make(tiny_transformer_config(true, true), 23, 20);
  auto untied = make(tiny_transformer_config(true, false), 20, 20);
  CHECK(joint_tied->src_embed.ptr() == joint_tied->tgt_embed.ptr());
  CHECK(joint_tied->output_projection.is_empty());
  CHECK(split_tied->src_embed.ptr() != split_tied->tgt_embed.ptr());
  CHECK_FALSE(untied->output_projection.is_empty());
  const int64_t emb = 20 * 16;
  CHECK(count_parameters(*split_tied) - count_parameters(*joint_tied) == 23 * 16);
  CHECK(count_parameters(*untied) - count_parameters(*joint_tied) == 2 * emb);
  // the named parameters list each tensor once (no double updates by an optimizer)
  CHECK(joint_tied->parameters().size() == joint_tied->named_parameters().size());
  int64_t total = 0;
  for (const auto& p : joint_tied->parameters()) total += p.numel();
  CHECK(total == count_parameters(*joint_tied));
  // fairseq initialisation: pad row zero, std ~ d^-0.5
  CHECK(untied->tgt_embed->weight[kPadId].abs().sum().item<double>() == 0.0);
}

TEST_CASE("transformer: registry and config errors", "[models][transformer]") {
  auto c = tiny_transformer_config(true, true);
  auto m = build_model(c, 20, 20);
  CHECK(m->family() == "transformer");
  c.transformer.heads = 3;
  CHECK_THROWS_AS(build_model(c, 20, 20), std::invalid_argument);
  c = tiny_transformer_config(true, true, "swish");
  CHECK_THROWS_AS(build_model(c, 20, 20), std::invalid_argument);
  c = tiny_transformer_config(true, true);
  c.transformer.decoder_layers = 0;
  CHECK_THROWS_AS(build_model(c, 20, 20), std::invalid_argument);
}

TEST_CASE("transformer: overfits one small batch", "[models][transformer]") {
  torch::manual_seed(6);
  auto c = tiny_transformer_config(true, true);
  c.dropout = 0.0;
  c.transformer.attention_dropout = 0.0;
  c.transformer.activation_dropout = 0.0;
  c.transformer.d_model = 32;
  c.transformer.ffn_dim = 64;
  c.transformer.heads = 4;
  auto model = make(c, 20, 20);
  model->train();
  auto batch = make_batch({5, 3, 7, 6}, {6, 4, 5, 3}, 20, 20);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(3e-3));
  double loss_value = 1e9;
  int64_t steps = 0;
  for (; steps < 400 && loss_value >= 0.05; ++steps) {
    opt.zero_grad();
    auto logits = model->forward(batch);
    auto loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), batch.tgt_out.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kPadId));
    loss.backward();
    opt.step();
    loss_value = loss.item<double>();
  }
  CAPTURE(steps);
  CHECK(loss_value < 0.05);
  // greedy decoding now reproduces the targets
  model->eval();
  torch::NoGradGuard no_grad;
  auto state = model->encode(batch.src, batch.src_len);
  auto tok = torch::full({batch.size()}, kBosId, torch::kInt64);
  std::vector<torch::Tensor> out;
  for (int64_t t = 0; t < batch.tgt_out.size(1); ++t) {
    tok = model->step(tok, state).argmax(-1);
    out.push_back(tok);
  }
  auto decoded = torch::stack(out, 1);
  auto mask = batch.tgt_out.ne(kPadId);
  CHECK(torch::equal(decoded.masked_select(mask), batch.tgt_out.masked_select(mask)));
}
