#include "tools/app/inference.h"

#include <algorithm>
#include <functional>
#include <iostream>
#include <stdexcept>

#include "models/checkpoint/checkpoint.h"
#include "models/ensemble/ensemble.h"
#include "models/registry.h"
#include "models/layers/linear.h"
#include "models/training/precision.h"
#include "tools/app/run_directory.h"
#include "tools/app/run_identity.h"
#include "tools/app/runtime.h"

namespace seqzoo {

LoadedModel load_run(const std::string& run_dir, const std::string& checkpoint, const torch::Device& device) {
  const RunDirectory run(run_dir);
  if (!run.exists()) throw std::runtime_error("run directory " + run_dir + " not found");
  if (!run.has_config())
    throw std::runtime_error("run directory " + run_dir + " has no config.yaml (not a seqzoo-train run?)");
  LoadedModel loaded;
  loaded.config = load_run_settings(run.config());
  loaded.tok = load_tokenizers(run.tokenizers());
  loaded.model = build_model(loaded.config.model, loaded.tok.src->vocab_size(), loaded.tok.tgt->vocab_size());
  const std::string path = run.checkpoint(checkpoint);
  if (!run.has_checkpoint(checkpoint)) {
    const std::string have = run.list_checkpoints();
    throw std::runtime_error("checkpoint " + path + " not found" + (have.empty() ? "" : " (the run has: " + have + ")"));
  }
  const CheckpointInfo info = load_checkpoint(path, *loaded.model, torch::kCPU, loaded.model->family());
  check_run_identity(info, loaded.config, run);
  loaded.model->to(device);
  loaded.model->eval();
  loaded.device = device;
  return loaded;
}

namespace {

// The first id whose piece differs, or -1 when both vocabularies are the same piece for piece.
int64_t first_difference(const Tokenizer& a, const Tokenizer& b) {
  const int64_t n = std::min(a.vocab_size(), b.vocab_size());
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  const auto pa = a.id_to_pieces(ids), pb = b.id_to_pieces(ids);
  for (int64_t i = 0; i < n; ++i)
    if (pa[i] != pb[i]) return i;
  return a.vocab_size() == b.vocab_size() ? -1 : n;
}

void check_same_vocabulary(const Tokenizer& first, const Tokenizer& other, const std::string& side,
                           const std::string& first_run, const std::string& run) {
  const int64_t id = first_difference(first, other);
  if (id < 0) return;
  std::string what = first.vocab_size() != other.vocab_size()
                         ? std::to_string(other.vocab_size()) + " pieces against " + std::to_string(first.vocab_size())
                         : "piece " + std::to_string(id) + " is '" + other.id_to_pieces({id})[0] + "' there and '" +
                               first.id_to_pieces({id})[0] + "' in " + first_run;
  throw std::invalid_argument("cannot ensemble " + run + " with " + first_run + ": its " + side +
                              " vocabulary differs (" + what + "); an ensemble needs the same vocabularies");
}

}  // namespace

LoadedModel load_ensemble(const std::vector<std::string>& run_dirs, const std::vector<double>& weights,
                          const std::string& checkpoint, const torch::Device& device) {
  if (run_dirs.empty()) throw std::invalid_argument("no run to load");
  if (!weights.empty() && weights.size() != run_dirs.size())
    throw std::invalid_argument("--weights: " + std::to_string(weights.size()) + " weights for " +
                                std::to_string(run_dirs.size()) + " runs");
  LoadedModel first = load_run(run_dirs[0], checkpoint, device);
  if (run_dirs.size() == 1) return first;
  std::vector<ModelPtr> members{first.model};
  for (size_t i = 1; i < run_dirs.size(); ++i) {
    LoadedModel other = load_run(run_dirs[i], checkpoint, device);
    const auto& a = first.config.data;
    const auto& b = other.config.data;
    if (a.src_lang != b.src_lang || a.tgt_lang != b.tgt_lang)
      throw std::invalid_argument("cannot ensemble " + run_dirs[i] + " (" + b.src_lang + "->" + b.tgt_lang + ") with " +
                                  run_dirs[0] + " (" + a.src_lang + "->" + a.tgt_lang + "): they translate in other directions");
    check_same_vocabulary(*first.tok.src, *other.tok.src, "source", run_dirs[0], run_dirs[i]);
    check_same_vocabulary(*first.tok.tgt, *other.tok.tgt, "target", run_dirs[0], run_dirs[i]);
    members.push_back(other.model);
  }
  first.model = std::make_shared<EnsembleModelImpl>(members, weights);
  first.model->eval();
  return first;
}

SearchWorkers LoadedModel::workers() const {
  SearchWorkers w;
  w.replicas.push_back(model.get());
  for (const auto& r : replicas) w.replicas.push_back(r.get());
  w.threads_each = threads_each;
  // bf16: an autocast scope per worker thread, unless the weights are packed in bf16 (the CPU with
  // oneDNN): those products are bf16 already, and autocast's casts of the remaining small products
  // (attention scores, RNN gates) cost more than they save. int8 needs none: the packed weights decide.
  const bool packed_bf16 = precision == "bf16" && packed_linear_available(torch::kBFloat16, device);
  if (auto dtype = precision == "bf16" && !packed_bf16 ? autocast_dtype(precision, device) : c10::nullopt) {
    const auto type = device.type();
    const auto scalar = *dtype;
    w.scope = [type, scalar](const std::function<void()>& work) {
      AutocastScope autocast(true, type, scalar);
      work();
    };
  }
  return w;
}

void check_precision(const std::string& precision) {
  if (precision != "fp32" && precision != "bf16" && precision != "int8")
    throw std::invalid_argument("--precision must be fp32, bf16 or int8, got '" + precision + "'");
}

void set_precision(LoadedModel& run, const std::string& precision) {
  check_precision(precision);
  if (precision == "bf16" && !autocast_dtype(precision, run.device)) {
    std::cerr << "seqzoo: note: --precision bf16 needs native bf16 (CUDA, or a CPU with AVX512-BF16): decoding in fp32\n";
    set_precision(run, "fp32");
    return;
  }
  // fp32 and bf16: the linear layers' weights packed once in oneDNN's layout where it is available
  // (models/layers/packed_matmul.h); else LibTorch's products.
  if (precision != "int8") {
    const auto dtype = precision == "bf16" ? torch::kBFloat16 : torch::kFloat32;
    if (packed_linear_available(dtype, run.device)) {
      pack_linears(*run.model, dtype);
      for (auto& replica : run.replicas) pack_linears(*replica, dtype);
    }
  }
  if (precision == "int8") {
    if (!int8_linear_available(run.device)) {
      std::cerr << "seqzoo: note: --precision int8 needs the CPU and a LibTorch with a quantized engine (oneDNN or "
                   "FBGEMM): decoding in fp32\n";
      set_precision(run, "fp32");
      return;
    }
    quantize_linears_int8(*run.model);
    for (auto& replica : run.replicas) quantize_linears_int8(*replica);
  }
  run.precision = precision;
}

LoadedModel load_workers(const std::vector<std::string>& run_dirs, const std::vector<double>& weights,
                         const std::string& checkpoint, const torch::Device& device, int64_t workers, int64_t threads) {
  if (workers < 1 || workers > kMaxThreads)
    throw std::invalid_argument("--workers: must be in [1, " + std::to_string(kMaxThreads) + "], got " +
                                std::to_string(workers));
  LoadedModel loaded = load_ensemble(run_dirs, weights, checkpoint, device);
  if (workers == 1) return loaded;
  for (int64_t w = 1; w < workers; ++w) loaded.replicas.push_back(load_ensemble(run_dirs, weights, checkpoint, device).model);
  const int64_t cores = threads > 0 ? threads : hardware_threads();
  loaded.threads_each = std::max<int64_t>(1, cores / workers);
  return loaded;
}

}  // namespace seqzoo
