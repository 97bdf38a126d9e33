// train_main / load_run end to end on a tiny synthetic corpus (word tokenizer, tiny Transformer).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "tools/app/config.h"
#include "models/transformer/transformer_config.h"
#include "models/search/search.h"
#include "models/training/train_checkpoint.h"
#include "tools/app/inference.h"
#include "data/common/files.h"
#include "models/rnn/rnn_config.h"
#include "tools/app/train_run.h"
#include "tools/app/tune_alpha.h"
#include "tools/app/run_directory.h"
#include "tests/models/training/mock_model.h"

using namespace seqzoo;
using namespace seqzoo::test;
namespace fs = std::filesystem;

namespace {

void write_reversal(const std::string& prefix, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::ofstream src(prefix + ".src"), tgt(prefix + ".tgt");
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> w;
    const int len = 3 + static_cast<int>(rng() % 4);
    for (int j = 0; j < len; ++j) w.push_back("w" + std::to_string(rng() % 8));
    for (int j = 0; j < len; ++j) src << (j ? " " : "") << w[j];
    for (int j = len - 1; j >= 0; --j) tgt << (j != len - 1 ? " " : "") << w[j];
    src << "\n";
    tgt << "\n";
  }
}

Config tiny_config(const TempDir& dir, const std::string& run) {
  const std::string yaml = R"(
data: {src_lang: src, tgt_lang: tgt, batch_tokens: 256}
tokenizer: {type: word, vocab_size: 12}
model:
  family: transformer
  dropout: 0.0
  transformer: {d_model: 32, ffn_dim: 64, heads: 2, encoder_layers: 1, decoder_layers: 1}
train: {lr: 0.003, warmup_steps: 5, max_steps: 12, log_every: 4, valid_every: 6, keep_last: 2}
search: {beam_size: 1}
)";
  Config c = parse_config(yaml, "<test>", {"data.dir=" + dir.str(), "run_dir=" + run});
  return c;
}

}  // namespace

