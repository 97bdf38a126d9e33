#include "tools/app/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "data/common/files.h"
#include "models/checkpoint/checkpoint.h"

namespace seqzoo {
namespace fs = std::filesystem;

RunDirectory::RunDirectory(std::string root) : root_(std::move(root)) {}

std::string RunDirectory::path(const std::string& name) const { return (fs::path(root_) / name).string(); }

std::string RunDirectory::config() const { return path("config.yaml"); }
TokenizerPaths RunDirectory::tokenizers() const { return {path("spm"), path("spm.src"), path("spm.tgt")}; }
std::string RunDirectory::tokenizer_input(bool source) const {
  return path(source ? "spm-train.src.txt" : "spm-train.tgt.txt");
}
std::string RunDirectory::checkpoint_dir() const { return path("checkpoints"); }
std::string RunDirectory::checkpoint(const std::string& name) const {
  if (name == "best" || name == "last" || name == "averaged")
    return (fs::path(checkpoint_dir()) / (name + ".pt")).string();
  return name;
}
std::string RunDirectory::step_checkpoint(int64_t step) const {
  return (fs::path(checkpoint_dir()) / ("step-" + std::to_string(step) + ".pt")).string();
}
std::string RunDirectory::metrics() const { return path("metrics.tsv"); }
std::string RunDirectory::curves() const { return path("curves.svg"); }
std::string RunDirectory::log() const { return path("train.log"); }
std::string RunDirectory::eval_dir() const { return path("eval"); }

std::vector<std::string> RunDirectory::step_checkpoints() const {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoint_dir(), ec)) {
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

bool RunDirectory::exists() const {
  std::error_code ec;
  return fs::is_directory(root_, ec);
}
bool RunDirectory::has_config() const {
  std::error_code ec;
  return fs::is_regular_file(config(), ec);
}
bool RunDirectory::has_tokenizers() const {
  std::error_code ec;
  const TokenizerPaths t = tokenizers();
  return fs::exists(t.joint + ".model", ec) || (fs::exists(t.src + ".model", ec) && fs::exists(t.tgt + ".model", ec));
}
bool RunDirectory::has_checkpoint(const std::string& name) const {
  std::error_code ec;
  return fs::is_regular_file(checkpoint(name), ec);
}

std::string RunDirectory::list_checkpoints() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoint_dir(), ec))
    if (e.path().extension() == ".pt") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void RunDirectory::create() const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) throw std::runtime_error("cannot create run directory " + root_ + ": " + io_error_reason(ec.value()));
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

std::string RunDirectory::remove_stale_temporaries() const {
  std::string removed;
  for (const std::string& dir : {root_, checkpoint_dir()}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".tmp" && e.is_regular_file(ec)) {
        fs::remove(e.path(), ec);
        removed += (removed.empty() ? "" : ", ") + e.path().filename().string();
      }
  }
  return removed;
}

RunLock RunDirectory::lock() const {
  create();
  const std::string path = this->path(".lock");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + io_error_reason(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    throw std::runtime_error("run directory " + root_ + " is in use by another seqzoo process (pid " + pid +
                             "); wait for it to finish, or choose another --run");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot write " + path + ": " + io_error_reason(err));
  }
  return RunLock(fd);
}

namespace {

// Makes `to` an independent copy of `from`, atomically (copy to a temporary, fsync, rename): damage
// to one file never reaches its twins.
void copy_atomically(const std::string& from, const std::string& to) {
  const std::string tmp = to + ".tmp";
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    const int err = ec.value();  // before the clean-up overwrites ec
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot copy checkpoint " + from + " to " + tmp + ": " + io_error_reason(err));
  }
  fsync_path(tmp, false);
  fs::rename(tmp, to, ec);
  if (ec) throw std::runtime_error("cannot rename " + tmp + " to " + to + ": " + io_error_reason(ec.value()));
  fsync_path(fs::path(to).parent_path().string(), true);
}

}  // namespace

void RunDirectory::publish_checkpoint(const std::string& step_path, int64_t keep_last) const {
  copy_atomically(step_path, checkpoint("last"));
  const auto steps = step_checkpoints();
  std::error_code ec;
  for (int64_t i = 0; i + keep_last < static_cast<int64_t>(steps.size()); ++i) fs::remove(steps[i], ec);
}

std::string RunDirectory::average_checkpoints(int64_t k) const {
  if (k < 1) throw std::invalid_argument("--average-checkpoints needs K >= 1, got " + std::to_string(k));
  const auto all = step_checkpoints();
  if (static_cast<int64_t>(all.size()) < k)
    throw std::invalid_argument("cannot average " + std::to_string(k) + " checkpoints: " + checkpoint_dir() + " has " +
                                std::to_string(all.size()) +
                                " step-N.pt files (train.keep_last limits how many are kept)");
  const std::vector<std::string> last(all.end() - k, all.end());
  const std::string out = checkpoint("averaged");
  seqzoo::average_checkpoints(last, out);
  return out;
}

}  // namespace seqzoo
