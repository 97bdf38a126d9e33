// Beam search against mock models whose log-probs are known: a table indexed by (step, previous
// token), and a hash of the row's own history (for batch independence). Both keep their history in
// the DecoderState and check, every step, that the search reordered it consistently.
#include <catch2/catch.hpp>

#include "models/rnn/rnn_config.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>
#include <map>
#include <set>
#include <random>
#include <stdexcept>
#include <utility>

#include "models/registry.h"
#include "models/search/search.h"
#include "tests/models/core/family_models.h"
#include "tests/models/transformer/transformer_test_util.h"

using namespace seqzoo;

namespace {

constexpr int64_t A = 4, B = 5;  // two content tokens after pad, unk, bos, eos

// Appends prev_tokens to state "history" [N,t+1] (bos first): the search reorders it with the rest
// of the state, so each row's history must be the prefix of the hypothesis the search attributes to
// that row. Every history seen is recorded so tests can check that.
void push_history(const torch::Tensor& prev_tokens, DecoderState& state,
                  std::set<std::vector<int64_t>>& seen) {
  torch::Tensor hist = torch::cat({state.at("history"), prev_tokens.unsqueeze(1)}, 1);
  state.set("history", hist);
  for (int64_t r = 0; r < hist.size(0); ++r) {
    torch::Tensor row = hist[r].contiguous();
    seen.insert(std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()));
  }
}

// Every returned hypothesis was really decoded from the state rows: its bos + tokens history was
// fed to the model at the step that produced its eos.
void require_histories(const std::vector<std::vector<Hypothesis>>& results,
                       const std::set<std::vector<int64_t>>& seen) {
  for (const auto& nb : results)
    for (const auto& h : nb) {
      std::vector<int64_t> hist{kBosId};
      hist.insert(hist.end(), h.tokens.begin(), h.tokens.end());
      CHECK(seen.count(hist) == 1);
    }
}

// Log-probs from a table: probs[(step, prev)] -> distribution over V = 6 tokens. Missing entries
// use `fallback`. Unlisted tokens get probability 1e-6 (the search masks pad and bos anyway).
class TableModelImpl : public Seq2SeqModelImpl {
 public:
  std::map<std::pair<int64_t, int64_t>, std::map<int64_t, double>> table;
  std::map<int64_t, double> fallback{{kEosId, 0.9}, {A, 0.05}, {B, 0.05}};
  int64_t step_calls = 0;
  std::set<std::vector<int64_t>> seen;

  torch::Tensor forward(const Batch&) override { throw std::logic_error("not used"); }
  DecoderState encode(const torch::Tensor& src, const torch::Tensor& src_len) override {
    DecoderState s;
    s.set("history", torch::zeros({src.size(0), 0}, torch::kInt64));
    s.set("src_len", src_len.clone());
    s.step = 0;
    return s;
  }
  torch::Tensor step(const torch::Tensor& prev, DecoderState& state) override {
    ++step_calls;
    push_history(prev, state, seen);
    const int64_t n = prev.size(0);
    torch::Tensor out = torch::full({n, 6}, std::log(1e-6), torch::kFloat32);
    auto p = prev.accessor<int64_t, 1>();
    for (int64_t r = 0; r < n; ++r) {
      auto it = table.find({state.step, p[r]});
      const auto& dist = it == table.end() ? fallback : it->second;
      for (const auto& kv : dist) out[r][kv.first] = static_cast<float>(std::log(kv.second));
    }
    // Attention: one-hot on source position step % src_len.
    const int64_t cols = state.at("src_len").max().item<int64_t>();
    torch::Tensor att = torch::zeros({n, cols});
    auto l = state.at("src_len").accessor<int64_t, 1>();
    for (int64_t r = 0; r < n; ++r) att[r][state.step % l[r]] = 1.0f;
    state.set("attention", att);
    ++state.step;
    return out;
  }
  std::string family() const override { return "table"; }
};

