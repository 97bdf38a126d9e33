#pragma once
// Loading a trained run for inference (evaluate, translate, tune alpha): the run's config, its
// tokenizer(s) and one checkpoint, through the model interface and the checkpoint format only.
#include <torch/torch.h>

#include <string>

#include "data/tokenizer.h"
#include "models/core/model.h"
#include "tools/app/run_settings.h"

namespace seqzoo {

struct LoadedModel {
  RunSettings config;  // the run's config.yaml without its train: section
  Tokenizers tok;
  ModelPtr model;
  torch::Device device = torch::kCPU;
};

// Reads <run_dir>/config.yaml and the tokenizer(s), builds the model, loads the checkpoint
// ("best" | "last" | "averaged" | a path), moves it to device, eval mode. Errors name the file.
LoadedModel load_run(const std::string& run_dir, const std::string& checkpoint, const torch::Device& device);

}  // namespace seqzoo
