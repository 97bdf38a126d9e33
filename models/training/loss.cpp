#include "models/training/loss.h"

#include <stdexcept>
#include <string>

#include "data/batch.h"

namespace seqzoo {

LossSums label_smoothed_loss(const torch::Tensor& logits, const torch::Tensor& target, double epsilon) {
  if (logits.dim() != 3 || target.dim() != 2 || logits.size(0) != target.size(0) ||
      logits.size(1) != target.size(1))
    throw std::invalid_argument("label_smoothed_loss: logits [B,T,V] and target [B,T] disagree");
  if (epsilon < 0 || epsilon >= 1)
    throw std::invalid_argument("train.label_smoothing must be in [0, 1), got " + std::to_string(epsilon));
  const int64_t vocab = logits.size(2);
  torch::Tensor lprobs = torch::log_softmax(logits.to(torch::kFloat), -1);          // [B,T,V]
  torch::Tensor pad = target.eq(kPadId);                                              // [B,T]
  torch::Tensor nll = -lprobs.gather(-1, target.unsqueeze(-1)).squeeze(-1);           // [B,T]
  nll = nll.masked_fill(pad, 0.0).sum();
  LossSums out;
  if (epsilon > 0) {
    torch::Tensor smooth = (-lprobs.sum(-1)).masked_fill(pad, 0.0).sum();            // sum_k -log p_k
    out.loss = (1.0 - epsilon) * nll + (epsilon / static_cast<double>(vocab)) * smooth;
  } else {
    out.loss = nll;
  }
  out.nll = nll.detach();
  return out;
}

}  // namespace seqzoo