// Log-probs that depend only on the row's own source and history (a rolling hash kept in state).
class HashModelImpl : public Seq2SeqModelImpl {
 public:
  static constexpr int64_t V = 12;
  std::set<std::vector<int64_t>> seen;
  torch::Tensor forward(const Batch&) override { throw std::logic_error("not used"); }
  DecoderState encode(const torch::Tensor& src, const torch::Tensor& src_len) override {
    DecoderState s;
    const int64_t n = src.size(0), len = src.size(1);
    torch::Tensor pos = torch::arange(1, len + 1, torch::kFloat32).unsqueeze(0);
    torch::Tensor mask = src.ne(kPadId);
    s.set("sig", (src.to(torch::kFloat32) * pos * mask).sum(1));
    s.set("len", src_len.to(torch::kFloat32));
    s.set("src_mask", mask);
    s.set("h", torch::zeros({n}, torch::kInt64));
    s.set("history", torch::zeros({n, 0}, torch::kInt64));
    return s;
  }
  torch::Tensor step(const torch::Tensor& prev, DecoderState& state) override {
    push_history(prev, state, seen);
    torch::Tensor h = (state.at("h") * 131 + prev + 7).remainder(1000003);
    state.set("h", h);
    torch::Tensor hf = h.to(torch::kFloat64).unsqueeze(1);
    torch::Tensor v = torch::arange(V, torch::kFloat64).unsqueeze(0);
    torch::Tensor logits =
        2.5 * torch::sin(hf * 0.013 + v * 1.7 + state.at("sig").to(torch::kFloat64).unsqueeze(1) * 0.11);
    torch::Tensor bias = (static_cast<double>(state.step) - state.at("len").to(torch::kFloat64)) * 0.8;
    logits.select(1, kEosId).add_(bias);
    // Attention over the real source positions.
    torch::Tensor mask = state.at("src_mask");
    torch::Tensor p = torch::arange(mask.size(1), torch::kFloat64).unsqueeze(0);
    torch::Tensor e = torch::cos(hf * 0.1 + p).masked_fill(mask.logical_not(), -INFINITY);
    state.set("attention", torch::softmax(e, 1).to(torch::kFloat32));
    ++state.step;
    return torch::log_softmax(logits, 1).to(torch::kFloat32);
  }
  std::string family() const override { return "hash"; }
};

std::pair<torch::Tensor, torch::Tensor> make_batch(const std::vector<std::vector<int64_t>>& sents) {
  int64_t longest = 0;
  for (const auto& s : sents) longest = std::max<int64_t>(longest, s.size());
  torch::Tensor src = torch::full({static_cast<int64_t>(sents.size()), longest}, kPadId, torch::kInt64);
  torch::Tensor len = torch::empty({static_cast<int64_t>(sents.size())}, torch::kInt64);
  for (size_t i = 0; i < sents.size(); ++i) {
    for (size_t j = 0; j < sents[i].size(); ++j) src[i][j] = sents[i][j];
    len[i] = static_cast<int64_t>(sents[i].size());
  }
  return {src, len};
}

std::vector<std::vector<Hypothesis>> run(Seq2SeqModelImpl& model,
                                         const std::vector<std::vector<int64_t>>& sents,
                                         const SearchOptions& o) {
  auto b = make_batch(sents);
  return search_batch(model, b.first, b.second, o);
}

double lp_gnmt(int64_t len, double alpha) { return std::pow((5.0 + len) / 6.0, alpha); }

// The example where greedy misses: bos -> a .5 | b .4 | eos .1; after a: a .36, b .34, eos .3;
// after b: eos .9; everything later: eos .9, a .05, b .05.
void fill_example(TableModelImpl& m) {
  m.table[{0, kBosId}] = {{A, 0.5}, {B, 0.4}, {kEosId, 0.1}};
  m.table[{1, A}] = {{A, 0.36}, {B, 0.34}, {kEosId, 0.3}};
  m.table[{1, B}] = {{kEosId, 0.9}, {A, 0.05}, {B, 0.05}};
}

