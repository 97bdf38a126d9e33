// The trainer: accumulation, NaN guards, exact resume, stopping; on CUDA (tagged [cuda], skipped
// without a GPU): pinned non-blocking copies, checkpoints across devices, bf16/fp16; and a hidden
// benchmark ([.training-bench]) of its overhead against a bare loop.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "models/registry.h"
#include "models/training/loss.h"
#include "models/training/optim.h"
#include "models/training/train_checkpoint.h"
#include "models/transformer/transformer_config.h"
#include "models/training/sources.h"
#include "models/training/trainer.h"
#include "tests/models/training/mock_model.h"
#include "tests/tools/app/run_fixture.h"

using namespace seqzoo;
using namespace seqzoo::test;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kVocab = 24;

TrainConfig quick_config() {
  TrainConfig c;
  c.lr = 3e-3;
  c.warmup_steps = 2;
  c.lr_schedule = "inverse_sqrt";
  c.label_smoothing = 0.1;
  c.log_every = 0;
  c.valid_every = 0;
  c.valid_bleu = false;
  c.best_metric = "loss";
  return c;
}

// Per-step losses (label-smoothed, per token) of the non-skipped updates.
struct Recorder {
  std::map<int64_t, double> loss;
  int64_t skipped = 0;
  std::function<void(const UpdateInfo&)> hook() {
    return [this](const UpdateInfo& u) {
      if (u.skipped)
        ++skipped;
      else
        loss[u.step] = u.loss.item<double>();
    };
  }
};

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

TEST_CASE("gradient accumulation: update_freq=2 with batches of B equals update_freq=1 with 2B", "[training]") {
  auto pairs = random_pairs(24, kVocab, 3, 7, 11);
  auto halves = batches_of(pairs, 4);  // 6 batches of 4
  auto wholes = batches_of(pairs, 8);  // 3 batches of 8 (the same sentences, padded further)
  TrainConfig c = quick_config();
  c.max_steps = 3;
  c.eps = 1.0;  // a large Adam epsilon keeps the update proportional to the gradient's size
  c.clip_norm = 0.5;

  torch::manual_seed(5);
  MockModel accum(kVocab, 16);
  torch::manual_seed(5);
  MockModel single(kVocab, 16);

  Recorder ra, rs;
  TrainConfig ca = c;
  ca.update_freq = 2;
  VectorBatchSource src_a(halves, false, 0), src_s(wholes, false, 0);
  TrainerOptions oa, os;
  oa.on_update = ra.hook();
  os.on_update = rs.hook();
  Trainer ta(ca, accum.ptr(), src_a, nullptr, oa);
  Trainer ts(c, single.ptr(), src_s, nullptr, os);
  auto res_a = ta.train();
  auto res_s = ts.train();
  CHECK(res_a.steps == 3);
  CHECK(res_s.steps == 3);
  CHECK(res_a.stop_reason == "max_steps");
  REQUIRE(ra.loss.size() == 3);
  for (const auto& [step, loss] : rs.loss) CHECK(ra.loss[step] == Approx(loss).epsilon(1e-5));
  auto ps = single->named_parameters();
  for (const auto& p : accum->named_parameters()) {
    INFO(p.key());
    CHECK(torch::allclose(p.value(), ps[p.key()], 1e-5, 1e-6));
  }
  // And the update did move the parameters.
  torch::manual_seed(5);
  MockModel fresh(kVocab, 16);
  CHECK_FALSE(torch::allclose(fresh->out->weight, single->out->weight));
}

TEST_CASE("the loss goes down on a tiny task", "[training]") {
  auto pairs = random_pairs(32, 10, 2, 4, 3);
  VectorBatchSource source(batches_of(pairs, 8), true, 1);
  TrainConfig c = quick_config();
  c.max_epochs = 40;
  c.warmup_steps = 10;
  c.lr = 1e-2;
  torch::manual_seed(1);
  MockModel m(10, 32);
  Recorder r;
  TrainerOptions o;
  o.on_update = r.hook();
  Trainer t(c, m.ptr(), source, nullptr, o);
  auto res = t.train();
  CHECK(res.stop_reason == "max_epochs");
  CHECK(res.steps == 40 * 4);
  CHECK(res.epoch == 41);
  double first = (r.loss[1] + r.loss[2] + r.loss[3] + r.loss[4]) / 4;
  double last = (r.loss[157] + r.loss[158] + r.loss[159] + r.loss[160]) / 4;
  CHECK(last < first * 0.6);
}

