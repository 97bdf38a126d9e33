#include "models/training/run.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "data/batcher.h"
#include "data/corpus.h"
#include "models/core/registry.h"
#include "models/training/checkpoint.h"
#include "models/training/distributed.h"
#include "models/training/distributed_source.h"
#include "models/training/report.h"
#include "models/training/sources.h"
#include "models/training/trainer.h"

namespace seqzoo {
namespace fs = std::filesystem;

namespace {

void say(std::ostream* out, const std::string& line) {
  if (out) *out << line << std::endl;
}

bool has_tokenizers(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "spm.model", ec) || (fs::exists(dir / "spm.src.model", ec) && fs::exists(dir / "spm.tgt.model", ec));
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << '\n';
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

double seconds_since(const std::chrono::steady_clock::time_point& t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
  const fs::path run(config.run_dir);
  const std::string last = (run / "checkpoints" / "last.pt").string();
  std::error_code ec;
  if (options.resume && !fs::exists(last, ec))
    throw std::runtime_error("cannot resume: no checkpoint " + last);
  if (!options.resume && !options.prepare_only && fs::exists(last, ec))
    throw std::invalid_argument("run directory " + run.string() +
                                " already holds a trained run (checkpoints/last.pt): continue it with --resume, "
                                "or choose another --run");
  // Data parallel: rank 0 writes the run directory and trains the tokenizer; the others load it.
  const bool main_rank = options.dist == nullptr || options.dist->is_main();
  if (main_rank) {
    fs::create_directories(run, ec);
    if (ec) throw std::runtime_error("cannot create run directory " + run.string() + ": " + ec.message());
    write_text_file((run / "config.yaml").string(), dump_config(config));
  }

  // Data and tokenizer(s).
  RawCorpus train_raw = read_split(config.data, config.data.train);
  if (config.data.max_train_pairs > 0 && static_cast<int64_t>(train_raw.size()) > config.data.max_train_pairs) {
    train_raw.src.resize(static_cast<size_t>(config.data.max_train_pairs));
    train_raw.tgt.resize(static_cast<size_t>(config.data.max_train_pairs));
  }
  if (train_raw.tgt.size() != train_raw.src.size())
    throw std::invalid_argument("training data " + train_raw.src_path + ": no target side");
  Tokenizers tok;
  if (!main_rank) {
    options.dist->wait_for_all("tokenizer", options.prepare_timeout);
    tok = load_tokenizers(run.string());
  } else if (options.resume && has_tokenizers(run)) {
    tok = load_tokenizers(run.string());
    say(options.out, "tokenizer: reusing the run's SentencePiece model(s) in " + run.string());
  } else {
    // SentencePiece trains on plain files: the training sides as read (after max_train_pairs).
    const std::string src_file = (run / "spm-train.src.txt").string(), tgt_file = (run / "spm-train.tgt.txt").string();
    write_lines(src_file, train_raw.src);
    write_lines(tgt_file, train_raw.tgt);
    tok = train_tokenizers(run.string(), src_file, tgt_file, config.tokenizer);
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
  }
  if (options.prepare_only) {
    BatchPlan plan = plan_batches(train, config.data.batch_tokens, config.data.max_sentences, true, config.train.seed + 1);
    say(options.out, corpus_statistics(train, plan));
    return 0;
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
  if (valid.size() > 0) valid_set = make_validation_set(valid, valid_raw, tok, config);
  TrainerOptions topt;
  topt.run_dir = run.string();
  topt.device = options.device;
  topt.resume = options.resume;
  topt.out = options.out;
  topt.stop = options.stop;
  topt.dist = options.dist;
  topt.title = "seqzoo " + config.model.family + " (" + run.filename().string() + ")";
  Trainer trainer(config.train, model, shard ? static_cast<BatchSource&>(*shard) : source,
                  valid.size() > 0 ? &valid_set : nullptr, topt);
  TrainResult result = trainer.train();
  say(options.out, "checkpoints: " + (run / "checkpoints").string() + " (best.pt, last.pt); metrics: " +
                       (run / "metrics.tsv").string() + "; curves: " + (run / "curves.svg").string());
  if (result.stop_reason == "interrupted") {
    say(options.out, "interrupted at step " + std::to_string(result.steps) + "; continue with --resume --run " +
                         run.string());
    return 130;
  }
  if (main_rank && config.search.tune_alpha && valid.size() > 0) tune_alpha(run.string(), options.device, options.out);
  return 0;
}

double tune_alpha(const std::string& run_dir, const torch::Device& device, std::ostream* out) {
  const auto t0 = std::chrono::steady_clock::now();
  LoadedModel lm = load_run(run_dir, "best", device);
  Config config = lm.config;
  const std::string config_path = (fs::path(run_dir) / "config.yaml").string();
  if (config.data.valid.empty())
    throw std::invalid_argument(config_path + ": data.valid is empty; tuning alpha needs a validation set");
  RawCorpus raw = read_split(config.data, config.data.valid);
  TokenizedCorpus valid = tokenize_corpus(raw, lm.tok, config.data, /*filter=*/false);
  Config scoring = config;
  scoring.train.valid_bleu = true;
  ValidationSet set = make_validation_set(valid, raw, lm.tok, scoring);
  if (!set.bleu_with) throw std::invalid_argument("validation set " + raw.src_path + " has no sentences");
  SearchOptions options = SearchOptions::from(config.search);
  double best_alpha = alpha_grid().front(), best_bleu = -1;
  std::ostringstream scores;
  for (double alpha : alpha_grid()) {
    options.alpha = alpha;
    const double bleu = set.bleu_with(*lm.model, device, options);
    scores << (alpha == alpha_grid().front() ? "" : ", ") << fixed(alpha, 1) << " -> " << fixed(bleu, 2);
    if (bleu > best_bleu) best_bleu = bleu, best_alpha = alpha;
  }
  config.search.alpha = best_alpha;
  write_text_file(config_path, dump_config(config));
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(valid.size()),
                                      config.train.valid_max_sentences > 0 ? config.train.valid_max_sentences
                                                                           : static_cast<int64_t>(valid.size()));
  const std::string line = "search.alpha: validation BLEU (best.pt, beam " + std::to_string(config.search.beam_size) +
                           ", " + std::to_string(n) + " sentences) " + scores.str() + "; alpha " +
                           fixed(best_alpha, 1) + " written to " + config_path + " (" +
                           fixed(seconds_since(t0), 0) + "s)";
  say(out, line);
  std::ofstream log((fs::path(run_dir) / "train.log").string(), std::ios::app);
  if (log) log << line << '\n';
  return best_alpha;
}

LoadedModel load_run(const std::string& run_dir, const std::string& checkpoint, const torch::Device& device) {
  const fs::path run(run_dir);
  std::error_code ec;
  if (!fs::is_directory(run, ec)) throw std::runtime_error("run directory " + run_dir + " not found");
  const std::string config_path = (run / "config.yaml").string();
  if (!fs::exists(config_path, ec))
    throw std::runtime_error("run directory " + run_dir + " has no config.yaml (not a seqzoo-train run?)");
  LoadedModel loaded;
  loaded.config = load_config(config_path);
  loaded.tok = load_tokenizers(run_dir);
  loaded.model = build_model(loaded.config.model, loaded.tok.src->vocab_size(), loaded.tok.tgt->vocab_size());
  const std::string path = resolve_checkpoint(run_dir, checkpoint);
  if (!fs::exists(path, ec)) {
    std::string have;
    for (const auto& e : fs::directory_iterator(run / "checkpoints", ec))
      if (e.path().extension() == ".pt") have += (have.empty() ? "" : ", ") + e.path().filename().string();
    throw std::runtime_error("checkpoint " + path + " not found" + (have.empty() ? "" : " (the run has: " + have + ")"));
  }
  load_checkpoint(path, *loaded.model, nullptr, nullptr, torch::kCPU, loaded.model->family());
  loaded.model->to(device);
  loaded.model->eval();
  loaded.device = device;
  return loaded;
}

}  // namespace seqzoo
