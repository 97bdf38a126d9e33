// Hidden benchmark ([.training-bench]): trainer overhead against a bare training loop on the same
// model and batches. Run: seqzoo_tests "[.training-bench]" (prints ms per update for both).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <chrono>

#include "models/core/registry.h"
#include "models/training/loss.h"
#include "models/training/optim.h"
#include "models/training/trainer.h"
#include "tests/models/training/mock_model.h"

using namespace seqzoo;
using namespace seqzoo::test;

TEST_CASE("trainer overhead against a bare loop", "[.training-bench]") {
  const int64_t vocab = 8000, steps = 6;
  ModelConfig mc;  // transformer-small sizes
  mc.family = "transformer";
  mc.transformer.d_model = 256;
  mc.transformer.ffn_dim = 1024;
  mc.transformer.heads = 4;
  mc.transformer.encoder_layers = 3;
  mc.transformer.decoder_layers = 3;
  std::vector<Batch> batches;
  {
    std::mt19937_64 rng(1);
    for (int b = 0; b < steps + 1; ++b) {  // ~4000 tokens per side: 250 sentences of 16
      std::vector<std::vector<int64_t>> s, t;
      for (int i = 0; i < 250; ++i) {
        std::vector<int64_t> x;
        for (int j = 0; j < 15; ++j) x.push_back(4 + static_cast<int64_t>(rng() % (vocab - 4)));
        s.push_back(x);
        t.push_back(x);
      }
      batches.push_back(make_test_batch(s, t));
    }
  }
  TrainConfig tc;
  tc.max_steps = steps + 1;
  tc.log_every = 0;
  tc.valid_every = 0;
  using clock = std::chrono::steady_clock;
  double bare_ms = 0, trainer_ms = 0;
  {
    torch::manual_seed(1);
    ModelPtr m = build_model(mc, vocab, vocab);
    m->train();
    auto params = unique_parameters(*m);
    auto opt = make_optimizer(tc, params);
    for (int64_t i = 0; i <= steps; ++i) {
      if (i == 1) bare_ms = -std::chrono::duration<double, std::milli>(clock::now().time_since_epoch()).count();
      auto sums = label_smoothed_loss(m->forward(batches[i]), batches[i].tgt_out, 0.1);
      (sums.loss / static_cast<double>(batches[i].tgt_tokens)).backward();
      opt->step();
      opt->zero_grad();
    }
    bare_ms += std::chrono::duration<double, std::milli>(clock::now().time_since_epoch()).count();
  }
  {
    torch::manual_seed(1);
    ModelPtr m = build_model(mc, vocab, vocab);
    VectorBatchSource source(batches, false, 0);
    TrainerOptions o;
    clock::time_point t0;
    o.on_update = [&](const UpdateInfo& u) {
      if (u.step == 1) t0 = clock::now();
    };
    Trainer(tc, m, source, nullptr, o).train();
    trainer_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  }
  WARN("ms per update: bare loop " << bare_ms / steps << ", trainer " << trainer_ms / steps);
  CHECK(trainer_ms < 2 * bare_ms);  // no pathological overhead (timings are noisy on shared machines)
}
