#include "models/training/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <stdexcept>

#include "data/common/text.h"
#include "models/training/distributed/distributed.h"
#include "models/training/loss.h"
#include "models/training/optim.h"
#include "models/training/precision.h"

namespace seqzoo {

namespace {

// fp16 dynamic loss scaling (Micikevicius et al. 2018, "Mixed Precision Training").
constexpr double kInitialLossScale = 65536.0;
constexpr int64_t kLossScaleWindow = 2000;
constexpr double kMinLossScale = 1e-4;

}  // namespace

// ---------------------------------------------------------------------------------------------
Trainer::Trainer(const TrainConfig& config, ModelPtr model, BatchSource& train, const ValidationSet* valid,
                 TrainerOptions options)
    : config_(config), model_(std::move(model)), train_(train), valid_(valid), options_(std::move(options)),
      schedule_(config) {
  if (!model_) throw std::invalid_argument("Trainer: no model");
  const auto& c = config_;
  check_config_ranges([&](FieldVisitor& v) { v.section("train", "", [&](FieldVisitor& s) { config_.visit(s); }); });
  if (c.max_steps == 0 && c.max_epochs == 0 && c.max_minutes == 0 && (c.patience == 0 || !valid_))
    throw std::invalid_argument(
        "train: no stopping criterion: set train.max_steps, max_epochs or max_minutes (or patience with "
        "a validation set)");

  model_->to(options_.device);
  model_->train();
  params_ = unique_parameters(*model_);
  optimizer_ = make_optimizer(config_, params_);

  if (auto dtype = autocast_dtype(c.precision, options_.device)) {
    autocast_ = true;
    autocast_dtype_ = *dtype;
    loss_scaling_ = *dtype == torch::kHalf;
  }
  auto fopts = torch::TensorOptions().dtype(torch::kFloat).device(options_.device);
  log_loss_ = torch::zeros({}, fopts);
  log_nll_ = torch::zeros({}, fopts);
}

Trainer::~Trainer() = default;

double Trainer::now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Trainer::log(const std::string& line) {
  if (options_.out) *options_.out << line << std::endl;
  if (options_.reporter) options_.reporter->line(line);
}

double Trainer::elapsed() const { return elapsed_base_ + (Trainer::now() - start_wall_); }

std::string Trainer::metric_name() const {
  if (config_.best_metric == "bleu" && config_.valid_bleu && valid_ && valid_->bleu) return "bleu";
  return "loss";
}

Batch Trainer::to_device(const Batch& b) const {
  if (!options_.device.is_cuda()) return b.src.device() == options_.device ? b : b.to(options_.device);
  Batch pinned = b;  // page-locked host copies make the host-to-device copies asynchronous
  auto pin = [](torch::Tensor& t) {
    if (t.defined() && t.device().is_cpu() && !t.is_pinned()) t = t.pin_memory();
  };
  pin(pinned.src);
  pin(pinned.src_len);
  pin(pinned.tgt_in);
  pin(pinned.tgt_out);
  pin(pinned.tgt_len);
  return pinned.to(options_.device, /*non_blocking=*/true);
}

void Trainer::prefetch(int64_t want) {
  while (static_cast<int64_t>(queue_.size()) < want && cursor_ < plan_size_)
    queue_.push_back(Pending{to_device(train_.batch(cursor_++))});
}

double Trainer::progress() const {
  double p = 0;
  if (config_.max_steps > 0) p = std::max(p, static_cast<double>(state_.step) / static_cast<double>(config_.max_steps));
  if (config_.max_minutes > 0)
    p = std::max(p, (options_.dist ? dist_elapsed_ : elapsed()) / (config_.max_minutes * 60));
  if (config_.max_epochs > 0 && plan_size_ > 0)
    p = std::max(p, (static_cast<double>(state_.epoch - 1) +
                     static_cast<double>(state_.batch_in_epoch) / static_cast<double>(plan_size_)) /
                        static_cast<double>(config_.max_epochs));
  return std::clamp(p, 0.0, 1.0);
}

std::string Trainer::eta(double elapsed_now) const {
  double best = std::numeric_limits<double>::infinity();
  const int64_t done = state_.step - start_step_;
  if (done > 0) {
    const double per_update = (Trainer::now() - start_wall_) / static_cast<double>(done);
    if (config_.max_steps > 0)
      best = std::min(best, static_cast<double>(std::max<int64_t>(0, config_.max_steps - state_.step)) * per_update);
    if (config_.max_epochs > 0 && plan_size_ > 0) {
      int64_t batches = 0;
      if (state_.epoch <= config_.max_epochs)
        batches = (config_.max_epochs - state_.epoch) * plan_size_ + (plan_size_ - state_.batch_in_epoch);
      const int64_t updates = (batches + config_.update_freq - 1) / config_.update_freq;
      best = std::min(best, static_cast<double>(updates) * per_update);
    }
  }
  if (config_.max_minutes > 0) best = std::min(best, std::max(0.0, config_.max_minutes * 60 - elapsed_now));
  return std::isfinite(best) ? format_duration(best) : "";
}

bool Trainer::run_update(const std::vector<Batch>& batches, int64_t epoch) {
  int64_t tgt_total = 0, src_total = 0;
  for (const auto& b : batches) {
    tgt_total += b.tgt_tokens;
    src_total += b.src_tokens;
  }
  if (tgt_total <= 0) throw std::invalid_argument("Trainer: a training batch has no target tokens");
  const double scale = loss_scaling_ ? state_.loss_scale : 1.0;
  auto fopts = torch::TensorOptions().dtype(torch::kFloat).device(options_.device);
  torch::Tensor loss_acc = torch::zeros({}, fopts), nll_acc = torch::zeros({}, fopts);
  for (const auto& b : batches) {
    LossSums sums;
    {
      AutocastScope autocast(autocast_, options_.device.type(), autocast_dtype_);
      torch::Tensor logits = model_->forward(b);  // [B,T,V]
      sums = label_smoothed_loss(logits, b.tgt_out, config_.label_smoothing);
    }
    // Normalised by the target tokens of the whole update, so accumulation equals a larger batch.
    (sums.loss * (scale / static_cast<double>(tgt_total))).backward();
    loss_acc.add_(sums.loss.detach());
    nll_acc.add_(sums.nll);
  }
  // The next update's batches are prepared (and copied) while the device works on this one.
  prefetch(config_.update_freq);

  if (options_.dist) {
    // Data parallel: each rank's loss is a mean over its own target tokens, so the token-weighted
    // mean of the ranks' gradients is the gradient of the mean over all ranks' tokens. The same
    // collective sums the update's loss/token counts and the stop requests, so every rank takes
    // the same decisions (skip-or-step, stop) from the same numbers.
    const double elapsed_now = elapsed();
    const bool time_up = config_.max_minutes > 0 && elapsed_now >= config_.max_minutes * 60;
    const bool stop = options_.stop && options_.stop->load();
    std::vector<double> sums{loss_acc.item<double>(), nll_acc.item<double>(), static_cast<double>(src_total),
                             time_up ? 1.0 : 0.0, stop ? 1.0 : 0.0, elapsed_now};
    const double tokens = options_.dist->allreduce_gradients(*model_, static_cast<double>(tgt_total), &sums);
    tgt_total = std::llround(tokens);
    loss_acc.fill_(sums[0]);
    nll_acc.fill_(sums[1]);
    src_total = std::llround(sums[2]);
    dist_time_up_ = sums[3] > 0;
    dist_stop_ = sums[4] > 0;
    dist_elapsed_ = sums[5] / static_cast<double>(options_.dist->world_size());
  }

  if (loss_scaling_) {
    torch::NoGradGuard no_grad;
    for (auto& p : params_)
      if (p.grad().defined()) p.mutable_grad().mul_(1.0 / scale);
  }
  torch::Tensor norm = gradient_norm(params_);
  // The one host sync per update: is the loss finite, is the gradient finite?
  torch::Tensor flags = torch::stack({torch::isfinite(loss_acc), torch::isfinite(norm.to(loss_acc.device()))}).cpu();
  const bool loss_ok = flags[0].item<bool>(), grad_ok = flags[1].item<bool>();

  UpdateInfo info;
  info.epoch = epoch;
  info.src_tokens = src_total;
  info.tgt_tokens = tgt_total;
  if (options_.on_update) {
    info.loss = loss_acc / static_cast<double>(tgt_total);
    info.nll = nll_acc / static_cast<double>(tgt_total);
  }
  if (!loss_ok || !grad_ok) {
    optimizer_->zero_grad();
    if (loss_scaling_ && loss_ok && state_.loss_scale / 2 >= kMinLossScale) {
      // fp16 gradient overflow: a smaller scale, not a bad step.
      state_.loss_scale /= 2;
      state_.loss_scale_good_steps = 0;
      info.skipped = true;
      info.step = state_.step;
      if (options_.on_update) options_.on_update(info);
      return false;
    }
    state_.bad_steps += 1;
    state_.total_bad_steps += 1;
    const std::string what = loss_ok ? "gradient is NaN/inf" : "loss is NaN/inf";
    log("step " + std::to_string(state_.step + 1) + " | skipped update: " + what + " (" +
        std::to_string(state_.bad_steps) + " in a row, " + std::to_string(state_.total_bad_steps) + " in all)");
    info.skipped = true;
    info.step = state_.step;
    if (options_.on_update) options_.on_update(info);
    if (state_.bad_steps >= config_.max_bad_steps) {
      std::string last = options_.reporter ? options_.reporter->last_checkpoint() : "";
      if (last.empty()) last = "none";
      std::string msg = what + " for " + std::to_string(state_.bad_steps) + " consecutive steps at step " +
                        std::to_string(state_.step + 1) + "; last good checkpoint: " + last;
      log("error: " + msg);
      if (options_.reporter) options_.reporter->flush();
      throw std::runtime_error(msg);
    }
    return false;
  }
  state_.bad_steps = 0;
  const double lr = schedule_.lr(state_.step + 1, progress());
  set_learning_rate(*optimizer_, lr);
  clip_gradients(params_, norm, config_.clip_norm);
  optimizer_->step();
  optimizer_->zero_grad();
  state_.step += 1;
  if (average_) average_->update(state_.step);
  if (loss_scaling_ && ++state_.loss_scale_good_steps >= kLossScaleWindow) {
    state_.loss_scale *= 2;
    state_.loss_scale_good_steps = 0;
  }
  log_loss_.add_(loss_acc);
  log_nll_.add_(nll_acc);
  log_tgt_tokens_ += tgt_total;
  log_src_tokens_ += src_total;
  log_updates_ += 1;
  if (options_.on_update) {
    info.step = state_.step;
    info.lr = lr;
    options_.on_update(info);
  }
  last_lr_ = lr;
  return true;
}

void Trainer::log_progress(int64_t epoch) {
  const double t = Trainer::now();
  const double loss_sum = log_loss_.item<double>(), nll_sum = log_nll_.item<double>();
  const double dt = std::max(t - log_start_, 1e-9);
  const double n = static_cast<double>(std::max<int64_t>(log_tgt_tokens_, 1));
  MetricsRow row;
  row.step = state_.step;
  row.epoch = epoch;
  row.kind = "train";
  row.loss = loss_sum / n;
  row.nll = nll_sum / n;
  row.ppl = std::exp(row.nll);
  row.lr = last_lr_;
  row.src_tok_s = static_cast<double>(log_src_tokens_) / dt;
  row.tgt_tok_s = static_cast<double>(log_tgt_tokens_) / dt;
  row.elapsed = elapsed();
  std::ostringstream line;
  line << "step " << row.step << " | epoch " << epoch << " | loss " << format_printf("%.3f", row.loss) << " | nll "
       << format_printf("%.3f", row.nll) << " | ppl " << format_printf("%.1f", row.ppl) << " | lr " << format_printf("%.1e", row.lr) << " | src "
       << format_printf("%.0f", row.src_tok_s) << " tok/s | tgt " << format_printf("%.0f", row.tgt_tok_s) << " tok/s | "
       << format_duration(row.elapsed) << " elapsed";
  const std::string e = eta(row.elapsed);
  if (!e.empty()) line << " | ETA " << e;
  if (state_.total_bad_steps > 0) line << " | skipped " << state_.total_bad_steps;
  log(line.str());
  report(row);
  log_loss_.zero_();
  log_nll_.zero_();
  log_tgt_tokens_ = log_src_tokens_ = log_updates_ = 0;
  log_start_ = Trainer::now();
}

void Trainer::report(const MetricsRow& row) {
  if (options_.reporter) options_.reporter->metrics(row);
}

void Trainer::save(bool improved) {
  last_saved_step_ = state_.step;
  if (!options_.reporter) return;
  state_.elapsed_seconds = elapsed();
  state_.lr_scale = schedule_.scale();
  state_.lr_stalled = schedule_.stalled();
  capture_rng_state(state_, options_.device.is_cuda());
  AverageScope averaged(average_.get());  // the model is saved as the average, the raw weights beside it
  options_.reporter->checkpoint(state_.step, improved, [&](const std::string& path, bool training_state) {
    if (training_state)
      save_train_checkpoint(path, *model_, model_->family(), *optimizer_, state_, options_.checkpoint_meta,
                            average_ ? average_->raw() : std::vector<torch::Tensor>{});
    else
      save_position_checkpoint(path, *model_, model_->family(), state_, options_.checkpoint_meta);
  });
}

void Trainer::resume() {
  const std::string& path = options_.resume_from;
  std::vector<torch::Tensor> raw;
  load_train_checkpoint(path, *model_, *optimizer_, state_, options_.device, model_->family(), &raw);
  resumed_average_.clear();
  if (!raw.empty()) {  // the model holds the average: keep it, and train on from the raw weights
    if (raw.size() != params_.size())
      throw std::runtime_error("checkpoint " + path + ": " + std::to_string(raw.size()) + " raw weight tensors for " +
                               std::to_string(params_.size()) + " parameters");
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) {
      resumed_average_.push_back(params_[i].detach().clone());
      params_[i].copy_(raw[i]);
    }
  }
  restore_rng_state(state_);
  schedule_.restore(state_.lr_scale, state_.lr_stalled);
  if (options_.reporter) options_.reporter->resumed(state_.step);  // keep what the checkpointed run had reported
  last_valid_step_ = last_saved_step_ = state_.step;
  last_lr_ = schedule_.lr(std::max<int64_t>(state_.step, 1), progress());
  log("resumed from " + path + ": step " + std::to_string(state_.step) + ", epoch " + std::to_string(state_.epoch) +
      ", batch " + std::to_string(state_.batch_in_epoch) + " of the epoch");
}

