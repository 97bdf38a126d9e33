#pragma once
// Test helpers: a trainer reporting into a run directory, as train_main sets it up.
#include <memory>
#include <string>

#include "models/training/optim.h"
#include "models/training/train_checkpoint.h"
#include "models/training/trainer.h"
#include "tools/app/run_reporter.h"

namespace seqzoo::test {

// Gives `options` a RunReporter over `dir` (and, with resume, its last.pt to continue from). Must
// outlive the trainer.
struct RunAttachment {
  RunReporter reporter;
  RunAttachment(const std::string& dir, TrainerOptions& options, const TrainConfig& config, bool resume = false)
      : reporter(RunDirectory(dir), config.keep_last, "test", resume) {
    options.reporter = &reporter;
    if (resume) options.resume_from = RunDirectory(dir).checkpoint("last");
  }
};

// The training state stored in a training checkpoint (the model is loaded too).
inline TrainState load_train_state(const std::string& path, torch::nn::Module& model,
                                   const torch::Device& device = torch::kCPU, const TrainConfig& config = {}) {
  auto optimizer = make_optimizer(config, unique_parameters(model));
  TrainState state;
  load_train_checkpoint(path, model, *optimizer, state, device);
  return state;
}

}  // namespace seqzoo::test
