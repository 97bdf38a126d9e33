#include "models/training/train_checkpoint.h"

#include <ATen/core/Generator.h>

#include <mutex>
#include <stdexcept>

#include "data/common/text.h"

namespace seqzoo {
namespace {

std::string error_text(const c10::Error& e) { return one_line(e.what_without_backtrace()); }

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

}  // namespace

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

void save_train_checkpoint(const std::string& path, const torch::nn::Module& model, const std::string& family,
                           const torch::optim::Optimizer& optimizer, const TrainState& state,
                           const CheckpointMeta& meta, const std::vector<torch::Tensor>& raw) {
  save_checkpoint(path, model, family, meta, [&](torch::serialize::OutputArchive& archive) {
    torch::serialize::OutputArchive opt;
    optimizer.save(opt);
    archive.write("optimizer", opt);
    write_state(archive, state);
    if (!raw.empty()) {
      torch::serialize::OutputArchive weights;
      weights.write("count", c10::IValue(static_cast<int64_t>(raw.size())));
      for (size_t i = 0; i < raw.size(); ++i) weights.write("p" + std::to_string(i), raw[i].detach(), true);
      archive.write("raw_weights", weights);
    }
  });
}

void save_position_checkpoint(const std::string& path, const torch::nn::Module& model, const std::string& family,
                              const TrainState& state, const CheckpointMeta& meta) {
  save_checkpoint(path, model, family, meta, [&](torch::serialize::OutputArchive& archive) { write_state(archive, state); });
}

CheckpointInfo load_train_checkpoint(const std::string& path, torch::nn::Module& model,
                                     torch::optim::Optimizer& optimizer, TrainState& state,
                                     const torch::Device& device, const std::string& family,
                                     std::vector<torch::Tensor>* raw) {
  if (raw) raw->clear();
  return load_checkpoint(path, model, device, family,
                         [&](torch::serialize::InputArchive& archive, const CheckpointInfo& info) {
    if (!info.has_optimizer)
      throw std::runtime_error("checkpoint " + path + " has no optimizer state (not a training checkpoint)");
    if (!info.has_train_state)
      throw std::runtime_error("checkpoint " + path + " has no training state (not a training checkpoint)");
    try {
      torch::serialize::InputArchive opt;
      archive.read("optimizer", opt);
      optimizer.load(opt);
    } catch (const c10::Error& e) {
      throw std::runtime_error("checkpoint " + path + ": cannot restore the optimizer state: " + error_text(e));
    }
    try {
      read_state(archive, state);
    } catch (const c10::Error& e) {
      throw std::runtime_error("checkpoint " + path + " is corrupt or truncated: training state: " + error_text(e));
    }
    torch::serialize::InputArchive weights;
    if (raw && archive.try_read("raw_weights", weights)) {
      try {
        c10::IValue count;
        weights.read("count", count);
        for (int64_t i = 0; i < count.toInt(); ++i) {
          torch::Tensor t;
          weights.read("p" + std::to_string(i), t, true);
          raw->push_back(t.to(device));
        }
      } catch (const c10::Error& e) {
        throw std::runtime_error("checkpoint " + path + " is corrupt or truncated: raw weights: " + error_text(e));
      }
    }
  });
}

}  // namespace seqzoo
