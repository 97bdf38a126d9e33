// Tests of the RNN families `seq2seq` and `attention` (models/rnn/) that only they have: source
// reversal, attention weights, parameter registration and tying, initialisation. What every family
// must do (step == forward, padding, beam reorder, gradients, overfitting) is the model contract,
// tests/models/core/model_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "models/layers/masks.h"
#include "models/registry.h"
#include "models/rnn/attention_rnn.h"
#include "models/rnn/encoder.h"
#include "models/rnn/rnn_config.h"
#include "models/rnn/rnn_model.h"
#include "models/rnn/seq2seq.h"
#include "tests/models/rnn/rnn_test_util.h"

using namespace seqzoo;
using namespace seqzoo::rnn_test;

namespace {

ModelPtr build(const Variant& v) {
  auto model = build_model(v.config(), kVocab, kVocab + (v.tie ? 0 : 3));
  model->eval();
  return model;
}

}  // namespace

TEST_CASE("rnn: reversal_index reverses real tokens and keeps padding", "[models][rnn]") {
  auto rev = reversal_index(torch::tensor({3, 1, 4}, torch::kInt64), 4);
  auto expected = torch::tensor({0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}, torch::kInt64).view({3, 4});
  expected[0][0] = 2, expected[0][2] = 0;                 // len 3: 2 1 0 | 3
  expected[2][0] = 3, expected[2][1] = 2, expected[2][2] = 1, expected[2][3] = 0;  // len 4
  CHECK(torch::equal(rev, expected));
  auto src = torch::tensor({5, 6, 7, 0, 8, 0, 0, 0, 4, 5, 6, 7}, torch::kInt64).view({3, 4});
  auto reversed = src.gather(1, rev);
  CHECK(torch::equal(reversed[0], torch::tensor({7, 6, 5, 0}, torch::kInt64)));
  CHECK(torch::equal(reversed[1], torch::tensor({8, 0, 0, 0}, torch::kInt64)));
  CHECK(torch::equal(reversed.gather(1, rev), src));  // its own inverse
  CHECK(torch::equal(length_mask(torch::tensor({3, 1, 4}, torch::kInt64), 4), src.ne(0)));
}

TEST_CASE("rnn: registry builds both families, bad configs throw invalid_argument",
          "[models][rnn]") {
  Variant v;
  CHECK(build(v)->family() == "seq2seq");
  v.family = "attention";
  CHECK(build(v)->family() == "attention");
  auto bad = v.config();
  bad.options<RnnConfig>().cell = "rnn_tanh";
  CHECK_THROWS_AS(build_model(bad, kVocab, kVocab), std::invalid_argument);
  bad = v.config();
  bad.options<AttentionConfig>().type = "multiplicative";
  CHECK_THROWS_AS(build_model(bad, kVocab, kVocab), std::invalid_argument);
  bad = v.config();
  bad.options<RnnConfig>().hidden_dim = 0;
  CHECK_THROWS_AS(build_model(bad, kVocab, kVocab), std::invalid_argument);
  CHECK_THROWS_AS(build_model(v.config(), 3, kVocab), std::invalid_argument);
}

TEST_CASE("rnn: attention weights sum to 1 and are exactly 0 on padding", "[models][rnn]") {
  torch::manual_seed(3);
  auto batch = make_batch(random_sentences({2, 7, 4, 1}), random_sentences({3, 3, 5, 2}), 1);
  for (const auto& v : all_variants()) {
    if (v.family != "attention") continue;
    INFO(v.name());
    auto model = build(v);
    torch::NoGradGuard no_grad;
    auto state = model->encode(batch.src, batch.src_len);
    auto mask = batch.src_mask();
    for (int64_t t = 0; t < batch.tgt_in.size(1); ++t) {
      model->step(batch.tgt_in.select(1, t), state);
      REQUIRE(state.contains("attention"));
      const auto& att = state.at("attention");  // [N,S]
      REQUIRE(att.sizes() == batch.src.sizes());
      CHECK(max_abs_diff(att.sum(-1), torch::ones({4})) < 1e-6);
      CHECK(att.masked_select(mask.logical_not()).abs().sum().item<float>() == 0.0f);
      CHECK(att.masked_select(mask).min().item<float>() > 0.0f);
    }
  }
}

