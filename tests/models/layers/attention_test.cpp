// Attention scorers against scores computed by hand with scalar loops.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "models/layers/attention.h"

using namespace seqzoo;

namespace {

using Mat = std::vector<std::vector<double>>;

// Two encoder states of size 3 and one decoder query of size 2.
const Mat kMemory = {{1.0, 0.0, 2.0}, {-1.0, 1.0, 0.5}};
const std::vector<double> kQuery = {0.5, -1.0};

torch::Tensor to_tensor(const Mat& m) {
  std::vector<float> flat;
  for (const auto& row : m) flat.insert(flat.end(), row.begin(), row.end());
  return torch::tensor(flat).view({static_cast<int64_t>(m.size()), static_cast<int64_t>(m[0].size())});
}

std::vector<double> matvec(const Mat& w, const std::vector<double>& x) {
  std::vector<double> y(w.size(), 0.0);
  for (size_t i = 0; i < w.size(); ++i)
    for (size_t j = 0; j < x.size(); ++j) y[i] += w[i][j] * x[j];
  return y;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// scores [1,1,2] from the scorer for kMemory / kQuery.
std::vector<double> scores_of(AttentionScorerImpl& scorer) {
  auto memory = to_tensor(kMemory).unsqueeze(0);                          // [1,2,3]
  auto query = torch::tensor({static_cast<float>(kQuery[0]), static_cast<float>(kQuery[1])})
                   .view({1, 1, 2});                                      // [1,1,2]
  auto s = scorer.score(query, scorer.project_keys(memory));
  REQUIRE(s.sizes() == torch::IntArrayRef({1, 1, 2}));
  return {s[0][0][0].item<double>(), s[0][0][1].item<double>()};
}

}  // namespace

TEST_CASE("attention: bahdanau score v^T tanh(W1 h + W2 s)", "[models][rnn][attention]") {
  const Mat w1 = {{0.1, 0.2, -0.3}, {0.0, 0.5, 0.4}};
  const Mat w2 = {{0.3, -0.2}, {0.7, 0.1}};
  const std::vector<double> v = {0.6, -0.4};
  BahdanauScorer scorer(3, 2, 2);
  {
    torch::NoGradGuard no_grad;
    scorer->w_enc->weight.copy_(to_tensor(w1));
    scorer->w_dec->weight.copy_(to_tensor(w2));
    scorer->v->weight.copy_(to_tensor({v}));
  }
  auto got = scores_of(*scorer);
  for (size_t j = 0; j < 2; ++j) {
    auto a = matvec(w1, kMemory[j]);
    auto b = matvec(w2, kQuery);
    double e = 0;
    for (size_t k = 0; k < 2; ++k) e += v[k] * std::tanh(a[k] + b[k]);
    CHECK(got[j] == Approx(e).epsilon(1e-5));
  }
}

TEST_CASE("attention: dot score s^T h (projected when sizes differ)", "[models][rnn][attention]") {
  DotScorer same(2, 2);
  CHECK_FALSE(same->projects_keys());
  auto memory = torch::tensor({1.0f, 2.0f, -3.0f, 0.5f}).view({1, 2, 2});
  auto query = torch::tensor({0.5f, -1.0f}).view({1, 1, 2});
  auto s = same->score(query, same->project_keys(memory));
  CHECK(s[0][0][0].item<double>() == Approx(0.5 * 1 - 1.0 * 2));
  CHECK(s[0][0][1].item<double>() == Approx(0.5 * -3 - 1.0 * 0.5));

  const Mat p = {{0.2, -0.1, 0.4}, {0.3, 0.3, -0.5}};
  DotScorer projected(3, 2);
  CHECK(projected->projects_keys());
  {
    torch::NoGradGuard no_grad;
    projected->proj->weight.copy_(to_tensor(p));
  }
  auto got = scores_of(*projected);
  for (size_t j = 0; j < 2; ++j) CHECK(got[j] == Approx(dot(kQuery, matvec(p, kMemory[j]))).epsilon(1e-5));
}

TEST_CASE("attention: general score s^T W h", "[models][rnn][attention]") {
  const Mat w = {{0.2, -0.1, 0.4}, {-0.6, 0.3, 0.9}};
  GeneralScorer scorer(3, 2);
  {
    torch::NoGradGuard no_grad;
    scorer->w->weight.copy_(to_tensor(w));
  }
  auto got = scores_of(*scorer);
  for (size_t j = 0; j < 2; ++j) {
    double e = 0;  // sum_i sum_k s_i W_ik h_k
    for (size_t i = 0; i < 2; ++i)
      for (size_t k = 0; k < 3; ++k) e += kQuery[i] * w[i][k] * kMemory[j][k];
    CHECK(got[j] == Approx(e).epsilon(1e-5));
  }
}

TEST_CASE("attention: concat score v^T tanh(W [h, s] + b)", "[models][rnn][attention]") {
  const Mat w = {{0.1, -0.2, 0.3, 0.5, -0.4}, {0.6, 0.2, -0.1, -0.3, 0.8}, {0.0, 0.4, 0.2, 0.1, 0.1}};
  const std::vector<double> b = {0.05, -0.1, 0.2};
  const std::vector<double> v = {0.7, -0.5, 0.3};
  ConcatScorer scorer(3, 2, 3);
  {
    torch::NoGradGuard no_grad;
    scorer->w->weight.copy_(to_tensor(w));
    scorer->w->bias.copy_(to_tensor({b}).view({3}));
    scorer->v->weight.copy_(to_tensor({v}));
  }
  auto got = scores_of(*scorer);
  for (size_t j = 0; j < 2; ++j) {
    std::vector<double> hs = kMemory[j];
    hs.insert(hs.end(), kQuery.begin(), kQuery.end());  // [h; s]
    auto a = matvec(w, hs);
    double e = 0;
    for (size_t k = 0; k < 3; ++k) e += v[k] * std::tanh(a[k] + b[k]);
    CHECK(got[j] == Approx(e).epsilon(1e-5));
  }
}

TEST_CASE("attention: masked_softmax normalises over real positions only", "[models][rnn][attention]") {
  auto scores = torch::tensor({1.0f, 5.0f, -2.0f, 0.5f}).view({1, 1, 4});
  auto mask = torch::tensor({1, 0, 1, 0}, torch::kInt64).view({1, 4}).to(torch::kBool);
  auto w = masked_softmax(scores, mask);
  const double z = std::exp(1.0) + std::exp(-2.0);
  CHECK(w[0][0][0].item<double>() == Approx(std::exp(1.0) / z));
  CHECK(w[0][0][2].item<double>() == Approx(std::exp(-2.0) / z));
  CHECK(w[0][0][1].item<float>() == 0.0f);
  CHECK(w[0][0][3].item<float>() == 0.0f);
  CHECK_THROWS_AS(make_attention_scorer("luong", 2, 2, 0), std::invalid_argument);
  CHECK(make_attention_scorer("bahdanau", 4, 2, 0)->type() == "bahdanau");
}
