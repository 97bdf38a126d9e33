#pragma once
// The checkpoint format: the model's parameters and buffers, verified on load, plus entries of
// the layers above (training adds the optimizer and its position, train_checkpoint.h). Inference
// loads checkpoints through this file alone.
//
// Format: a LibTorch archive (torch::serialize, a zip file) with
//   format = "seqzoo-checkpoint", version, family, names (the model's parameter and buffer names),
//   numel (their total size), checksum (exact sum of their bit patterns),
//   model/<name> tensors, optimizer/ (torch::optim serialisation), train/ (TrainState).
// Writes go to <path>.tmp, are fsync'ed and renamed over <path>: a crash at any moment leaves the
// previous file intact. Loading checks the archive, the names, shapes and the checksum; any
// failure is a std::runtime_error naming the file, never a silent partial load.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace seqzoo {

struct CheckpointInfo {
  std::string path;
  std::string family;
  int64_t numel = 0;           // parameters + buffers
  bool has_optimizer = false;
  bool has_train_state = false;
  int64_t step = 0;            // train state's step (0 when absent)
  // What the writer recorded about the model (e.g. "model": its config, "tokenizer": the
  // tokenizer's fingerprint); empty in checkpoints written before seqzoo kept it.
  std::map<std::string, std::string> meta;
};

using CheckpointMeta = std::map<std::string, std::string>;

using ArchiveWriter = std::function<void(torch::serialize::OutputArchive& archive)>;
using ArchiveReader = std::function<void(torch::serialize::InputArchive& archive, const CheckpointInfo& info)>;

// Saves the model atomically to `path` (creating the folder); `extra` adds entries of its own
// (training: optimizer/ and train/, models/training/train_checkpoint.h).
void save_checkpoint(const std::string& path, const torch::nn::Module& model, const std::string& family,
                     const CheckpointMeta& meta = {}, const ArchiveWriter& extra = {});

// Loads `path` into model, tensors mapped to `device`; `extra` reads entries of its own after the
// checks and before the model is changed. Errors: std::runtime_error "checkpoint PATH ...": not
// found, corrupt or truncated, not a seqzoo checkpoint, does not match the model (names/shapes),
// family differs from `family` (when not empty).
CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model, const torch::Device& device = torch::kCPU,
                               const std::string& family = "", const ArchiveReader& extra = {});

// Reads the model tensors of a checkpoint (checked as above, except against a model).
std::vector<std::pair<std::string, torch::Tensor>> read_checkpoint_model(const std::string& path,
                                                                         CheckpointInfo* info = nullptr);

// Mean of the model tensors of `paths` (same family, names and shapes; integer buffers are taken
// from the last), written atomically to out_path as a model-only checkpoint with the first one's meta.
void average_checkpoints(const std::vector<std::string>& paths, const std::string& out_path);

// Exact checksum of a tensor's bit pattern (sum of its 16/32/64-bit words); used by checkpoints.
int64_t tensor_checksum(const torch::Tensor& t);

}  // namespace seqzoo
