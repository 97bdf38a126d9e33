// seqzoo-score: the model's log-probability of given translations (forced decoding), one line per
// pair, in order (tools/app/scoring.h, score_stream).
#include <iostream>

#include "tools/app/runtime.h"
#include "tools/app/scoring.h"
#include "tools/cli/main.h"
#include "tools/cli/options.h"

int main(int argc, char** argv) {
  seqzoo::tune_cpu_runtime(argc, argv);
  using namespace seqzoo;
  return run_main("seqzoo-score", [&] {
    cxxopts::Options options("seqzoo-score",
                             "Score translations with a trained run (or an ensemble): SOURCE<TAB>TARGET lines on stdin, "
                             "or --src/--tgt files, or --nbest; prints SUM<TAB>MEAN log-probs per line");
    add_run_options(options, /*run_required=*/true);
    add_runtime_options(options);
    options.add_options()
        ("src", "source file (with --tgt or --nbest)", cxxopts::value<std::string>())
        ("tgt", "target file, line-aligned with --src", cxxopts::value<std::string>())
        ("nbest", "rescore this seqzoo-translate --nbest file (INDEX<TAB>SCORE<TAB>TEXT; sources from --src): "
                  "each line gets <TAB>SUM<TAB>MEAN", cxxopts::value<std::string>())
        ("per-token", "two more columns: the target's subwords (and </s>) and their log-probs")
        ("replace-invalid", "replace invalid UTF-8 by U+FFFD instead of failing")
        ("batch-tokens", "pairs x longest side per batch (>= 1)", cxxopts::value<int64_t>()->default_value("4000"))
        ("max-batch-lines", "pairs read and scored together (>= 1)", cxxopts::value<int64_t>()->default_value("1000"));
    cxxopts::ParseResult args;
    if (!parse_args(options, argc, argv, args)) return 0;
    ScoreOptions score;
    if (args.count("src")) score.src = args["src"].as<std::string>();
    if (args.count("tgt")) score.tgt = args["tgt"].as<std::string>();
    if (args.count("nbest")) score.nbest = args["nbest"].as<std::string>();
    if (!score.nbest.empty() && !score.tgt.empty()) throw UsageError("give --tgt or --nbest, not both");
    if (!score.nbest.empty() && score.src.empty()) throw UsageError("--nbest needs --src FILE");
    if (score.nbest.empty() && score.src.empty() != score.tgt.empty()) throw UsageError("--src and --tgt go together");
    score.per_token = args.count("per-token") > 0;
    score.replace_invalid = args.count("replace-invalid") > 0;
    score.batch_tokens = args["batch-tokens"].as<int64_t>();
    score.max_batch_lines = args["max-batch-lines"].as<int64_t>();
    if (score.batch_tokens < 1) throw UsageError("--batch-tokens: must be >= 1, got " + std::to_string(score.batch_tokens));
    if (score.max_batch_lines < 1)
      throw UsageError("--max-batch-lines: must be >= 1, got " + std::to_string(score.max_batch_lines));
    const LoadedModel run = load_run_from_args(args);
    score_stream(run, 0, std::cout, score);
    return 0;
  });
}
