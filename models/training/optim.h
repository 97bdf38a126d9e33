#pragma once
// Optimizer construction and the gradient utilities of an update, all free of host syncs.
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "models/training/train_config.h"

namespace seqzoo {

// The trainable parameters of a module, each tensor once (tied embeddings are shared), in
// registration order (stable across runs, which optimizer checkpoints rely on).
std::vector<torch::Tensor> unique_parameters(const torch::nn::Module& module);

// Adam (L2 weight decay) or AdamW (decoupled, Loshchilov & Hutter 2019) with betas, eps and
// weight_decay from the config; the lr is set per update by the schedule.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& config,
                                                        const std::vector<torch::Tensor>& params);

// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

// Global L2 norm of the defined gradients: a float32 scalar on their device (0 when none).
torch::Tensor gradient_norm(const std::vector<torch::Tensor>& params);

// Scales all gradients by min(1, max_norm / (total_norm + 1e-6)) without reading total_norm back.
void clip_gradients(const std::vector<torch::Tensor>& params, const torch::Tensor& total_norm,
                    double max_norm);

}  // namespace seqzoo
