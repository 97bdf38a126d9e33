#include "models/checkpoint/checkpoint.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "data/common/files.h"
#include "data/common/text.h"

namespace seqzoo {
namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "seqzoo-checkpoint";
constexpr int64_t kVersion = 1;

std::runtime_error corrupt(const std::string& path, const std::string& why) {
  return std::runtime_error("checkpoint " + path + " is corrupt or truncated: " + why);
}

std::string error_text(const c10::Error& e) { return one_line(e.what_without_backtrace()); }

// Writes the archive atomically (data/common/files.h). LibTorch's zip writer cannot recover from
// a short write (it aborts in its destructor): the sink swallows the failure and reports it after.
void write_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
  write_file_atomically(
      path,
      [&](const ByteSink& sink) {
        try {
          archive.save_to([&](const void* data, size_t n) { return sink(data, n); });
        } catch (const c10::Error& e) {
          throw std::runtime_error("cannot write checkpoint " + path + ": " + error_text(e));
        }
      },
      "checkpoint");
}

// The model's parameters and buffers by name (tied tensors appear under each of their names).
std::vector<std::pair<std::string, torch::Tensor>> model_tensors(const torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers(/*recurse=*/true)) out.emplace_back(b.key(), b.value());
  return out;
}

void write_model(torch::serialize::OutputArchive& archive,
                 const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                 const std::string& family, const CheckpointMeta& meta) {
  c10::List<std::string> names;
  int64_t numel = 0, checksum = 0;
  torch::serialize::OutputArchive model_archive;
  for (const auto& [name, t] : tensors) {
    names.push_back(name);
    numel += t.numel();
    checksum += tensor_checksum(t);
    model_archive.write(name, t.detach(), /*is_buffer=*/true);
  }
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("version", c10::IValue(kVersion));
  archive.write("family", c10::IValue(family));
  archive.write("names", c10::IValue(names));
  archive.write("numel", c10::IValue(numel));
  archive.write("checksum", c10::IValue(checksum));
  archive.write("model", model_archive);
  if (!meta.empty()) {
    torch::serialize::OutputArchive meta_archive;
    for (const auto& [key, value] : meta) meta_archive.write(key, c10::IValue(value));
    archive.write("meta", meta_archive);
  }
}

struct Loaded {
  torch::serialize::InputArchive archive;
  CheckpointInfo info;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
};

// Opens, parses and verifies a checkpoint (names, numel, checksum).
void open_checkpoint(const std::string& path, const torch::Device& device, Loaded& out) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw std::runtime_error("checkpoint " + path + " not found");
  out.info.path = path;
  c10::List<std::string> names;
  int64_t numel = 0, checksum = 0;
  try {
    out.archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw corrupt(path, error_text(e));
  } catch (const std::exception& e) {
    throw corrupt(path, one_line(e.what()));
  }
  c10::IValue v;
  try {
    if (!out.archive.try_read("format", v) || !v.isString() || v.toStringRef() != kFormat)
      throw std::runtime_error("checkpoint " + path + " is not a seqzoo checkpoint (no 'format' entry)");
    out.archive.read("version", v);
    if (v.toInt() > kVersion)
      throw std::runtime_error("checkpoint " + path + " has format version " + std::to_string(v.toInt()) +
                               ", newer than this seqzoo (" + std::to_string(kVersion) + ")");
    out.archive.read("family", v);
    out.info.family = v.toStringRef();
    out.archive.read("names", v);
    auto list = v.toList();
    for (size_t k = 0; k < list.size(); ++k) names.push_back(list.get(k).toStringRef());
    out.archive.read("numel", v);
    numel = v.toInt();
    out.archive.read("checksum", v);
    checksum = v.toInt();
    torch::serialize::InputArchive model_archive;
    out.archive.read("model", model_archive);
    for (const auto& name : names) {
      torch::Tensor t;
      model_archive.read(name, t, /*is_buffer=*/true);
      out.tensors.emplace_back(name, t);
    }
    torch::serialize::InputArchive probe;
    out.info.has_optimizer = out.archive.try_read("optimizer", probe);
    torch::serialize::InputArchive train;
    out.info.has_train_state = out.archive.try_read("train", train);
    if (out.info.has_train_state) {
      train.read("step", v);
      out.info.step = v.toInt();
    }
    torch::serialize::InputArchive meta;
    if (out.archive.try_read("meta", meta))
      for (const auto& key : meta.keys()) {
        meta.read(key, v);
        out.info.meta[key] = v.toStringRef();
      }
  } catch (const c10::Error& e) {
    throw corrupt(path, error_text(e));
  }
  int64_t got_numel = 0, got_checksum = 0;
  for (const auto& [name, t] : out.tensors) {
    got_numel += t.numel();
    got_checksum += tensor_checksum(t);
  }
  if (got_numel != numel)
    throw corrupt(path, "it holds " + std::to_string(got_numel) + " model values, its header says " +
                            std::to_string(numel));
  if (got_checksum != checksum) throw corrupt(path, "checksum mismatch in the model tensors");
  out.info.numel = numel;
}

std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? "," : "") + std::to_string(t.size(d));
  return s + "]";
}

}  // namespace