TEST_CASE("budget-aware schedules: the lr falls with the budget spent and ends at min_lr", "[training]") {
  auto pairs = random_pairs(32, 10, 2, 4, 3);
  auto lrs_for = [&](TrainConfig c) {
    VectorBatchSource source(batches_of(pairs, 8), true, 1);  // 4 batches per epoch
    torch::manual_seed(1);
    MockModel m(10, 16);
    std::vector<double> lrs;
    TrainerOptions o;
    o.on_update = [&](const UpdateInfo& u) { lrs.push_back(u.lr); };
    Trainer(c, m.ptr(), source, nullptr, o).train();
    return lrs;
  };
  TrainConfig c = quick_config();
  c.lr_schedule = "linear";
  c.warmup_steps = 0;
  c.min_lr = 1e-6;
  c.max_steps = 10;
  auto by_steps = lrs_for(c);
  REQUIRE(by_steps.size() == 10);
  for (size_t i = 0; i < by_steps.size(); ++i)  // update i+1 runs with i of 10 updates spent
    CHECK(by_steps[i] == Approx(c.lr * (1.0 - static_cast<double>(i) / 10.0)));
  c.max_steps = 0;
  c.max_epochs = 2;  // 8 updates: the epoch fraction is the budget
  auto by_epochs = lrs_for(c);
  REQUIRE(by_epochs.size() == 8);
  CHECK(by_epochs[0] == Approx(c.lr));
  CHECK(by_epochs[4] == Approx(c.lr * 0.5));
  CHECK(by_epochs[7] == Approx(c.lr * 0.125));
  c.lr_schedule = "cosine";
  auto cosine = lrs_for(c);
  CHECK(cosine[4] == Approx(c.lr * 0.5));
  CHECK(cosine[2] > by_epochs[2]);  // above the line in the first half
}