TEST_CASE("rnn: reverse_source feeds the real tokens reversed, memory stays in source order",
          "[models][rnn]") {
  torch::manual_seed(4);
  Variant v;
  v.family = "attention", v.attention = "dot";
  auto plain = build(v);
  v.reverse_source = true;
  auto reversed = build(v);
  torch::NoGradGuard no_grad;
  auto from = plain->named_parameters();
  for (auto& p : reversed->named_parameters()) p.value().copy_(from[p.key()]);
  auto batch = make_batch(random_sentences({5, 2, 4}), random_sentences({2, 2, 2}));
  auto rev = reversal_index(batch.src_len, batch.src.size(1));
  auto a = reversed->encode(batch.src, batch.src_len);
  auto b = plain->encode(batch.src.gather(1, rev), batch.src_len);
  CHECK(max_abs_diff(a.at("h"), b.at("h")) < 1e-6);
  CHECK(max_abs_diff(a.at("c"), b.at("c")) < 1e-6);
  auto b_memory = b.at("memory").gather(1, rev.unsqueeze(-1).expand_as(b.at("memory")));
  CHECK(max_abs_diff(a.at("memory"), b_memory) < 1e-6);
  // ... and it does change the result.
  auto c = plain->encode(batch.src, batch.src_len);
  CHECK(max_abs_diff(a.at("h"), c.at("h")) > 1e-4);
}

TEST_CASE("rnn: parameters are registered once, tying shares the embedding", "[models][rnn]") {
  for (const auto& v : all_variants()) {
    INFO(v.name());
    auto model = build(v);
    std::set<const void*> seen;
    for (const auto& p : model->parameters()) CHECK(seen.insert(p.data_ptr()).second);
    auto& base = dynamic_cast<RnnModelBase&>(*model);
    CHECK(base.output->tied() == v.tie);
    CHECK((base.tgt_embed.get() == base.encoder->embed.get()) == v.tie);  // equal vocab sizes
    if (v.tie) CHECK(static_cast<bool>(base.output->proj) == (v.hidden != v.embed || (v.context_every_step && v.family == "seq2seq")));
  }
}

TEST_CASE("rnn: initialisation (uniform range, orthogonal recurrences, zero pad rows)",
          "[models][rnn]") {
  Variant v;
  v.family = "attention", v.bidirectional = true;
  auto config = v.config();
  config.init_range = 0.05;
  config.options<RnnConfig>().forget_bias = 0;
  auto model = make_attention(config, kVocab, kVocab + 3);
  for (const auto& p : model->named_parameters()) {
    INFO(p.key());
    CHECK(p.value().abs().max().item<double>() <= 0.05);
  }
  auto& base = dynamic_cast<RnnModelBase&>(*model);
  CHECK(base.encoder->embed->weight[kPadId].abs().sum().item<double>() == 0.0);
  CHECK(base.tgt_embed->weight[kPadId].abs().sum().item<double>() == 0.0);
  config.init_range = 0;
  model = make_attention(config, kVocab, kVocab + 3);
  int64_t checked = 0;
  for (const auto& p : model->named_parameters()) {
    if (p.key().find("weight_hh") == std::string::npos) continue;
    INFO(p.key());
    const int64_t h = p.value().size(1);
    for (int64_t g = 0; g < p.value().size(0); g += h) {
      auto block = p.value().narrow(0, g, h);
      CHECK(max_abs_diff(torch::mm(block, block.t()), torch::eye(h)) < 1e-4);
      ++checked;
    }
  }
  CHECK(checked == 4 * (2 * 2 + 2));  // LSTM gates x (2 layers x 2 directions + 2 decoder layers)
}

