#include "tools/app/export_run.h"

#include <filesystem>
#include <stdexcept>

#include "data/common/files.h"
#include "models/checkpoint/checkpoint.h"
#include "tools/app/inference.h"
#include "tools/app/run_directory.h"
#include "tools/app/run_identity.h"

namespace seqzoo {
namespace fs = std::filesystem;

namespace {

int64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

// Copies a file of the run through the atomic writer (so a full disk is named as such).
void copy_file(const std::string& from, const std::string& to) {
  write_text_file(to, read_text_file(from));
}

}  // namespace

ExportResult export_run(const std::string& run_dir, const std::string& checkpoint, const std::string& out_dir,
                        const std::string& dtype) {
  torch::ScalarType type = torch::kFloat32;
  if (dtype == "bf16")
    type = torch::kBFloat16;
  else if (dtype == "fp16")
    type = torch::kFloat16;
  else if (dtype != "fp32")
    throw std::invalid_argument("--export-dtype must be fp32, bf16 or fp16, got '" + dtype + "'");
  const RunDirectory from(run_dir), to(out_dir);
  if (fs::weakly_canonical(run_dir) == fs::weakly_canonical(out_dir))
    throw std::invalid_argument("--export " + out_dir + ": that is the run itself; export to another folder");
  if (to.has_config())
    throw std::invalid_argument("--export " + out_dir + ": already holds a run (" + to.config() + "); pick a new folder");
  // Loading checks the checkpoint against the run (architecture, tokenizer) as inference would.
  const LoadedModel run = load_run(run_dir, checkpoint, torch::kCPU);
  to.create();
  copy_file(from.config(), to.config());
  const TokenizerPaths src = from.tokenizers(), dst = to.tokenizers();
  for (auto [a, b] : {std::pair<std::string, std::string>{src.joint, dst.joint}, {src.src, dst.src}, {src.tgt, dst.tgt}})
    for (const char* ext : {".model", ".vocab"})
      if (fs::exists(a + ext)) copy_file(a + ext, b + ext);
  if (type != torch::kFloat32) run.model->to(type);
  ExportResult result;
  result.checkpoint = to.checkpoint("best");
  result.source_bytes = file_size(from.checkpoint(checkpoint));
  save_checkpoint(result.checkpoint, *run.model, run.model->family(), run_identity(run.config, to));
  result.bytes = file_size(result.checkpoint);
  return result;
}

}  // namespace seqzoo
