// The contract of the model interface (models/core/model.h), checked for every family the registry
// knows and every variant it lists for it (models/registry.h, family_variants): a family gets these
// tests by registering itself. Nothing here names a family or its option structs: the sizes are
// generic "key=value" model settings, each applied only when the config has that key.
//
// Each variant runs at two sizes (2 layers with the RNN hidden size != embed_dim; 1 layer with them
// equal, so a tied output layer needs no projection) and four embedding/vocabulary shapes (untied
// with a larger target vocabulary, untied with a larger source vocabulary, tied with a joint
// vocabulary, tied with separate ones). Dropout is on (0.2): the exactness cases run in eval mode,
// which must switch it off.
//
// Cases: (1) step over the teacher-forced target reproduces forward's log_softmax; (2) padding
// never changes a sentence's result (forward, step, attention); (3) a beam-expanded and reordered
// state equals decoding each hypothesis alone, index_select / repeat_interleave of a stepped state
// equal stepping the reordered batch; (4) every parameter gets a gradient; (5) each family overfits
// one small batch; the registry's own contract; and the [cuda] versions (GPU == CPU, step ==
// forward, padding) that skip themselves without a GPU.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/common/config_fields.h"
#include "models/core/model.h"
#include "models/core/model_config.h"
#include "models/layers/linear.h"
#include "models/registry.h"

using namespace seqzoo;

namespace {

constexpr int64_t kVocab = 20;

// --- configs -------------------------------------------------------------------------------------

// Every key of a model config ("embed_dim", "rnn.hidden_dim", ...).
std::vector<std::string> model_keys(ModelConfig& config) {
  return config_field_paths([&](FieldVisitor& v) { config.visit(v); });
}

// Applies each "key=value" whose key the config has; the others belong to families it lacks.
void apply_where_present(ModelConfig& config, const std::vector<std::string>& settings) {
  const std::vector<std::string> keys = model_keys(config);
  for (const auto& s : settings) {
    const std::string key = s.substr(0, s.find('='));
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) apply_model_settings(config, {s});
  }
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// Small sizes for the exactness cases: 2 layers, RNN hidden 12 != embed 8 (tied output projects).
const std::vector<std::string> kTwoLayers = {
    "embed_dim=8", "dropout=0.2", "init_range=0.3",
    "rnn.hidden_dim=12", "rnn.layers=2", "attention.attention_dim=10",
    "transformer.d_model=16", "transformer.ffn_dim=32", "transformer.heads=2",
    "transformer.encoder_layers=2", "transformer.decoder_layers=2",
    "transformer.attention_dropout=0.1", "transformer.activation_dropout=0.1"};
// ... and 1 layer with the RNN hidden size == embed_dim (a tied output layer needs no projection).
const std::vector<std::string> kOneLayer = {
    "embed_dim=8", "dropout=0.2", "init_range=0.3",
    "rnn.hidden_dim=8", "rnn.layers=1", "attention.attention_dim=10",
    "transformer.d_model=8", "transformer.ffn_dim=16", "transformer.heads=2",
    "transformer.encoder_layers=1", "transformer.decoder_layers=1",
    "transformer.attention_dropout=0.1", "transformer.activation_dropout=0.1"};

// Embedding tying and vocabulary sizes (src, tgt).
struct Shape {
  const char* name;
  const char* tie;
  int64_t src_vocab, tgt_vocab;
};
const Shape kShapes[] = {
    {"untied V 20->23", "tie_embeddings=false", kVocab, kVocab + 3},
    {"untied V 23->20", "tie_embeddings=false", kVocab + 3, kVocab},
    {"tied joint V 20", "tie_embeddings=true", kVocab, kVocab},  // three-way tying where it exists
    {"tied V 23->20", "tie_embeddings=true", kVocab + 3, kVocab},
};

// One model the contract runs over: a registered family, one of its variants, a size and a shape.
struct Subject {
  std::string name;  // "attention [attention.type=dot attention.input_feeding=false] 2 layers, untied V 20->23"
  std::string family;
  ModelConfig config;
  int64_t src_vocab = kVocab, tgt_vocab = kVocab;
};

// The sizes go first, so a variant that sets a size itself keeps it.
ModelConfig family_config(const std::string& family, const std::vector<std::string>& variant,
                          const std::vector<std::string>& sizes) {
  ModelConfig c = default_model_config();
  c.family = family;
  apply_where_present(c, sizes);
  apply_model_settings(c, variant);
  return c;
}

// Every registered family x every variant x both sizes x every shape.
const std::vector<Subject>& subjects() {
  static const std::vector<Subject> all = [] {
    std::vector<Subject> out;
    for (const auto& family : known_families())
      for (const auto& variant : family_variants(family))
        for (const auto* sizes : {&kTwoLayers, &kOneLayer})
          for (const Shape& shape : kShapes) {
            Subject s;
            s.family = family;
            s.config = family_config(family, variant, *sizes);
            apply_model_settings(s.config, {shape.tie});
            s.src_vocab = shape.src_vocab, s.tgt_vocab = shape.tgt_vocab;
            s.name = family + " [" + join(variant, " ") + "] " + (sizes == &kTwoLayers ? "2 layers" : "1 layer") +
                     ", " + shape.name;
            out.push_back(std::move(s));
          }
    return out;
  }();
  return all;
}

ModelPtr build(const Subject& s) {
  ModelPtr model = build_model(s.config, s.src_vocab, s.tgt_vocab);
  REQUIRE(model != nullptr);
  CHECK(model->family() == s.family);
  model->eval();
  return model;
}

// --- batches -------------------------------------------------------------------------------------

// Sentences of random real tokens (ids 4..vocab-1).
std::vector<std::vector<int64_t>> random_sentences(const std::vector<int64_t>& lengths, int64_t vocab) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t n : lengths) {
    auto t = torch::randint(4, vocab, {n}, torch::kInt64);
    out.emplace_back(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
  }
  return out;
}

