#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "data/batch.h"
#include "models/training/loss.h"
#include "models/training/optim.h"
#include "models/training/report.h"
#include "models/training/schedule.h"

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

TEST_CASE("learning-rate schedules", "[training]") {
  TrainConfig c;
  c.lr = 1e-3;
  c.warmup_steps = 4;
  c.min_lr = 1e-6;
  SECTION("inverse_sqrt (Noam) with linear warmup") {
    c.lr_schedule = "inverse_sqrt";
    LrSchedule s(c);
    CHECK(s.lr(1) == Approx(0.25e-3));
    CHECK(s.lr(2) == Approx(0.5e-3));
    CHECK(s.lr(4) == Approx(1e-3));
    CHECK(s.lr(16) == Approx(0.5e-3));
    CHECK(s.lr(400) == Approx(1e-4));
    c.min_lr = 2e-4;
    CHECK(LrSchedule(c).lr(400) == Approx(2e-4));  // floored after warmup
    CHECK(LrSchedule(c).lr(1) == Approx(0.25e-3));
  }
  SECTION("constant with warmup") {
    c.lr_schedule = "constant";
    LrSchedule s(c);
    CHECK(s.lr(1) == Approx(0.25e-3));
    CHECK(s.lr(4) == Approx(1e-3));
    CHECK(s.lr(100000) == Approx(1e-3));
    CHECK_FALSE(s.on_validation(false));
  }
  SECTION("plateau decays after patience stalled validations, floored at min_lr") {
    c.lr_schedule = "plateau";
    c.warmup_steps = 0;
    c.plateau_factor = 0.5;
    c.plateau_patience = 2;
    c.min_lr = 3e-4;
    LrSchedule s(c);
    CHECK(s.lr(10) == Approx(1e-3));
    CHECK_FALSE(s.on_validation(false));
    CHECK(s.on_validation(false));
    CHECK(s.lr(10) == Approx(5e-4));
    CHECK_FALSE(s.on_validation(true));   // an improvement resets the counter
    CHECK_FALSE(s.on_validation(false));
    CHECK(s.on_validation(false));
    CHECK(s.lr(10) == Approx(3e-4));       // 2.5e-4 floored
    LrSchedule restored(c);
    restored.restore(s.scale(), s.stalled());
    CHECK(restored.lr(10) == Approx(s.lr(10)));
  }
  SECTION("bad values") {
    c.lr_schedule = "cosine";
    CHECK_THROWS_AS(LrSchedule(c), std::invalid_argument);
  }
}

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

TEST_CASE("report formatting", "[training]") {
  CHECK(format_duration(45) == "45s");
  CHECK(format_duration(723) == "12m03s");
  CHECK(format_duration(3 * 3600 + 7 * 60 + 12) == "3h07m12s");
  MetricsRow r;
  r.step = 12;
  r.epoch = 2;
  r.kind = "valid";
  r.valid_loss = 3.5;
  r.valid_bleu = 21.25;
  r.elapsed = 7.5;
  auto rows = parse_metrics(metrics_header() + "\n" + metrics_line(r) + "\n");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].step == 12);
  CHECK(rows[0].kind == "valid");
  CHECK(rows[0].valid_bleu == Approx(21.25));
  CHECK(std::isnan(rows[0].loss));
  std::string svg = render_curves_svg(rows, "t<1>");
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("t&lt;1&gt;") != std::string::npos);
  CHECK(svg.find("valid BLEU") != std::string::npos);
}
