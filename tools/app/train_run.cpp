#include "tools/app/train_run.h"

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "data/batcher.h"
#include "data/corpus.h"
#include "models/registry.h"
#include "models/training/distributed/distributed.h"
#include "models/training/distributed/distributed_source.h"
#include "models/training/distributed/launcher.h"
#include "data/common/files.h"
#include "data/common/text.h"
#include "models/training/sources.h"
#include "models/training/trainer.h"
#include "tools/app/run_directory.h"
#include "tools/app/run_identity.h"
#include "tools/app/run_reporter.h"
#include "tools/app/runtime.h"
#include "tools/app/export_run.h"
#include "tools/app/tune_alpha.h"

namespace seqzoo {
namespace fs = std::filesystem;

namespace {

constexpr int kMaxProcesses = 256;               // --nproc
constexpr double kMaxDistTimeoutS = 7 * 24 * 3600;  // --dist-timeout: a week

void say(std::ostream* out, const std::string& line) {
  if (out) *out << line << std::endl;
}

std::string count_str(int64_t n) {
  char buf[32];
  if (n >= 1000000)
    std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 10000)
    std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

std::string parameter_lines(const Seq2SeqModelImpl& model) {
  std::ostringstream o;
  const int64_t total = count_parameters(model);
  o << "model: " << model.family() << ", " << total << " parameters (" << count_str(total) << ")\n";
  for (const auto& child : model.named_children())
    o << "  " << child.key() << ": " << count_parameters(*child.value()) << "\n";
  return o.str();
}

}  // namespace

std::string model_summary(const Config& config) {
  const int64_t v = config.tokenizer.vocab_size;
  ModelPtr model = build_model(config.model, v, v);
  return parameter_lines(*model) + "  (vocabulary " + std::to_string(v) + " per side, from tokenizer.vocab_size)\n";
}

int train_main(const Config& config, const TrainRunOptions& options) {
  validate_config(config);
  const RunDirectory run(config.run_dir);
  const std::string last = run.checkpoint("last");
  if (options.resume && !run.has_checkpoint("last")) throw std::runtime_error("cannot resume: no checkpoint " + last);
  if (!options.resume && !options.prepare_only && run.has_checkpoint("last"))
    throw std::invalid_argument("run directory " + run.root() + " already holds a trained run (" + last +
                                "): continue it with --resume, or choose another --run");
  // Data parallel: rank 0 writes the run directory and trains the tokenizer; the others load it.
  const bool main_rank = options.dist == nullptr || options.dist->is_main();
  std::optional<RunLock> lock;  // held for the whole run: a second writer fails at once
  if (main_rank) {
    lock.emplace(run.lock());
    const std::string stale = run.remove_stale_temporaries();  // what a kill during a write left
    if (!stale.empty()) say(options.out, "removed stale temporary files of an interrupted write: " + stale);
    write_text_file(run.config(), dump_config(config));
  }

  // Data and tokenizer(s).
  RawCorpus train_raw = read_split(config.data, config.data.train);
  if (config.data.max_train_pairs > 0 && static_cast<int64_t>(train_raw.size()) > config.data.max_train_pairs) {
    train_raw.src.resize(static_cast<size_t>(config.data.max_train_pairs));
    train_raw.tgt.resize(static_cast<size_t>(config.data.max_train_pairs));
  }
  if (train_raw.size() == 0)
    throw std::invalid_argument("training data " + train_raw.src_path + ": the file is empty (no sentence pairs)");
  if (train_raw.tgt.size() != train_raw.src.size())
    throw std::invalid_argument("training data " + train_raw.src_path + ": no target side");
  Tokenizers tok;
  if (!main_rank) {
    options.dist->wait_for_all("tokenizer", options.prepare_timeout);
    tok = load_tokenizers(run.tokenizers());
  } else if (options.resume && run.has_tokenizers()) {
    tok = load_tokenizers(run.tokenizers());
    say(options.out, "tokenizer: reusing the run's SentencePiece model(s) in " + run.root());
  } else {
    // SentencePiece trains on plain files: the training sides as read (after max_train_pairs).
    const std::string src_file = run.tokenizer_input(true), tgt_file = run.tokenizer_input(false);
    write_lines(src_file, train_raw.src);
    write_lines(tgt_file, train_raw.tgt);
    tok = train_tokenizers(run.tokenizers(), src_file, tgt_file, config.tokenizer);
    std::error_code ec;
    fs::remove(src_file, ec);
    fs::remove(tgt_file, ec);
    say(options.out, "tokenizer: trained " + config.tokenizer.type + (tok.joint() ? " (joint), " : " (per side), ") +
                         "vocabulary " + std::to_string(tok.src->vocab_size()) +
                         (tok.joint() ? "" : " / " + std::to_string(tok.tgt->vocab_size())));
  }
  if (main_rank && options.dist) options.dist->wait_for_all("tokenizer", options.prepare_timeout);
  TokenizedCorpus train = tokenize_corpus(train_raw, tok, config.data, /*filter=*/true);
  say(options.out, "train: " + std::to_string(train.size()) + " pairs from " + train_raw.src_path + " (dropped " +
                       std::to_string(train.skipped_empty) + " empty, " + std::to_string(train.skipped_length) +
                       " by length)");
  if (train.size() == 0) throw std::invalid_argument("training data " + train_raw.src_path + ": no pairs left after filtering");
  RawCorpus valid_raw;
  TokenizedCorpus valid;
  if (!config.data.valid.empty()) {
    valid_raw = read_split(config.data, config.data.valid);
    valid = tokenize_corpus(valid_raw, tok, config.data, /*filter=*/false);
    say(options.out, "valid: " + std::to_string(valid.size()) + " pairs from " + valid_raw.src_path);
    if (valid.size() == 0)
      throw std::invalid_argument("validation data " + valid_raw.src_path +
                                  ": no sentence pairs; give a validation set, or set data.valid to \"\" to train "
                                  "without validation");
  } else {
    say(options.out, "valid: none (data.valid is empty): no validation, best.pt follows last.pt");
  }
  if (options.prepare_only) {
    BatchPlan plan = plan_batches(train, config.data.batch_tokens, config.data.max_sentences, true, config.train.seed + 1);
    say(options.out, corpus_statistics(train, plan));
    return 0;
  }

  if (options.resume) {  // last.pt must be intact and agree with the config it resumes under
    CheckpointInfo info;
    try {
      read_checkpoint_model(last, &info);
    } catch (const std::runtime_error& e) {
      std::string intact;
      const auto steps = run.step_checkpoints();
      for (auto it = steps.rbegin(); it != steps.rend() && intact.empty(); ++it) try {
          read_checkpoint_model(*it);
          intact = *it;
        } catch (const std::runtime_error&) {
        }
      throw std::runtime_error(std::string(e.what()) +
                               (intact.empty() ? "; no intact step-N.pt to resume from"
                                               : "; the newest intact checkpoint is " + intact + ": cp " + intact +
                                                     " " + last + ", then --resume again"));
    }
    check_run_identity(info, config, run);
  }
  // Model (seeded), data sources, trainer.
  torch::manual_seed(static_cast<uint64_t>(config.train.seed));
  ModelPtr model = build_model(config.model, tok.src->vocab_size(), tok.tgt->vocab_size());
  std::string summary = parameter_lines(*model);
  if (!summary.empty() && summary.back() == '\n') summary.pop_back();
  say(options.out, summary);
  say(options.out, "device: " + options.device.str() + ", precision " + config.train.precision);
  CorpusBatchSource source(train, config.data.batch_tokens, config.data.max_sentences,
                           static_cast<uint64_t>(config.train.seed));
  std::unique_ptr<ShardedBatchSource> shard;  // data parallel: this rank's share of each epoch
  if (options.dist) {
    const int rank = options.dist->rank(), world = options.dist->world_size();
    shard = std::make_unique<ShardedBatchSource>(source, rank, world);
    // Different dropout masks per rank (the weights come from rank 0 when training starts).
    if (rank > 0) torch::manual_seed(static_cast<uint64_t>(config.train.seed) + static_cast<uint64_t>(rank));
    say(options.out, "data parallel: " + std::to_string(world) + " ranks (" + options.dist->backend() +
                         "), each training on 1/" + std::to_string(world) + " of every epoch's batches");
  }
  ValidationSet valid_set;
  if (valid.size() > 0) valid_set = make_validation_set(valid, valid_raw, tok, config.train, config.data, config.search);
  std::unique_ptr<RunReporter> reporter;  // data parallel: rank 0 alone writes the run directory
  if (main_rank)
    reporter = std::make_unique<RunReporter>(run, config.train.keep_last,
                                             "seqzoo " + config.model.family + " (" +
                                                 fs::path(run.root()).filename().string() + ")",
                                             options.resume);
  TrainerOptions topt;
  topt.device = options.device;
  topt.resume_from = options.resume ? last : "";
  topt.out = options.out;
  topt.reporter = reporter.get();
  topt.stop = options.stop;
  topt.dist = options.dist;
  if (main_rank) topt.checkpoint_meta = run_identity(config, run);
  Trainer trainer(config.train, model, shard ? static_cast<BatchSource&>(*shard) : source,
                  valid.size() > 0 ? &valid_set : nullptr, topt);
  TrainResult result = trainer.train();
  say(options.out, "checkpoints: " + run.checkpoint_dir() + " (best.pt, last.pt); metrics: " + run.metrics() +
                       "; curves: " + run.curves());
  if (result.stop_reason == "interrupted") {
    say(options.out, "interrupted at step " + std::to_string(result.steps) + "; continue with --resume --run " +
                         run.root());
    return 130;
  }
  if (main_rank && config.train.tune_alpha && valid.size() > 0) tune_alpha(run.root(), options.device, options.out);
  return 0;
}

int run_train_command(const TrainCommand& cmd, std::ostream& out) {
  if (cmd.list_families) {  // what model.family accepts, with settings that make each variant
    for (const auto& family : known_families()) {
      out << family << "\n";
      for (const auto& variant : family_variants(family)) {
        std::string line;
        for (const auto& s : variant) line += (line.empty() ? "  --set model." : " --set model.") + s;
        out << line << "\n";
      }
    }
    return 0;
  }
  if (!cmd.export_dir.empty()) {
    if (cmd.run.empty()) throw std::invalid_argument("--export needs --run DIR (the run to export)");
    const ExportResult r = export_run(cmd.run, cmd.export_checkpoint, cmd.export_dir, cmd.export_dtype);
    out << "exported " << r.checkpoint << " (" << cmd.export_dtype << " weights, " << r.bytes << " bytes; the training "
        << "checkpoint has " << r.source_bytes << ")\n";
    return 0;
  }
  if (cmd.average_checkpoints > 0 || cmd.tune_alpha) {
    if (cmd.run.empty())
      throw std::invalid_argument(std::string(cmd.tune_alpha ? "--tune-alpha" : "--average-checkpoints") +
                                  " needs --run DIR");
    const RunLock lock = RunDirectory(cmd.run).lock();
    if (cmd.average_checkpoints > 0) {
      out << "wrote " << RunDirectory(cmd.run).average_checkpoints(cmd.average_checkpoints) << "\n";
      return 0;
    }
    tune_alpha(cmd.run, setup_runtime(cmd.device.value_or("auto"), cmd.threads.value_or(0)), &out);
    return 0;
  }
  std::vector<std::string> configs = cmd.configs;
  if (configs.empty()) {
    if (!cmd.resume || cmd.run.empty()) throw std::invalid_argument("--config FILE is required (or --resume --run DIR)");
    configs.push_back(RunDirectory(cmd.run).config());
  }
  std::vector<std::string> overrides = cmd.overrides;
  if (!cmd.run.empty()) overrides.push_back("run_dir=" + cmd.run);
  if (cmd.device) overrides.push_back("device=" + *cmd.device);
  if (cmd.threads) overrides.push_back("threads=" + std::to_string(*cmd.threads));
  const Config config = load_config(configs, overrides);
  if (cmd.dump_config || cmd.summary) {
    if (cmd.dump_config) out << dump_config(config);
    if (cmd.summary) out << model_summary(config);
    return 0;
  }
  if (cmd.nproc < 1 || cmd.nproc > kMaxProcesses)
    throw std::invalid_argument("--nproc must be in [1, " + std::to_string(kMaxProcesses) + "], got " +
                                std::to_string(cmd.nproc));
  if (!(cmd.dist_timeout_s > 0 && cmd.dist_timeout_s <= kMaxDistTimeoutS))
    throw std::invalid_argument("--dist-timeout must be in (0, " + format_number(kMaxDistTimeoutS, 6) + "] seconds, got " +
                                format_number(cmd.dist_timeout_s, 6));
  if (cmd.nproc > 1 && !cmd.prepare_only) {
    if (std::getenv("RANK") != nullptr)
      throw std::invalid_argument("--nproc starts its own ranks; under torchrun (RANK is set) leave it out");
    return spawn_local_workers(cmd.nproc, cmd.worker_args);
  }
  // One rank of a data-parallel job when started by --nproc or torchrun (WORLD_SIZE > 1).
  const DistributedEnv env = cmd.prepare_only ? DistributedEnv{} : DistributedEnv::from_env();
  int64_t threads = config.threads;
  if (env.distributed() && threads == 0)  // share the cores among this machine's ranks
    threads = std::max<int64_t>(1, hardware_threads() / env.local_world_size);
  TrainRunOptions opts;
  opts.resume = cmd.resume;
  opts.prepare_only = cmd.prepare_only;
  opts.device = setup_runtime(config.device, threads);
  if (opts.device.is_cuda() && env.distributed()) opts.device = torch::Device(torch::kCUDA, env.local_rank);
  opts.out = &out;
  opts.stop = cmd.stop;
  DistributedContext dist;
  if (env.distributed()) {
    dist.init(env, opts.device, std::chrono::milliseconds(static_cast<int64_t>(cmd.dist_timeout_s * 1000)));
    opts.dist = &dist;
    if (!dist.is_main()) opts.out = nullptr;  // rank 0 reports for all
  }
  return train_main(config, opts);
}

}  // namespace seqzoo
