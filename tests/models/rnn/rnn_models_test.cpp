// Tests of the RNN families `seq2seq` and `attention` (models/rnn/).
#include <catch2/catch.hpp>

#include <chrono>
#include <set>

#include "models/core/registry.h"
#include "models/rnn/attention_rnn.h"
#include "models/rnn/encoder.h"
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

int64_t tgt_vocab(const Variant& v) { return kVocab + (v.tie ? 0 : 3); }

// Steps over batch.tgt_in from encode(): log-probs [B,T,V]; attention weights [B,T,S] if any.
std::pair<torch::Tensor, torch::Tensor> run_steps(Seq2SeqModelImpl& model, const Batch& batch) {
  auto state = model.encode(batch.src, batch.src_len);
  std::vector<torch::Tensor> lps, atts;
  for (int64_t t = 0; t < batch.tgt_in.size(1); ++t) {
    lps.push_back(model.step(batch.tgt_in.select(1, t), state));
    REQUIRE(state.step == t + 1);
    if (state.contains("attention")) atts.push_back(state.at("attention"));
  }
  return {torch::stack(lps, 1), atts.empty() ? torch::Tensor() : torch::stack(atts, 1)};
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

TEST_CASE("rnn: registry builds both families; bad configs throw invalid_argument",
          "[models][rnn]") {
  Variant v;
  CHECK(build(v)->family() == "seq2seq");
  v.family = "attention";
  CHECK(build(v)->family() == "attention");
  auto bad = v.config();
  bad.rnn.cell = "rnn_tanh";
  CHECK_THROWS_AS(build_model(bad, kVocab, kVocab), std::invalid_argument);
  bad = v.config();
  bad.attention.type = "multiplicative";
  CHECK_THROWS_AS(build_model(bad, kVocab, kVocab), std::invalid_argument);
  bad = v.config();
  bad.rnn.hidden_dim = 0;
  CHECK_THROWS_AS(build_model(bad, kVocab, kVocab), std::invalid_argument);
  CHECK_THROWS_AS(build_model(v.config(), 3, kVocab), std::invalid_argument);
}

TEST_CASE("rnn: step over the target reproduces forward's log_softmax", "[models][rnn]") {
  torch::manual_seed(1);
  auto sentences = random_sentences({5, 3, 7, 1});
  auto targets = random_sentences({4, 6, 2, 5});
  for (const auto& v : all_variants()) {
    INFO(v.name());
    auto model = build(v);
    torch::NoGradGuard no_grad;
    auto batch = make_batch(sentences, targets);
    auto logits = model->forward(batch);
    REQUIRE(logits.sizes() == torch::IntArrayRef({4, batch.tgt_in.size(1), tgt_vocab(v)}));
    auto stepped = run_steps(*model, batch).first;
    CHECK(max_abs_diff(stepped, torch::log_softmax(logits, -1)) < 1e-5);
  }
}

TEST_CASE("rnn: padding never changes a sentence's result", "[models][rnn]") {
  torch::manual_seed(2);
  auto sentences = random_sentences({6, 2, 4});
  auto targets = random_sentences({5, 7, 1});
  for (const auto& v : all_variants()) {
    INFO(v.name());
    auto model = build(v);
    torch::NoGradGuard no_grad;
    auto batch = make_batch(sentences, targets, /*extra_src_pad=*/2);
    auto logits = model->forward(batch);
    auto stepped = run_steps(*model, batch);
    for (int64_t i = 0; i < 3; ++i) {
      INFO("sentence " << i);
      auto alone = make_batch({sentences[i]}, {targets[i]});
      const int64_t t = alone.tgt_in.size(1), s = alone.src.size(1);
      auto ref = model->forward(alone)[0];
      CHECK(max_abs_diff(logits[i].narrow(0, 0, t), ref) < 1e-5);
      auto ref_steps = run_steps(*model, alone);
      CHECK(max_abs_diff(stepped.first[i].narrow(0, 0, t), ref_steps.first[0]) < 1e-5);
      if (v.family == "attention") {
        auto att = stepped.second[i].narrow(0, 0, t);  // [t,S_batch]
        CHECK(max_abs_diff(att.narrow(1, 0, s), ref_steps.second[0]) < 1e-5);
        CHECK(att.narrow(1, s, att.size(1) - s).abs().max().item<float>() == 0.0f);
      }
    }
  }
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

TEST_CASE("rnn: every parameter gets a gradient from a forward loss", "[models][rnn]") {
  torch::manual_seed(5);
  auto batch = make_batch(random_sentences({4, 6, 3}), random_sentences({5, 2, 4}));
  for (const auto& v : all_variants()) {
    INFO(v.name());
    auto model = build(v);
    model->train();
    auto logits = model->forward(batch);
    auto loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), batch.tgt_out.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kPadId));
    loss.backward();
    for (const auto& p : model->named_parameters()) {
      INFO(p.key());
      REQUIRE(p.value().grad().defined());
      CHECK(p.value().grad().abs().sum().item<double>() > 0);
    }
  }
}

