// The trainer on CUDA: pinned non-blocking batch copies, checkpoints mapped across devices, exact
// resume with the CUDA generator state, bf16 autocast and fp16 with dynamic loss scaling.
// Tagged [cuda]: run with `seqzoo_tests "[cuda]"` on a machine with a GPU.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <map>

#include "models/training/checkpoint.h"
#include "models/training/trainer.h"
#include "tests/models/training/mock_model.h"

using namespace seqzoo;
using namespace seqzoo::test;

namespace {

struct Losses {
  std::map<int64_t, double> loss;
  std::function<void(const UpdateInfo&)> hook() {
    return [this](const UpdateInfo& u) {
      if (!u.skipped) loss[u.step] = u.loss.item<double>();
    };
  }
  double mean(int64_t from, int64_t to) {
    double s = 0;
    for (int64_t i = from; i <= to; ++i) s += loss.at(i);
    return s / static_cast<double>(to - from + 1);
  }
};

TrainConfig cuda_config() {
  TrainConfig c;
  c.lr = 1e-2;
  c.warmup_steps = 10;
  c.label_smoothing = 0.1;
  c.log_every = 0;
  c.valid_every = 0;
  c.valid_bleu = false;
  c.best_metric = "loss";
  return c;
}

}  // namespace

TEST_CASE("trainer on CUDA: fp32, bf16 and fp16 runs learn; checkpoints map back to the CPU", "[cuda]") {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA device: skipped");
    return;
  }
  const torch::Device cuda(torch::kCUDA, 0);
  auto pairs = random_pairs(64, 12, 2, 6, 5);
  for (std::string precision : {"fp32", "bf16", "fp16"}) {
    INFO(precision);
    TempDir dir("cuda_" + precision);
    VectorBatchSource source(batches_of(pairs, 8), true, 1);
    ValidationSet valid;
    valid.batches = batches_of(random_pairs(16, 12, 2, 6, 6), 8);
    TrainConfig c = cuda_config();
    c.precision = precision;
    c.max_steps = 200;
    c.valid_every = 100;
    torch::manual_seed(1);
    MockModel m(12, 64);
    Losses r;
    TrainerOptions o;
    o.device = cuda;
    o.run_dir = dir.str();
    o.on_update = r.hook();
    Trainer t(c, m.ptr(), source, &valid, o);
    auto res = t.train();
    CHECK(res.steps == 200);
    CHECK(res.total_bad_steps == 0);
    CHECK(r.mean(191, 200) < 0.7 * r.mean(1, 10));
    CHECK(m->out->weight.device().is_cuda());
    if (precision == "fp16") CHECK(t.state().loss_scale > 0);
    MockModel cpu(12, 64);
    load_checkpoint((dir.path / "checkpoints" / "last.pt").string(), *cpu, nullptr, nullptr, torch::kCPU, "mock");
    CHECK(torch::equal(cpu->out->weight, m->out->weight.cpu()));
  }
}

TEST_CASE("trainer on CUDA: resume reproduces the uninterrupted run (dropout on the GPU)", "[cuda]") {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA device: skipped");
    return;
  }
  const torch::Device cuda(torch::kCUDA, 0);
  TempDir full_dir("cuda_full"), split_dir("cuda_split");
  auto batches = batches_of(random_pairs(40, 16, 2, 7, 9), 4);
  TrainConfig c = cuda_config();
  c.update_freq = 2;
  c.valid_every = 3;
  const int64_t n = 7;
  auto run = [&](const std::string& dir, int64_t max_steps, bool resume, uint64_t seed, Losses& r) {
    torch::manual_seed(seed);
    MockModel m(16, 32, 0.3);
    VectorBatchSource source(batches, true, 2);
    TrainConfig cf = c;
    cf.max_steps = max_steps;
    TrainerOptions o;
    o.device = cuda;
    o.run_dir = dir;
    o.resume = resume;
    o.on_update = r.hook();
    Trainer(cf, m.ptr(), source, nullptr, o).train();
  };
  Losses full, first, second;
  run(full_dir.str(), 2 * n, false, 3, full);
  run(split_dir.str(), n, false, 3, first);
  torch::rand({10}, torch::TensorOptions().device(cuda));  // disturb the CUDA generator
  run(split_dir.str(), 2 * n, true, 77, second);
  REQUIRE(second.loss.size() == static_cast<size_t>(n));
  for (int64_t s = n + 1; s <= 2 * n; ++s) {
    INFO("step " << s);
    CHECK(second.loss.at(s) == Approx(full.loss.at(s)).margin(1e-4));
  }
}
