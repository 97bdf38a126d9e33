#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "models/training/optim.h"

using namespace seqzoo;

TEST_CASE("optimizer: lr setting, gradient norm and clipping without host syncs", "[training]") {
  auto a = torch::zeros({3}, torch::requires_grad());
  auto b = torch::zeros({2}, torch::requires_grad());
  a.mutable_grad() = torch::tensor({3.0f, 0.0f, 0.0f});
  b.mutable_grad() = torch::tensor({0.0f, 4.0f});
  std::vector<torch::Tensor> params = {a, b};
  auto norm = gradient_norm(params);
  CHECK(norm.item<double>() == Approx(5.0));
  clip_gradients(params, norm, 1.0);
  CHECK(gradient_norm(params).item<double>() == Approx(1.0).epsilon(1e-5));
  clip_gradients(params, gradient_norm(params), 10.0);  // below the limit: unchanged
  CHECK(gradient_norm(params).item<double>() == Approx(1.0).epsilon(1e-5));

  TrainConfig c;
  c.optimizer = "adamw";
  c.weight_decay = 0.01;
  auto opt = make_optimizer(c, params);
  set_learning_rate(*opt, 0.123);
  for (auto& g : opt->param_groups()) CHECK(g.options().get_lr() == Approx(0.123));
  auto& o = static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options());
  CHECK(std::get<1>(o.betas()) == Approx(c.beta2));
  CHECK(o.weight_decay() == Approx(0.01));

  // Tied parameters are handed to the optimizer once.
  torch::nn::Linear l1(2, 2), l2(2, 2);
  torch::nn::Sequential seq(l1, l2);
  seq->register_parameter("tied", l1->weight);  // a second name for the same tensor
  CHECK(seq->parameters().size() == 5);
  CHECK(unique_parameters(*seq).size() == 4);
}
