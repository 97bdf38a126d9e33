// seqzoo-train: train a model from a YAML config into a run directory (see models/training/run.h).
#include <csignal>
#include <iostream>

#include "models/training/run.h"
#include "tools/common/cli.h"

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) {
  g_stop = true;                  // checkpoint and stop after the current update
  std::signal(SIGINT, SIG_DFL);   // a second Ctrl-C ends the process at once
}
}  // namespace

int main(int argc, char** argv) {
  return seqzoo::run_main("seqzoo-train", [&] {
    cxxopts::Options options("seqzoo-train", "Train a translation model from a YAML config into a run directory.");
    options.add_options()
        ("c,config", "YAML config file", cxxopts::value<std::string>())
        ("set", "override a key: section.key=value (repeatable)", cxxopts::value<std::vector<std::string>>())
        ("run", "run directory (overrides run_dir)", cxxopts::value<std::string>())
        ("resume", "continue from <run>/checkpoints/last.pt (config: <run>/config.yaml unless --config)")
        ("dump-config", "print the resolved config and exit")
        ("summary", "print the model's parameter count and exit")
        ("prepare-only", "train the tokenizer, print corpus/batch statistics, do not train")
        ("average-checkpoints", "average the last K step checkpoints of --run into checkpoints/averaged.pt",
         cxxopts::value<int64_t>());
    seqzoo::add_runtime_options(options);
    cxxopts::ParseResult args;
    if (!seqzoo::parse_args(options, argc, argv, args)) return 0;

    const std::string run = args.count("run") ? args["run"].as<std::string>() : "";
    if (args.count("average-checkpoints")) {
      if (run.empty()) throw seqzoo::UsageError("--average-checkpoints needs --run DIR");
      const std::string out = seqzoo::average_run_checkpoints(run, args["average-checkpoints"].as<int64_t>());
      std::cout << "wrote " << out << "\n";
      return 0;
    }
    std::vector<std::string> overrides;
    if (args.count("set")) overrides = args["set"].as<std::vector<std::string>>();
    std::string config_path;
    if (args.count("config"))
      config_path = args["config"].as<std::string>();
    else if (args.count("resume") && !run.empty())
      config_path = run + "/config.yaml";
    else
      throw seqzoo::UsageError("--config FILE is required (or --resume --run DIR)");
    seqzoo::Config config = seqzoo::load_config(config_path, overrides);
    if (!run.empty()) config.run_dir = run;
    if (args.count("device")) config.device = args["device"].as<std::string>();
    if (args.count("threads")) config.threads = args["threads"].as<int64_t>();
    seqzoo::validate_config(config);
    if (args.count("dump-config") || args.count("summary")) {
      if (args.count("dump-config")) std::cout << seqzoo::dump_config(config);
      if (args.count("summary")) std::cout << seqzoo::model_summary(config);
      return 0;
    }
    seqzoo::TrainRunOptions opts;
    opts.resume = args.count("resume") > 0;
    opts.prepare_only = args.count("prepare-only") > 0;
    opts.device = seqzoo::setup_runtime(config.device, config.threads);
    opts.out = &std::cout;
    opts.stop = &g_stop;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    return seqzoo::train_main(config, opts);
  });
}
