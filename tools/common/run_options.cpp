#include "tools/common/run_options.h"

#include "tools/common/cli.h"

namespace seqzoo {

void add_search_options(cxxopts::Options& options, bool run_required) {
  options.add_options("run")
      ("run", std::string("run directory written by seqzoo-train") + (run_required ? " (required)" : ""),
       cxxopts::value<std::string>())
      ("checkpoint", "best | last | averaged | a checkpoint path", cxxopts::value<std::string>()->default_value("best"));
  options.add_options("runtime")
      ("device", "compute device: cpu | cuda | auto", cxxopts::value<std::string>()->default_value("auto"))
      ("threads", "intra-op CPU threads (0 = all cores)", cxxopts::value<int64_t>()->default_value("0"));
  options.add_options("search (defaults: the run's config.yaml)")
      ("beam", "beam size (1 = greedy)", cxxopts::value<int64_t>())
      ("alpha", "length penalty exponent (GNMT)", cxxopts::value<double>())
      ("length-norm", "gnmt | average | none", cxxopts::value<std::string>())
      ("nbest", "hypotheses per sentence (<= beam)", cxxopts::value<int64_t>())
      ("max-len-a", "max output length = a * source length + b", cxxopts::value<double>())
      ("max-len-b", "max output length = a * source length + b", cxxopts::value<int64_t>())
      ("batch-tokens", "source-token budget per decoding batch", cxxopts::value<int64_t>())
      ("max-input-tokens", "longer inputs are translated in pieces", cxxopts::value<int64_t>());
}

LoadedModel load_run_from_args(const cxxopts::ParseResult& args) {
  if (!args.count("run")) throw UsageError("--run DIR is required");
  const torch::Device device = setup_runtime(args["device"].as<std::string>(), args["threads"].as<int64_t>());
  return load_run(args["run"].as<std::string>(), args["checkpoint"].as<std::string>(), device);
}

TranslateOptions translate_options_from_args(const cxxopts::ParseResult& args, const Config& config) {
  Config c = config;
  SearchConfig& s = c.search;
  if (args.count("beam")) s.beam_size = args["beam"].as<int64_t>();
  if (args.count("alpha")) s.alpha = args["alpha"].as<double>();
  if (args.count("length-norm")) s.length_norm = args["length-norm"].as<std::string>();
  if (args.count("nbest")) s.nbest = args["nbest"].as<int64_t>();
  if (args.count("max-len-a")) s.max_len_a = args["max-len-a"].as<double>();
  if (args.count("max-len-b")) s.max_len_b = args["max-len-b"].as<int64_t>();
  if (args.count("batch-tokens")) s.batch_tokens = args["batch-tokens"].as<int64_t>();
  if (args.count("max-input-tokens")) s.max_input_tokens = args["max-input-tokens"].as<int64_t>();
  if (s.length_norm != "gnmt" && s.length_norm != "average" && s.length_norm != "none")
    throw UsageError("--length-norm must be gnmt, average or none, got '" + s.length_norm + "'");
  try {
    validate_config(c);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  TranslateOptions t;
  t.search = SearchOptions::from(s);
  t.batch_tokens = s.batch_tokens;
  t.max_input_tokens = s.max_input_tokens;
  return t;
}

}  // namespace seqzoo
