// seqzoo-evaluate: translate a test set with a trained run and score it (sacreBLEU-exact BLEU with
// its signature, chrF, perplexity, speed) -- or score an existing hypothesis file (--hyp).
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "data/corpus.h"
#include "tools/common/cli.h"
#include "tools/common/evaluation.h"
#include "tools/common/run_options.h"

int main(int argc, char** argv) {
  seqzoo::tune_cpu_runtime(argc, argv);
  using namespace seqzoo;
  return run_main("seqzoo-evaluate", [&] {
    cxxopts::Options options("seqzoo-evaluate", "Translate a test set and score it, or score --hyp FILE");
    add_search_options(options, /*run_required=*/false);
    options.add_options()
        ("src", "source side of the test set (needs --run)", cxxopts::value<std::string>())
        ("ref", "reference file (repeat for several references)", cxxopts::value<std::vector<std::string>>())
        ("hyp", "score this hypothesis file instead of translating", cxxopts::value<std::string>())
        ("output", "where to write the hypotheses (default: RUN/eval/<src name>.hyp)", cxxopts::value<std::string>())
        ("tokenize", "BLEU tokenizer: 13a | intl | char | none", cxxopts::value<std::string>()->default_value("13a"))
        ("lowercase", "case-insensitive BLEU and chrF");
    cxxopts::ParseResult args;
    if (!parse_args(options, argc, argv, args)) return 0;
    if (!args.count("ref")) throw UsageError("--ref FILE is required");
    const auto ref_paths = args["ref"].as<std::vector<std::string>>();
    BleuOptions bleu_options;
    bleu_options.tokenize = args["tokenize"].as<std::string>();
    bleu_options.lowercase = args.count("lowercase") > 0;
    ChrfOptions chrf_options;
    chrf_options.lowercase = bleu_options.lowercase;

    std::vector<std::string> hyps;
    std::vector<std::vector<std::string>> refs;
    if (args.count("hyp")) {
      if (args.count("src")) throw UsageError("give either --hyp (score a file) or --src (translate), not both");
      hyps = read_lines(args["hyp"].as<std::string>());
      refs = read_references(ref_paths, hyps.size(), "hypotheses " + args["hyp"].as<std::string>());
    } else {
      if (!args.count("src")) throw UsageError("--src FILE (with --run) or --hyp FILE is required");
      const std::string src_path = args["src"].as<std::string>();
      LoadedModel run = load_run_from_args(args);
      const auto srcs = read_lines(src_path);
      refs = read_references(ref_paths, srcs.size(), "source " + src_path);
      TranslateOptions topts = translate_options_from_args(args, run.config);
      topts.input_name = src_path;
      const auto t0 = std::chrono::steady_clock::now();
      const auto results = translate_lines(*run.model, run.tok, srcs, topts, run.device);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      int64_t tgt_tokens = 0;
      for (const auto& r : results) {
        hyps.push_back(r.nbest.empty() ? std::string() : r.nbest.front().text);
        tgt_tokens += static_cast<int64_t>(r.tgt_pieces.size());
      }
      std::string out = args.count("output") ? args["output"].as<std::string>()
                                             : (std::filesystem::path(args["run"].as<std::string>()) / "eval" /
                                                (std::filesystem::path(src_path).filename().string() + ".hyp")).string();
      if (std::filesystem::path(out).has_parent_path()) std::filesystem::create_directories(std::filesystem::path(out).parent_path());
      write_lines(out, hyps);
      const Perplexity ppl = corpus_perplexity(*run.model, run.tok, srcs, refs.front(), topts.batch_tokens, run.device);
      std::cout << std::fixed << std::setprecision(2) << "translated " << srcs.size() << " sentences in " << seconds
                << " s: " << srcs.size() / seconds << " sentences/s, " << tgt_tokens / seconds
                << " target tokens/s (beam " << topts.search.beam_size << ", " << run.device << ")\n"
                << "hypotheses: " << out << "\n"
                << "test perplexity: " << ppl.ppl << " (" << ppl.tokens << " target tokens)\n";
    }
    const BleuScore bleu = corpus_bleu(hyps, refs, bleu_options);
    const ChrfScore chrf = corpus_chrf(hyps, refs, chrf_options);
    std::cout << bleu.format() << "\n" << "signature: " << bleu.signature << "\n"
              << chrf.format() << "\n" << "signature: " << chrf.signature << std::endl;
    return 0;
  });
}
