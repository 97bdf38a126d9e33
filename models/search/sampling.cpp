// Sampling through Seq2SeqModelImpl::encode/step and DecoderState only. Rows are [N*K]
// (sentence-major, K = nbest draws per sentence). Each step: log-probs from model.step, the shared
// constraints (constraints.h), temperature, top-k/top-p cut, then one uniform number per row from
// the row's own counter-based stream picks a token by inverse CDF on the device; one small
// device->host copy of the drawn tokens and their log-probs. A sentence leaves the batch when all
// its K draws have ended (DecoderState::reorder), as in beam search.
#include "models/search/sampling.h"

#include <limits>
#include <numeric>

namespace seqzoo {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

struct Draw {
  std::vector<int64_t> tokens;
  double log_prob = 0;
  bool done = false;
  std::vector<std::vector<float>> attention;
};

}  // namespace

double sampling_uniform(int64_t seed, int64_t id, int64_t k, int64_t t) {
  uint64_t h = splitmix64(static_cast<uint64_t>(seed));
  h = splitmix64(h ^ static_cast<uint64_t>(id));
  h = splitmix64(h ^ static_cast<uint64_t>(k));
  h = splitmix64(h ^ static_cast<uint64_t>(t));
  return (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;  // 53 random bits, never 0 or 1
}

void cut_top_k_top_p(torch::Tensor& logits, int64_t k, double p) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const int64_t vocab = logits.size(1);
  if (k > 0 && k < vocab) {
    const torch::Tensor kth = std::get<0>(logits.topk(k, /*dim=*/1)).select(1, k - 1).unsqueeze(1);  // [R,1]
    logits.masked_fill_(logits.lt(kth), neg_inf);
  }
  if (p < 1.0) {
    auto sorted = logits.sort(/*dim=*/1, /*descending=*/true);
    torch::Tensor values = std::get<0>(sorted), index = std::get<1>(sorted);  // [R,V]
    const torch::Tensor probs = torch::softmax(values, 1);
    // A token stays while the tokens ranked above it hold less than p: the first always stays.
    const torch::Tensor above = probs.cumsum(1) - probs;
    values.masked_fill_(above.ge(p), neg_inf);
    logits.scatter_(1, index, values);
  }
}

