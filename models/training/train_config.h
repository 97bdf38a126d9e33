#pragma once
// The training loop's own configuration (`train:`): optimisation, validation, checkpoints.
#include <cstdint>
#include <string>

#include "data/common/config_fields.h"

namespace seqzoo {

struct TrainConfig {
  // Members grouped by topic; each key's doc and range are in visit().
  int64_t seed = 1;
  int64_t max_steps = 0, max_epochs = 0;                     // stopping
  double max_minutes = 0;
  std::string optimizer = "adam";                            // optimizer
  double lr = 5e-4, beta1 = 0.9, beta2 = 0.98, eps = 1e-9, weight_decay = 0.0;
  std::string lr_schedule = "inverse_sqrt";                  // schedule
  int64_t warmup_steps = 4000;
  double plateau_factor = 0.5;
  int64_t plateau_patience = 2;
  double min_lr = 1e-6, clip_norm = 1.0;                     // gradients and loss
  int64_t update_freq = 1;
  double label_smoothing = 0.1;
  int64_t log_every = 100, valid_every = 1000;               // reports and validation
  bool valid_bleu = true;
  int64_t valid_beam = 1, valid_max_sentences = 0;
  std::string best_metric = "bleu";
  int64_t patience = 0, keep_last = 3, max_bad_steps = 10;   // early stopping, checkpoints, NaN guard
  std::string precision = "fp32";
  bool tune_alpha = false;                                   // after training
  double ema_decay = 0;                                      // weight averaging (0 = off)

  void visit(FieldVisitor& v) {
    v.field("seed", seed, "seeds parameters, dropout and batch order");
    v.field("max_steps", max_steps, "stop after this many updates (0 = no limit)", Range::non_negative());
    v.field("max_epochs", max_epochs, "stop after this many epochs (0 = no limit)", Range::non_negative());
    v.field("max_minutes", max_minutes, "stop after this much wall-clock time (0 = no limit)", Range::non_negative());
    v.field("optimizer", optimizer, "optimizer", {"adam", "adamw"});
    v.field("lr", lr, "peak learning rate", Range::positive());
    v.field("beta1", beta1, "Adam beta1", Range::probability());
    v.field("beta2", beta2, "Adam beta2", Range::probability());
    v.field("eps", eps, "Adam epsilon", Range::positive());
    v.field("weight_decay", weight_decay, "L2 (adam) or decoupled (adamw) weight decay", Range::non_negative());
    v.field("lr_schedule", lr_schedule,
            "learning-rate schedule (linear, cosine: down to min_lr at the end of the training budget)",
            {"inverse_sqrt", "constant", "plateau", "linear", "cosine"});
    v.field("warmup_steps", warmup_steps, "linear warmup steps", Range::non_negative());
    v.field("plateau_factor", plateau_factor, "plateau: multiply the lr by this when validation stalls", Range::fraction());
    v.field("plateau_patience", plateau_patience, "plateau: validations without improvement before decaying",
            Range::at_least(1));
    v.field("min_lr", min_lr, "lower bound of the learning rate", Range::non_negative());
    v.field("clip_norm", clip_norm, "clip the global gradient norm to this (0 = off)", Range::non_negative());
    v.field("update_freq", update_freq, "accumulate gradients over N batches per update", Range::at_least(1));
    v.field("label_smoothing", label_smoothing, "label smoothing epsilon", Range::probability());
    v.field("log_every", log_every, "print a progress line every N updates (0 = never)", Range::non_negative());
    v.field("valid_every", valid_every, "validate and checkpoint every N updates (0 = only at the end)",
            Range::non_negative());
    v.field("valid_bleu", valid_bleu, "compute BLEU on the validation set (needs decoding)");
    v.field("valid_beam", valid_beam, "beam size for validation BLEU (1 = greedy)", Range::at_least(1));
    v.field("valid_max_sentences", valid_max_sentences, "validate on the first N dev sentences (0 = all)",
            Range::non_negative());
    v.field("best_metric", best_metric, "validation metric that selects best.pt", {"bleu", "loss"});
    v.field("patience", patience, "early stopping: validations without improvement (0 = off)", Range::non_negative());
    v.field("keep_last", keep_last, "keep the last K step checkpoints", Range::at_least(1));
    v.field("max_bad_steps", max_bad_steps, "stop after this many consecutive NaN/inf losses", Range::at_least(1));
    v.field("precision", precision, "mixed precision (bf16: CUDA or an AVX512-BF16/AMX CPU; fp16: CUDA)",
            {"fp32", "bf16", "fp16"});
    v.field("tune_alpha", tune_alpha,
            "after training, set search.alpha to the best of 0.6/1.0/1.5/2.0 by validation BLEU (search.beam_size)");
    v.field("ema_decay", ema_decay,
            "exponential moving average of the weights, validated and saved while the raw weights train on "
            "(0 = off; e.g. 0.999)", Range::probability());
  }
  void check() const {}
};

}  // namespace seqzoo
