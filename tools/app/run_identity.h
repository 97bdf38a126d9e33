#pragma once
// What a checkpoint must agree with to be loaded into a run's model: the model section of the
// config (a change that keeps every tensor shape, e.g. model.transformer.heads, would otherwise
// load silently and change the translations) and the tokenizer files.
#include <string>

#include "models/checkpoint/checkpoint.h"
#include "tools/app/run_directory.h"
#include "tools/app/run_settings.h"

namespace seqzoo {

// {"model": the model section as YAML, "tokenizer": a fingerprint of the run's tokenizer files}.
CheckpointMeta run_identity(const RunSettings& settings, const RunDirectory& run);

// Throws std::runtime_error when the checkpoint's recorded identity differs from the run's,
// naming the first key that differs (both values) and what to do. Checkpoints without a record
// (written before seqzoo kept one) pass.
void check_run_identity(const CheckpointInfo& info, const RunSettings& settings, const RunDirectory& run);

}  // namespace seqzoo
