// seqzoo-translate: raw text on stdin -> one detokenized translation per line on stdout, in order,
// streaming (each line is answered as soon as it is read when input is interactive; batched when piped).
#include <iostream>

#include "models/training/run.h"
#include "tools/common/cli.h"
#include "tools/common/line_reader.h"
#include "tools/common/run_options.h"
#include "tools/common/translation.h"

int main(int argc, char** argv) {
  seqzoo::tune_cpu_runtime(argc, argv);
  using namespace seqzoo;
  return run_main("seqzoo-translate", [&] {
    cxxopts::Options options("seqzoo-translate", "Translate stdin to stdout with a trained run");
    add_search_options(options);
    options.add_options()
        ("scores", "prefix each translation with its score and a TAB")
        ("alignments", "append a TAB and the hard alignment (src-tgt subword pairs, 0-based)")
        ("plot-attention", "write an SVG attention heatmap of the first sentence to FILE", cxxopts::value<std::string>())
        ("replace-invalid", "replace invalid UTF-8 by U+FFFD instead of failing")
        ("max-batch-lines", "lines translated together when input is piped", cxxopts::value<size_t>()->default_value("256"));
    cxxopts::ParseResult args;
    if (!parse_args(options, argc, argv, args)) return 0;
    LoadedModel run = load_run_from_args(args);
    TranslateOptions topts = translate_options_from_args(args, run.config);
    topts.replace_invalid = args.count("replace-invalid") > 0;
    topts.search.keep_attention = args.count("alignments") || args.count("plot-attention");
    const bool nbest = topts.search.nbest > 1, scores = args.count("scores") > 0;

    LineReader reader(0);
    bool plotted = !args.count("plot-attention");
    for (;;) {
      const int64_t first = reader.lines_read() + 1;
      auto lines = reader.next_batch(args["max-batch-lines"].as<size_t>());
      if (lines.empty()) break;
      auto results = translate_lines(*run.model, run.tok, lines, topts, run.device, first);
      for (size_t i = 0; i < results.size(); ++i) {
        const Translation& t = results[i];
        if (!plotted && !t.nbest.empty()) {
          write_attention_svg(args["plot-attention"].as<std::string>(), t.src_pieces, t.tgt_pieces, t.attention);
          plotted = true;
        }
        const size_t shown = nbest ? std::max<size_t>(t.nbest.size(), 1) : 1;
        for (size_t k = 0; k < shown; ++k) {
          const TranslationHyp hyp = k < t.nbest.size() ? t.nbest[k] : TranslationHyp{};
          if (nbest) std::cout << first + static_cast<int64_t>(i) - 1 << '\t';
          if (nbest || scores) std::cout << hyp.score << '\t';
          std::cout << hyp.text;
          if (args.count("alignments")) std::cout << '\t' << (k == 0 ? format_alignment(t.alignment) : "");
          std::cout << '\n';
        }
      }
      std::cout.flush();
    }
    return 0;
  });
}
