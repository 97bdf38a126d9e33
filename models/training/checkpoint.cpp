#include "models/training/checkpoint.h"

#include <ATen/core/Generator.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>

namespace seqzoo {
namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "seqzoo-checkpoint";
constexpr int64_t kVersion = 1;

std::runtime_error corrupt(const std::string& path, const std::string& why) {
  return std::runtime_error("checkpoint " + path + " is corrupt or truncated: " + why);
}

std::string one_line(std::string s) {
  // LibTorch messages carry backtraces and newlines: keep the first line.
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

std::string error_text(const c10::Error& e) { return one_line(e.what_without_backtrace()); }

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return;  // best effort for directories on odd file systems
  ::fsync(fd);
  ::close(fd);
}

// Writes the archive to <path>.tmp, fsyncs it and renames it over <path>.
void write_atomically(torch::serialize::OutputArchive& archive, const std::string& path) {
  fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write checkpoint " + tmp + ": " + std::strerror(errno));
  int write_errno = 0;
  // LibTorch's zip writer cannot recover from a short write (it aborts in its destructor), so a
  // failed write is remembered, the rest of the archive is discarded, and we throw afterwards.
  auto writer = [&](const void* data, size_t n) -> size_t {
    if (write_errno != 0) return n;
    const char* p = static_cast<const char*>(data);
    size_t left = n;
    while (left > 0) {
      ssize_t w = ::write(fd, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        write_errno = errno;
        return n;
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
    return n;
  };
  std::string failure;
  try {
    archive.save_to(writer);
  } catch (const c10::Error& e) {
    failure = write_errno ? std::strerror(write_errno) : error_text(e);
  }
  if (failure.empty() && write_errno != 0) failure = std::strerror(write_errno);
  if (failure.empty() && ::fsync(fd) != 0) failure = std::string("fsync: ") + std::strerror(errno);
  if (::close(fd) != 0 && failure.empty()) failure = std::string("close: ") + std::strerror(errno);
  if (!failure.empty()) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot write checkpoint " + path + ": " + failure);
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + ec.message());
  fsync_path(target.has_parent_path() ? target.parent_path().string() : ".", /*directory=*/true);
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
                 const std::string& family) {
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
}

void write_state(torch::serialize::OutputArchive& archive, const TrainState& s) {
  torch::serialize::OutputArchive a;
  auto i = [&](const char* k, int64_t v) { a.write(k, c10::IValue(v)); };
  auto d = [&](const char* k, double v) { a.write(k, c10::IValue(v)); };
  i("step", s.step);
  i("epoch", s.epoch);
  i("batch_in_epoch", s.batch_in_epoch);
  i("has_best", s.has_best ? 1 : 0);
  d("best_metric", s.best_metric);
  i("best_step", s.best_step);
  i("has_sched_best", s.has_sched_best ? 1 : 0);
  d("sched_best_metric", s.sched_best_metric);
  i("stalled_validations", s.stalled_validations);
  i("bad_steps", s.bad_steps);
  i("total_bad_steps", s.total_bad_steps);
  d("elapsed_seconds", s.elapsed_seconds);
  d("lr_scale", s.lr_scale);
  i("lr_stalled", s.lr_stalled);
  d("loss_scale", s.loss_scale);
  i("loss_scale_good_steps", s.loss_scale_good_steps);
  if (s.cpu_rng.defined()) a.write("cpu_rng", s.cpu_rng, true);
  if (s.cuda_rng.defined()) a.write("cuda_rng", s.cuda_rng, true);
  archive.write("train", a);
}

void read_state(torch::serialize::InputArchive& archive, TrainState& s) {
  torch::serialize::InputArchive a;
  archive.read("train", a);
  c10::IValue v;
  auto i = [&](const char* k) { a.read(k, v); return v.toInt(); };
  auto d = [&](const char* k) { a.read(k, v); return v.toDouble(); };
  s.step = i("step");
  s.epoch = i("epoch");
  s.batch_in_epoch = i("batch_in_epoch");
  s.has_best = i("has_best") != 0;
  s.best_metric = d("best_metric");
  s.best_step = i("best_step");
  s.has_sched_best = i("has_sched_best") != 0;
  s.sched_best_metric = d("sched_best_metric");
  s.stalled_validations = i("stalled_validations");
  s.bad_steps = i("bad_steps");
  s.total_bad_steps = i("total_bad_steps");
  s.elapsed_seconds = d("elapsed_seconds");
  s.lr_scale = d("lr_scale");
  s.lr_stalled = i("lr_stalled");
  s.loss_scale = d("loss_scale");
  s.loss_scale_good_steps = i("loss_scale_good_steps");
  torch::Tensor t;
  s.cpu_rng = a.try_read("cpu_rng", t, true) ? t.to(torch::kCPU) : torch::Tensor();
  torch::Tensor u;
  s.cuda_rng = a.try_read("cuda_rng", u, true) ? u.to(torch::kCPU) : torch::Tensor();
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

void capture_rng_state(TrainState& state, bool cuda) {
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    state.cpu_rng = gen.get_state();
  }
  state.cuda_rng = torch::Tensor();
  if (cuda && torch::cuda::is_available()) {
    auto gen = at::globalContext().defaultGenerator(torch::Device(torch::kCUDA, 0));
    std::lock_guard<std::mutex> lock(gen.mutex());
    state.cuda_rng = gen.get_state();
  }
}

void restore_rng_state(const TrainState& state) {
  if (state.cpu_rng.defined()) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state.cpu_rng);
  }
  if (state.cuda_rng.defined() && torch::cuda::is_available()) {
    auto gen = at::globalContext().defaultGenerator(torch::Device(torch::kCUDA, 0));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state.cuda_rng);
  }
}

