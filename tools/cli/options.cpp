#include "tools/cli/options.h"

#include <algorithm>

#include "tools/cli/main.h"
#include "tools/app/runtime.h"

namespace seqzoo {
namespace {

constexpr const char* kSearchGroup = "search (defaults: the run's config.yaml)";

std::string flag_name(const char* key) {
  std::string name = key;
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

// Declares a flag for every field.
class FlagDeclarer : public FieldVisitor {
 public:
  explicit FlagDeclarer(cxxopts::Options& options) : options_(options) {}
  void field(const char* k, int64_t&, const char* doc, Range) override { add<int64_t>(k, doc); }
  void field(const char* k, double&, const char* doc, Range) override { add<double>(k, doc); }
  void field(const char* k, bool&, const char* doc) override { add<bool>(k, doc); }
  void field(const char* k, std::string&, const char* doc, const std::vector<std::string>& choices) override {
    std::string d = doc;
    for (size_t i = 0; i < choices.size(); ++i) d += (i ? " | " : ": ") + choices[i];
    add<std::string>(k, d.c_str());
  }
  void section(const char*, const char*, const VisitFn&) override {}

 private:
  template <class T>
  void add(const char* key, const char* doc) {
    options_.add_options(kSearchGroup)(flag_name(key), doc, cxxopts::value<T>());
  }
  cxxopts::Options& options_;
};

// Sets every field whose flag was given.
class FlagReader : public FieldVisitor {
 public:
  explicit FlagReader(const cxxopts::ParseResult& args) : args_(args) {}
  void field(const char* k, int64_t& v, const char*, Range) override { read(k, v); }
  void field(const char* k, double& v, const char*, Range) override { read(k, v); }
  void field(const char* k, bool& v, const char*) override { read(k, v); }
  void field(const char* k, std::string& v, const char*, const std::vector<std::string>&) override { read(k, v); }
  void section(const char*, const char*, const VisitFn&) override {}

 private:
  template <class T>
  void read(const char* key, T& value) {
    const std::string name = flag_name(key);
    if (args_.count(name)) value = args_[name].as<T>();
  }
  const cxxopts::ParseResult& args_;
};

}  // namespace

void add_runtime_options(cxxopts::Options& options) {
  options.add_options("runtime")
      ("device", "compute device: cpu | cuda | auto", cxxopts::value<std::string>()->default_value("auto"))
      ("threads", "intra-op CPU threads (0 = all cores)", cxxopts::value<int64_t>()->default_value("0"))
      ("workers", "model copies decoding different batches at once, --threads split between them (>= 1)",
       cxxopts::value<int64_t>()->default_value("1"))
      ("precision", "matrix products in fp32 | bf16 (autocast; needs native bf16) | int8 (dynamic quantization of the linear layers; CPU); else fp32",
       cxxopts::value<std::string>()->default_value("fp32"));
}

torch::Device runtime_from_args(const cxxopts::ParseResult& args) {
  return setup_runtime(args["device"].as<std::string>(), args["threads"].as<int64_t>());
}

void add_run_options(cxxopts::Options& options, bool run_required) {
  options.add_options("run")
      ("run", std::string("run directory written by seqzoo-train") + (run_required ? " (required)" : "") +
                  "; repeat to decode with the ensemble of the runs (the mean of their probabilities)",
       cxxopts::value<std::vector<std::string>>())
      ("weights", "ensemble weights, one per --run, comma-separated (default: equal)",
       cxxopts::value<std::vector<double>>())
      ("checkpoint", "best | last | averaged | a checkpoint path (of every --run)",
       cxxopts::value<std::string>()->default_value("best"));
}

std::vector<std::string> run_dirs_from_args(const cxxopts::ParseResult& args) {
  if (!args.count("run")) throw UsageError("--run DIR is required");
  return args["run"].as<std::vector<std::string>>();
}

LoadedModel load_run_from_args(const cxxopts::ParseResult& args) {
  const std::vector<std::string> runs = run_dirs_from_args(args);
  std::vector<double> weights;
  if (args.count("weights")) {
    weights = args["weights"].as<std::vector<double>>();
    if (weights.size() != runs.size())
      throw UsageError("--weights: " + std::to_string(weights.size()) + " weights for " + std::to_string(runs.size()) +
                       " --run directories");
    for (double w : weights)
      if (!(w >= 0)) throw UsageError("--weights: every weight must be >= 0");
  }
  const torch::Device device = runtime_from_args(args);
  const std::string precision = args["precision"].as<std::string>();
  check_precision(precision);  // before the runs load
  LoadedModel run = load_workers(runs, weights, args["checkpoint"].as<std::string>(), device,
                                 args["workers"].as<int64_t>(), args["threads"].as<int64_t>());
  set_precision(run, precision);
  return run;
}

void add_search_flags(cxxopts::Options& options) {
  SearchOptions probe;
  FlagDeclarer declarer(options);
  probe.visit(declarer);
  options.add_options(kSearchGroup)("beam", "short for --beam-size", cxxopts::value<int64_t>());
}

SearchOptions search_options_from_args(const cxxopts::ParseResult& args, const SearchOptions& search) {
  SearchOptions s = search;
  FlagReader reader(args);
  s.visit(reader);
  if (args.count("beam")) {
    if (args.count("beam-size")) throw UsageError("give --beam or --beam-size, not both");
    s.beam_size = args["beam"].as<int64_t>();
  }
  try {
    s.validate();
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();  // "search.beam_size: ..." -> "--beam-size: ..." when the flag set it
    const size_t colon = msg.find(':');
    if (msg.rfind("search.", 0) == 0 && colon != std::string::npos) {
      const std::string flag = flag_name(msg.substr(7, colon - 7).c_str());
      if (args.count(flag) || (flag == "beam-size" && args.count("beam"))) msg = "--" + flag + msg.substr(colon);
    }
    throw UsageError(msg);
  }
  return s;
}

}  // namespace seqzoo
