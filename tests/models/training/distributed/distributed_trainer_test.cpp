// The Trainer in data-parallel mode: 2 ranks (fork) each training on its share of the batches
// must train exactly like one process accumulating the same batches (update_freq = 2), report the
// same global losses, write the run directory from rank 0 only, and stop together.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "models/training/distributed/distributed.h"
#include "models/training/distributed/distributed_source.h"
#include "models/training/distributed/launcher.h"
#include "models/training/metrics.h"
#include "tools/app/curves.h"
#include "data/common/text.h"
#include "data/common/files.h"
#include "models/training/sources.h"
#include "models/training/trainer.h"
#include "tests/models/training/mock_model.h"
#include "tests/models/training/distributed/multiprocess.h"
#include "tests/tools/app/run_fixture.h"

using namespace seqzoo;
using namespace seqzoo::test;
namespace fs = std::filesystem;

#if defined(SEQZOO_HAVE_GLOO) && defined(USE_C10D_GLOO)  // as in distributed.cpp

namespace {

constexpr int64_t kDistVocab = 20;

TrainConfig dist_config() {
  TrainConfig c;
  c.lr = 1e-2;
  c.lr_schedule = "constant";
  c.warmup_steps = 0;
  c.clip_norm = 0.5;  // clipping sees the averaged gradient
  c.label_smoothing = 0.1;
  c.log_every = 2;
  c.valid_every = 2;
  c.valid_bleu = false;
  c.best_metric = "loss";
  c.max_steps = 6;
  return c;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<torch::Tensor> params_of(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

double max_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, (a[i] - b[i]).abs().max().item<double>());
  return d;
}

}  // namespace

TEST_CASE("Trainer on 2 ranks equals one process accumulating their batches", "[distributed]") {
  // 8 batches of 1-4 sentences (different token counts): 4 updates per epoch either way.
  const auto pairs = random_pairs(20, kDistVocab, 2, 7, 5);
  std::vector<Batch> batches;
  size_t at = 0;
  for (size_t size : {1, 2, 3, 4, 1, 2, 3, 4}) {
    const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> part(pairs.begin() + at,
                                                                                 pairs.begin() + at + size);
    batches.push_back(batches_of(part, size).at(0));
    at += size;
  }
  REQUIRE(batches.size() == 8);
  ValidationSet valid;
  valid.batches = batches_of(random_pairs(6, kDistVocab, 2, 6, 9), 3);

  torch::manual_seed(4);
  MockModel reference(kDistVocab, 8);
  const auto initial = params_of(*reference);
  TempDir ref_dir("dist_ref");
  const auto expected = in_child(std::chrono::seconds(60), [&] {  // no backward() before forking
    auto config = dist_config();
    config.update_freq = 2;
    VectorBatchSource source(batches, /*shuffle=*/true, 17);
    TrainerOptions options;
    RunAttachment run(ref_dir.str(), options, config);
    Trainer trainer(config, reference.ptr(), source, &valid, options);
    trainer.train();
    return params_of(*reference);
  });
  const auto ref_rows = parse_metrics(read_text(ref_dir / "metrics.tsv"));
  REQUIRE(ref_rows.size() == 6);  // 3 train + 3 valid rows

  TempDir run_dir("dist_run");
  const int port = find_free_port();
  const auto results = run_ranks(2, std::chrono::seconds(30), [&](int rank) {
    torch::manual_seed(100 + rank);  // different initial weights: the trainer broadcasts rank 0's
    MockModel model(kDistVocab, 8);
    if (rank == 0) {
      torch::NoGradGuard no_grad;
      auto p = model->parameters();
      for (size_t i = 0; i < p.size(); ++i) p[i].copy_(initial[i]);
    }
    DistributedContext dist;
    dist.init(make_env(rank, 2, port), torch::kCPU, std::chrono::seconds(10));
    VectorBatchSource all(batches, /*shuffle=*/true, 17);
    ShardedBatchSource mine(all, rank, 2);
    TrainerOptions options;
    std::unique_ptr<RunAttachment> attachment;  // rank 0 alone writes the run directory
    if (rank == 0) attachment = std::make_unique<RunAttachment>(run_dir.str(), options, dist_config());
    options.dist = &dist;
    Trainer trainer(dist_config(), model.ptr(), mine, &valid, options);
    const auto result = trainer.train();
    std::ostringstream out;
    out.precision(10);
    out << max_diff(params_of(*model), expected) << " " << result.steps;
    return out.str();
  });
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r << ": " << results[r].text);
    REQUIRE(results[r].exit_code == 0);
    const auto v = parse_numbers(results[r].text);
    REQUIRE(v.size() == 2);
    CHECK(v[0] < 1e-5);  // the same weights as the accumulating single process
    CHECK(v[1] == 6);
  }
  // Rank 0 wrote the run directory, with the global (all-rank) losses of the single process.
  const auto rows = parse_metrics(read_text(run_dir / "metrics.tsv"));
  REQUIRE(rows.size() == ref_rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i);
    CHECK(rows[i].step == ref_rows[i].step);
    CHECK(rows[i].kind == ref_rows[i].kind);
    if (rows[i].kind == "train") {
      CHECK(rows[i].loss == Approx(ref_rows[i].loss).epsilon(1e-5));
      CHECK(rows[i].nll == Approx(ref_rows[i].nll).epsilon(1e-5));
    } else {
      CHECK(rows[i].valid_loss == Approx(ref_rows[i].valid_loss).epsilon(1e-5));
    }
  }
  CHECK(fs::exists(run_dir / "checkpoints/last.pt"));
  // One writer: train.log has each progress line once.
  std::istringstream log(read_text(run_dir / "train.log"));
  int progress = 0, validations = 0;
  for (std::string line; std::getline(log, line);) {
    progress += line.rfind("step 2 |", 0) == 0;
    validations += line.rfind("valid | step 2 |", 0) == 0;
  }
  CHECK(progress == 1);
  CHECK(validations == 1);
}

TEST_CASE("a stop request on one rank stops all ranks after the same update", "[distributed]") {
  const auto pairs = random_pairs(16, kDistVocab, 2, 6, 3);
  const auto batches = batches_of(pairs, 2);  // 8 batches
  const int port = find_free_port();
  const auto results = run_ranks(2, std::chrono::seconds(30), [&](int rank) {
    torch::manual_seed(1);
    MockModel model(kDistVocab, 8);
    DistributedContext dist;
    dist.init(make_env(rank, 2, port), torch::kCPU, std::chrono::seconds(10));
    VectorBatchSource all(batches, /*shuffle=*/false, 1);
    ShardedBatchSource mine(all, rank, 2);
    std::atomic<bool> stop{false};
    TrainerOptions options;
    options.dist = &dist;
    options.stop = &stop;
    // Only rank 1 is asked to stop, after its 2nd update.
    options.on_update = [&](const UpdateInfo& info) {
      if (rank == 1 && info.step == 2) stop = true;
    };
    auto config = dist_config();
    config.max_steps = 100;
    config.log_every = 0;
    config.valid_every = 0;
    Trainer trainer(config, model.ptr(), mine, nullptr, options);
    const auto result = trainer.train();
    return result.stop_reason + " " + std::to_string(result.steps);
  });
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r << ": " << results[r].text);
    REQUIRE(results[r].exit_code == 0);
    CHECK(results[r].text == "interrupted 3");  // rank 1's request travels with update 3
  }
}

#endif