TEST_CASE("rnn: LSTM forget-gate biases start at model.rnn.forget_bias, GRU biases untouched",
          "[models][rnn]") {
  for (const std::string family : {"seq2seq", "attention"}) {
    Variant v;
    v.family = family, v.bidirectional = true;
    auto config = v.config();
    config.init_range = 0.05;
    config.options<RnnConfig>().forget_bias = 1.5;
    auto model = family == "seq2seq" ? make_seq2seq(config, kVocab, kVocab) : make_attention(config, kVocab, kVocab);
    int64_t biases = 0;
    for (const auto& p : model->named_parameters()) {
      const auto& key = p.key();
      if (key.find(".bias_ih") == std::string::npos && key.find(".bias_hh") == std::string::npos) continue;
      INFO(family << " " << key);
      const auto& b = p.value();
      const int64_t h = v.hidden;
      REQUIRE(b.size(0) == 4 * h);
      const double forget = key.find(".bias_ih") != std::string::npos ? 1.5 : 0.0;
      CHECK(max_abs_diff(b.narrow(0, h, h), torch::full({h}, forget)) == 0.0);
      for (int64_t gate : {0, 2, 3}) CHECK(b.narrow(0, gate * h, h).abs().max().item<double>() <= 0.05);
      ++biases;
    }
    // ih and hh x (2 layers x 2 directions + 2 decoder layers); bias_ih + bias_hh == forget_bias.
    CHECK(biases == 2 * (2 * 2 + 2));
    v.cell = "gru";
    auto gru_config = v.config();
    gru_config.init_range = 0.05;
    gru_config.options<RnnConfig>().forget_bias = 1.5;
    auto gru = family == "seq2seq" ? make_seq2seq(gru_config, kVocab, kVocab) : make_attention(gru_config, kVocab, kVocab);
    for (const auto& p : gru->named_parameters()) {
      INFO(family << " gru " << p.key());
      CHECK(p.value().abs().max().item<double>() <= 0.05);
    }
  }
}

TEST_CASE("rnn: attention.ordering bahdanau is the paper's decoder (previous state queries, context into the RNN, "
          "maxout deep output)", "[models][rnn]") {
  rnn_test::Variant v;
  v.family = "attention";
  v.cell = "gru";
  v.bidirectional = true;
  v.layers = 1;
  ModelConfig config = v.config();
  config.options<AttentionConfig>().ordering = "bahdanau";
  torch::manual_seed(4);
  auto model = std::dynamic_pointer_cast<AttentionRnnImpl>(build_model(config, rnn_test::kVocab, rnn_test::kVocab));
  REQUIRE(model);
  model->eval();
  // Shapes: the RNN reads [E y; c] (E 8 + bidirectional 2x12), the deep output maps [s; E y; c] to 2H for maxout.
  CHECK(model->deep_out->weight.sizes() == torch::IntArrayRef({2 * 12, 12 + 8 + 24}));
  CHECK_FALSE(model->combine);
  const auto names = model->named_parameters().keys();
  CHECK(std::none_of(names.begin(), names.end(), [](const std::string& n) { return n.find("combine") != std::string::npos; }));
  // The first step's attention is queried by the initial state s_0 alone: it does not depend on
  // the previous token, while the output does.
  torch::NoGradGuard no_grad;
  auto src = torch::tensor(std::vector<int64_t>{5, 6, 7, 8}, torch::kInt64).unsqueeze(0);
  auto len = torch::tensor(std::vector<int64_t>{4}, torch::kInt64);
  auto a = model->encode(src, len), b = model->encode(src, len);
  auto la = model->step(torch::tensor(std::vector<int64_t>{kBosId}, torch::kInt64), a);
  auto lb = model->step(torch::tensor(std::vector<int64_t>{9}, torch::kInt64), b);
  CHECK(torch::allclose(a.at("attention"), b.at("attention")));
  CHECK_FALSE(torch::allclose(la, lb));
}
