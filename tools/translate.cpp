// seqzoo-translate: raw text on stdin -> one detokenized translation per line on stdout, in order
// (tools/app/translation.h, translate_stream).
#include <iostream>

#include "tools/app/translation.h"
#include "tools/cli/main.h"
#include "tools/cli/options.h"
#include "tools/app/runtime.h"

int main(int argc, char** argv) {
  seqzoo::tune_cpu_runtime(argc, argv);
  using namespace seqzoo;
  return run_main("seqzoo-translate", [&] {
    cxxopts::Options options("seqzoo-translate", "Translate stdin to stdout with a trained run");
    add_run_options(options, /*run_required=*/true);
    add_runtime_options(options);
    add_search_flags(options);
    options.add_options()
        ("scores", "prefix each translation with its score and a TAB")
        ("alignments", "append a TAB and the hard alignment (src-tgt subword pairs, 0-based)")
        ("plot-attention", "write an SVG attention heatmap of the first sentence to FILE", cxxopts::value<std::string>())
        ("replace-invalid", "replace invalid UTF-8 by U+FFFD instead of failing")
        ("prefix", "each line is SOURCE<TAB>TARGET PREFIX: the translation starts with that prefix")
        ("max-batch-lines", "lines translated together when input is piped (>= 1)", cxxopts::value<int64_t>()->default_value("256"));
    cxxopts::ParseResult args;
    if (!parse_args(options, argc, argv, args)) return 0;
    const LoadedModel run = load_run_from_args(args);
    TranslateOptions topts;
    topts.search = search_options_from_args(args, run.config.search);
    topts.replace_invalid = args.count("replace-invalid") > 0;
    topts.prefix = args.count("prefix") > 0;
    StreamOptions stream;
    stream.scores = args.count("scores") > 0;
    stream.alignments = args.count("alignments") > 0;
    if (args.count("plot-attention")) stream.plot_attention = args["plot-attention"].as<std::string>();
    stream.max_batch_lines = args["max-batch-lines"].as<int64_t>();
    translate_stream(run, 0, std::cout, topts, stream);
    return 0;
  });
}
