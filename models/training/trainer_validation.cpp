// The trainer's validation: teacher-forced loss and BLEU on the validation set, best-checkpoint
// bookkeeping, plateau decay and early stopping (the rest of Trainer is in trainer.cpp).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "data/common/text.h"
#include "models/training/distributed/distributed.h"
#include "models/training/loss.h"
#include "models/training/precision.h"
#include "models/training/trainer.h"

namespace seqzoo {

ValidResult Trainer::validate() {
  ValidResult r;
  if (!valid_) return r;
  const double t0 = Trainer::now();
  const bool was_training = model_->is_training();
  model_->eval();
  try {
    torch::NoGradGuard no_grad;
    auto fopts = torch::TensorOptions().dtype(torch::kFloat).device(options_.device);
    torch::Tensor loss = torch::zeros({}, fopts), nll = torch::zeros({}, fopts);
    for (const auto& hb : valid_->batches) {
      Batch b = to_device(hb);
      AutocastScope autocast(autocast_, options_.device.type(), autocast_dtype_);
      LossSums sums = label_smoothed_loss(model_->forward(b), b.tgt_out, config_.label_smoothing);
      loss.add_(sums.loss);
      nll.add_(sums.nll);
      r.tokens += hb.tgt_tokens;
    }
    const double n = static_cast<double>(std::max<int64_t>(r.tokens, 1));
    r.loss = r.tokens ? loss.item<double>() / n : std::numeric_limits<double>::quiet_NaN();
    r.nll = r.tokens ? nll.item<double>() / n : std::numeric_limits<double>::quiet_NaN();
    r.ppl = std::exp(r.nll);
    if (config_.valid_bleu && valid_->bleu) r.bleu = valid_->bleu(*model_, options_.device);
    if (options_.dist) {  // every rank validates; rank 0's numbers decide, identically everywhere
      auto t = torch::tensor({r.loss, r.nll, r.ppl, r.bleu}, torch::kFloat64);
      options_.dist->broadcast(t, 0);
      r.loss = t[0].item<double>();
      r.nll = t[1].item<double>();
      r.ppl = t[2].item<double>();
      r.bleu = t[3].item<double>();
    }
  } catch (...) {
    model_->train(was_training);
    throw;
  }
  model_->train(was_training);
  r.seconds = Trainer::now() - t0;
  return r;
}

void Trainer::run_validation(bool scheduled, int64_t epoch, std::string& stop_reason) {
  AverageScope averaged(average_.get());  // validate (and save) the average
  if (!valid_) {
    last_valid_step_ = state_.step;
    save(/*improved=*/true);
    return;
  }
  if (!warned_metric_ && metric_name() != config_.best_metric) {
    log("note: best_metric " + config_.best_metric + " needs validation BLEU (valid_bleu and a decoder); using loss");
    warned_metric_ = true;
  }
  ValidResult r = validate();
  last_valid_ = r;
  last_valid_step_ = state_.step;
  const bool bleu = metric_name() == "bleu";
  const double m = bleu ? r.bleu : r.nll;
  auto better = [&](double a, double b) { return std::isfinite(a) && (bleu ? a > b : a < b); };
  const bool improved = !state_.has_best ? std::isfinite(m) : better(m, state_.best_metric);
  if (improved) {
    state_.has_best = true;
    state_.best_metric = m;
    state_.best_step = state_.step;
  }
  if (scheduled) {  // only scheduled validations drive plateau decay and early stopping
    const bool sched_improved = !state_.has_sched_best ? std::isfinite(m) : better(m, state_.sched_best_metric);
    if (sched_improved) {
      state_.has_sched_best = true;
      state_.sched_best_metric = m;
      state_.stalled_validations = 0;
    } else {
      state_.stalled_validations += 1;
    }
    if (schedule_.on_validation(sched_improved))
      log("lr decayed to " + format_printf("%.2e", schedule_.lr(state_.step + 1)) + " after " +
          std::to_string(config_.plateau_patience) + " validations without improvement");
    state_.lr_scale = schedule_.scale();
    state_.lr_stalled = schedule_.stalled();
    if (config_.patience > 0 && state_.stalled_validations >= config_.patience && stop_reason.empty())
      stop_reason = "early_stopping";
  }
  const double el = elapsed();
  std::ostringstream line;
  line << "valid | step " << state_.step << " | epoch " << epoch << " | loss " << format_printf("%.3f", r.loss) << " | nll "
       << format_printf("%.3f", r.nll) << " | ppl " << format_printf("%.2f", r.ppl);
  if (!std::isnan(r.bleu)) line << " | bleu " << format_printf("%.2f", r.bleu);
  if (state_.has_best)
    line << " | best " << metric_name() << " " << format_printf(bleu ? "%.2f" : "%.3f", state_.best_metric) << " (step "
         << state_.best_step << ")";
  line << " | " << format_duration(r.seconds) << " | " << format_duration(el) << " elapsed";
  log(line.str());
  MetricsRow row;
  row.step = state_.step;
  row.epoch = epoch;
  row.kind = "valid";
  row.lr = last_lr_;
  row.valid_loss = r.loss;
  row.valid_nll = r.nll;
  row.valid_ppl = r.ppl;
  row.valid_bleu = r.bleu;
  row.elapsed = el;
  report(row);
  save(improved);
  if (options_.reporter) options_.reporter->flush();
  log_start_ += r.seconds;  // keep validation time out of the training throughput
}

}  // namespace seqzoo