std::vector<std::vector<int64_t>> random_sentences(int64_t count, int64_t max_len, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<int64_t>> out;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<int64_t> s(1 + rng() % max_len);
    for (auto& t : s) t = 4 + rng() % (HashModelImpl::V - 4);
    out.push_back(s);
  }
  return out;
}

void require_same(const std::vector<Hypothesis>& a, const std::vector<Hypothesis>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    CHECK(a[k].tokens == b[k].tokens);
    CHECK(a[k].score == Approx(b[k].score).margin(1e-5));
    CHECK(a[k].log_prob == Approx(b[k].log_prob).margin(1e-5));
    REQUIRE(a[k].attention.size() == b[k].attention.size());
    for (size_t r = 0; r < a[k].attention.size(); ++r) {
      REQUIRE(a[k].attention[r].size() == b[k].attention[r].size());
      for (size_t c = 0; c < a[k].attention[r].size(); ++c)
        CHECK(a[k].attention[r][c] == Approx(b[k].attention[r][c]).margin(1e-6));
    }
  }
}

}  // namespace

TEST_CASE("beam search with beam 1 equals greedy decoding", "[search]") {
  HashModelImpl model;
  auto sents = random_sentences(6, 7, 11);
  SearchOptions o;
  o.beam_size = 1;
  o.nbest = 1;
  auto got = run(model, sents, o);
  for (size_t i = 0; i < sents.size(); ++i) {
    // Greedy by hand: argmax over tokens other than pad/bos until eos or the length limit.
    auto b = make_batch({sents[i]});
    DecoderState st = model.encode(b.first, b.second);
    const auto limit = static_cast<int64_t>(std::floor(o.max_len_a * sents[i].size() + o.max_len_b));
    std::vector<int64_t> toks;
    double logp = 0;
    torch::Tensor prev = torch::full({1}, kBosId, torch::kInt64);
    for (int64_t t = 0;; ++t) {
      torch::Tensor lp = model.step(prev, st)[0];
      lp[kPadId] = -INFINITY;
      lp[kBosId] = -INFINITY;
      int64_t best = t >= limit ? kEosId : lp.argmax().item<int64_t>();
      logp += lp[best].item<double>();
      if (best == kEosId) break;
      toks.push_back(best);
      prev.fill_(best);
    }
    REQUIRE(got[i].size() == 1);
    CHECK(got[i][0].tokens == toks);
    CHECK(got[i][0].log_prob == Approx(logp).margin(1e-5));
    CHECK(got[i][0].score == Approx(logp / lp_gnmt(toks.size() + 1, o.alpha)).margin(1e-5));
  }
}

TEST_CASE("beam search finds the hypothesis greedy misses", "[search]") {
  TableModelImpl model;
  fill_example(model);
  SearchOptions o;
  o.length_norm = "none";
  o.beam_size = 1;
  auto greedy = run(model, {{A}}, o);
  REQUIRE(greedy[0].size() == 1);
  CHECK(greedy[0][0].tokens == std::vector<int64_t>{A, A});
  CHECK(greedy[0][0].log_prob == Approx(std::log(0.5) + std::log(0.36) + std::log(0.9)).epsilon(1e-6));
  o.beam_size = 2;
  auto beam = run(model, {{A}}, o);
  REQUIRE(beam[0].size() == 1);
  CHECK(beam[0][0].tokens == std::vector<int64_t>{B});
  CHECK(beam[0][0].log_prob == Approx(std::log(0.4) + std::log(0.9)).epsilon(1e-6));
  CHECK(beam[0][0].score == Approx(beam[0][0].log_prob));
}

