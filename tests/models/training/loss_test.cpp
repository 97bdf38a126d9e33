#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "data/batch.h"
#include "models/training/loss.h"

using namespace seqzoo;

TEST_CASE("label-smoothed loss matches a hand computation and cross_entropy", "[training]") {
  torch::manual_seed(3);
  const int64_t B = 2, T = 3, V = 5;
  auto logits = torch::randn({B, T, V}, torch::kDouble).to(torch::kFloat);
  // Row 1 has one padding position (target 0) that must not count.
  auto target = torch::tensor({4, 2, 3, 1, 3, 0}, torch::kLong).view({B, T});
  const double eps = 0.1;
  LossSums sums = label_smoothed_loss(logits, target, eps);

  double hand_loss = 0, hand_nll = 0;
  auto acc = logits.accessor<float, 3>();
  auto tacc = target.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      if (tacc[b][t] == kPadId) continue;
      double mx = -1e30, z = 0;
      for (int64_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(acc[b][t][v]));
      for (int64_t v = 0; v < V; ++v) z += std::exp(acc[b][t][v] - mx);
      const double logz = mx + std::log(z);
      const double nll = logz - acc[b][t][tacc[b][t]];
      double smooth = 0;  // sum_k -log p_k
      for (int64_t v = 0; v < V; ++v) smooth += logz - acc[b][t][v];
      hand_nll += nll;
      hand_loss += (1 - eps) * nll + eps / V * smooth;
    }
  CHECK(sums.loss.item<double>() == Approx(hand_loss).epsilon(1e-5));
  CHECK(sums.nll.item<double>() == Approx(hand_nll).epsilon(1e-5));
  CHECK_FALSE(sums.nll.requires_grad());

  namespace F = torch::nn::functional;
  auto ref = F::cross_entropy(logits.view({-1, V}), target.view({-1}),
                              F::CrossEntropyFuncOptions().ignore_index(kPadId).label_smoothing(eps).reduction(torch::kSum));
  CHECK(sums.loss.item<double>() == Approx(ref.item<double>()).epsilon(1e-5));
  // Without smoothing the loss is the NLL.
  auto plain = label_smoothed_loss(logits, target, 0.0);
  CHECK(plain.loss.item<double>() == Approx(hand_nll).epsilon(1e-5));
  CHECK_THROWS_AS(label_smoothed_loss(logits, target, 1.0), std::invalid_argument);
}