// Pads to the longest sentence (plus extra_src_pad more source columns).
Batch make_batch(const std::vector<std::vector<int64_t>>& src, const std::vector<std::vector<int64_t>>& tgt,
                 int64_t extra_src_pad = 0) {
  const int64_t n = static_cast<int64_t>(src.size());
  int64_t s = 0, t = 0;
  for (const auto& x : src) s = std::max<int64_t>(s, x.size());
  for (const auto& y : tgt) t = std::max<int64_t>(t, y.size() + 1);
  s += extra_src_pad;
  Batch b;
  b.src = torch::zeros({n, s}, torch::kInt64);
  b.src_len = torch::zeros({n}, torch::kInt64);
  b.tgt_in = torch::zeros({n, t}, torch::kInt64);
  b.tgt_out = torch::zeros({n, t}, torch::kInt64);
  b.tgt_len = torch::zeros({n}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < src[i].size(); ++j) b.src[i][j] = src[i][j];
    b.src_len[i] = static_cast<int64_t>(src[i].size());
    b.tgt_in[i][0] = kBosId;
    for (size_t j = 0; j < tgt[i].size(); ++j) {
      b.tgt_in[i][j + 1] = tgt[i][j];
      b.tgt_out[i][j] = tgt[i][j];
    }
    b.tgt_out[i][static_cast<int64_t>(tgt[i].size())] = kEosId;
    b.tgt_len[i] = static_cast<int64_t>(tgt[i].size()) + 1;
    b.ids.push_back(i);
  }
  b.src_tokens = b.src_len.sum().item<int64_t>();
  b.tgt_tokens = b.tgt_len.sum().item<int64_t>();
  return b;
}