TEST_CASE("n-best lists are ordered with length-penalised scores", "[search]") {
  TableModelImpl model;
  fill_example(model);
  SearchOptions o;
  o.beam_size = 3;
  o.nbest = 3;
  const double lb = std::log(0.4) + std::log(0.9);
  const double laa = std::log(0.5) + std::log(0.36) + std::log(0.9);
  const double lab = std::log(0.5) + std::log(0.34) + std::log(0.9);
  SECTION("gnmt") {
    o.length_norm = "gnmt";
    o.alpha = 0.6;
    auto r = run(model, {{A, B}}, o);
    REQUIRE(r[0].size() == 3);
    CHECK(r[0][0].tokens == std::vector<int64_t>{B});
    CHECK(r[0][1].tokens == std::vector<int64_t>{A, A});
    CHECK(r[0][2].tokens == std::vector<int64_t>{A, B});
    CHECK(r[0][0].score == Approx(lb / lp_gnmt(2, 0.6)).epsilon(1e-6));
    CHECK(r[0][1].score == Approx(laa / lp_gnmt(3, 0.6)).epsilon(1e-6));
    CHECK(r[0][2].score == Approx(lab / lp_gnmt(3, 0.6)).epsilon(1e-6));
    CHECK(r[0][1].log_prob == Approx(laa).epsilon(1e-6));
    CHECK(r[0][0].score > r[0][1].score);
    CHECK(r[0][1].score > r[0][2].score);
  }
  SECTION("average") {
    o.length_norm = "average";
    auto r = run(model, {{A, B}}, o);
    REQUIRE(r[0].size() == 3);
    CHECK(r[0][0].tokens == std::vector<int64_t>{B});
    CHECK(r[0][0].score == Approx(lb / 2).epsilon(1e-6));
    CHECK(r[0][1].score == Approx(laa / 3).epsilon(1e-6));
    CHECK(r[0][2].score == Approx(lab / 3).epsilon(1e-6));
  }
  SECTION("first step expands one copy of the beam: no duplicates") {
    o.beam_size = 4;
    o.nbest = 4;
    auto r = run(model, {{A, B}}, o);
    for (size_t i = 0; i < r[0].size(); ++i)
      for (size_t j = i + 1; j < r[0].size(); ++j) CHECK(r[0][i].tokens != r[0][j].tokens);
  }
}

TEST_CASE("output length respects a * src_len + b per sentence", "[search]") {
  TableModelImpl model;
  model.fallback = {{A, 0.6}, {B, 0.3}, {kEosId, 1e-5}};  // never wants to stop
  SearchOptions o;
  o.max_len_a = 1.0;
  o.max_len_b = 0;
  for (int64_t beam : {1, 3}) {
    o.beam_size = beam;
    o.nbest = 1;
    auto r = run(model, {{A, A}, {A, A, A, A}, {A}}, o);
    CHECK(r[0][0].tokens.size() == 2);
    CHECK(r[1][0].tokens.size() == 4);
    CHECK(r[2][0].tokens.size() == 1);
    // The forced eos is scored with its own log-prob.
    CHECK(r[2][0].log_prob == Approx(std::log(0.6) + std::log(1e-5)).epsilon(1e-5));
  }
  // A limit that rounds down to 0 tokens (floor(0.3 * 3)) forces eos at once.
  o.max_len_a = 0.3;
  o.max_len_b = 0;
  o.beam_size = 2;
  auto r = run(model, {{A, B, A}}, o);
  REQUIRE(r[0].size() == 1);
  CHECK(r[0][0].tokens.empty());
  CHECK(r[0][0].log_prob == Approx(std::log(1e-5)).epsilon(1e-5));
  // Both 0 could only ever give empty translations: refused, naming the key.
  o.max_len_a = 0;
  CHECK_THROWS_WITH(o.validate(), Catch::Matchers::Contains("search.max_len_b: max_len_a and max_len_b are both 0"));
}

