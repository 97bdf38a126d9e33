// seqzoo-train: train a model from a YAML config into a run directory (see models/training/run.h).
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "models/training/distributed.h"
#include "models/training/launcher.h"
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
  seqzoo::tune_cpu_runtime(argc, argv);
  // The workers of --nproc get the same arguments without --nproc (taken before parsing).
  const std::vector<std::string> worker_args = seqzoo::strip_option(argc, argv, "--nproc");
  return seqzoo::run_main("seqzoo-train", [&] {
    cxxopts::Options options("seqzoo-train", "Train a translation model from a YAML config into a run directory.");
    options.add_options()
        ("c,config", "YAML config file", cxxopts::value<std::string>())
        ("set", "override keys: --set section.key=value [key=value ...] (repeatable)", cxxopts::value<std::vector<std::string>>())
        ("run", "run directory (overrides run_dir)", cxxopts::value<std::string>())
        ("resume", "continue from <run>/checkpoints/last.pt (config: <run>/config.yaml unless --config)")
        ("dump-config", "print the resolved config and exit")
        ("summary", "print the model's parameter count and exit")
        ("prepare-only", "train the tokenizer, print corpus/batch statistics, do not train")
        ("average-checkpoints", "average the last K step checkpoints of --run into checkpoints/averaged.pt",
         cxxopts::value<int64_t>())
        ("tune-alpha", "choose search.alpha for --run DIR by validation BLEU and save it in its config.yaml "
                       "(what search.tune_alpha does after training)")
        ("nproc", "data-parallel training with N processes on this machine (torchrun's RANK, WORLD_SIZE, ... "
                  "are also honoured)", cxxopts::value<int>()->default_value("1"))
        ("dist-timeout", "seconds a rank waits for the others in a collective before it fails",
         cxxopts::value<double>()->default_value("300"))
        ("more-overrides", "", cxxopts::value<std::vector<std::string>>());
    options.parse_positional({"more-overrides"});  // --set a=1 b=2: the values after the first
    options.positional_help("");
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
    if (args.count("tune-alpha")) {
      if (run.empty()) throw seqzoo::UsageError("--tune-alpha needs --run DIR");
      const torch::Device device =
          seqzoo::setup_runtime(args.count("device") ? args["device"].as<std::string>() : "auto",
                                args.count("threads") ? args["threads"].as<int64_t>() : 0);
      seqzoo::tune_alpha(run, device, &std::cout);
      return 0;
    }
    std::vector<std::string> overrides;
    if (args.count("set")) overrides = args["set"].as<std::vector<std::string>>();
    if (args.count("more-overrides")) {
      if (overrides.empty()) throw seqzoo::UsageError("unexpected argument '" + args["more-overrides"].as<std::vector<std::string>>().front() + "'");
      for (const auto& o : args["more-overrides"].as<std::vector<std::string>>()) overrides.push_back(o);
    }
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
    const int nproc = args["nproc"].as<int>();
    if (nproc < 1) throw seqzoo::UsageError("--nproc must be >= 1");
    const double dist_timeout = args["dist-timeout"].as<double>();
    if (!(dist_timeout > 0)) throw seqzoo::UsageError("--dist-timeout must be > 0");
    const bool prepare_only = args.count("prepare-only") > 0;
    if (nproc > 1 && !prepare_only) {
      if (std::getenv("RANK") != nullptr)
        throw seqzoo::UsageError("--nproc starts its own ranks; under torchrun (RANK is set) leave it out");
      return seqzoo::spawn_local_workers(nproc, worker_args);
    }
    // One rank of a data-parallel job when started by --nproc or torchrun (WORLD_SIZE > 1).
    const seqzoo::DistributedEnv env = prepare_only ? seqzoo::DistributedEnv{} : seqzoo::DistributedEnv::from_env();
    int64_t threads = config.threads;
    if (env.distributed() && threads == 0)  // share the cores among this machine's ranks
      threads = std::max<int64_t>(1, seqzoo::hardware_threads() / env.local_world_size);
    seqzoo::TrainRunOptions opts;
    opts.resume = args.count("resume") > 0;
    opts.prepare_only = prepare_only;
    opts.device = seqzoo::setup_runtime(config.device, threads);
    if (opts.device.is_cuda() && env.distributed()) opts.device = torch::Device(torch::kCUDA, env.local_rank);
    opts.out = &std::cout;
    opts.stop = &g_stop;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    seqzoo::DistributedContext dist;
    if (env.distributed()) {
      dist.init(env, opts.device, std::chrono::milliseconds(static_cast<int64_t>(dist_timeout * 1000)));
      opts.dist = &dist;
      if (!dist.is_main()) opts.out = nullptr;  // rank 0 reports for all
    }
    return seqzoo::train_main(config, opts);
  });
}