Batch random_batch(const std::vector<int64_t>& src_lens, const std::vector<int64_t>& tgt_lens, const Subject& s,
                   int64_t extra_src_pad = 0) {
  auto src = random_sentences(src_lens, s.src_vocab);
  auto tgt = random_sentences(tgt_lens, s.tgt_vocab);
  return make_batch(src, tgt, extra_src_pad);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU) - b.to(torch::kCPU)).abs().max().item<double>();
}

torch::Tensor forward_loss(Seq2SeqModelImpl& model, const Batch& batch) {
  auto logits = model.forward(batch);
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), batch.tgt_out.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kPadId));
}

// Stepping over batch.tgt_in from encode(): log-probs [B,T,V], and the attention [B,T,S] when the
// family stores one (then at every step).
struct Stepped {
  torch::Tensor log_probs, attention;
};
Stepped run_steps(Seq2SeqModelImpl& model, const Batch& batch) {
  auto state = model.encode(batch.src, batch.src_len);
  std::vector<torch::Tensor> lps, atts;
  for (int64_t t = 0; t < batch.tgt_in.size(1); ++t) {
    lps.push_back(model.step(batch.tgt_in.select(1, t), state));
    REQUIRE(state.step == t + 1);
    if (state.contains("attention")) atts.push_back(state.at("attention"));
  }
  REQUIRE((atts.empty() || atts.size() == lps.size()));
  return {torch::stack(lps, 1), atts.empty() ? torch::Tensor() : torch::stack(atts, 1)};
}

}  // namespace

// --- the registry --------------------------------------------------------------------------------

TEST_CASE("model registry: the families of the config are the registry's, unknown ones are rejected",
          "[models][contract]") {
  const auto families = known_families();
  REQUIRE_FALSE(families.empty());
  CHECK(default_model_config().families == families);
  for (const auto& family : families) {
    INFO(family);
    CHECK_FALSE(family_variants(family).empty());
  }
  ModelConfig c = default_model_config();
  c.family = "no-such-family";
  try {
    build_model(c, kVocab, kVocab);
    FAIL("build_model accepted an unknown family");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find("model.family") != std::string::npos);
    CHECK(message.find("'no-such-family'") != std::string::npos);
    CHECK(message.find("known: " + join(families, ", ")) != std::string::npos);
  }
  CHECK_THROWS_AS(family_variants("no-such-family"), std::invalid_argument);
}

// --- (1) step == forward -------------------------------------------------------------------------

TEST_CASE("model contract: step over the target reproduces forward's log_softmax", "[models][contract]") {
  for (const auto& s : subjects()) DYNAMIC_SECTION(s.name) {
    torch::manual_seed(1);
    auto model = build(s);
    torch::NoGradGuard no_grad;
    auto batch = random_batch({5, 3, 7, 1}, {4, 6, 2, 5}, s);
    auto logits = model->forward(batch);
    REQUIRE(logits.sizes() == torch::IntArrayRef({4, batch.tgt_in.size(1), s.tgt_vocab}));
    auto expect = torch::log_softmax(logits, -1);
    auto state = model->encode(batch.src, batch.src_len);
    CHECK(state.step == 0);
    CHECK(state.beam() == 1);
    CHECK(state.batch_size() == 4);
    for (const auto& entry : state.tensors()) {  // batch-first, one row per sentence
      INFO(entry.first);
      CHECK(entry.second.size(0) == 4);
    }
    for (int64_t t = 0; t < batch.tgt_in.size(1); ++t) {
      INFO("step " << t);
      auto lp = model->step(batch.tgt_in.select(1, t), state);  // [B,V]
      REQUIRE(lp.sizes() == torch::IntArrayRef({4, s.tgt_vocab}));
      CHECK(state.step == t + 1);
      CHECK(max_diff(lp, expect.select(1, t)) < 1e-5);
    }
  }
}

// --- (1b) int8 inference ---------------------------------------------------------------------------

