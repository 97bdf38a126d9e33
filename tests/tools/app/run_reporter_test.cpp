#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "models/training/train_checkpoint.h"
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
  c.label_smoothing = 0.1;
  c.valid_bleu = false;
  c.best_metric = "loss";
  return c;
}

}  // namespace

TEST_CASE("run reporter: checkpoints kept, best.pt, metrics.tsv, curves.svg, train.log", "[run]") {
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
  RunAttachment run(dir.str(), o, c);
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
  MockModel probe(kVocab, 16);
  // best.pt: the model and the run's position, without the optimizer's moments (inference reads it);
  // last.pt and the step files: what a resumed run needs.
  const CheckpointInfo best = load_checkpoint((ck / "best.pt").string(), *probe);
  CHECK_FALSE(best.has_optimizer);
  CHECK(best.has_train_state);
  CHECK(best.step == 10);
  CHECK(load_checkpoint((ck / "last.pt").string(), *probe).has_optimizer);
  CHECK(load_checkpoint((ck / "step-10.pt").string(), *probe).has_optimizer);
  CHECK(fs::file_size(ck / "best.pt") * 2 < fs::file_size(ck / "last.pt"));

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