TEST_CASE("search finishes early when no open hypothesis can win", "[search]") {
  TableModelImpl model;
  fill_example(model);
  SearchOptions o;
  o.max_len_b = 50;
  o.beam_size = 2;
  o.length_norm = "none";
  auto r = run(model, {{A}}, o);
  CHECK(r[0][0].tokens == std::vector<int64_t>{B});
  // Step 0 expands bos, step 1 finishes [b] (0.36) ahead of every open one (<= 0.18).
  CHECK(model.step_calls == 2);
  // gnmt: stops once beam_size hypotheses have ended (step 2), far before the limit.
  model.step_calls = 0;
  o.length_norm = "gnmt";
  r = run(model, {{A}}, o);
  CHECK(model.step_calls == 3);
  // A sentence whose best first token is eos stops at once.
  TableModelImpl stop;
  stop.fallback = {{kEosId, 0.95}, {A, 0.01}, {B, 0.01}};
  o.length_norm = "none";
  o.beam_size = 4;
  auto s = run(stop, {{A, A, A}}, o);
  CHECK(s[0][0].tokens.empty());
  CHECK(stop.step_calls == 1);
}

TEST_CASE("attention rows are kept per output token", "[search]") {
  TableModelImpl model;
  fill_example(model);
  SearchOptions o;
  o.beam_size = 2;
  o.nbest = 2;
  o.keep_attention = true;
  auto r = run(model, {{A, B, A}, {B}}, o);
  for (size_t s = 0; s < r.size(); ++s) {
    const size_t len = s == 0 ? 3 : 1;
    for (const auto& h : r[s]) {
      REQUIRE(h.attention.size() == h.tokens.size() + 1);
      for (size_t t = 0; t < h.attention.size(); ++t) {
        REQUIRE(h.attention[t].size() == len);
        CHECK(h.attention[t][t % len] == 1.0f);
      }
    }
  }
  o.keep_attention = false;
  auto q = run(model, {{A, B, A}}, o);
  CHECK(q[0][0].attention.empty());
}

TEST_CASE("a sentence's translation does not depend on its batch", "[search]") {
  HashModelImpl model;
  auto sents = random_sentences(12, 9, 5);
  struct Setting {
    int64_t beam, nbest;
    const char* norm;
  };
  for (const Setting& st : {Setting{1, 1, "gnmt"}, Setting{4, 2, "gnmt"}, Setting{3, 3, "average"},
                            Setting{5, 1, "none"}}) {
    SearchOptions o;
    o.beam_size = st.beam;
    o.nbest = st.nbest;
    o.length_norm = st.norm;
    o.max_len_a = 1.2;
    o.max_len_b = 2;
    o.keep_attention = true;
    auto together = run(model, sents, o);
    std::vector<std::vector<int64_t>> reversed(sents.rbegin(), sents.rend());
    auto backwards = run(model, reversed, o);
    for (size_t i = 0; i < sents.size(); ++i) {
      auto alone = run(model, {sents[i]}, o);
      require_same(alone[0], together[i]);
      require_same(alone[0], backwards[sents.size() - 1 - i]);
    }
    // Also with a much longer companion (more padding, longer decoding for the batch).
    std::vector<int64_t> longer(25, 7);
    auto pair = run(model, {sents[0], longer}, o);
    require_same(run(model, {sents[0]}, o)[0], pair[0]);
  }
}

