// seqzoo-compare: several systems (run directories or hypothesis files) on one test set, side by
// side -- BLEU/chrF with paired bootstrap, by source length, error analysis, a long-sentence probe,
// training curves and attention maps -- as markdown on stdout and an optional HTML report.
#include <iostream>

#include "tools/app/compare.h"
#include "tools/app/inference.h"
#include "tools/app/runtime.h"
#include "tools/cli/main.h"
#include "tools/cli/options.h"

int main(int argc, char** argv) {
  seqzoo::tune_cpu_runtime(argc, argv);
  using namespace seqzoo;
  return run_main("seqzoo-compare", [&] {
    cxxopts::Options options("seqzoo-compare", "Compare systems (run directories or hypothesis files) on one test set");
    add_runtime_options(options);
    add_search_flags(options);
    CompareOptions c;
    options.add_options()
        ("systems", "run directories or hypothesis files; the first is the baseline", cxxopts::value<std::vector<std::string>>())
        ("name", "display name of each system, in order (repeat)", cxxopts::value<std::vector<std::string>>())
        ("checkpoint", "checkpoint of each run: best | last | averaged", cxxopts::value<std::string>()->default_value("best"))
        ("test", "a split of the first run's data folder (default its data.test)", cxxopts::value<std::string>())
        ("src", "source side of the test set (with --ref)", cxxopts::value<std::string>())
        ("ref", "reference file (repeat for several references)", cxxopts::value<std::vector<std::string>>())
        ("report", "write the HTML report here", cxxopts::value<std::string>())
        ("markdown", "write the markdown summary here too", cxxopts::value<std::string>())
        ("title", "title of the report", cxxopts::value<std::string>()->default_value(c.title))
        ("samples", "bootstrap resamples", cxxopts::value<int64_t>()->default_value("1000"))
        ("bootstrap-seed", "seed of the bootstrap resampling", cxxopts::value<int64_t>()->default_value("12345"))
        ("buckets", "source-length buckets of the test set (at most)", cxxopts::value<int64_t>()->default_value("5"))
        ("min-bucket", "sentences per bucket (at least)", cxxopts::value<int64_t>()->default_value("100"))
        ("probe-max-k", "long-sentence probe: join up to k test pairs (0 = no probe)", cxxopts::value<int64_t>()->default_value("6"))
        ("probe-bin-words", "probe: source words per bin", cxxopts::value<int64_t>()->default_value("10"))
        ("probe-min-bin", "probe: inputs a bin needs to be shown", cxxopts::value<int64_t>()->default_value("20"))
        ("attention-line", "test line (1-based) for the attention maps (0 = the first of 10-16 words)", cxxopts::value<int64_t>()->default_value("0"))
        ("tokenize", "BLEU tokenizer: 13a | intl | char | none", cxxopts::value<std::string>()->default_value("13a"))
        ("lowercase", "case-insensitive BLEU and chrF");
    options.parse_positional({"systems"});
    options.positional_help("RUN_OR_HYP...");
    cxxopts::ParseResult args;
    if (!parse_args(options, argc, argv, args)) return 0;
    if (!args.count("systems")) throw UsageError("give at least one system (a run directory or a hypothesis file)");
    c.systems = args["systems"].as<std::vector<std::string>>();
    if (args.count("name")) c.names = args["name"].as<std::vector<std::string>>();
    c.checkpoint = args["checkpoint"].as<std::string>();
    if (args.count("test")) c.test = args["test"].as<std::string>();
    if (args.count("src")) c.src = args["src"].as<std::string>();
    if (args.count("ref")) c.refs = args["ref"].as<std::vector<std::string>>();
    if (args.count("report")) c.html = args["report"].as<std::string>();
    if (args.count("markdown")) c.markdown = args["markdown"].as<std::string>();
    c.title = args["title"].as<std::string>();
    c.bootstrap.samples = args["samples"].as<int64_t>();
    const int64_t seed = args["bootstrap-seed"].as<int64_t>();
    if (seed < 0 || seed > 4294967295LL) throw UsageError("--bootstrap-seed must be in [0, 4294967295], got " + std::to_string(seed));
    c.bootstrap.seed = static_cast<uint32_t>(seed);
    c.max_buckets = args["buckets"].as<int64_t>();
    c.min_bucket = args["min-bucket"].as<int64_t>();
    c.probe_max_k = args["probe-max-k"].as<int64_t>();
    c.probe_bin_words = args["probe-bin-words"].as<int64_t>();
    c.probe_min_bin = args["probe-min-bin"].as<int64_t>();
    c.attention_line = args["attention-line"].as<int64_t>();
    c.bleu.tokenize = args["tokenize"].as<std::string>();
    c.bleu.lowercase = c.chrf.lowercase = args.count("lowercase") > 0;
    const torch::Device device = runtime_from_args(args);
    c.workers = args["workers"].as<int64_t>();
    c.threads = args["threads"].as<int64_t>();
    c.precision = args["precision"].as<std::string>();
    check_precision(c.precision);
    compare_systems(c, [&](const SearchOptions& s) { return search_options_from_args(args, s); }, device, std::cout,
                    std::cerr);
    return 0;
  });
}