void save_checkpoint(const std::string& path, const torch::nn::Module& model, const std::string& family,
                     const torch::optim::Optimizer* optimizer, const TrainState* state) {
  torch::serialize::OutputArchive archive;
  write_model(archive, model_tensors(model), family);
  if (optimizer) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    archive.write("optimizer", opt);
  }
  if (state) write_state(archive, *state);
  write_atomically(archive, path);
}

CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model,
                               torch::optim::Optimizer* optimizer, TrainState* state,
                               const torch::Device& device, const std::string& family) {
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
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : mine) t.copy_(stored.at(name));
  }
  if (optimizer) {
    if (!loaded.info.has_optimizer)
      throw std::runtime_error("checkpoint " + path + " has no optimizer state (not a training checkpoint)");
    try {
      torch::serialize::InputArchive opt;
      loaded.archive.read("optimizer", opt);
      optimizer->load(opt);
    } catch (const c10::Error& e) {
      throw std::runtime_error("checkpoint " + path + ": cannot restore the optimizer state: " + error_text(e));
    }
  }
  if (state) {
    if (!loaded.info.has_train_state)
      throw std::runtime_error("checkpoint " + path + " has no training state (not a training checkpoint)");
    try {
      read_state(loaded.archive, *state);
    } catch (const c10::Error& e) {
      throw corrupt(path, "training state: " + error_text(e));
    }
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
  write_model(archive, sum, first.family);
  write_atomically(archive, out_path);
}

void publish_checkpoint(const std::string& from, const std::string& to) {
  const std::string tmp = to + ".tmp";
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_hard_link(from, tmp, ec);
  if (ec) {
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
    if (ec) throw std::runtime_error("cannot copy checkpoint " + from + " to " + tmp + ": " + ec.message());
    fsync_path(tmp, false);
  }
  fs::rename(tmp, to, ec);
  if (ec) throw std::runtime_error("cannot rename " + tmp + " to " + to + ": " + ec.message());
  fsync_path(fs::path(to).has_parent_path() ? fs::path(to).parent_path().string() : ".", true);
}

std::string resolve_checkpoint(const std::string& run_dir, const std::string& checkpoint) {
  if (checkpoint == "best" || checkpoint == "last" || checkpoint == "averaged")
    return (fs::path(run_dir) / "checkpoints" / (checkpoint + ".pt")).string();
  return checkpoint;
}

std::vector<std::string> step_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(run_dir) / "checkpoints", ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() <= 8 || name.rfind("step-", 0) != 0 || e.path().extension() != ".pt") continue;
    const std::string digits = name.substr(5, name.size() - 8);
    if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    found.emplace_back(std::stoll(digits), e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

std::string average_run_checkpoints(const std::string& run_dir, int64_t k) {
  if (k < 1) throw std::invalid_argument("--average-checkpoints needs K >= 1, got " + std::to_string(k));
  auto all = step_checkpoints(run_dir);
  if (static_cast<int64_t>(all.size()) < k)
    throw std::invalid_argument("cannot average " + std::to_string(k) + " checkpoints: " +
                                (fs::path(run_dir) / "checkpoints").string() + " has " + std::to_string(all.size()) +
                                " step-N.pt files (train.keep_last limits how many are kept)");
  std::vector<std::string> last(all.end() - k, all.end());
  const std::string out = (fs::path(run_dir) / "checkpoints" / "averaged.pt").string();
  average_checkpoints(last, out);
  return out;
}

}  // namespace seqzoo