TEST_CASE("train_main trains a run directory: load_run loads it and resume continues it", "[training]") {
  TempDir dir("run_main");
  write_reversal(dir / "train", 200, 1);
  write_reversal(dir / "val", 12, 2);
  const std::string run = dir / "run";
  Config c = tiny_config(dir, run);
  std::ostringstream out;
  TrainRunOptions o;
  o.out = &out;
  REQUIRE(train_main(c, o) == 0);
  for (const char* f : {"config.yaml", "spm.model", "metrics.tsv", "curves.svg", "train.log", "checkpoints/best.pt",
                        "checkpoints/last.pt", "checkpoints/step-12.pt", "checkpoints/step-6.pt"})
    CHECK(fs::exists(fs::path(run) / f));
  CHECK_THAT(out.str(), Catch::Contains("tokenizer: trained word") && Catch::Contains("model: transformer, ") &&
                            Catch::Contains("step 12 | epoch") && Catch::Contains("| bleu "));
  // config.yaml is the resolved config: loading it gives the same model settings.
  Config reloaded = load_config((fs::path(run) / "config.yaml").string());
  CHECK(reloaded.model.options<TransformerConfig>().d_model == 32);
  CHECK(reloaded.train.max_steps == 12);

  // A config edit that keeps every tensor shape is caught by the checkpoint's own record.
  {
    const std::string config_path = (fs::path(run) / "config.yaml").string();
    const std::string original = read_text_file(config_path);
    Config edited = reloaded;
    edited.model.options<TransformerConfig>().heads = 4;
    write_text_file(config_path, dump_config(edited));
    CHECK_THROWS_WITH(load_run(run, "best", torch::kCPU),
                      Catch::Contains("was trained with model.transformer.heads: 2") &&
                          Catch::Contains("says model.transformer.heads: 4"));
    edited = reloaded;
    edited.model.options<RnnConfig>().hidden_dim = 7;  // not a section the Transformer reads
    write_text_file(config_path, dump_config(edited));
    CHECK_NOTHROW(load_run(run, "best", torch::kCPU));
    write_text_file(config_path, original);
  }

  LoadedModel lm = load_run(run, "last", torch::kCPU);
  CHECK(lm.model->family() == "transformer");
  CHECK_FALSE(lm.model->is_training());
  CHECK(lm.tok.joint());
  {
    torch::NoGradGuard g;
    SearchOptions so;
    so.beam_size = 1;
    auto hyps = search_all(*lm.model, {lm.tok.src->encode("w1 w2 w3")}, so, 1000, torch::kCPU);
    REQUIRE(hyps.size() == 1);
    CHECK_FALSE(hyps[0].empty());
  }
  CHECK_THROWS_WITH(load_run(run, "averaged", torch::kCPU),
                    Catch::Contains("averaged.pt not found") && Catch::Contains("last.pt"));
  CHECK_THROWS_WITH(load_run(dir / "nope", "best", torch::kCPU), Catch::Contains("nope not found"));

  // A second fresh run into the same directory is refused; --resume continues to a new limit.
  CHECK_THROWS_WITH(train_main(c, o), Catch::Contains("already holds a trained run"));
  c.train.max_steps = 18;
  c.train.tune_alpha = true;  // after training: alpha chosen on the validation set
  o.resume = true;
  out.str("");
  REQUIRE(train_main(c, o) == 0);
  CHECK_THAT(out.str(), Catch::Contains("search.alpha: validation BLEU (best.pt, beam 1, 12 sentences) 0.6 -> ") &&
                            Catch::Contains("written to " + run + "/config.yaml"));
  const double tuned = load_config((fs::path(run) / "config.yaml").string()).search.alpha;
  CHECK(std::find(alpha_grid().begin(), alpha_grid().end(), tuned) != alpha_grid().end());
  {
    std::ifstream log(fs::path(run) / "train.log");
    std::stringstream text;
    text << log.rdbuf();
    CHECK_THAT(text.str(), Catch::Contains("search.alpha: validation BLEU"));
  }
  // The same on its own (seqzoo-train --tune-alpha): it needs the run's validation data.
  out.str("");
  CHECK(tune_alpha(run, torch::kCPU, &out) == tuned);
  CHECK_THAT(out.str(), Catch::Contains("2.0 -> "));
  fs::remove(dir / "val.src");
  CHECK_THROWS_WITH(tune_alpha(run, torch::kCPU, &out), Catch::Contains("val.src"));
  CheckpointInfo info;
  read_checkpoint_model(RunDirectory(run).checkpoint("last"), &info);
  CHECK(info.step == 18);
  CHECK_FALSE(fs::exists(fs::path(run) / "checkpoints" / "step-6.pt"));  // keep_last = 2
  CHECK(fs::exists(fs::path(run) / "checkpoints" / "step-18.pt"));

  // --average-checkpoints 2: step-12 and step-18.
  const std::string avg = RunDirectory(run).average_checkpoints(2);
  CHECK_NOTHROW(load_run(run, "averaged", torch::kCPU));
  CHECK(avg == RunDirectory(run).checkpoint("averaged"));

  // A damaged last.pt: --resume names the newest intact step file; a kill's leftover .tmp is cleaned.
  const RunDirectory r(run);
  write_reversal(dir / "val", 12, 2);  // removed above
  write_text_file(r.checkpoint("last"), "damaged");
  write_text_file(r.checkpoint_dir() + "/step-20.pt.tmp", "half a checkpoint");
  c.train.max_steps = 24;
  out.str("");
  CHECK_THROWS_WITH(train_main(c, o), Catch::Contains("is corrupt or truncated") &&
                                          Catch::Contains("the newest intact checkpoint is " + r.step_checkpoint(18)));
  CHECK_THAT(out.str(), Catch::Contains("removed stale temporary files of an interrupted write: step-20.pt.tmp"));
  CHECK_FALSE(fs::exists(r.checkpoint_dir() + "/step-20.pt.tmp"));
}

TEST_CASE("train_main --prepare-only prints corpus statistics and trains nothing", "[training]") {
  TempDir dir("run_prepare");
  write_reversal(dir / "train", 100, 3);
  write_reversal(dir / "val", 5, 4);
  const std::string run = dir / "run";
  Config c = tiny_config(dir, run);
  std::ostringstream out;
  TrainRunOptions o;
  o.out = &out;
  o.prepare_only = true;
  REQUIRE(train_main(c, o) == 0);
  CHECK_THAT(out.str(), Catch::Contains("sentences: 100") && Catch::Contains("batches: "));
  CHECK(fs::exists(fs::path(run) / "spm.model"));
  CHECK_FALSE(fs::exists(fs::path(run) / "checkpoints"));
  CHECK_THAT(model_summary(c), Catch::Contains("model: transformer, ") && Catch::Contains(" parameters"));
  // Resume without a checkpoint is an error naming it.
  o.prepare_only = false;
  o.resume = true;
  CHECK_THROWS_WITH(train_main(c, o), Catch::Contains("cannot resume: no checkpoint"));
}

TEST_CASE("train_main refuses an empty validation set, and says so when there is none by choice", "[training]") {
  TempDir dir("run_empty_valid");
  write_reversal(dir / "train", 200, 1);
  { std::ofstream(dir / "val.src"); std::ofstream(dir / "val.tgt"); }
  Config c = tiny_config(dir, dir / "run");
  std::ostringstream out;
  TrainRunOptions o;
  o.out = &out;
  CHECK_THROWS_WITH(train_main(c, o), Catch::Contains("val.src: no sentence pairs") &&
                                          Catch::Contains("set data.valid to \"\""));
  c = tiny_config(dir, dir / "run2");
  c.data.valid = "";
  c.train.max_steps = 2;
  REQUIRE(train_main(c, o) == 0);
  CHECK_THAT(out.str(), Catch::Contains("valid: none (data.valid is empty)"));
}