TEST_CASE("real models (encoder side kept once per sentence) decode the same alone and batched",
          "[search]") {
  // The Transformer and the attention RNN keep their encoder side as DecoderState source entries
  // (one row per sentence, not per hypothesis): the search's reorders and sentence removals must
  // keep them aligned with the hypotheses.
  ModelConfig attention;
  attention.family = "attention";
  attention.embed_dim = 8;
  attention.init_range = 0.3;
  attention.options<RnnConfig>().cell = "gru";
  attention.options<RnnConfig>().hidden_dim = 12;
  attention.options<RnnConfig>().layers = 1;
  attention.options<RnnConfig>().bidirectional = true;
  attention.options<AttentionConfig>().type = "bahdanau";
  attention.options<AttentionConfig>().attention_dim = 10;
  for (const ModelConfig& config : {tiny_transformer_config(true, false), attention}) {
    INFO(config.family);
    torch::manual_seed(11);
    auto model = build_model(config, HashModelImpl::V, HashModelImpl::V);
    model->eval();
    auto sents = random_sentences(10, 9, 21);
    SearchOptions o;
    o.beam_size = 4;
    o.nbest = 2;
    o.max_len_a = 1.2;
    o.max_len_b = 2;
    o.keep_attention = true;
    auto together = run(*model, sents, o);
    for (size_t i = 0; i < sents.size(); ++i) require_same(run(*model, {sents[i]}, o)[0], together[i]);
  }
}

TEST_CASE("beam search reorders the DecoderState consistently with its hypotheses", "[search]") {
  HashModelImpl model;
  auto sents = random_sentences(5, 6, 17);
  SearchOptions o;
  o.beam_size = 4;
  o.nbest = 4;
  auto r = run(model, sents, o);
  require_histories(r, model.seen);
  // Force-decoding each returned hypothesis alone reproduces its log-prob: the state rows the
  // search stepped were the ones of that hypothesis.
  for (size_t i = 0; i < sents.size(); ++i) {
    REQUIRE(!r[i].empty());
    for (const auto& h : r[i]) {
      auto b = make_batch({sents[i]});
      DecoderState st = model.encode(b.first, b.second);
      double logp = 0;
      int64_t prev = kBosId;
      std::vector<int64_t> seq = h.tokens;
      seq.push_back(kEosId);
      for (int64_t tok : seq) {
        torch::Tensor lp = model.step(torch::full({1}, prev, torch::kInt64), st);
        logp += lp[0][tok].item<double>();
        prev = tok;
      }
      CHECK(h.log_prob == Approx(logp).margin(1e-4));
    }
  }
}

TEST_CASE("search_all keeps input order, batches by budget, handles empty sources", "[search]") {
  HashModelImpl model;
  auto sents = random_sentences(10, 8, 3);
  sents.insert(sents.begin() + 4, std::vector<int64_t>{});
  SearchOptions o;
  o.beam_size = 3;
  o.nbest = 2;
  for (int64_t budget : {1, 12, 100000}) {
    auto all = search_all(model, sents, o, budget, torch::kCPU);
    REQUIRE(all.size() == sents.size());
    for (size_t i = 0; i < sents.size(); ++i) {
      if (sents[i].empty()) {
        REQUIRE(all[i].size() == 1);
        CHECK(all[i][0].tokens.empty());
        continue;
      }
      require_same(run(model, {sents[i]}, o)[0], all[i]);
    }
  }
  CHECK(search_all(model, std::vector<std::vector<int64_t>>{}, o, 100, torch::kCPU).empty());
}

TEST_CASE("search: workers share out the batches and give one model's results to the bit, every family",
          "[search][workers]") {
  constexpr int64_t kVocab = 19;
  const auto srcs = test::random_sources(23, kVocab, 1, 9, 5);
  std::vector<SearchInput> inputs;
  for (size_t i = 0; i < srcs.size(); ++i) inputs.push_back(SearchInput{srcs[i], {}, static_cast<int64_t>(i)});
  inputs[6].src.clear();  // an empty source among them
  SearchOptions o;
  o.beam_size = 3;
  o.nbest = 2;
  o.keep_attention = true;
  const auto one = test::tiny_family_models(kVocab, 7), two = test::tiny_family_models(kVocab, 7),
             three = test::tiny_family_models(kVocab, 7);  // the same weights three times
  const int64_t threads = torch::get_num_threads();
  for (size_t f = 0; f < one.size(); ++f) {
    INFO(one[f]->family());
    const auto alone = search_all(*one[f], inputs, o, /*batch_tokens=*/12, torch::kCPU);  // several batches
    for (size_t n : {2, 3}) {
      INFO(n << " workers");
      SearchWorkers workers{{one[f].get(), two[f].get(), three[f].get()}, threads};
      workers.replicas.resize(n);
      const auto shared = search_all(workers, inputs, o, 12, torch::kCPU);
      REQUIRE(shared.size() == alone.size());
      for (size_t i = 0; i < alone.size(); ++i) {
        REQUIRE(shared[i].size() == alone[i].size());
        for (size_t k = 0; k < alone[i].size(); ++k) {
          CHECK(shared[i][k].tokens == alone[i][k].tokens);
          CHECK(shared[i][k].score == alone[i][k].score);
          CHECK(shared[i][k].log_prob == alone[i][k].log_prob);
          CHECK(shared[i][k].attention == alone[i][k].attention);
        }
      }
    }
  }
}

