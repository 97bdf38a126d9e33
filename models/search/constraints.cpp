#include "models/search/constraints.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/batch.h"

namespace seqzoo {

SentenceLimits sentence_limits(const SearchOptions& options, int64_t src_len, std::vector<int64_t> prefix) {
  SentenceLimits l;
  const auto len = static_cast<double>(src_len);
  l.max_len = static_cast<int64_t>(std::floor(options.max_len_a * len + static_cast<double>(options.max_len_b)));
  l.min_len = static_cast<int64_t>(std::floor(options.min_len_a * len + static_cast<double>(options.min_len_b)));
  l.max_len = std::max<int64_t>(l.max_len, static_cast<int64_t>(prefix.size()));
  l.prefix = std::move(prefix);
  return l;
}

bool has_token_constraints(const SearchOptions& options, const std::vector<SentenceLimits>& limits) {
  if (options.suppress_unk || options.no_repeat_ngram > 0) return true;
  return std::any_of(limits.begin(), limits.end(),
                     [](const SentenceLimits& l) { return l.min_len > 0 || !l.prefix.empty(); });
}

std::vector<int64_t> repeated_ngram_bans(const std::vector<int64_t>& tokens, int64_t n) {
  std::vector<int64_t> bans;
  const auto len = static_cast<int64_t>(tokens.size());
  if (n < 1 || len < n - 1) return bans;
  // The last n-1 tokens; every earlier occurrence of them bans the token that followed it.
  for (int64_t i = 0; i + n - 1 < len; ++i) {
    bool same = true;
    for (int64_t k = 0; k < n - 1 && same; ++k) same = tokens[i + k] == tokens[len - n + 1 + k];
    if (same) bans.push_back(tokens[i + n - 1]);
  }
  return bans;
}

void constrain_step(torch::Tensor& scores, int64_t t, const std::vector<const std::vector<int64_t>*>& tokens,
                    const std::vector<int64_t>& sentence, const std::vector<SentenceLimits>& limits,
                    const SearchOptions& options) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const int64_t rows = scores.size(0);
  std::vector<int64_t> forced_rows, forced_tokens, ban_rows, ban_tokens;
  for (int64_t r = 0; r < rows; ++r) {
    if (tokens[r] == nullptr) continue;
    const SentenceLimits& l = limits[sentence[r]];
    if (t >= l.max_len || t < static_cast<int64_t>(l.prefix.size())) {
      forced_rows.push_back(r);
      forced_tokens.push_back(t >= l.max_len ? kEosId : l.prefix[t]);
      continue;
    }
    auto ban = [&](int64_t token) {
      ban_rows.push_back(r);
      ban_tokens.push_back(token);
    };
    if (t < l.min_len) ban(kEosId);
    if (options.suppress_unk) ban(kUnkId);
    if (options.no_repeat_ngram > 0)
      for (int64_t token : repeated_ngram_bans(*tokens[r], options.no_repeat_ngram)) ban(token);
  }
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  const torch::Device device = scores.device();
  scores.index_fill_(1, torch::tensor(std::vector<int64_t>{kPadId, kBosId}, i64).to(device), neg_inf);
  if (!ban_rows.empty())
    scores.index_put_({torch::tensor(ban_rows, i64).to(device), torch::tensor(ban_tokens, i64).to(device)},
                      torch::scalar_tensor(neg_inf, scores.options()));
  if (!forced_rows.empty()) {
    const torch::Tensor fr = torch::tensor(forced_rows, i64).to(device);
    const torch::Tensor ft = torch::tensor(forced_tokens, i64).to(device);
    const torch::Tensor keep = scores.index({fr, ft});
    scores.index_fill_(0, fr, neg_inf);
    scores.index_put_({fr, ft}, keep);
  }
}

}  // namespace seqzoo
