#include "data/spm_shim.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace seqzoo {
namespace spm {
namespace {

using NewFn = Processor* (*)();
using TrainFn = void (*)(const std::string*, std::string*);
using TrainFlagsFn = void (*)(const Flags*, unsigned int, std::string*);

struct Module {
  NewFn make = nullptr;
  TrainFn train = nullptr;
  TrainFlagsFn train_flags = nullptr;
};

std::vector<std::string> candidates() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("SEQZOO_SPM_MODULE")) paths.emplace_back(env);
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    paths.push_back((exe.parent_path() / "libseqzoo_spm.so").string());
    paths.push_back((exe.parent_path() / "../lib/libseqzoo_spm.so").string());
  }
#ifdef SEQZOO_SPM_MODULE_PATH
  paths.emplace_back(SEQZOO_SPM_MODULE_PATH);
#endif
  paths.emplace_back("libseqzoo_spm.so");
  return paths;
}

const Module& module() {
  static Module m;
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    std::string tried;
    for (const auto& path : candidates()) {
      if (path.find('/') != std::string::npos && !std::filesystem::exists(path)) continue;
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (!handle) {
        tried += std::string(tried.empty() ? "" : "; ") + dlerror();
        continue;
      }
      m.make = reinterpret_cast<NewFn>(dlsym(handle, "seqzoo_spm_new"));
      m.train = reinterpret_cast<TrainFn>(dlsym(handle, "seqzoo_spm_train"));
      m.train_flags = reinterpret_cast<TrainFlagsFn>(dlsym(handle, "seqzoo_spm_train_flags"));
      if (m.make && m.train && m.train_flags) return;
      m = Module{};
      tried += "; " + path + ": missing symbols";
    }
    error = "cannot load the SentencePiece module libseqzoo_spm.so (set SEQZOO_SPM_MODULE): " +
            (tried.empty() ? std::string("not found") : tried);
  });
  if (!m.make) throw std::runtime_error(error);
  return m;
}

}  // namespace

std::unique_ptr<Processor> make_processor() { return std::unique_ptr<Processor>(module().make()); }

std::string train(const std::string& flags) {
  std::string error;
  module().train(&flags, &error);
  return error;
}

std::string train(const Flags& flags, unsigned int seed) {
  std::string error;
  module().train_flags(&flags, seed, &error);
  return error;
}

}  // namespace spm
}  // namespace seqzoo
