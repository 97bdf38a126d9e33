#pragma once
// A training run end to end (what seqzoo-train does): run directory, tokenizer, data, model,
// trainer with the run directory's reporter, alpha tuning; and the model summary.
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <ostream>
#include <optional>
#include <string>
#include <vector>

#include "tools/app/config.h"

namespace seqzoo {

class DistributedContext;  // models/training/distributed/distributed.h

struct TrainRunOptions {
  bool resume = false;                      // continue from the run's checkpoints/last.pt
  bool prepare_only = false;                // tokenizer + corpus/batch statistics, no training
  torch::Device device = torch::kCPU;
  std::ostream* out = nullptr;              // progress and summaries (nullptr = silent)
  const std::atomic<bool>* stop = nullptr;  // e.g. set by SIGINT: checkpoint and stop
  // Data-parallel training (initialised): rank 0 prepares the run directory and the tokenizer,
  // the others wait for it and load it; each rank trains on its share of every epoch's batches.
  DistributedContext* dist = nullptr;
  std::chrono::milliseconds prepare_timeout = std::chrono::hours(2);  // how long ranks wait for rank 0's tokenizer
};

// Trains config into config.run_dir: writes config.yaml, trains (or, on resume, reuses) the
// tokenizer(s), reads and tokenizes train/valid, builds the model (seeded), trains, tunes alpha
// (train.tune_alpha). Returns 0, or 130 when stopped by options.stop. Throws on errors.
int train_main(const Config& config, const TrainRunOptions& options);

// The parameter count of the model a config builds (tokenizer.vocab_size on both sides), with a
// line per top-level submodule: what --summary prints.
std::string model_summary(const Config& config);

// What seqzoo-train was asked to do, as parsed from its command line.
struct TrainCommand {
  std::vector<std::string> configs;    // --config, in order (later ones override earlier ones)
  std::vector<std::string> overrides;  // --set key=value
  std::string run;                     // --run ("" = the config's run_dir)
  bool resume = false, dump_config = false, summary = false, prepare_only = false, tune_alpha = false;
  bool list_families = false;          // print the registered families and their variants
  int64_t average_checkpoints = 0;     // --average-checkpoints K (0 = no)
  std::string export_dir;              // --export DIR: an inference-only copy of --run
  std::string export_checkpoint = "best", export_dtype = "fp32";
  int nproc = 1;                       // data-parallel processes on this machine
  double dist_timeout_s = 300;         // collective timeout
  std::optional<std::string> device;   // --device (default: the config's)
  std::optional<int64_t> threads;      // --threads (default: the config's)
  std::vector<std::string> worker_args;  // the command line without --nproc (for the workers)
  const std::atomic<bool>* stop = nullptr;
};

// Carries out a seqzoo-train command (train, resume, dump the config, summary, average
// checkpoints, tune alpha; as one rank of a data-parallel job or its local launcher); progress
// goes to `out`. Returns the exit code (130 when stopped).
int run_train_command(const TrainCommand& command, std::ostream& out);

}  // namespace seqzoo