TEST_CASE("model contract: with int8 linear layers forward and step stay close to fp32", "[models][contract]") {
  if (!int8_linear_available(torch::kCPU)) {
    WARN("skipped: this LibTorch has no quantized engine");
    return;
  }
  for (const auto& s : subjects()) DYNAMIC_SECTION(s.name) {
    torch::manual_seed(1);
    auto model = build(s);
    torch::NoGradGuard no_grad;
    auto batch = random_batch({5, 3, 7, 1}, {4, 6, 2, 5}, s);
    auto fp32 = torch::log_softmax(model->forward(batch), -1);
    CHECK(quantize_linears_int8(*model) > 0);
    auto int8 = torch::log_softmax(model->forward(batch), -1);
    const double diff = max_diff(int8, fp32);
    CHECK(diff > 0);     // the int8 products ran
    CHECK(diff < 0.25);  // per-row int8 weights, per-call uint8 inputs: a few percent of a logit
    // Each call quantizes its own inputs (one scale per call), so stepping differs from forward by
    // the same order as int8 from fp32, not to the bit.
    auto stepped = run_steps(*model, batch);
    CHECK(max_diff(stepped.log_probs, fp32) < 0.25);
  }
}

TEST_CASE("model contract: with packed fp32 and bf16 linear layers forward and step stay close", "[models][contract]") {
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    if (!packed_linear_available(dtype, torch::kCPU)) {
      WARN("skipped " << c10::toString(dtype) << ": no packed products on this build or CPU");
      continue;
    }
    const double tolerance = dtype == torch::kFloat32 ? 1e-4 : 0.25;  // bf16: 8-bit mantissa inputs
    for (const auto& s : subjects()) DYNAMIC_SECTION(s.name << " " << c10::toString(dtype)) {
      torch::manual_seed(1);
      auto model = build(s);
      torch::NoGradGuard no_grad;
      auto batch = random_batch({5, 3, 7, 1}, {4, 6, 2, 5}, s);
      auto fp32 = torch::log_softmax(model->forward(batch), -1);
      CHECK(pack_linears(*model, dtype) > 0);
      auto packed = torch::log_softmax(model->forward(batch), -1);
      const double diff = max_diff(packed, fp32);
      if (dtype == torch::kBFloat16) CHECK(diff > 0);  // the bf16 products ran
      CHECK(diff < tolerance);
      CHECK(max_diff(run_steps(*model, batch).log_probs, fp32) < tolerance);
    }
  }
}

// --- (2) padding ---------------------------------------------------------------------------------

TEST_CASE("model contract: padding never changes a sentence's result", "[models][contract]") {
  for (const auto& s : subjects()) DYNAMIC_SECTION(s.name) {
    torch::manual_seed(2);
    auto model = build(s);
    torch::NoGradGuard no_grad;
    auto sources = random_sentences({6, 2, 9, 4}, s.src_vocab);
    auto targets = random_sentences({5, 7, 1, 3}, s.tgt_vocab);
    auto batch = make_batch(sources, targets, /*extra_src_pad=*/2);
    auto logits = model->forward(batch);
    auto stepped = run_steps(*model, batch);
    for (int64_t i = 0; i < 4; ++i) {
      INFO("sentence " << i);
      auto alone = make_batch({sources[i]}, {targets[i]});
      const int64_t t = alone.tgt_in.size(1), src_len = alone.src.size(1);
      CHECK(max_diff(logits[i].narrow(0, 0, t), model->forward(alone)[0]) < 1e-5);
      auto ref = run_steps(*model, alone);
      CHECK(max_diff(stepped.log_probs[i].narrow(0, 0, t), ref.log_probs[0]) < 1e-5);
      REQUIRE(stepped.attention.defined() == ref.attention.defined());
      if (stepped.attention.defined()) {
        auto att = stepped.attention[i].narrow(0, 0, t);  // [t,S_batch]
        CHECK(max_diff(att.narrow(1, 0, src_len), ref.attention[0]) < 1e-5);
        CHECK(att.narrow(1, src_len, att.size(1) - src_len).abs().max().item<float>() == 0.0f);
      }
    }
  }
}

