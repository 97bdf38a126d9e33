#pragma once
// Loading a trained run for inference (evaluate, translate, tune alpha): the run's config, its
// tokenizer(s) and one checkpoint, through the model interface and the checkpoint format only.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "models/core/model.h"
#include "models/search/search.h"
#include "tools/app/run_settings.h"

namespace seqzoo {

struct LoadedModel {
  RunSettings config;  // the run's config.yaml without its train: section
  Tokenizers tok;
  ModelPtr model;
  torch::Device device = torch::kCPU;
  // Further copies of model for parallel workers (--workers N: N - 1 copies), and the intra-op
  // threads of each worker; none: model decodes alone on the calling thread.
  std::vector<ModelPtr> replicas;
  int64_t threads_each = 0;
  // The precision of the decoders' matrix products: "fp32"; "bf16" (the weights, layer norms,
  // softmaxes and scores stay fp32) on CUDA or a CPU with native bf16; "int8" (dynamic quantization
  // of the linear layers, models/layers/linear.h) on the CPU. On a CPU with oneDNN (seqzoo built
  // with it), the linear layers multiply through weights packed once in oneDNN's layout in that
  // precision (models/layers/packed_matmul.h); elsewhere bf16 is LibTorch's autocast. Set by
  // set_precision.
  std::string precision = "fp32";

  // model and its replicas as the search's workers.
  SearchWorkers workers() const;
};

// Reads <run_dir>/config.yaml and the tokenizer(s), builds the model, loads the checkpoint
// ("best" | "last" | "averaged" | a path), moves it to device, eval mode. Errors name the file.
LoadedModel load_run(const std::string& run_dir, const std::string& checkpoint, const torch::Device& device);

// Several runs decoding as one model (models/ensemble: the mean of their next-token
// probabilities, with weights; empty = equal). Each run is loaded as load_run does; the first run's
// config (search settings, direction, test set) and tokenizers speak for the ensemble. The runs
// must translate in the same direction with the same source and target vocabularies: otherwise a
// std::invalid_argument names the run and what differs. One run gives that run's model alone.
LoadedModel load_ensemble(const std::vector<std::string>& run_dirs, const std::vector<double>& weights,
                          const std::string& checkpoint, const torch::Device& device);
// Throws std::invalid_argument unless precision is "fp32", "bf16" or "int8".
void check_precision(const std::string& precision);
// Sets run.precision (checked as above) and packs the weights of run.model and its replicas for it
// (int8; fp32 and bf16 where oneDNN is available).
// bf16 where the device has no native bf16 (a CPU without AVX512-BF16), and int8 on CUDA or where
// neither oneDNN with VNNI nor a LibTorch quantized engine is there, stay fp32, with a note on stderr.
void set_precision(LoadedModel& run, const std::string& precision);

// load_ensemble with `workers` copies of the model (>= 1), `threads` intra-op threads split evenly
// between them (0 = all cores). One worker: the model alone, threads left as they are.
LoadedModel load_workers(const std::vector<std::string>& run_dirs, const std::vector<double>& weights,
                         const std::string& checkpoint, const torch::Device& device, int64_t workers, int64_t threads);

}  // namespace seqzoo
