#include "models/ensemble/ensemble.h"

#include <cmath>
#include <stdexcept>

namespace seqzoo {
namespace {

std::string prefix(size_t i) { return "m" + std::to_string(i) + "/"; }

}  // namespace

EnsembleModelImpl::EnsembleModelImpl(std::vector<ModelPtr> members, std::vector<double> weights)
    : members_(std::move(members)), weights_(std::move(weights)) {
  if (members_.empty()) throw std::invalid_argument("an ensemble needs at least one model");
  if (weights_.empty()) weights_.assign(members_.size(), 1.0);
  if (weights_.size() != members_.size())
    throw std::invalid_argument("ensemble: " + std::to_string(weights_.size()) + " weights for " +
                                std::to_string(members_.size()) + " models");
  double total = 0;
  for (double w : weights_) {
    if (!(w >= 0) || !std::isfinite(w)) throw std::invalid_argument("ensemble: every weight must be >= 0 and finite");
    total += w;
  }
  if (!(total > 0)) throw std::invalid_argument("ensemble: the weights are all 0");
  for (double& w : weights_) w /= total;
  for (size_t i = 0; i < members_.size(); ++i) register_module("m" + std::to_string(i), members_[i]);
}

torch::Tensor EnsembleModelImpl::mix(const std::vector<torch::Tensor>& log_probs) const {
  if (log_probs.size() == 1) return log_probs[0];
  std::vector<torch::Tensor> weighted;
  for (size_t i = 0; i < log_probs.size(); ++i) {
    // A member with weight 0 adds nothing (log 0 = -inf; logsumexp handles it).
    weighted.push_back(log_probs[i] + std::log(weights_[i]));
  }
  return torch::logsumexp(torch::stack(weighted, 0), 0);
}

torch::Tensor EnsembleModelImpl::forward(const Batch& batch) {
  std::vector<torch::Tensor> log_probs;
  for (auto& m : members_) log_probs.push_back(torch::log_softmax(m->forward(batch).to(torch::kFloat32), -1));
  return mix(log_probs);
}

DecoderState EnsembleModelImpl::encode(const torch::Tensor& src, const torch::Tensor& src_len) {
  DecoderState state;
  for (size_t i = 0; i < members_.size(); ++i) state.absorb(prefix(i), members_[i]->encode(src, src_len));
  state.step = 0;
  return state;
}

torch::Tensor EnsembleModelImpl::step(const torch::Tensor& prev_tokens, DecoderState& state) {
  std::vector<torch::Tensor> log_probs;
  torch::Tensor attention;
  double attention_weight = 0;
  const int64_t step = state.step;
  for (size_t i = 0; i < members_.size(); ++i) {
    DecoderState part = state.extract(prefix(i));
    part.step = step;
    log_probs.push_back(members_[i]->step(prev_tokens, part).to(torch::kFloat32));
    if (part.contains("attention")) {
      const torch::Tensor a = part.at("attention").to(torch::kFloat32) * weights_[i];
      attention = attention.defined() ? attention + a : a;
      attention_weight += weights_[i];
    }
    state.absorb(prefix(i), std::move(part));
  }
  state.step = step + 1;
  if (attention.defined() && attention_weight > 0) state.set("attention", attention / attention_weight);
  return mix(log_probs);
}

std::string EnsembleModelImpl::family() const {
  std::string name = "ensemble(";
  for (size_t i = 0; i < members_.size(); ++i) name += (i ? "+" : "") + members_[i]->family();
  return name + ")";
}

}  // namespace seqzoo