// --- (3) beam expansion and reordering -----------------------------------------------------------

TEST_CASE("model contract: a beam-expanded, reordered state equals decoding each hypothesis alone",
          "[models][contract]") {
  // Two reorder schedules over 4 steps at beam 2 (6 rows, sentence-major): after step 0 rows move
  // within their sentences (swaps and duplicates, every sentence stays); after step 1 sentence 1
  // leaves the batch.
  struct Schedule {
    const char* name;
    std::vector<int64_t> within, drop;
  };
  const Schedule schedules[] = {{"swap 0, duplicate 1, swap 2", {1, 0, 2, 2, 5, 4}, {0, 1, 5, 5}},
                                {"duplicate 0, swap 1", {1, 1, 3, 2, 4, 5}, {1, 0, 5, 5}}};
  for (const auto& s : subjects()) DYNAMIC_SECTION(s.name) {
    for (const Schedule& schedule : schedules) {
      INFO("schedule: " << schedule.name);
      torch::manual_seed(6);
      auto model = build(s);
      torch::NoGradGuard no_grad;
      auto batch = random_batch({3, 6, 1}, {4, 4, 4}, s);
      const int64_t steps = 4, k = 2;
      auto state = model->encode(batch.src, batch.src_len);
      state.repeat_interleave(k);  // 6 hypothesis rows, sentence-major
      REQUIRE(state.batch_size() == 6);
      REQUIRE(state.beam() == k);
      auto sentence = torch::arange(3, torch::kInt64).repeat_interleave(k);  // each row's sentence
      // Incremental reference: every row its own sentence (beam 1), encoded from that row's
      // source, stepped alongside and reordered with index_select.
      auto ref = model->encode(batch.src.index_select(0, sentence), batch.src_len.index_select(0, sentence));
      // Each row follows its own random history (bos first), so rows of one sentence differ.
      auto tokens = torch::randint(4, s.tgt_vocab, {6, steps}, torch::kInt64);
      tokens.select(1, 0).fill_(kBosId);
      for (int64_t t = 0; t < steps; ++t) {
        INFO("step " << t);
        auto a = model->step(tokens.select(1, t), state);
        auto b = model->step(tokens.select(1, t), ref);
        CHECK(max_diff(a, b) < 1e-5);
        REQUIRE(state.contains("attention") == ref.contains("attention"));
        if (state.contains("attention")) CHECK(max_diff(state.at("attention"), ref.at("attention")) < 1e-6);
        // From-scratch reference: each row's source encoded alone and its whole history stepped.
        auto scratch = model->encode(batch.src.index_select(0, sentence), batch.src_len.index_select(0, sentence));
        torch::Tensor c;
        for (int64_t j = 0; j <= t; ++j) c = model->step(tokens.select(1, j), scratch);
        CHECK(max_diff(a, c) < 1e-5);
        if (state.contains("attention")) CHECK(max_diff(state.at("attention"), scratch.at("attention")) < 1e-5);
        torch::Tensor rows, kept;
        if (t == 0) rows = torch::tensor(schedule.within, torch::kInt64);
        if (t == 1) {  // sentence 1 leaves
          rows = torch::tensor(schedule.drop, torch::kInt64);
          kept = torch::tensor({0, 2}, torch::kInt64);
        }
        if (rows.defined()) {
          state.reorder(rows, kept);
          ref.index_select(rows);
          tokens = tokens.index_select(0, rows);
          sentence = sentence.index_select(0, rows);
        }
      }
      CHECK(state.batch_size() == 4);
      CHECK(state.beam() == k);
      for (const auto& entry : state.tensors()) {  // source entries follow the sentences that stay
        INFO(entry.first);
        CHECK(entry.second.size(0) == (state.is_source(entry.first) ? 2 : 4));
      }
    }
  }
}

