#include "tools/app/inference.h"

#include <stdexcept>

#include "models/checkpoint/checkpoint.h"
#include "models/registry.h"
#include "tools/app/run_directory.h"
#include "tools/app/run_identity.h"

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

}  // namespace seqzoo