TEST_CASE("search: workers run every task once, on every replica, and pass the first error on", "[search][workers]") {
  const auto models = test::tiny_family_models(11, 1);
  const auto copies = test::tiny_family_models(11, 1);
  const int threads = torch::get_num_threads();
  SearchWorkers workers{{models.front().get(), copies.front().get()}, threads + 1};
  std::vector<int> done(40, 0);
  std::mutex m;
  std::set<Seq2SeqModelImpl*> used;
  workers.run(done.size(), [&](size_t i, Seq2SeqModelImpl& model) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> lock(m);
    ++done[i];
    used.insert(&model);
    CHECK_FALSE(torch::GradMode::is_enabled());  // workers decode without autograd
  });
  CHECK(std::count(done.begin(), done.end(), 1) == 40);
  CHECK(used.size() == 2);
  CHECK(torch::get_num_threads() == threads);  // the calling thread's count is its own again
  // A scope wraps each worker's share of the work, on its own thread.
  static thread_local bool inside = false;
  std::atomic<int> scopes{0};
  workers.scope = [&](const std::function<void()>& work) {
    ++scopes;
    inside = true;
    work();
    inside = false;
  };
  std::atomic<int> unscoped{0};
  workers.run(20, [&](size_t, Seq2SeqModelImpl&) {
    if (!inside) ++unscoped;
  });
  CHECK(scopes == 2);
  CHECK(unscoped == 0);
  workers.replicas.resize(1);
  workers.run(3, [&](size_t, Seq2SeqModelImpl&) {
    if (!inside) ++unscoped;
  });
  CHECK(scopes == 3);
  CHECK(unscoped == 0);
  workers.scope = nullptr;
  CHECK_THROWS_WITH(workers.run(10, [&](size_t i, Seq2SeqModelImpl&) {
                      if (i == 3) throw std::invalid_argument("task 3 failed");
                    }),
                    "task 3 failed");
  CHECK_THROWS_AS(SearchWorkers{}.run(1, [](size_t, Seq2SeqModelImpl&) {}), std::invalid_argument);
}

TEST_CASE("search options are validated", "[search]") {
  TableModelImpl model;
  SearchOptions o;
  o.beam_size = 2;
  o.nbest = 3;
  CHECK_THROWS_AS(run(model, {{A}}, o), std::invalid_argument);
  o.nbest = 1;
  o.length_norm = "bogus";
  CHECK_THROWS_AS(run(model, {{A}}, o), std::invalid_argument);
  // The messages name the key (one declaration: SearchOptions::visit and check()).
  SearchOptions bad;
  bad.beam_size = 0;
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("search.beam_size: must be >= 1, got 0"));
  bad = SearchOptions();
  bad.beam_size = 2;
  bad.nbest = 3;
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("search.nbest: must be <= search.beam_size (2), got 3"));
  bad = SearchOptions();
  bad.length_norm = "bogus";
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("search.length_norm: 'bogus' is not one of gnmt, average, none"));
  CHECK_NOTHROW(SearchOptions().validate());
}
