// Weight averaging (models/training/ema.h): the average follows the warmed-up decay, swaps in and
// out, and decay 0 is the weights themselves.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "models/training/ema.h"

using namespace seqzoo;

TEST_CASE("ema: the average follows d_t = min(decay, (1+t)/(10+t)) and swaps in and out", "[training][ema]") {
  torch::Tensor w = torch::zeros({3});
  WeightAverage avg({w}, 0.5);
  w.fill_(1.0);
  avg.update(1);  // d = min(0.5, 2/11)
  const double d1 = 2.0 / 11.0;
  CHECK(avg.average()[0][0].item<double>() == Approx(1.0 - d1));
  w.fill_(3.0);
  avg.update(20);  // d = 0.5
  const double expected = 0.5 * (1.0 - d1) + 0.5 * 3.0;
  CHECK(avg.average()[0][1].item<double>() == Approx(expected));
  avg.swap();
  CHECK(avg.swapped());
  CHECK(w[0].item<double>() == Approx(expected));  // the parameter holds the average
  CHECK(avg.raw()[0][0].item<double>() == 3.0);
  {
    AverageScope again(&avg);  // already in: leaves it alone
    CHECK(avg.swapped());
  }
  CHECK(avg.swapped());
  avg.swap();
  CHECK(w[2].item<double>() == 3.0);
  {
    AverageScope in(&avg);
    CHECK(w[2].item<double>() == Approx(expected));
  }
  CHECK(w[2].item<double>() == 3.0);
  CHECK_THROWS(WeightAverage({w}, 1.0));
}

TEST_CASE("ema: decay 0 is the weights themselves", "[training][ema]") {
  torch::Tensor w = torch::randn({4});
  WeightAverage avg({w}, 0.0);
  for (int step = 1; step <= 3; ++step) {
    w.add_(torch::randn({4}));
    avg.update(step);
    CHECK(avg.average()[0].equal(w));
  }
}
