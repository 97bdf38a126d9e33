// seqzoo-evaluate: translate a test set with a trained run and score it (sacreBLEU-exact BLEU with
// its signature, chrF, perplexity, speed) -- or score an existing hypothesis file (--hyp).
#include <iostream>

#include "tools/app/evaluation.h"
#include "tools/cli/main.h"
#include "tools/cli/options.h"
#include "tools/app/runtime.h"

int main(int argc, char** argv) {
  seqzoo::tune_cpu_runtime(argc, argv);
  using namespace seqzoo;
  return run_main("seqzoo-evaluate", [&] {
    cxxopts::Options options("seqzoo-evaluate",
                             "Translate a test set and score it (default: the run's data.test in its direction), "
                             "or score --hyp FILE");
    add_run_options(options, /*run_required=*/false);
    add_runtime_options(options);
    add_search_flags(options);
    options.add_options()
        ("test", "a split of the run's data folder to score (prefix or .tsv; default data.test)", cxxopts::value<std::string>())
        ("src", "source side of the test set (with --ref)", cxxopts::value<std::string>())
        ("ref", "reference file (repeat for several references)", cxxopts::value<std::vector<std::string>>())
        ("hyp", "score this hypothesis file instead of translating (with --ref)", cxxopts::value<std::string>())
        ("output", "where to write the hypotheses (default: RUN/eval/<test name>.hyp)", cxxopts::value<std::string>())
        ("tokenize", "BLEU tokenizer: 13a | intl | char | none", cxxopts::value<std::string>()->default_value("13a"))
        ("smooth-method", "BLEU smoothing (sacreBLEU's --smooth-method): exp | floor | add-k | none",
         cxxopts::value<std::string>()->default_value("exp"))
        ("smooth-value", "BLEU smoothing value for floor (default 0.1) or add-k (default 1)", cxxopts::value<double>())
        ("chrf-word-order", "chrF word n-gram order (sacreBLEU's --chrf-word-order): 0 = chrF, 2 = chrF++",
         cxxopts::value<int>()->default_value("0"))
        ("lowercase", "case-insensitive BLEU and chrF");
    cxxopts::ParseResult args;
    if (!parse_args(options, argc, argv, args)) return 0;
    EvaluateOptions eval;
    eval.bleu.tokenize = args["tokenize"].as<std::string>();
    eval.bleu.lowercase = args.count("lowercase") > 0;
    eval.bleu.smooth = args["smooth-method"].as<std::string>();
    if (args.count("smooth-value")) {
      if (eval.bleu.smooth != "floor" && eval.bleu.smooth != "add-k")
        throw UsageError("--smooth-value goes with --smooth-method floor or add-k");
      eval.bleu.smooth_value = args["smooth-value"].as<double>();
      if (!(eval.bleu.smooth_value >= 0)) throw UsageError("--smooth-value: must be >= 0");
    }
    eval.chrf.word_order = args["chrf-word-order"].as<int>();
    if (eval.chrf.word_order < 0 || eval.chrf.word_order > 6)
      throw UsageError("--chrf-word-order must be in [0, 6], got " + std::to_string(eval.chrf.word_order));
    try {
      eval.bleu.validate();
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--tokenize/--smooth-method: ") + e.what());
    }
    eval.chrf.lowercase = eval.bleu.lowercase;
    if (args.count("ref")) eval.refs = args["ref"].as<std::vector<std::string>>();
    if (args.count("hyp")) {
      if (args.count("src") || args.count("test")) throw UsageError("give --hyp (score a file) or --src/--test, not both");
      if (eval.refs.empty()) throw UsageError("--hyp needs --ref FILE");
      score_hypotheses(args["hyp"].as<std::string>(), eval.refs, eval.bleu, eval.chrf, std::cout);
      return 0;
    }
    if (args.count("src") && eval.refs.empty()) throw UsageError("--src needs --ref FILE");
    if (!args.count("src") && !eval.refs.empty()) throw UsageError("--ref goes with --src or --hyp");
    if (args.count("src") && args.count("test")) throw UsageError("give --src or --test, not both");
    if (args.count("src")) eval.src = args["src"].as<std::string>();
    if (args.count("test")) eval.test = args["test"].as<std::string>();
    if (args.count("output")) eval.output = args["output"].as<std::string>();
    const auto runs = run_dirs_from_args(args);
    const LoadedModel run = load_run_from_args(args);
    if (runs.size() > 1) eval.output_tag = "ensemble" + std::to_string(runs.size());
    TranslateOptions topts;
    topts.search = search_options_from_args(args, run.config.search);
    evaluate_run(run, runs.front(), topts, eval, std::cout);
    return 0;
  });
}
