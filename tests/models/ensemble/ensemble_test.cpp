// Ensembles (models/ensemble/ensemble.h): a model with itself is the model, any mix of families
// decodes as the mean of the members' probabilities, weights are checked and applied, and search,
// sampling and scoring serve an ensemble through the interface alone.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "models/ensemble/ensemble.h"
#include "models/search/scoring.h"
#include "models/search/search.h"
#include "tests/models/core/family_models.h"

using namespace seqzoo;
using namespace seqzoo::test;

namespace {

constexpr int64_t kVocab = 15;

torch::Tensor first_step(Seq2SeqModelImpl& model, const std::vector<int64_t>& src) {
  torch::NoGradGuard no_grad;
  DecoderState s = model.encode(torch::tensor(src, torch::kInt64).unsqueeze(0),
                                torch::tensor(std::vector<int64_t>{static_cast<int64_t>(src.size())}, torch::kInt64));
  model.step(torch::tensor(std::vector<int64_t>{kBosId}, torch::kInt64), s);
  return model.step(torch::tensor(std::vector<int64_t>{5}, torch::kInt64), s);  // the second step
}

}  // namespace

TEST_CASE("ensemble: a model with itself decodes, scores and samples like the model, every family", "[ensemble]") {
  const auto srcs = random_sources(5, kVocab, 1, 7, 2);
  for (const auto& model : tiny_family_models(kVocab, 6)) {
    INFO(model->family());
    auto twice = std::make_shared<EnsembleModelImpl>(std::vector<ModelPtr>{model, model});
    CHECK(twice->family() == "ensemble(" + model->family() + "+" + model->family() + ")");
    SearchOptions o;
    o.beam_size = 3;
    o.nbest = 2;
    o.max_len_a = 0;
    o.max_len_b = 8;
    const auto alone = search_all(*model, srcs, o, 1000, torch::kCPU);
    const auto both = search_all(*twice, srcs, o, 1000, torch::kCPU);
    o.sampling = true;
    const auto sampled_alone = search_all(*model, srcs, o, 1000, torch::kCPU);
    const auto sampled_both = search_all(*twice, srcs, o, 1000, torch::kCPU);
    const auto scores_alone = score_all(*model, srcs, srcs, 1000, torch::kCPU);
    const auto scores_both = score_all(*twice, srcs, srcs, 1000, torch::kCPU);
    for (size_t i = 0; i < srcs.size(); ++i) {
      REQUIRE(both[i].size() == alone[i].size());
      for (size_t k = 0; k < alone[i].size(); ++k) {
        CHECK(both[i][k].tokens == alone[i][k].tokens);
        CHECK(both[i][k].log_prob == Approx(alone[i][k].log_prob).margin(1e-4));
      }
      for (size_t k = 0; k < sampled_alone[i].size(); ++k) CHECK(sampled_both[i][k].tokens == sampled_alone[i][k].tokens);
      for (size_t t = 0; t < scores_alone[i].size(); ++t) CHECK(scores_both[i][t] == Approx(scores_alone[i][t]).margin(1e-4));
    }
  }
}

TEST_CASE("ensemble: members of different families mix their probabilities with weights", "[ensemble]") {
  const auto models = tiny_family_models(kVocab, 7);
  REQUIRE(models.size() >= 2);
  const std::vector<int64_t> src{4, 9, 6, 11};
  std::vector<torch::Tensor> probs;
  for (const auto& m : models) probs.push_back(first_step(*m, src).exp());
  std::vector<double> weights;
  for (size_t i = 0; i < models.size(); ++i) weights.push_back(static_cast<double>(i + 1));
  auto mixed = std::make_shared<EnsembleModelImpl>(models, weights);
  double total = 0;
  for (double w : weights) total += w;
  torch::Tensor expected = torch::zeros_like(probs[0]);
  for (size_t i = 0; i < models.size(); ++i) expected += probs[i] * (weights[i] / total);
  CHECK(torch::allclose(first_step(*mixed, src).exp(), expected, 1e-5, 1e-6));
  // A weight of 0 leaves the other members alone.
  std::vector<double> only_first(models.size(), 0.0);
  only_first[0] = 2.0;
  auto first = std::make_shared<EnsembleModelImpl>(models, only_first);
  CHECK(torch::allclose(first_step(*first, src), first_step(*models[0], src), 1e-5, 1e-5));
  // Beam search over the mix of families, with attention from the members that have it.
  SearchOptions o;
  o.beam_size = 4;
  o.max_len_a = 0;
  o.max_len_b = 6;
  o.keep_attention = true;
  const auto r = search_all(*mixed, {src, {5, 6}}, o, 1000, torch::kCPU);
  REQUIRE(r.size() == 2);
  for (const auto& nb : r) {
    REQUIRE_FALSE(nb.empty());
    CHECK(nb[0].tokens.size() <= 6);
    CHECK(std::isfinite(nb[0].log_prob));
  }
  // forward gives the log of the mixed probabilities.
  Batch b;
  b.src = torch::tensor(src, torch::kInt64).unsqueeze(0);
  b.src_len = torch::tensor(std::vector<int64_t>{4}, torch::kInt64);
  b.tgt_in = torch::tensor(std::vector<int64_t>{kBosId, 5}, torch::kInt64).unsqueeze(0);
  b.tgt_out = torch::tensor(std::vector<int64_t>{5, kEosId}, torch::kInt64).unsqueeze(0);
  b.tgt_len = torch::tensor(std::vector<int64_t>{2}, torch::kInt64);
  torch::NoGradGuard no_grad;
  CHECK(torch::allclose(torch::softmax(mixed->forward(b), -1)[0][1], expected[0], 1e-5, 1e-6));
}

TEST_CASE("ensemble: bad weights are refused", "[ensemble]") {
  const auto models = tiny_family_models(kVocab, 8);
  CHECK_THROWS_WITH(EnsembleModelImpl({}, {}), Catch::Contains("at least one model"));
  CHECK_THROWS_WITH(EnsembleModelImpl(models, {1.0}), Catch::Contains("1 weights for"));
  CHECK_THROWS_WITH(EnsembleModelImpl({models[0], models[0]}, {1.0, -1.0}), Catch::Contains(">= 0"));
  CHECK_THROWS_WITH(EnsembleModelImpl({models[0], models[0]}, {0.0, 0.0}), Catch::Contains("all 0"));
}
