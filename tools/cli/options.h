#pragma once
// Option groups of the mains. The decoding flags are generated from the search options' own
// declaration (SearchOptions::visit): key beam_size -> --beam-size, with the key's doc as help.
#include <torch/torch.h>

#include <cxxopts.hpp>
#include <string>
#include <vector>

#include "models/search/search_options.h"
#include "tools/app/inference.h"

namespace seqzoo {

// --device, --threads.
void add_runtime_options(cxxopts::Options& options);
// torch::Device from --device/--threads (defaults auto, 0), with the intra-op threads set.
torch::Device runtime_from_args(const cxxopts::ParseResult& args);

// --run DIR (repeat for an ensemble), --weights, --checkpoint NAME.
void add_run_options(cxxopts::Options& options, bool run_required);
// The --run directories, in order (UsageError when there is none).
std::vector<std::string> run_dirs_from_args(const cxxopts::ParseResult& args);
// Sets up the runtime and loads the run named by --run, or the ensemble of the runs when --run is
// repeated (UsageError when it is missing).
LoadedModel load_run_from_args(const cxxopts::ParseResult& args);

// One flag per search key (--beam-size, --alpha, --length-norm, --nbest, --max-len-a, --max-len-b,
// --batch-tokens, --max-input-tokens), plus --beam as a short form of --beam-size.
void add_search_flags(cxxopts::Options& options);
// `search` with the given flags applied and validated (UsageError naming the flag).
SearchOptions search_options_from_args(const cxxopts::ParseResult& args, const SearchOptions& search);

}  // namespace seqzoo
