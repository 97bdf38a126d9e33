#include "models/search/scoring.h"

#include "data/batcher.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace seqzoo {

std::vector<std::vector<float>> score_all(Seq2SeqModelImpl& model, const std::vector<std::vector<int64_t>>& src,
                                          const std::vector<std::vector<int64_t>>& tgt, int64_t batch_tokens,
                                          const torch::Device& device) {
  return score_all(SearchWorkers{{&model}, 0}, src, tgt, batch_tokens, device);
}

std::vector<std::vector<float>> score_all(const SearchWorkers& workers, const std::vector<std::vector<int64_t>>& src,
                                          const std::vector<std::vector<int64_t>>& tgt, int64_t batch_tokens,
                                          const torch::Device& device) {
  if (src.size() != tgt.size())
    throw std::invalid_argument("score_all: " + std::to_string(src.size()) + " sources but " +
                                std::to_string(tgt.size()) + " targets");
  for (size_t i = 0; i < src.size(); ++i)
    if (src[i].empty()) throw std::invalid_argument("pair " + std::to_string(i + 1) + ": empty source, nothing to score");
  std::vector<std::vector<float>> out(src.size());
  // Only pairs of the same shape (source and target length) share a batch: no padding, so a pair's
  // numbers are computed as when it is scored alone, up to the rounding a BLAS's shape-dependent
  // kernel choice may bring.
  auto width = [&](size_t i) { return static_cast<int64_t>(std::max(src[i].size(), tgt[i].size() + 1)); };
  auto shape = [&](size_t i) { return std::make_pair(src[i].size(), tgt[i].size()); };
  std::vector<size_t> order(src.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return shape(a) > shape(b); });
  const int64_t budget = std::max<int64_t>(batch_tokens, 1);
  std::vector<std::pair<size_t, size_t>> batches;  // [begin, end) in order
  for (size_t begin = 0; begin < order.size();) {
    const int64_t longest = width(order[begin]);
    size_t end = begin + 1;
    while (end < order.size() && shape(order[end]) == shape(order[begin]) &&
           static_cast<int64_t>(end - begin + 1) * longest <= budget)
      ++end;
    batches.emplace_back(begin, end);
    begin = end;
  }
  workers.run(batches.size(), [&](size_t b, Seq2SeqModelImpl& model) {
    torch::NoGradGuard no_grad;
    const size_t begin = batches[b].first, end = batches[b].second;
    const auto bn = static_cast<int64_t>(end - begin);
    std::vector<std::vector<int64_t>> batch_src, batch_tgt;
    for (size_t r = begin; r < end; ++r) {
      batch_src.push_back(src[order[r]]);
      batch_tgt.push_back(tgt[order[r]]);
    }
    const Batch batch = make_batch(batch_src, batch_tgt);  // tgt_in = bos y, tgt_out = y eos
    const Batch on_device = batch.to(device);
    // [B,T,V] logits -> [B,T] log-probs of the given tokens.
    const torch::Tensor logp = torch::log_softmax(model.forward(on_device).to(torch::kFloat32), -1)
                                   .gather(2, on_device.tgt_out.unsqueeze(2))
                                   .squeeze(2)
                                   .to(torch::kCPU)
                                   .contiguous();
    auto lp = logp.accessor<float, 2>();
    for (int64_t r = 0; r < bn; ++r) {
      auto& row = out[order[begin + r]];
      const int64_t n = static_cast<int64_t>(tgt[order[begin + r]].size()) + 1;
      for (int64_t p = 0; p < n; ++p) row.push_back(lp[r][p]);
    }
  });
  return out;
}

}  // namespace seqzoo