std::vector<std::vector<Hypothesis>> sample_batch(Seq2SeqModelImpl& model, const torch::Tensor& src,
                                                  const torch::Tensor& src_len,
                                                  const std::vector<SentenceLimits>& limits,
                                                  const std::vector<int64_t>& ids, const SearchOptions& options) {
  torch::NoGradGuard no_grad;
  const int64_t n = src.size(0), draws_per = options.nbest;
  std::vector<std::vector<Hypothesis>> results(static_cast<size_t>(n));
  if (n == 0) return results;
  const torch::Device device = src.device();
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  const torch::Tensor len_cpu = src_len.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* lengths = len_cpu.data_ptr<int64_t>();

  DecoderState state = model.encode(src, src_len);
  state.repeat_interleave(draws_per);
  std::vector<int64_t> active(static_cast<size_t>(n));  // original sentence of each row block
  std::iota(active.begin(), active.end(), 0);
  std::vector<Draw> draws(static_cast<size_t>(n * draws_per));  // by original sentence * K + k
  torch::Tensor prev = torch::full({n * draws_per}, kBosId, i64.device(device));

  for (int64_t t = 0; !active.empty(); ++t) {
    const auto na = static_cast<int64_t>(active.size());
    const int64_t rows = na * draws_per;
    torch::Tensor logp = model.step(prev, state).to(torch::kFloat32);  // [R,V]
    const int64_t vocab = logp.size(1);
    std::vector<const std::vector<int64_t>*> tokens(static_cast<size_t>(rows));
    std::vector<int64_t> sentence(static_cast<size_t>(rows));
    std::vector<float> uniform(static_cast<size_t>(rows));
    for (int64_t j = 0; j < na; ++j)
      for (int64_t k = 0; k < draws_per; ++k) {
        const int64_t r = j * draws_per + k, s = active[j];
        Draw& d = draws[s * draws_per + k];
        tokens[r] = d.done ? nullptr : &d.tokens;
        sentence[r] = s;
        uniform[r] = static_cast<float>(sampling_uniform(options.seed, ids[s], k, t));
      }
    constrain_step(logp, t, tokens, sentence, limits, options);
    torch::Tensor logits = options.temperature == 1.0 ? logp.clone() : logp / options.temperature;
    cut_top_k_top_p(logits, options.topk, options.topp);
    // Inverse CDF: the first token whose cumulative probability reaches u (of the row's total).
    const torch::Tensor cdf = torch::softmax(logits, 1).cumsum(1);
    const torch::Tensor u = torch::tensor(uniform).to(device).unsqueeze(1) * cdf.select(1, vocab - 1).unsqueeze(1);
    const torch::Tensor drawn = cdf.lt(u).sum(1).clamp_max(vocab - 1);                 // [R]
    const torch::Tensor drawn_lp = logp.gather(1, drawn.unsqueeze(1)).squeeze(1);      // [R]
    const torch::Tensor packed =
        torch::stack({drawn.to(torch::kFloat64), drawn_lp.to(torch::kFloat64)}, 1).to(torch::kCPU).contiguous();
    const double* pk = packed.data_ptr<double>();
    torch::Tensor attn_cpu;
    if (options.keep_attention && state.contains("attention"))
      attn_cpu = state.at("attention").to(torch::kCPU, torch::kFloat32).contiguous();

    std::vector<int64_t> next_tokens(static_cast<size_t>(rows), kEosId);
    std::vector<int64_t> keep;
    for (int64_t j = 0; j < na; ++j) {
      const int64_t s = active[j];
      bool open = false;
      for (int64_t k = 0; k < draws_per; ++k) {
        const int64_t r = j * draws_per + k;
        Draw& d = draws[s * draws_per + k];
        if (d.done) continue;
        auto token = static_cast<int64_t>(pk[2 * r]);
        if (token == kPadId || token == kBosId) token = kEosId;  // only when the whole row was -inf
        d.log_prob += pk[2 * r + 1];
        if (attn_cpu.defined()) {
          const float* a = attn_cpu.data_ptr<float>() + r * attn_cpu.size(1);
          d.attention.emplace_back(a, a + std::min<int64_t>(attn_cpu.size(1), lengths[s]));
        }
        if (token == kEosId) {
          d.done = true;
        } else {
          d.tokens.push_back(token);
          next_tokens[r] = token;
          open = true;
        }
      }
      if (open) keep.push_back(j);
    }
    std::vector<int64_t> next_active;
    for (int64_t j : keep) next_active.push_back(active[j]);
    if (next_active.empty()) break;
    torch::Tensor next = torch::tensor(next_tokens, i64).to(device);
    if (static_cast<int64_t>(keep.size()) < na) {  // sentences whose draws all ended leave the batch
      std::vector<int64_t> kept_rows;
      for (int64_t j : keep)
        for (int64_t k = 0; k < draws_per; ++k) kept_rows.push_back(j * draws_per + k);
      const torch::Tensor rows_t = torch::tensor(kept_rows, i64).to(device);
      state.reorder(rows_t, torch::tensor(keep, i64).to(device));
      next = next.index_select(0, rows_t);
    }
    prev = next;
    active = std::move(next_active);
  }
  for (int64_t s = 0; s < n; ++s)
    for (int64_t k = 0; k < draws_per; ++k) {
      Draw& d = draws[s * draws_per + k];
      Hypothesis h;
      h.tokens = std::move(d.tokens);
      h.log_prob = d.log_prob;
      h.score = d.log_prob / length_penalty(options, static_cast<int64_t>(h.tokens.size()) + 1);
      h.attention = std::move(d.attention);
      results[s].push_back(std::move(h));
    }
  return results;
}

}  // namespace seqzoo
