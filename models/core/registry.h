#pragma once
// Builds a model by its config name. The only place that knows the families.
#include <string>
#include <vector>

#include "models/core/config.h"
#include "models/core/model.h"

namespace seqzoo {

// Throws std::invalid_argument for an unknown family, listing the known ones.
ModelPtr build_model(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size);
std::vector<std::string> known_families();

}  // namespace seqzoo
