// seqzoo-train: train a model from YAML configs into a run directory (tools/app/train_run.h).
#include <algorithm>
#include <csignal>
#include <iostream>

#include "models/training/distributed/launcher.h"
#include "tools/app/runtime.h"
#include "tools/app/train_run.h"
#include "tools/cli/main.h"

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) {
  g_stop = true;                  // checkpoint and stop after the current update
  std::signal(SIGINT, SIG_DFL);   // a second Ctrl-C ends the process at once
}
}  // namespace

int main(int argc, char** argv) {
  seqzoo::tune_cpu_runtime(argc, argv);
  using namespace seqzoo;
  TrainCommand cmd;
  cmd.worker_args = strip_option(argc, argv, "--nproc");  // the workers of --nproc: the same, without it
  return run_main("seqzoo-train", [&] {
    cxxopts::Options options("seqzoo-train", "Train a translation model from YAML configs into a run directory.");
    options.add_options()
        ("c,config", "YAML config file; repeat to compose (later files override earlier ones key by key)",
         cxxopts::value<std::vector<std::string>>())
        ("set", "override keys: --set section.key=value [key=value ...] (repeatable, after all configs)",
         cxxopts::value<std::vector<std::string>>())
        ("run", "run directory (overrides run_dir)", cxxopts::value<std::string>())
        ("resume", "continue from <run>/checkpoints/last.pt (config: <run>/config.yaml unless --config)")
        ("dump-config", "print the resolved config and exit")
        ("summary", "print the model's parameter count and exit")
        ("list-families", "print the model families (model.family) and example settings of their variants")
        ("prepare-only", "train the tokenizer, print corpus/batch statistics, do not train")
        ("average-checkpoints", "average the last K step checkpoints of --run into checkpoints/averaged.pt",
         cxxopts::value<int64_t>())
        ("export", "write an inference-only copy of --run to DIR (config, tokenizer, the weights of --checkpoint "
                   "without optimizer state)", cxxopts::value<std::string>())
        ("checkpoint", "with --export: best | last | averaged | a path", cxxopts::value<std::string>()->default_value("best"))
        ("export-dtype", "with --export: fp32 | bf16 | fp16 weights", cxxopts::value<std::string>()->default_value("fp32"))
        ("tune-alpha", "choose search.alpha for --run DIR by validation BLEU and save it in its config.yaml "
                       "(what train.tune_alpha does after training)")
        ("nproc", "data-parallel training with N processes on this machine (torchrun's RANK, WORLD_SIZE, ... "
                  "are also honoured)", cxxopts::value<int>()->default_value("1"))
        ("dist-timeout", "seconds a rank waits for the others in a collective before it fails",
         cxxopts::value<double>()->default_value("300"))
        ("device", "compute device: cpu | cuda | auto (default: the config's device)", cxxopts::value<std::string>())
        ("threads", "intra-op CPU threads, 0 = all cores (default: the config's threads)", cxxopts::value<int64_t>())
        ("more-overrides", "", cxxopts::value<std::vector<std::string>>());
    options.parse_positional({"more-overrides"});  // --set a=1 b=2: the values after the first
    options.positional_help("");
    cxxopts::ParseResult args;
    if (!parse_args(options, argc, argv, args)) return 0;
    if (args.count("config")) cmd.configs = args["config"].as<std::vector<std::string>>();
    // Overrides apply in command-line order (a later --set of a key wins); cxxopts has them all, but
    // not in that order. An argument that is neither an option nor a --set value is a mistake.
    cmd.overrides = multi_value_flag(argc, argv, "--set");
    const size_t parsed = (args.count("set") ? args["set"].as<std::vector<std::string>>().size() : 0) +
                          (args.count("more-overrides") ? args["more-overrides"].as<std::vector<std::string>>().size() : 0);
    if (cmd.overrides.size() != parsed || (args.count("more-overrides") && !args.count("set"))) {
      for (const auto& v : args.count("more-overrides") ? args["more-overrides"].as<std::vector<std::string>>()
                                                        : std::vector<std::string>{})
        if (std::find(cmd.overrides.begin(), cmd.overrides.end(), v) == cmd.overrides.end())
          throw UsageError("unexpected argument '" + v + "'");
      throw UsageError("unexpected arguments among the --set overrides");
    }
    if (args.count("run")) cmd.run = args["run"].as<std::string>();
    if (args.count("export")) cmd.export_dir = args["export"].as<std::string>();
    cmd.export_checkpoint = args["checkpoint"].as<std::string>();
    cmd.export_dtype = args["export-dtype"].as<std::string>();
    if (cmd.export_dir.empty() && (args.count("checkpoint") || args.count("export-dtype")))
      throw UsageError("--checkpoint and --export-dtype go with --export DIR");
    if (cmd.export_dtype != "fp32" && cmd.export_dtype != "bf16" && cmd.export_dtype != "fp16")
      throw UsageError("--export-dtype must be fp32, bf16 or fp16, got '" + cmd.export_dtype + "'");
    cmd.resume = args.count("resume") > 0;
    cmd.dump_config = args.count("dump-config") > 0;
    cmd.summary = args.count("summary") > 0;
    cmd.list_families = args.count("list-families") > 0;
    cmd.prepare_only = args.count("prepare-only") > 0;
    cmd.tune_alpha = args.count("tune-alpha") > 0;
    if (args.count("average-checkpoints")) {
      cmd.average_checkpoints = args["average-checkpoints"].as<int64_t>();
      if (cmd.average_checkpoints < 1) throw UsageError("--average-checkpoints: must be >= 1");
    }
    cmd.nproc = args["nproc"].as<int>();
    cmd.dist_timeout_s = args["dist-timeout"].as<double>();
    if (args.count("device")) cmd.device = args["device"].as<std::string>();
    if (args.count("threads")) cmd.threads = args["threads"].as<int64_t>();
    cmd.stop = &g_stop;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    return run_train_command(cmd, std::cout);
  });
}
