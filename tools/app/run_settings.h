#pragma once
// What a run's config says beyond training: the run-level keys, the data (direction, test set),
// the tokenizer, the model and the search. Inference (evaluate, translate) reads a run's
// config.yaml into this, skipping the train: section, which is training's own (tools/app/config.h
// adds it for the train use-case).
#include <cstdint>
#include <string>
#include <vector>

#include "data/data_config.h"
#include "models/core/model_config.h"
#include "models/registry.h"
#include "models/search/search_options.h"

namespace seqzoo {

struct RunSettings {
  std::string run_dir = "runs/default";
  std::string device = "auto";
  int64_t threads = 0;
  DataConfig data;
  TokenizerConfig tokenizer;
  ModelConfig model = default_model_config();
  SearchOptions search;

  void visit(FieldVisitor& v);
  // Cross-field checks of every section (ranges are checked by check_config_ranges).
  void check() const;
};

// Reads a run's config file for inference: every section but train: (left to training, which
// wrote and checked it), with the same errors as load_config (tools/app/config.h).
RunSettings load_run_settings(const std::string& path);

}  // namespace seqzoo