TEST_CASE("rnn: parameters are registered once; tying shares the embedding", "[models][rnn]") {
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
  config.rnn.forget_bias = 0;
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
    config.rnn.forget_bias = 1.5;
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
    gru_config.rnn.forget_bias = 1.5;
    auto gru = family == "seq2seq" ? make_seq2seq(gru_config, kVocab, kVocab) : make_attention(gru_config, kVocab, kVocab);
    for (const auto& p : gru->named_parameters()) {
      INFO(family << " gru " << p.key());
      CHECK(p.value().abs().max().item<double>() <= 0.05);
    }
  }
}

TEST_CASE("rnn: a beam-expanded, reordered state equals encoding each hypothesis alone",
          "[models][rnn]") {
  torch::manual_seed(6);
  auto batch = make_batch(random_sentences({3, 6, 1}), random_sentences({4, 4, 4}));
  const int64_t steps = 4;
  for (const auto& v : all_variants()) {
    INFO(v.name());
    auto model = build(v);
    torch::NoGradGuard no_grad;
    auto state = model->encode(batch.src, batch.src_len);
    state.repeat_interleave(2);  // 6 hypothesis rows, sentence-major
    auto sentence = torch::arange(3, torch::kInt64).repeat_interleave(2);
    // Reference: every row its own sentence (beam 1), encoded from that row's source.
    auto ref = model->encode(batch.src.index_select(0, sentence), batch.src_len.index_select(0, sentence));
    // Each row follows its own random history, so rows of one sentence differ.
    auto tokens = torch::randint(4, kVocab, {6, steps}, torch::kInt64);
    tokens.select(1, 0).fill_(kBosId);
    REQUIRE(state.batch_size() == 6);
    for (int64_t t = 0; t < steps; ++t) {
      auto a = model->step(tokens.select(1, t), state);
      auto b = model->step(tokens.select(1, t), ref);
      CHECK(max_abs_diff(a, b) < 1e-5);
      if (v.family == "attention")
        CHECK(max_abs_diff(state.at("attention"), ref.at("attention")) < 1e-6);
      torch::Tensor rows, kept;
      if (t == 0) rows = torch::tensor({1, 0, 2, 2, 5, 4}, torch::kInt64);  // within sentences
      if (t == 1) {  // sentence 1 leaves
        rows = torch::tensor({0, 1, 5, 5}, torch::kInt64);
        kept = torch::tensor({0, 2}, torch::kInt64);
      }
      if (rows.defined()) {
        state.reorder(rows, kept);
        ref.index_select(rows);
        tokens = tokens.index_select(0, rows);
      }
    }
    CHECK(state.batch_size() == 4);
  }
}

TEST_CASE("rnn: each family overfits one small batch", "[models][rnn]") {
  for (const char* family : {"seq2seq", "attention"}) {
    torch::manual_seed(7);
    Variant v;
    v.family = family, v.embed = 16, v.hidden = 16, v.layers = 1;
    v.attention = "general", v.context_every_step = true;
    auto config = v.config();
    config.dropout = 0;
    config.init_range = 0.1;
    auto model = build_model(config, kVocab, kVocab);
    model->train();
    auto batch = make_batch(random_sentences({5, 5, 5, 5}), random_sentences({5, 5, 5, 5}));
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(0.02));
    const auto start = std::chrono::steady_clock::now();
    double loss_value = 1e9;
    int steps = 0;
    for (; steps < 600 && loss_value >= 0.05; ++steps) {
      opt.zero_grad();
      auto logits = model->forward(batch);
      auto loss = torch::nn::functional::cross_entropy(
          logits.reshape({-1, logits.size(-1)}), batch.tgt_out.reshape({-1}),
          torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kPadId));
      loss.backward();
      opt.step();
      loss_value = loss.item<double>();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(family << ": loss " << loss_value << " after " << steps << " steps, " << seconds << " s");
    CHECK(loss_value < 0.05);
    // Greedy decoding through encode/step reproduces the memorised targets.
    model->eval();
    torch::NoGradGuard no_grad;
    auto state = model->encode(batch.src, batch.src_len);
    auto prev = torch::full({4}, kBosId, torch::kInt64);
    std::vector<torch::Tensor> out;
    for (int64_t t = 0; t < batch.tgt_out.size(1); ++t) {
      prev = model->step(prev, state).argmax(-1);
      out.push_back(prev);
    }
    CHECK(torch::equal(torch::stack(out, 1), batch.tgt_out));
  }
}
