#pragma once
// The families: the only list of them. Each row names a family, how to build it, which option
// sections it declares (model.<section>) and the architecture variants its contract test covers
// (tests/models/core/model_test.cpp). Above the families; nothing below includes this.
#include <cstdint>
#include <string>
#include <vector>

#include "models/core/model.h"
#include "models/core/model_config.h"

namespace seqzoo {

// The model section with every family's option sections (defaults) and the family names as the
// choices of model.family: what a config parses into.
ModelConfig default_model_config();

// Range and cross-field checks of the model section (std::invalid_argument naming the key).
void check_model_config(const ModelConfig& config);

// Checks the config, then builds its family (std::invalid_argument for an unknown family, listing
// the known ones).
ModelPtr build_model(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size);

std::vector<std::string> known_families();

// The option sections a family reads (e.g. {"rnn", "attention"}).
std::vector<std::string> family_sections(const std::string& family);

// The variants of a family, each a list of "key=value" settings under model: (e.g. "rnn.cell=gru").
std::vector<std::vector<std::string>> family_variants(const std::string& family);

// Applies "key=value" settings under model: to a model config (errors name "--set model.KEY").
void apply_model_settings(ModelConfig& config, const std::vector<std::string>& settings);

}  // namespace seqzoo
