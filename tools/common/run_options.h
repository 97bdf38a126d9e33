#pragma once
// Option group shared by seqzoo-evaluate and seqzoo-translate: which run and checkpoint to load,
// the device, and the search settings (flags override the run's config.yaml).
#include <cxxopts.hpp>

#include "models/training/run.h"
#include "tools/common/translation.h"

namespace seqzoo {

// --run, --checkpoint, --device, --threads, --beam, --alpha, --length-norm, --nbest,
// --max-len-a, --max-len-b, --batch-tokens, --max-input-tokens.
void add_search_options(cxxopts::Options& options, bool run_required = true);
// Sets up device/threads and loads the run named by --run (UsageError when it is missing).
LoadedModel load_run_from_args(const cxxopts::ParseResult& args);
// The run's search config with the flags applied (validated: UsageError on bad values).
TranslateOptions translate_options_from_args(const cxxopts::ParseResult& args, const Config& config);

}  // namespace seqzoo
