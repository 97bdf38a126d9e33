// models/layers/linear: the floating-point path is torch::nn::Linear's, to the bit; a model's int8
// and packed fp32/bf16 copies are used for it alone, outside autograd, close to the fp32 product.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "models/layers/linear.h"

using namespace seqzoo;

namespace {

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Two Linear layers and an embedding the model multiplies by (a tied output layer), listed as such.
struct TwoLayers : torch::nn::Module, TiedWeights {
  torch::nn::Linear a{nullptr}, b{nullptr};
  torch::nn::Embedding e{nullptr};
  TwoLayers() {
    a = register_module("a", torch::nn::Linear(32, 64));
    b = register_module("b", torch::nn::Linear(torch::nn::LinearOptions(64, 16).bias(false)));
    e = register_module("e", torch::nn::Embedding(40, 16));
  }
  std::vector<torch::Tensor> tied_weights() const override { return {e->weight}; }
};

// A source embedding nobody multiplies by, and a tied matrix two modules list.
struct Tied : torch::nn::Module, TiedWeights {
  torch::nn::Embedding e{nullptr};
  explicit Tied(torch::nn::Embedding shared) : e(std::move(shared)) {}
  std::vector<torch::Tensor> tied_weights() const override { return {e->weight}; }
};
struct WithSource : torch::nn::Module {
  torch::nn::Embedding src{nullptr}, tgt{nullptr};
  std::shared_ptr<Tied> out1, out2;
  WithSource() {
    src = register_module("src", torch::nn::Embedding(40, 16));
    tgt = register_module("tgt", torch::nn::Embedding(40, 16));
    out1 = register_module("out1", std::make_shared<Tied>(tgt));
    out2 = register_module("out2", std::make_shared<Tied>(tgt));
  }
};

}  // namespace

TEST_CASE("linear: the floating-point path is torch::nn::Linear's forward, to the bit", "[models][layers]") {
  torch::manual_seed(3);
  torch::nn::Linear layer(32, 64);
  auto x = torch::randn({2, 5, 32});
  CHECK(torch::equal(linear(layer, x), layer->forward(x)));
  auto w = torch::randn({7, 32}), bias = torch::randn({7});
  CHECK(torch::equal(seqzoo::linear(x, w, bias), torch::nn::functional::linear(x, w, bias)));
  CHECK(torch::equal(seqzoo::linear(x, w), torch::nn::functional::linear(x, w)));
}

TEST_CASE("linear: int8 copies serve the quantized model alone, outside autograd", "[models][layers]") {
  if (!int8_linear_available(torch::kCPU)) {
    WARN("skipped: this LibTorch has no quantized engine");
    return;
  }
  torch::manual_seed(4);
  TwoLayers model, other;
  auto x = torch::randn({3, 4, 32});
  torch::Tensor fp32_a, fp32_b, fp32_tied;
  {
    torch::NoGradGuard no_grad;
    fp32_a = model.a->forward(x);
    fp32_b = model.b->forward(fp32_a);
    fp32_tied = seqzoo::linear(fp32_b, model.e->weight);  // [3,4,40]: a tied output layer
  }
  CHECK(quantize_linears_int8(model) == 3);  // two Linear weights and one embedding matrix

  torch::NoGradGuard no_grad;
  auto a = linear(model.a, x);
  REQUIRE(a.sizes() == fp32_a.sizes());
  CHECK(max_diff(a, fp32_a) > 0);
  CHECK(max_diff(a, fp32_a) < 0.02 * fp32_a.abs().max().item<double>());
  auto b = linear(model.b, fp32_a);  // no bias
  CHECK(max_diff(b, fp32_b) < 0.02 * fp32_b.abs().max().item<double>());
  auto tied = seqzoo::linear(fp32_b, model.e->weight);
  REQUIRE(tied.sizes() == torch::IntArrayRef({3, 4, 40}));
  CHECK(max_diff(tied, fp32_tied) > 0);
  CHECK(max_diff(tied, fp32_tied) < 0.02 * fp32_tied.abs().max().item<double>());
  // Another model with the same shapes: untouched.
  CHECK(torch::equal(linear(other.a, x), other.a->forward(x)));
  // A slice of a packed weight is another tensor: floating point.
  auto half = model.a->weight.narrow(0, 0, 8);
  CHECK(torch::equal(seqzoo::linear(x, half), torch::nn::functional::linear(x, half)));
  {
    torch::AutoGradMode grad(true);  // training: floating point, with gradients
    auto y = linear(model.a, x.requires_grad_());
    CHECK(y.requires_grad());
    CHECK(torch::equal(y.detach(), fp32_a));
  }
}

