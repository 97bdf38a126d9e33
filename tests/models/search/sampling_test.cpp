// Sampling (models/search/sampling.h): the draws follow the model's distribution (cut by top-k,
// top-p and the temperature), are reproducible for a seed and do not depend on the batch, and a
// sample's log-prob is the model's own (what forced decoding gives it), for every family.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <map>

#include "models/search/sampling.h"
#include "models/search/scoring.h"
#include "models/search/search.h"
#include "tests/models/core/family_models.h"

using namespace seqzoo;
using namespace seqzoo::test;

namespace {

constexpr int64_t kVocab = 17;

// Every step: the same distribution over V = 7 tokens (pad, unk, bos get ~0).
class FixedModelImpl : public Seq2SeqModelImpl {
 public:
  std::vector<double> probs{1e-9, 1e-9, 1e-9, 0.5, 0.3, 0.15, 0.05};  // eos .5, tokens 4..6
  torch::Tensor forward(const Batch&) override { throw std::logic_error("not used"); }
  DecoderState encode(const torch::Tensor& src, const torch::Tensor&) override {
    DecoderState s;
    s.set("rows", torch::zeros({src.size(0), 1}));
    return s;
  }
  torch::Tensor step(const torch::Tensor& prev, DecoderState& state) override {
    ++state.step;
    return torch::tensor(probs, torch::kFloat32).log().unsqueeze(0).repeat({prev.size(0), 1});
  }
  std::string family() const override { return "fixed"; }
};

std::vector<std::vector<Hypothesis>> sample(Seq2SeqModelImpl& model, const std::vector<std::vector<int64_t>>& src,
                                            const SearchOptions& o, const std::vector<int64_t>& ids) {
  std::vector<SearchInput> in(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    in[i].src = src[i];
    in[i].id = ids[i];
  }
  return search_all(model, in, o, o.batch_tokens, torch::kCPU);
}

SearchOptions sampling_options() {
  SearchOptions o;
  o.sampling = true;
  o.nbest = 3;
  o.max_len_a = 0;
  o.max_len_b = 8;
  o.seed = 42;
  return o;
}

}  // namespace

