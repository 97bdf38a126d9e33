#pragma once
// A training run end to end (what seqzoo-train does), loading a trained run for evaluate and
// translate, and checkpoint averaging over a run's last checkpoints.
//
// Run directory (DESIGN.md): config.yaml (resolved config), spm*.model (tokenizers),
// checkpoints/{step-N.pt, last.pt, best.pt, averaged.pt}, metrics.tsv, curves.svg, train.log.
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "models/core/config.h"
#include "models/core/model.h"
#include "models/training/checkpoint.h"  // resolve_checkpoint, average_run_checkpoints

namespace seqzoo {

class DistributedContext;  // models/training/distributed.h

struct TrainRunOptions {
  bool resume = false;                      // continue from <run_dir>/checkpoints/last.pt
  bool prepare_only = false;                // tokenizer + corpus/batch statistics, no training
  torch::Device device = torch::kCPU;
  std::ostream* out = nullptr;              // progress and summaries (nullptr = silent)
  const std::atomic<bool>* stop = nullptr;  // e.g. set by SIGINT: checkpoint and stop
  // Data-parallel training (initialised): rank 0 prepares the run directory and the tokenizer,
  // the others wait for it and load it; each rank trains on its share of every epoch's batches.
  DistributedContext* dist = nullptr;
  std::chrono::milliseconds prepare_timeout = std::chrono::hours(2);  // how long ranks wait for rank 0's tokenizer
};

// Trains config (run_dir = config.run_dir): writes config.yaml, trains (or, on resume, reuses)
// the tokenizer(s), reads and tokenizes train/valid, builds the model (seeded), trains.
// Returns 0, or 130 when stopped by options.stop. Throws on errors.
int train_main(const Config& config, const TrainRunOptions& options);

// The parameter count of the model a config builds (tokenizer.vocab_size on both sides), with
// a line per top-level submodule: what --summary prints.
std::string model_summary(const Config& config);

struct LoadedModel {
  Config config;
  Tokenizers tok;
  ModelPtr model;
  torch::Device device = torch::kCPU;
};

// Reads <run_dir>/config.yaml and the tokenizer(s), builds the model, loads the checkpoint
// ("best" | "last" | "averaged" | a path), moves it to device, eval mode. Errors name the file.
LoadedModel load_run(const std::string& run_dir, const std::string& checkpoint, const torch::Device& device);

// The length-penalty exponents search.tune_alpha chooses from (GNMT, Wu et al. 2016).
inline const std::vector<double>& alpha_grid() {
  static const std::vector<double> grid{0.6, 1.0, 1.5, 2.0};
  return grid;
}

// Length-penalty tuning (search.tune_alpha, seqzoo-train --tune-alpha): decodes the validation
// sentences (data.valid, the first train.valid_max_sentences) with the run's best.pt, beam
// search.beam_size and each alpha of alpha_grid(); writes the alpha with the highest BLEU (ties:
// the smaller) into <run_dir>/config.yaml, which evaluate and translate read, and logs the scores
// to `out` and train.log. Short runs stop their sentences early (brevity penalty ~0.75-0.85 on
// Multi30k after 12 CPU minutes); this is where a larger alpha pays. Returns the chosen alpha.
double tune_alpha(const std::string& run_dir, const torch::Device& device, std::ostream* out);

}  // namespace seqzoo