TEST_CASE("linear: only the embedding matrices a module multiplies by are packed - once", "[models][layers]") {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({3, 16});
  if (int8_linear_available(torch::kCPU)) {
    WithSource model;
    CHECK(quantize_linears_int8(model) == 1);  // tgt, listed by two modules
    CHECK(torch::equal(seqzoo::linear(x, model.src->weight), torch::nn::functional::linear(x, model.src->weight)));
    CHECK(!torch::equal(seqzoo::linear(x, model.tgt->weight), torch::nn::functional::linear(x, model.tgt->weight)));
  }
  if (packed_linear_available(torch::kBFloat16, torch::kCPU)) {
    WithSource model;
    CHECK(pack_linears(model, torch::kBFloat16) == 1);
    CHECK(torch::equal(seqzoo::linear(x, model.src->weight), torch::nn::functional::linear(x, model.src->weight)));
    CHECK(!torch::equal(seqzoo::linear(x, model.tgt->weight), torch::nn::functional::linear(x, model.tgt->weight)));
  }
}

TEST_CASE("linear: a freed model's int8 copies never reach a new one", "[models][layers]") {
  if (!int8_linear_available(torch::kCPU)) {
    WARN("skipped: this LibTorch has no quantized engine");
    return;
  }
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 32});
  for (int i = 0; i < 4; ++i) {
    auto gone = std::make_shared<TwoLayers>();
    quantize_linears_int8(*gone);
    gone.reset();
    TwoLayers fresh;  // may reuse the freed addresses
    CHECK(torch::equal(linear(fresh.a, x), fresh.a->forward(x)));
  }
}

TEST_CASE("linear: packed fp32 and bf16 copies serve the packed model alone, outside autograd", "[models][layers]") {
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    if (!packed_linear_available(dtype, torch::kCPU)) {
      WARN("skipped " << c10::toString(dtype) << ": no packed products on this build or CPU");
      continue;
    }
    INFO(c10::toString(dtype));
    const double tolerance = dtype == torch::kFloat32 ? 1e-5 : 0.02;  // relative to the largest output
    torch::manual_seed(5);
    TwoLayers model, other;
    auto x = torch::randn({3, 4, 32});
    torch::NoGradGuard no_grad;
    auto fp32_a = model.a->forward(x);
    auto fp32_b = model.b->forward(fp32_a);
    auto fp32_tied = seqzoo::linear(fp32_b, model.e->weight);
    CHECK(pack_linears(model, dtype) == 3);
    auto a = linear(model.a, x);
    REQUIRE(a.sizes() == fp32_a.sizes());
    CHECK(a.scalar_type() == torch::kFloat32);
    CHECK(max_diff(a, fp32_a) <= tolerance * fp32_a.abs().max().item<double>());
    if (dtype == torch::kBFloat16) CHECK(max_diff(a, fp32_a) > 0);  // the bf16 product ran
    CHECK(max_diff(linear(model.b, fp32_a), fp32_b) <= tolerance * fp32_b.abs().max().item<double>());
    auto tied = seqzoo::linear(fp32_b, model.e->weight);
    REQUIRE(tied.sizes() == torch::IntArrayRef({3, 4, 40}));
    CHECK(max_diff(tied, fp32_tied) <= tolerance * fp32_tied.abs().max().item<double>());
    CHECK(torch::equal(linear(other.a, x), other.a->forward(x)));
    {
      torch::AutoGradMode grad(true);  // training: LibTorch's product, with gradients
      auto y = linear(model.a, x.clone().requires_grad_());
      CHECK(y.requires_grad());
      CHECK(torch::equal(y.detach(), fp32_a));
    }
    if (int8_linear_available(torch::kCPU)) {  // one packed copy per weight: the last one asked for
      CHECK(quantize_linears_int8(model) == 3);
      CHECK(pack_linears(model, dtype) == 3);
      CHECK(max_diff(linear(model.a, x), fp32_a) <= tolerance * fp32_a.abs().max().item<double>());
    }
  }
}
