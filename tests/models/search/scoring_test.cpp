// Forced decoding (models/search/scoring.h) for every family: a target's token log-probs are the
// ones the search adds up along that path (step by step through encode/step), and they do not
// depend on the batch a pair is scored in beyond float rounding: pairs share a batch only with pairs of
// their shape (no padding enters), but a BLAS may pick its kernel by matrix shape, so the batch size can
// still move the last bit of a sum (OpenBLAS's Haswell kernels do; its SkylakeX ones did not here).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "models/search/scoring.h"
#include "tests/models/core/family_models.h"

using namespace seqzoo;
using namespace seqzoo::test;

namespace {

constexpr int64_t kVocab = 17;

// log p(y_t | y_<t, x) for t = 1..n and eos, by stepping the decoder along the forced path.
std::vector<float> step_along(Seq2SeqModelImpl& model, const std::vector<int64_t>& src, const std::vector<int64_t>& tgt) {
  torch::NoGradGuard no_grad;
  const torch::Tensor s = torch::tensor(src, torch::kInt64).unsqueeze(0);
  const torch::Tensor len = torch::tensor(std::vector<int64_t>{static_cast<int64_t>(src.size())}, torch::kInt64);
  DecoderState state = model.encode(s, len);
  std::vector<float> out;
  int64_t prev = kBosId;
  for (size_t t = 0; t <= tgt.size(); ++t) {
    const torch::Tensor lp = model.step(torch::tensor(std::vector<int64_t>{prev}, torch::kInt64), state);
    const int64_t next = t < tgt.size() ? tgt[t] : kEosId;
    out.push_back(lp[0][next].item<float>());
    prev = next;
  }
  return out;
}

}  // namespace

TEST_CASE("scoring: a target's score is the sum of the step log-probs along its forced path, every family",
          "[search][scoring]") {
  const auto srcs = random_sources(7, kVocab, 1, 9, 3);
  auto tgts = random_sources(7, kVocab, 0, 8, 4);
  tgts[2].clear();  // an empty target: eos alone
  for (const auto& model : tiny_family_models(kVocab, 11)) {
    INFO(model->family());
    const auto batched = score_all(*model, srcs, tgts, /*batch_tokens=*/1000, torch::kCPU);
    const auto single = score_all(*model, srcs, tgts, /*batch_tokens=*/1, torch::kCPU);  // one pair a batch
    REQUIRE(batched.size() == srcs.size());
    for (size_t i = 0; i < srcs.size(); ++i) {
      INFO("pair " << i);
      const auto path = step_along(*model, srcs[i], tgts[i]);
      REQUIRE(batched[i].size() == tgts[i].size() + 1);
      REQUIRE(single[i].size() == batched[i].size());
      for (size_t t = 0; t < path.size(); ++t) {
        CHECK(batched[i][t] == Approx(path[t]).margin(1e-4));
        CHECK(single[i][t] == Approx(batched[i][t]).epsilon(1e-6).margin(1e-5));  // no padding: rounding only
        CHECK(batched[i][t] <= 0.0f);
      }
    }
  }
}

TEST_CASE("scoring: pairs of one shape give the same numbers batched or alone, to float rounding, every family",
          "[search][scoring]") {
  const auto srcs = random_sources(6, kVocab, 5, 5, 13);  // all of length 5
  const auto tgts = random_sources(6, kVocab, 4, 4, 14);  // all of length 4
  for (const auto& model : tiny_family_models(kVocab, 12)) {
    INFO(model->family());
    const auto batched = score_all(*model, srcs, tgts, 1000, torch::kCPU);
    for (size_t i = 0; i < srcs.size(); ++i) {
      const auto alone = score_all(*model, {srcs[i]}, {tgts[i]}, 1000, torch::kCPU);
      REQUIRE(alone[0].size() == batched[i].size());
      for (size_t t = 0; t < alone[0].size(); ++t)
        CHECK(alone[0][t] == Approx(batched[i][t]).epsilon(1e-6).margin(1e-5));
    }
  }
}

TEST_CASE("scoring: workers share out the batches and give one model's numbers to the bit, every family",
          "[search][scoring][workers]") {
  const auto srcs = random_sources(20, kVocab, 2, 4, 23);  // few shapes: batches of several pairs
  const auto tgts = random_sources(20, kVocab, 1, 3, 24);
  const auto one = tiny_family_models(kVocab, 5), two = tiny_family_models(kVocab, 5);
  for (size_t f = 0; f < one.size(); ++f) {
    INFO(one[f]->family());
    const auto alone = score_all(*one[f], srcs, tgts, 20, torch::kCPU);
    const auto shared =
        score_all(SearchWorkers{{one[f].get(), two[f].get()}, torch::get_num_threads()}, srcs, tgts, 20, torch::kCPU);
    CHECK(shared == alone);
  }
}

TEST_CASE("scoring: mismatched or empty inputs are refused, naming the pair", "[search][scoring]") {
  auto model = tiny_family_models(kVocab, 1).front();
  CHECK_THROWS_WITH(score_all(*model, {{4, 5}}, {}, 100, torch::kCPU), Catch::Contains("1 sources but 0 targets"));
  CHECK_THROWS_WITH(score_all(*model, {{4, 5}, {}}, {{4}, {5}}, 100, torch::kCPU),
                    Catch::Contains("pair 2: empty source"));
}