TEST_CASE("model contract: index_select or repeat_interleave of a state equals stepping the reordered batch",
          "[models][contract]") {
  for (const auto& s : subjects()) DYNAMIC_SECTION(s.name) {
    torch::manual_seed(4);
    auto model = build(s);
    torch::NoGradGuard no_grad;
    auto batch = random_batch({4, 6, 3}, {4, 4, 4}, s);
    auto state = model->encode(batch.src, batch.src_len);

    SECTION("repeat_interleave right after encode") {
      const int64_t k = 4;
      DecoderState beams = state;
      beams.repeat_interleave(k);  // before any step
      CHECK(beams.batch_size() == 3 * k);
      for (int64_t t = 0; t < 3; ++t) {
        auto tok = batch.tgt_in.select(1, t);
        auto lp = model->step(tok, state);
        auto lpk = model->step(tok.repeat_interleave(k), beams);
        CHECK(max_diff(lpk, lp.repeat_interleave(k, 0)) < 1e-5);
      }
    }
    SECTION("after two steps") {
      for (int64_t t = 0; t < 2; ++t) model->step(batch.tgt_in.select(1, t), state);
      auto next = batch.tgt_in.select(1, 2);  // [N]
      SECTION("index_select") {
        auto idx = torch::tensor({2, 0, 0, 1}, torch::kInt64);
        DecoderState reordered = state;
        reordered.index_select(idx);
        auto lp = model->step(next.index_select(0, idx), reordered);
        // Reference: the reordered batch decoded from scratch.
        auto ref_state = model->encode(batch.src.index_select(0, idx), batch.src_len.index_select(0, idx));
        for (int64_t t = 0; t < 2; ++t) model->step(batch.tgt_in.select(1, t).index_select(0, idx), ref_state);
        auto ref_lp = model->step(next.index_select(0, idx), ref_state);
        CHECK(max_diff(lp, ref_lp) < 1e-5);
        REQUIRE(reordered.contains("attention") == ref_state.contains("attention"));
        if (reordered.contains("attention"))
          CHECK(max_diff(reordered.at("attention"), ref_state.at("attention")) < 1e-5);
        // ... and the original state's step, reordered.
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
        REQUIRE(expanded.contains("attention") == state.contains("attention"));
        if (expanded.contains("attention"))
          CHECK(max_diff(expanded.at("attention"), state.at("attention").repeat_interleave(3, 0)) < 1e-5);
      }
    }
  }
}

// --- (4) gradients -------------------------------------------------------------------------------

TEST_CASE("model contract: every parameter gets a gradient from a forward loss", "[models][contract]") {
  for (const auto& s : subjects()) DYNAMIC_SECTION(s.name) {
    torch::manual_seed(5);
    auto model = build(s);
    model->train();
    auto batch = random_batch({4, 6, 3}, {5, 2, 4}, s);
    forward_loss(*model, batch).backward();
    const auto params = model->named_parameters();
    CHECK(params.size() > 0);
    for (const auto& p : params) {
      INFO(p.key());
      REQUIRE(p.value().grad().defined());
      CHECK(p.value().grad().abs().sum().item<double>() > 0);
    }
  }
}

// --- (5) overfitting -----------------------------------------------------------------------------

