#include "models/training/optim.h"

#include <stdexcept>
#include <unordered_set>

namespace seqzoo {

std::vector<torch::Tensor> unique_parameters(const torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  std::unordered_set<const void*> seen;
  for (const auto& p : module.parameters(/*recurse=*/true))
    if (p.requires_grad() && seen.insert(p.unsafeGetTensorImpl()).second) out.push_back(p);
  return out;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c,
                                                        const std::vector<torch::Tensor>& params) {
  if (params.empty()) throw std::invalid_argument("make_optimizer: the model has no trainable parameters");
  if (c.optimizer == "adam") {
    auto o = torch::optim::AdamOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay);
    return std::make_unique<torch::optim::Adam>(params, o);
  }
  if (c.optimizer == "adamw") {
    auto o = torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay);
    return std::make_unique<torch::optim::AdamW>(params, o);
  }
  throw std::invalid_argument("train.optimizer: unknown optimizer '" + c.optimizer + "' (known: adam, adamw)");
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

torch::Tensor gradient_norm(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> norms;
  norms.reserve(params.size());
  for (const auto& p : params) {
    const auto& g = p.grad();
    if (!g.defined()) continue;
    norms.push_back(g.detach().to(torch::kFloat).norm(2));
  }
  if (norms.empty()) return torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat));
  return torch::stack(norms).norm(2);
}

void clip_gradients(const std::vector<torch::Tensor>& params, const torch::Tensor& total_norm,
                    double max_norm) {
  if (max_norm <= 0) return;
  torch::NoGradGuard no_grad;
  torch::Tensor coef = (max_norm / (total_norm + 1e-6)).clamp_max(1.0);
  for (const auto& p : params) {
    auto& g = p.mutable_grad();
    if (g.defined()) g.mul_(coef.to(g.dtype()));
  }
}

}  // namespace seqzoo
