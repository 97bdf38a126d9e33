// models/layers/packed_matmul: x Wᵀ + b through a weight packed once, for every row count, with and
// without a bias, from several threads at once; fp32 close to LibTorch's product, bf16 and int8
// within their precision.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <thread>
#include <vector>

#include "models/layers/packed_matmul.h"

using namespace seqzoo;

namespace {

double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

}  // namespace

TEST_CASE("packed matmul: every row count with and without a bias matches the product", "[models][layers]") {
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kInt8}) {
    if (!packed_matmul_available(dtype)) {
      WARN("skipped " << c10::toString(dtype) << ": not available on this build or CPU");
      continue;
    }
    INFO(c10::toString(dtype));
    const double tolerance = dtype == torch::kFloat32 ? 1e-5 : dtype == torch::kBFloat16 ? 0.02 : 0.03;
    torch::manual_seed(6);
    auto w = torch::randn({67, 45}), bias = torch::randn({67});
    auto w_ref = w.clone();
    PackedMatmul packed(w, dtype);
    CHECK(packed.dtype() == dtype);
    w.zero_();  // the packed copy is a copy
    for (int64_t rows : {1, 5, 32, 33, 300}) {
      INFO("rows " << rows);
      auto x = torch::randn({rows, 45});
      auto y = packed.forward(x, bias);
      REQUIRE(y.sizes() == torch::IntArrayRef({rows, 67}));
      CHECK(y.scalar_type() == torch::kFloat32);
      CHECK(rel_diff(y, torch::nn::functional::linear(x, w_ref, bias)) <= tolerance);
      CHECK(rel_diff(packed.forward(x, {}), torch::nn::functional::linear(x, w_ref)) <= tolerance);
    }
    if (dtype == torch::kInt8) {  // an input of zeros quantizes to zeros: the bias alone (given to the
      // kernel divided by the output scale, multiplied back: to the rounding of fp32)
      auto zero_row = packed.forward(torch::zeros({3, 45}), bias);
      CHECK(rel_diff(zero_row, bias.expand({3, 67})) <= 1e-6);
    }
    CHECK(packed.forward(torch::randn({0, 45}), bias).sizes() == torch::IntArrayRef({0, 67}));
    CHECK_THROWS_AS(packed.forward(torch::randn({2, 44}), bias), std::invalid_argument);
    CHECK_THROWS_AS(packed.forward(torch::randn({45}), bias), std::invalid_argument);
  }
}

TEST_CASE("packed matmul: threads sharing one packed weight get their own results", "[models][layers]") {
  if (!packed_matmul_available(torch::kFloat32)) {
    WARN("skipped: not available on this build");
    return;
  }
  torch::manual_seed(7);
  auto w = torch::randn({40, 24});
  PackedMatmul packed(w, torch::kFloat32);
  std::vector<torch::Tensor> inputs, outputs(4);
  for (int i = 0; i < 4; ++i) inputs.push_back(torch::randn({i + 1, 24}));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < 50; ++k) outputs[i] = packed.forward(inputs[i], {});
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) CHECK(rel_diff(outputs[i], torch::nn::functional::linear(inputs[i], w)) <= 1e-5);
}

TEST_CASE("packed matmul: an unusable weight or type is a user error", "[models][layers]") {
  CHECK_THROWS_AS(PackedMatmul(torch::randn({3, 4, 5}), torch::kFloat32), std::invalid_argument);
  CHECK_THROWS_AS(PackedMatmul(torch::randn({3, 4}), torch::kInt16), std::invalid_argument);
  CHECK_FALSE(packed_matmul_available(torch::kInt16));
}