TEST_CASE("sampling: draws follow the distribution, its top-k/top-p cut and its temperature", "[search][sampling]") {
  FixedModelImpl model;
  SearchOptions o = sampling_options();
  o.max_len_b = 1;  // one token, then eos is forced
  o.nbest = 4000;
  auto first_tokens = [&](const SearchOptions& opts) {
    std::map<int64_t, double> freq;
    const auto r = sample(model, {{4, 5}}, opts, {0});
    REQUIRE(r[0].size() == static_cast<size_t>(opts.nbest));
    for (const auto& h : r[0]) freq[h.tokens.empty() ? kEosId : h.tokens[0]] += 1.0 / static_cast<double>(opts.nbest);
    return freq;
  };
  auto f = first_tokens(o);
  CHECK(f[kEosId] == Approx(0.5).margin(0.03));
  CHECK(f[4] == Approx(0.3).margin(0.03));
  CHECK(f[5] == Approx(0.15).margin(0.03));
  CHECK(f[6] == Approx(0.05).margin(0.02));
  o.topk = 2;  // eos and token 4, renormalised: 0.625 / 0.375
  f = first_tokens(o);
  CHECK(f.size() == 2);
  CHECK(f[kEosId] == Approx(0.625).margin(0.03));
  o.topk = 0;
  o.topp = 0.7;  // eos (0.5) and token 4 (0.3): the tokens ranked above token 5 already hold 0.8
  f = first_tokens(o);
  CHECK(f.size() == 2);
  CHECK(f[4] == Approx(0.375).margin(0.03));
  o.topp = 1.0;
  o.temperature = 0.02;  // all but the most likely token vanish
  f = first_tokens(o);
  CHECK(f.size() == 1);
  CHECK(f[kEosId] == Approx(1.0));
  // The reported log-prob is the model's own (temperature 1), eos included.
  o.temperature = 2.0;
  o.nbest = 20;
  const auto draws = sample(model, {{4}}, o, {0});
  for (const auto& h : draws[0]) {
    const double expected = h.tokens.empty() ? std::log(0.5) : std::log(model.probs[h.tokens[0]]) + std::log(0.5);
    CHECK(h.log_prob == Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE("sampling: top-k / top-p cut keeps the right tokens", "[search][sampling]") {
  torch::Tensor logits = torch::tensor(std::vector<float>{0.5f, 0.3f, 0.15f, 0.05f}).log().unsqueeze(0);
  torch::Tensor k2 = logits.clone();
  cut_top_k_top_p(k2, 2, 1.0);
  CHECK(torch::isinf(k2).sum().item<int64_t>() == 2);
  CHECK(std::isfinite(k2[0][1].item<float>()));
  torch::Tensor p = logits.clone();
  cut_top_k_top_p(p, 0, 0.5);  // the first token alone already holds 0.5
  CHECK(torch::isinf(p).sum().item<int64_t>() == 3);
  torch::Tensor p9 = logits.clone();
  cut_top_k_top_p(p9, 0, 0.9);
  CHECK(torch::isinf(p9).sum().item<int64_t>() == 1);
  CHECK(sampling_uniform(1, 2, 3, 4) == sampling_uniform(1, 2, 3, 4));
  CHECK(sampling_uniform(1, 2, 3, 4) != sampling_uniform(2, 2, 3, 4));
  for (int t = 0; t < 1000; ++t) {
    const double u = sampling_uniform(7, 0, 0, t);
    REQUIRE(u > 0.0);
    REQUIRE(u < 1.0);
  }
}

TEST_CASE("sampling: reproducible for a seed, independent of the batch, log-prob = forced-decoding score, every family",
          "[search][sampling]") {
  const auto srcs = random_sources(6, kVocab, 1, 7, 5);
  const std::vector<int64_t> ids{10, 11, 12, 13, 14, 15};
  for (const auto& model : tiny_family_models(kVocab, 3)) {
    INFO(model->family());
    SearchOptions o = sampling_options();
    o.temperature = 1.3;
    o.topp = 0.95;
    const auto batched = sample(*model, srcs, o, ids);
    const auto again = sample(*model, srcs, o, ids);
    bool differs = false;
    SearchOptions other_seed = o;
    other_seed.seed = 43;
    const auto reseeded = sample(*model, srcs, other_seed, ids);
    for (size_t i = 0; i < srcs.size(); ++i) {
      INFO("sentence " << i);
      const auto alone = sample(*model, {srcs[i]}, o, {ids[i]});
      REQUIRE(batched[i].size() == 3);
      std::vector<std::vector<int64_t>> draw_src, draw_tgt;
      for (size_t k = 0; k < 3; ++k) {
        CHECK(batched[i][k].tokens == alone[0][k].tokens);
        CHECK(batched[i][k].tokens == again[i][k].tokens);
        differs = differs || batched[i][k].tokens != reseeded[i][k].tokens;
        CHECK(batched[i][k].tokens.size() <= 8);
        draw_src.push_back(srcs[i]);
        draw_tgt.push_back(batched[i][k].tokens);
      }
      const auto scored = score_all(*model, draw_src, draw_tgt, 1000, torch::kCPU);
      for (size_t k = 0; k < 3; ++k) {
        // A draw forced to end at the length limit got eos's own log-prob, as forced decoding does.
        double sum = 0;
        for (float lp : scored[k]) sum += lp;
        CHECK(batched[i][k].log_prob == Approx(sum).margin(1e-3));
      }
    }
    CHECK(differs);
  }
}

TEST_CASE("sampling with top-k 1 is greedy search", "[search][sampling]") {
  const auto srcs = random_sources(5, kVocab, 1, 7, 9);
  for (const auto& model : tiny_family_models(kVocab, 4)) {
    INFO(model->family());
    SearchOptions greedy;
    greedy.beam_size = 1;
    greedy.max_len_a = 0;
    greedy.max_len_b = 8;
    SearchOptions top1 = greedy;
    top1.sampling = true;
    top1.topk = 1;
    const auto g = search_all(*model, srcs, greedy, 1000, torch::kCPU);
    const auto s = search_all(*model, srcs, top1, 1000, torch::kCPU);
    for (size_t i = 0; i < srcs.size(); ++i) {
      CHECK(s[i][0].tokens == g[i][0].tokens);
      CHECK(s[i][0].log_prob == Approx(g[i][0].log_prob).margin(1e-4));
    }
  }
}