// The first variant of each family only, at one size, untied: training is the slow part of the
// contract (all nine variants of three families take ~12 s on 2 cores instead of ~3 s), and some
// variants are slow or erratic learners at this size (seq2seq with a bidirectional GRU and no
// context at every step plateaus above 0.05 for some seeds). The other variants are covered by
// the exactness cases above. Adam at 0.02: the first variants reach 0.05 within 330 steps for
// each of 20 seeds (the Transformer within 40).
TEST_CASE("model contract: each family overfits one small batch", "[models][contract]") {
  const std::vector<std::string> sizes = {
      "embed_dim=16", "dropout=0", "init_range=0.1", "tie_embeddings=false",
      "rnn.hidden_dim=16", "rnn.layers=1",
      "transformer.d_model=32", "transformer.ffn_dim=64", "transformer.heads=4",
      "transformer.encoder_layers=2", "transformer.decoder_layers=2",
      "transformer.attention_dropout=0", "transformer.activation_dropout=0"};
  for (const auto& family : known_families()) {
    const auto variant = family_variants(family).front();
    DYNAMIC_SECTION(family << " [" << join(variant, " ") << "]") {
      torch::manual_seed(7);
      ModelPtr model = build_model(family_config(family, variant, sizes), kVocab, kVocab);
      model->train();
      auto batch = make_batch(random_sentences({5, 3, 7, 6}, kVocab), random_sentences({6, 4, 5, 3}, kVocab));
      torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(0.02));
      const auto start = std::chrono::steady_clock::now();
      double loss_value = 1e9;
      int steps = 0;
      for (; steps < 600 && loss_value >= 0.05; ++steps) {
        opt.zero_grad();
        auto loss = forward_loss(*model, batch);
        loss.backward();
        opt.step();
        loss_value = loss.item<double>();
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      INFO("loss " << loss_value << " after " << steps << " steps, " << seconds << " s");
      CHECK(loss_value < 0.05);
      // Greedy decoding through encode/step reproduces the memorised targets.
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
  }
}

// --- on the GPU ----------------------------------------------------------------------------------
// Run with `seqzoo_tests "[cuda]"` on a machine with a GPU; elsewhere each case says so and returns.
// TF32 is switched off so float32 means float32 (cuDNN's RNNs would otherwise use it on Ampere and
// later).

namespace {

constexpr double kCudaTol = 1e-4;

bool have_cuda() {
  if (torch::cuda::is_available()) {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
    return true;
  }
  WARN("no CUDA device: skipped");
  return false;
}

}  // namespace

TEST_CASE("model contract on CUDA: step reproduces forward, padding changes nothing, CPU agrees",
          "[models][contract][cuda]") {
  if (!have_cuda()) return;
  const torch::Device cuda(torch::kCUDA, 0);
  for (const auto& s : subjects()) DYNAMIC_SECTION(s.name) {
    torch::manual_seed(3);
    auto sources = random_sentences({6, 2, 4, 9}, s.src_vocab);
    auto targets = random_sentences({5, 7, 1, 3}, s.tgt_vocab);
    torch::manual_seed(4);
    ModelPtr model = build(s);
    torch::NoGradGuard no_grad;
    const Batch cpu_batch = make_batch(sources, targets, /*extra_src_pad=*/2);
    const torch::Tensor cpu_logits = model->forward(cpu_batch);  // [B,T,V]

    model->to(cuda);
    const Batch batch = cpu_batch.to(cuda);
    const torch::Tensor logits = model->forward(batch);
    REQUIRE(logits.device().is_cuda());
    CHECK(max_diff(logits, cpu_logits) < kCudaTol);  // the GPU computes what the CPU computes

    const torch::Tensor stepped = run_steps(*model, batch).log_probs;  // [B,T,V]
    REQUIRE(stepped.device().is_cuda());
    CHECK(max_diff(stepped, torch::log_softmax(logits, -1)) < kCudaTol);

    for (size_t i = 0; i < sources.size(); ++i) {
      INFO("sentence " << i);
      const Batch alone = make_batch({sources[i]}, {targets[i]}).to(cuda);
      const int64_t t = alone.tgt_in.size(1);
      CHECK(max_diff(model->forward(alone)[0], logits[static_cast<int64_t>(i)].narrow(0, 0, t)) < kCudaTol);
      CHECK(max_diff(run_steps(*model, alone).log_probs[0], stepped[static_cast<int64_t>(i)].narrow(0, 0, t)) <
            kCudaTol);
    }
  }
}