TEST_CASE("NaN/inf losses: updates skipped and counted, too many in a row stop the run", "[training]") {
  TempDir dir("nan");
  auto pairs = random_pairs(40, kVocab, 3, 6, 7);
  VectorBatchSource source(batches_of(pairs, 4), true, 1);
  ValidationSet valid;
  valid.batches = batches_of(random_pairs(8, kVocab, 3, 6, 8), 4);
  TrainConfig c = quick_config();
  c.max_bad_steps = 3;

  SECTION("isolated NaNs are skipped") {
    torch::manual_seed(2);
    MockModel m(kVocab, 16);
    m->nan_calls = {3, 4, 9};
    c.max_steps = 8;
    Recorder r;
    TrainerOptions o;
    o.on_update = r.hook();
    Trainer t(c, m.ptr(), source, nullptr, o);
    auto before = m->out->weight.clone();
    auto res = t.train();
    CHECK(res.steps == 8);  // skipped updates do not count as steps
    CHECK(res.total_bad_steps == 3);
    CHECK(r.skipped == 3);
    CHECK(r.loss.size() == 8);
    for (const auto& [step, loss] : r.loss) CHECK(std::isfinite(loss));
    CHECK(torch::isfinite(m->out->weight).all().item<bool>());
    CHECK_FALSE(torch::equal(before, m->out->weight));
  }
  SECTION("max_bad_steps in a row: a clear error, the last good checkpoint intact") {
    torch::manual_seed(2);
    MockModel m(kVocab, 16);
    m->nan_from = 7;  // forward calls: updates 1-4, validation (2 batches), then NaN from update 5 on
    c.max_steps = 100;
    c.valid_every = 4;
    TrainerOptions o;
    RunAttachment run(dir.str(), o, c);
    Trainer t(c, m.ptr(), source, &valid, o);
    const std::string last = (dir.path / "checkpoints" / "last.pt").string();
    std::string message;
    try {
      t.train();
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
    CHECK(message == "loss is NaN/inf for 3 consecutive steps at step 5; last good checkpoint: " + last);
    MockModel again(kVocab, 16);
    const TrainState st = load_train_state(last, *again);
    CHECK(st.step == 4);
    CHECK(torch::isfinite(again->out->weight).all().item<bool>());
    CHECK_THAT(slurp(dir / "train.log"), Catch::Contains("skipped update: loss is NaN/inf (3 in a row"));
  }
}

TEST_CASE("resume reproduces the uninterrupted run", "[training]") {
  TempDir full_dir("resume_full"), split_dir("resume_split");
  auto pairs = random_pairs(30, kVocab, 2, 7, 21);
  auto train_batches = batches_of(pairs, 4);  // 8 batches per epoch
  ValidationSet valid;
  valid.batches = batches_of(random_pairs(8, kVocab, 3, 6, 22), 4);
  TrainConfig c = quick_config();
  c.update_freq = 3;      // 3 updates per epoch, the last one with 2 batches
  c.valid_every = 2;
  c.log_every = 2;
  c.lr_schedule = "plateau";
  c.plateau_patience = 1;
  const int64_t n = 5;    // the interruption falls in the middle of epoch 2
  auto model_for = [&](uint64_t seed) {
    torch::manual_seed(seed);
    return MockModel(kVocab, 16, /*dropout=*/0.3);  // dropout: the RNG state must be restored
  };

  Recorder full;
  {
    MockModel m = model_for(7);
    VectorBatchSource source(train_batches, true, 3);
    TrainConfig cf = c;
    cf.max_steps = 2 * n;
    TrainerOptions o;
    RunAttachment run(full_dir.str(), o, cf);
    o.on_update = full.hook();
    Trainer(cf, m.ptr(), source, &valid, o).train();
  }
  Recorder first, second;
  {
    MockModel m = model_for(7);
    VectorBatchSource source(train_batches, true, 3);
    TrainConfig cf = c;
    cf.max_steps = n;
    TrainerOptions o;
    RunAttachment run(split_dir.str(), o, cf);
    o.on_update = first.hook();
    auto res = Trainer(cf, m.ptr(), source, &valid, o).train();
    CHECK(res.steps == n);
  }
  torch::rand({100});  // disturb the global RNG: the checkpoint's state must win
  {
    MockModel m = model_for(1234);  // different initial weights: the checkpoint's must win
    VectorBatchSource source(train_batches, true, 3);
    TrainConfig cf = c;
    cf.max_steps = 2 * n;
    TrainerOptions o;
    RunAttachment run(split_dir.str(), o, cf, /*resume=*/true);
    o.on_update = second.hook();
    Trainer t(cf, m.ptr(), source, &valid, o);
    auto res = t.train();
    CHECK(res.steps == 2 * n);
  }
  {
    // Resuming a run that already reached its limit trains no further: no update, no validation,
    // no checkpoint (the weights and metrics rows checked below stay those of the finished run).
    MockModel m = model_for(99);
    VectorBatchSource source(train_batches, true, 3);
    TrainConfig cf = c;
    cf.max_steps = 2 * n;
    TrainerOptions o;
    RunAttachment run(split_dir.str(), o, cf, /*resume=*/true);
    Recorder third;
    o.on_update = third.hook();
    auto res = Trainer(cf, m.ptr(), source, &valid, o).train();
    CHECK(res.steps == 2 * n);
    CHECK(res.stop_reason == "max_steps");
    CHECK(third.loss.empty());
    CHECK(third.skipped == 0);
  }
  REQUIRE(full.loss.size() == static_cast<size_t>(2 * n));
  REQUIRE(first.loss.size() == static_cast<size_t>(n));
  REQUIRE(second.loss.size() == static_cast<size_t>(n));
  for (int64_t s = 1; s <= n; ++s) CHECK(first.loss[s] == Approx(full.loss[s]).margin(1e-5));
  for (int64_t s = n + 1; s <= 2 * n; ++s) {
    INFO("step " << s);
    CHECK(second.loss.count(s) == 1);
    CHECK(second.loss[s] == Approx(full.loss[s]).margin(1e-5));
  }
  // Same final weights, same metrics rows (elapsed aside).
  MockModel a(kVocab, 16, 0.3), b(kVocab, 16, 0.3);
  load_checkpoint((full_dir.path / "checkpoints" / "last.pt").string(), *a);
  load_checkpoint((split_dir.path / "checkpoints" / "last.pt").string(), *b);
  for (const auto& p : a->named_parameters()) CHECK(torch::allclose(p.value(), b->named_parameters()[p.key()], 1e-5, 1e-6));
  auto rows_full = parse_metrics(slurp(full_dir / "metrics.tsv"));
  std::vector<MetricsRow> rows_split;
  for (const auto& r : parse_metrics(slurp(split_dir / "metrics.tsv")))
    if (!(r.kind == "valid" && r.step == n)) rows_split.push_back(r);  // the first part's final validation
  REQUIRE(rows_full.size() == rows_split.size());
  for (size_t i = 0; i < rows_full.size(); ++i) {
    CHECK(rows_full[i].step == rows_split[i].step);
    CHECK(rows_full[i].kind == rows_split[i].kind);
    // (the first log interval after the resume averages fewer updates)
    const bool partial = rows_full[i].step > n && rows_full[i].step - c.log_every < n;
    if (rows_full[i].kind == "train" && !partial) CHECK(rows_full[i].loss == Approx(rows_split[i].loss).margin(1e-5));
  }
  CHECK_THAT(slurp(split_dir / "train.log"), Catch::Contains("resumed from"));
  CHECK_THAT(slurp(split_dir / "train.log"), Catch::Contains("the run already reached train.max_steps at step 10"));
}

TEST_CASE("ema: the raw weights train as without it, checkpoints hold the average, resume is exact", "[training][ema]") {
  TempDir plain_dir("ema_plain"), tiny_dir("ema_tiny"), full_dir("ema_full"), split_dir("ema_split");
  auto pairs = random_pairs(30, kVocab, 2, 7, 31);
  auto train_batches = batches_of(pairs, 4);
  ValidationSet valid;
  valid.batches = batches_of(random_pairs(8, kVocab, 3, 6, 32), 4);
  TrainConfig c = quick_config();
  c.valid_every = 3;
  const int64_t n = 4;
  auto train_for = [&](TempDir& dir, double decay, int64_t steps, bool resume, Recorder& rec) {
    torch::manual_seed(7);
    MockModel m(kVocab, 16, /*dropout=*/0.3);
    VectorBatchSource source(train_batches, true, 3);
    TrainConfig cf = c;
    cf.ema_decay = decay;
    cf.max_steps = steps;
    TrainerOptions o;
    RunAttachment run(dir.str(), o, cf, resume);
    o.on_update = rec.hook();
    Trainer(cf, m.ptr(), source, &valid, o).train();
  };
  auto last_weights = [&](TempDir& dir) {
    MockModel m(kVocab, 16, 0.3);
    load_checkpoint((dir.path / "checkpoints" / "last.pt").string(), *m);
    return m;
  };
  Recorder plain, tiny, full, first, second;
  train_for(plain_dir, 0.0, 2 * n, false, plain);
  train_for(tiny_dir, 1e-12, 2 * n, false, tiny);  // an average that is (nearly) the weights
  train_for(full_dir, 0.9, 2 * n, false, full);
  train_for(split_dir, 0.9, n, false, first);
  train_for(split_dir, 0.9, 2 * n, true, second);
  // Averaging never touches the training itself: the same losses at every step.
  REQUIRE(full.loss.size() == static_cast<size_t>(2 * n));
  for (int64_t s = 1; s <= 2 * n; ++s) {
    CHECK(full.loss[s] == Approx(plain.loss[s]).margin(1e-6));
    CHECK(tiny.loss[s] == Approx(plain.loss[s]).margin(1e-6));
  }
  for (int64_t s = n + 1; s <= 2 * n; ++s) CHECK(second.loss[s] == Approx(full.loss[s]).margin(1e-5));
  MockModel a = last_weights(plain_dir), t = last_weights(tiny_dir), f = last_weights(full_dir), g = last_weights(split_dir);
  bool averaged_differs = false;
  for (const auto& p : a->named_parameters()) {
    CHECK(torch::allclose(p.value(), t->named_parameters()[p.key()], 1e-5, 1e-6));  // decay ~0: no EMA
    CHECK(torch::allclose(f->named_parameters()[p.key()], g->named_parameters()[p.key()], 1e-5, 1e-6));  // exact resume
    averaged_differs = averaged_differs || !torch::allclose(p.value(), f->named_parameters()[p.key()], 1e-4, 1e-5);
  }
  CHECK(averaged_differs);  // the checkpoint holds the average, not the raw weights
  CHECK_THAT(slurp(full_dir / "train.log"), Catch::Contains("weight averaging"));
}

TEST_CASE("stopping: early stopping with patience, max_minutes and the stop flag", "[training]") {
  auto pairs = random_pairs(16, kVocab, 2, 5, 41);
  VectorBatchSource source(batches_of(pairs, 4), true, 1);
  ValidationSet valid;
  valid.batches = batches_of(random_pairs(4, kVocab, 2, 5, 42), 4);
  valid.bleu = [](Seq2SeqModelImpl&, const torch::Device&) { return 5.0; };  // never improves
  TrainConfig c = quick_config();
  c.valid_every = 2;
  c.valid_bleu = true;
  c.best_metric = "bleu";
  c.patience = 3;
  c.max_steps = 1000;
  torch::manual_seed(4);
  MockModel m(kVocab, 16);
  SECTION("patience") {
    auto res = Trainer(c, m.ptr(), source, &valid, {}).train();
    CHECK(res.stop_reason == "early_stopping");
    CHECK(res.steps == 8);  // best at step 2, then 3 validations without improvement
    CHECK(res.best_step == 2);
  }
  SECTION("stop flag") {
    std::atomic<bool> stop{false};
    TrainerOptions o;
    o.stop = &stop;
    o.on_update = [&](const UpdateInfo& u) {
      if (u.step == 5) stop = true;
    };
    auto res = Trainer(c, m.ptr(), source, &valid, o).train();
    CHECK(res.stop_reason == "interrupted");
    CHECK(res.steps == 5);
  }
  SECTION("no stopping criterion") {
    c.max_steps = 0;
    c.patience = 0;
    CHECK_THROWS_AS(Trainer(c, m.ptr(), source, &valid, {}), std::invalid_argument);
  }
}

TEST_CASE("trainer on CUDA: fp32, bf16 and fp16 runs learn, checkpoints map back to the CPU", "[cuda]") {
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
    RunAttachment run(dir.str(), o, c);
    o.on_update = r.hook();
    Trainer t(c, m.ptr(), source, &valid, o);
    auto res = t.train();
    CHECK(res.steps == 200);
    CHECK(res.total_bad_steps == 0);
    CHECK(r.mean(191, 200) < 0.7 * r.mean(1, 10));
    CHECK(m->out->weight.device().is_cuda());
    if (precision == "fp16") CHECK(t.state().loss_scale > 0);
    MockModel cpu(12, 64);
    load_checkpoint((dir.path / "checkpoints" / "last.pt").string(), *cpu, torch::kCPU, "mock");
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
    RunAttachment attachment(dir, o, cf, resume);
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

TEST_CASE("trainer overhead against a bare loop", "[.training-bench]") {
  const int64_t vocab = 8000, steps = 6;
  ModelConfig mc;  // transformer-small sizes
  mc.family = "transformer";
  mc.options<TransformerConfig>().d_model = 256;
  mc.options<TransformerConfig>().ffn_dim = 1024;
  mc.options<TransformerConfig>().heads = 4;
  mc.options<TransformerConfig>().encoder_layers = 3;
  mc.options<TransformerConfig>().decoder_layers = 3;
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