int64_t tensor_checksum(const torch::Tensor& tensor) {
  torch::NoGradGuard no_grad;
  torch::Tensor t = tensor.detach().contiguous().view({-1});
  if (t.numel() == 0) return 0;
  switch (t.scalar_type()) {
    case torch::kFloat: t = t.view(torch::kInt); break;
    case torch::kHalf:
    case torch::kBFloat16: t = t.view(torch::kShort); break;
    case torch::kDouble: t = t.view(torch::kLong); break;
    default: break;
  }
  // Chunks bound the int64 temporary; integer sums are exact (int64 wraps consistently).
  constexpr int64_t kChunk = int64_t(1) << 22;
  int64_t sum = 0;
  for (int64_t start = 0; start < t.numel(); start += kChunk) {
    auto part = t.slice(0, start, std::min(t.numel(), start + kChunk)).to(torch::kLong);
    sum = static_cast<int64_t>(static_cast<uint64_t>(sum) +
                               static_cast<uint64_t>(part.sum().item<int64_t>()));
  }
  return sum;
}

void save_checkpoint(const std::string& path, const torch::nn::Module& model, const std::string& family,
                     const CheckpointMeta& meta, const ArchiveWriter& extra) {
  torch::serialize::OutputArchive archive;
  write_model(archive, model_tensors(model), family, meta);
  if (extra) extra(archive);
  write_archive(archive, path);
}

CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model, const torch::Device& device,
                               const std::string& family, const ArchiveReader& extra) {
  Loaded loaded;
  open_checkpoint(path, device, loaded);
  if (!family.empty() && loaded.info.family != family)
    throw std::runtime_error("checkpoint " + path + " holds a '" + loaded.info.family +
                             "' model, the config builds '" + family + "'");
  // Compare names and shapes with the model before touching it.
  std::map<std::string, torch::Tensor> stored(loaded.tensors.begin(), loaded.tensors.end());
  auto mine = model_tensors(model);
  std::string problems;
  int64_t shown = 0;
  auto note = [&](const std::string& s) {
    if (shown++ < 5) problems += (problems.empty() ? "" : "; ") + s;
  };
  std::map<std::string, bool> seen;
  for (const auto& [name, t] : mine) {
    seen[name] = true;
    auto it = stored.find(name);
    if (it == stored.end())
      note("missing " + name);
    else if (it->second.sizes() != t.sizes())
      note(name + " is " + shape_str(it->second) + " in the file, " + shape_str(t) + " in the model");
  }
  for (const auto& [name, t] : loaded.tensors)
    if (!seen.count(name)) note("unexpected " + name);
  if (shown > 5) problems += "; and " + std::to_string(shown - 5) + " more";
  if (!problems.empty())
    throw std::runtime_error("checkpoint " + path + " does not match the model (" + loaded.info.family +
                             "): " + problems);
  if (extra) extra(loaded.archive, loaded.info);  // before the model changes: a failure leaves it as it was
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : mine) t.copy_(stored.at(name));
  }
  return loaded.info;
}

std::vector<std::pair<std::string, torch::Tensor>> read_checkpoint_model(const std::string& path,
                                                                         CheckpointInfo* info) {
  Loaded loaded;
  open_checkpoint(path, torch::kCPU, loaded);
  if (info) *info = loaded.info;
  return loaded.tensors;
}

void average_checkpoints(const std::vector<std::string>& paths, const std::string& out_path) {
  if (paths.empty()) throw std::invalid_argument("average_checkpoints: no checkpoints given");
  CheckpointInfo first;
  auto sum = read_checkpoint_model(paths[0], &first);
  torch::NoGradGuard no_grad;
  std::vector<torch::ScalarType> dtypes;
  for (auto& [name, t] : sum) {
    dtypes.push_back(t.scalar_type());
    if (t.is_floating_point()) t = t.to(torch::kDouble);
  }
  for (size_t k = 1; k < paths.size(); ++k) {
    CheckpointInfo info;
    auto next = read_checkpoint_model(paths[k], &info);
    if (info.family != first.family || next.size() != sum.size())
      throw std::invalid_argument("average_checkpoints: " + paths[k] + " does not match " + paths[0] +
                                  " (family or parameter list differs)");
    for (size_t i = 0; i < sum.size(); ++i) {
      if (next[i].first != sum[i].first || next[i].second.sizes() != sum[i].second.sizes())
        throw std::invalid_argument("average_checkpoints: " + paths[k] + " does not match " + paths[0] +
                                    " at " + next[i].first);
      if (sum[i].second.is_floating_point())
        sum[i].second.add_(next[i].second.to(torch::kDouble));
      else
        sum[i].second = next[i].second;
    }
  }
  for (size_t i = 0; i < sum.size(); ++i)  // back to each tensor's stored type
    if (sum[i].second.is_floating_point())
      sum[i].second = (sum[i].second / static_cast<double>(paths.size())).to(dtypes[i]);
  torch::serialize::OutputArchive archive;
  write_model(archive, sum, first.family, first.meta);
  write_archive(archive, out_path);
}

}  // namespace seqzoo
