#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "models/training/checkpoint.h"
#include "models/training/trainer.h"
#include "tests/models/training/mock_model.h"

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

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
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

TEST_CASE("NaN/inf losses: updates skipped and counted; too many in a row stop the run", "[training]") {
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
    o.run_dir = dir.str();
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
    TrainState st;
    auto info = load_checkpoint(last, *again, nullptr, &st);
    CHECK(info.step == 4);
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
    o.run_dir = full_dir.str();
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
    o.run_dir = split_dir.str();
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
    o.run_dir = split_dir.str();
    o.resume = true;
    o.on_update = second.hook();
    Trainer t(cf, m.ptr(), source, &valid, o);
    auto res = t.train();
    CHECK(res.steps == 2 * n);
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
}

TEST_CASE("run directory: checkpoints kept, best.pt, metrics.tsv, curves.svg, train.log", "[training]") {
  TempDir dir("rundir");
  auto pairs = random_pairs(32, kVocab, 2, 6, 31);
  VectorBatchSource source(batches_of(pairs, 4), true, 1);
  ValidationSet valid;
  valid.batches = batches_of(random_pairs(8, kVocab, 2, 6, 32), 4);
  int64_t bleu_calls = 0;
  valid.bleu = [&](Seq2SeqModelImpl& model, const torch::Device&) {
    CHECK_FALSE(model.is_training());
    CHECK_FALSE(torch::GradMode::is_enabled());
    return 10.0 + static_cast<double>(++bleu_calls);  // improves at every validation
  };
  TrainConfig c = quick_config();
  c.max_steps = 10;
  c.log_every = 2;
  c.valid_every = 3;
  c.valid_bleu = true;
  c.best_metric = "bleu";
  c.keep_last = 2;
  torch::manual_seed(3);
  MockModel m(kVocab, 16);
  std::ostringstream out;
  TrainerOptions o;
  o.run_dir = dir.str();
  o.out = &out;
  Trainer t(c, m.ptr(), source, &valid, o);
  auto res = t.train();
  CHECK(res.steps == 10);
  CHECK(bleu_calls == 4);  // steps 3, 6, 9 and the final one at 10
  CHECK(res.has_best);
  CHECK(res.best_metric == Approx(14.0));
  CHECK(res.best_step == 10);
  REQUIRE(res.last_valid.has_value());
  CHECK(res.last_valid->bleu == Approx(14.0));
  CHECK(std::isfinite(res.last_valid->ppl));

  const fs::path ck = dir.path / "checkpoints";
  CHECK(fs::exists(ck / "last.pt"));
  CHECK(fs::exists(ck / "best.pt"));
  CHECK(fs::exists(ck / "step-10.pt"));
  CHECK(fs::exists(ck / "step-9.pt"));
  CHECK_FALSE(fs::exists(ck / "step-6.pt"));
  CHECK_FALSE(fs::exists(ck / "step-3.pt"));
  for (const auto& e : fs::directory_iterator(ck)) CHECK(e.path().extension() != ".tmp");
  TrainState st;
  MockModel probe(kVocab, 16);
  load_checkpoint((ck / "best.pt").string(), *probe, nullptr, &st);
  CHECK(st.step == 10);

  auto rows = parse_metrics(slurp(dir / "metrics.tsv"));
  int64_t train_rows = 0, valid_rows = 0;
  for (const auto& r : rows) {
    if (r.kind == "train") {
      ++train_rows;
      CHECK(std::isfinite(r.loss));
      CHECK(r.ppl == Approx(std::exp(r.nll)));
      CHECK(r.tgt_tok_s > 0);
      CHECK(r.lr > 0);
    } else {
      ++valid_rows;
      CHECK(std::isfinite(r.valid_loss));
      CHECK(std::isfinite(r.valid_bleu));
    }
  }
  CHECK(train_rows == 5);
  CHECK(valid_rows == 4);
  const std::string svg = slurp(dir / "curves.svg");
  CHECK_THAT(svg, Catch::StartsWith("<?xml") && Catch::Contains("<polyline") && Catch::Contains("train loss") &&
                      Catch::Contains("valid BLEU") && Catch::EndsWith("</svg>\n"));
  const std::string log = slurp(dir / "train.log");
  CHECK_THAT(log, Catch::Contains("step 2 | epoch 1 | loss ") && Catch::Contains(" tok/s | tgt ") &&
                      Catch::Contains("ETA ") && Catch::Contains("valid | step 3") && Catch::Contains("stopped (max_steps)"));
  CHECK(out.str() == log);
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