TrainResult Trainer::train() {
  start_wall_ = Trainer::now();
  if (!options_.resume_from.empty()) resume();
  if (options_.dist) options_.dist->broadcast_parameters(*model_);  // all ranks start from rank 0's weights
  average_.reset();
  if (config_.ema_decay > 0) {
    average_ = std::make_unique<WeightAverage>(params_, config_.ema_decay);
    if (!resumed_average_.empty()) average_->restore(params_, resumed_average_);
    log("weight averaging: validation and checkpoints use the exponential moving average (decay " +
        format_printf("%g", config_.ema_decay) + ")");
  }
  elapsed_base_ = state_.elapsed_seconds;
  start_step_ = state_.step;
  if (config_.precision != "fp32" && !autocast_)
    log("note: precision " + config_.precision +
        (config_.precision == "bf16" ? " on the CPU needs native bf16 (AVX512-BF16 or AMX), which this CPU lacks"
                                     : " applies to CUDA only") +
        "; training in fp32 on " + options_.device.str());
  else if (autocast_)
    log("mixed precision: " + config_.precision + " autocast on " + options_.device.str() +
        (options_.device.is_cpu() ? " (oneDNN bf16 matmuls; weights, optimizer and loss in fp32)" : ""));
  if (loss_scaling_ && state_.loss_scale <= 0) state_.loss_scale = kInitialLossScale;
  optimizer_->zero_grad();
  log_loss_.zero_();
  log_nll_.zero_();
  log_tgt_tokens_ = log_src_tokens_ = log_updates_ = 0;
  log_start_ = Trainer::now();
  plan_epoch_ = 0;
  queue_.clear();

  // The stopping criteria, checked after each update and once before the first: a resumed run that
  // already reached its limit trains no further (one more update would change its weights).
  auto limit_reached = [&](bool epoch_done) -> std::string {
    if (config_.max_steps > 0 && state_.step >= config_.max_steps) return "max_steps";
    if (epoch_done && config_.max_epochs > 0 && state_.epoch > config_.max_epochs) return "max_epochs";
    if (config_.max_minutes > 0 && (options_.dist ? dist_time_up_ : elapsed() >= config_.max_minutes * 60))
      return "max_minutes";
    if (options_.dist ? dist_stop_ : options_.stop && options_.stop->load()) return "interrupted";
    return "";
  };
  std::string reason = limit_reached(/*epoch_done=*/false);
  if (!reason.empty() && reason != "interrupted")
    log("the run already reached train." + reason + " at step " + std::to_string(state_.step) +
        ": nothing to train (raise the limit in its config.yaml to train on)");
  int64_t epoch = state_.epoch;
  while (reason.empty()) {
    if (config_.max_epochs > 0 && state_.epoch > config_.max_epochs) {
      reason = "max_epochs";
      break;
    }
    if (plan_epoch_ != state_.epoch) {
      plan_size_ = train_.begin_epoch(state_.epoch);
      if (plan_size_ <= 0) throw std::invalid_argument("Trainer: the training set has no batches");
      if (state_.batch_in_epoch > plan_size_)
        throw std::runtime_error("cannot resume: the checkpoint is at batch " + std::to_string(state_.batch_in_epoch) +
                                 " of epoch " + std::to_string(state_.epoch) + ", which has " +
                                 std::to_string(plan_size_) + " batches (did the data or batching change?)");
      plan_epoch_ = state_.epoch;
      cursor_ = state_.batch_in_epoch;
      queue_.clear();
    }
    prefetch(config_.update_freq);
    std::vector<Batch> batches;
    while (!queue_.empty() && static_cast<int64_t>(batches.size()) < config_.update_freq) {
      batches.push_back(std::move(queue_.front().batch));
      queue_.pop_front();
    }
    epoch = state_.epoch;
    const bool stepped = run_update(batches, epoch);
    state_.batch_in_epoch += static_cast<int64_t>(batches.size());
    const bool epoch_done = state_.batch_in_epoch >= plan_size_;
    if (epoch_done) {  // the state always names the next batch to read
      state_.epoch += 1;
      state_.batch_in_epoch = 0;
    }
    if (stepped) {
      if (config_.log_every > 0 && state_.step % config_.log_every == 0) log_progress(epoch);
      if (config_.valid_every > 0 && state_.step % config_.valid_every == 0) run_validation(true, epoch, reason);
    }
    if (!reason.empty()) break;
    reason = limit_reached(epoch_done);
  }
  queue_.clear();
  if (reason != "interrupted" && last_valid_step_ != state_.step) {
    std::string ignored;
    run_validation(false, epoch, ignored);
  }
  if (last_saved_step_ != state_.step) save(false);
  if (options_.reporter) options_.reporter->flush();
  log("stopped (" + reason + ") at step " + std::to_string(state_.step) + ", epoch " + std::to_string(epoch) + " after " +
      format_duration(elapsed()) + (state_.has_best ? "; best " + metric_name() + " " +
                                                          format_printf("%.3f", state_.best_metric) + " at step " +
                                                          std::to_string(state_.best_step)
                                                    : ""));
  TrainResult result;
  result.steps = state_.step;
  result.epoch = state_.epoch;
  result.stop_reason = reason;
  result.has_best = state_.has_best;
  result.best_metric = state_.best_metric;
  result.best_step = state_.best_step;
  result.total_bad_steps = state_.total_bad_steps;
  result.elapsed_seconds = elapsed();
  result.last_valid = last_valid_;
  result.last_checkpoint = options_.reporter ? options_.reporter->last_checkpoint() : "";
  return result;
}

}  // namespace seqzoo
