#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "models/layers/positional.h"

using namespace seqzoo;

TEST_CASE("sinusoidal positional encoding matches the formula", "[models][transformer][positional]") {
  const int64_t d = 10;
  SinusoidalPositionalEncoding pe(d);
  auto table = pe->encoding(60);  // [60,10]
  REQUIRE(table.sizes() == torch::IntArrayRef({60, d}));
  auto acc = table.accessor<float, 2>();
  for (int64_t pos : {0, 1, 7, 59}) {
    for (int64_t i = 0; i < d / 2; ++i) {
      const double angle = pos / std::pow(10000.0, 2.0 * i / d);
      CHECK(acc[pos][2 * i] == Approx(std::sin(angle)).margin(1e-6));
      CHECK(acc[pos][2 * i + 1] == Approx(std::cos(angle)).margin(1e-6));
    }
  }
  // position 0: sin 0 = 0 on even dims, cos 0 = 1 on odd dims
  CHECK(table[0].index({torch::indexing::Slice(0, d, 2)}).abs().max().item<float>() == 0.0f);
  CHECK(table[0].index({torch::indexing::Slice(1, d, 2)}).eq(1.0f).all().item<bool>());
}

TEST_CASE("positional encoding grows on demand and honours offsets", "[models][transformer][positional]") {
  const int64_t d = 16;
  SinusoidalPositionalEncoding pe(d);
  auto long_table = pe->encoding(5000);  // beyond the initial cache
  REQUIRE(long_table.size(0) == 5000);
  CHECK(pe->cached_length() >= 5000);
  CHECK(torch::isfinite(long_table).all().item<bool>());
  const int64_t pos = 4999, i = 3;
  const double angle = pos / std::pow(10000.0, 2.0 * i / d);
  CHECK(long_table[pos][2 * i].item<float>() == Approx(std::sin(angle)).margin(1e-5));
  CHECK(long_table[pos][2 * i + 1].item<float>() == Approx(std::cos(angle)).margin(1e-5));

  // rows [offset, offset+len) equal the slice of the full table
  auto part = pe->encoding(4, 4990);
  CHECK(torch::equal(part, long_table.narrow(0, 4990, 4)));

  // forward adds scale * x + PE (never concatenates) at the given offset
  auto x = torch::randn({2, 3, d});
  auto y = pe->forward(x, /*offset=*/5, /*scale=*/4.0);
  REQUIRE(y.sizes() == x.sizes());
  auto expect = x * 4.0 + long_table.narrow(0, 5, 3).unsqueeze(0);
  CHECK(torch::allclose(y, expect, 1e-6, 1e-6));
}

TEST_CASE("positional encoding rejects bad arguments", "[models][transformer][positional]") {
  CHECK_THROWS_AS(SinusoidalPositionalEncoding(0), std::invalid_argument);
  SinusoidalPositionalEncoding pe(8);
  CHECK_THROWS_AS(pe->forward(torch::zeros({1, 2, 6})), std::invalid_argument);
  CHECK_THROWS_AS(pe->encoding(3, -1), std::invalid_argument);
}
