// Greedy and batched beam search through Seq2SeqModelImpl::encode/step and DecoderState only.
//
// The beam is laid out as rows [N*K] (sentence-major, K = beam size) of the DecoderState. Each step:
//   1. log-probs [N*K,V] from model.step; pad (and bos) masked; rows at their sentence's max length
//      may only emit eos (fairseq's forced eos at max_len).
//   2. candidates: running score [N*K,1] + log-probs, viewed [N,K*V], top 2K per sentence (so at
//      least K of them are not eos; Wu et al. 2016, fairseq's SequenceGenerator).
//   3. one small device->host copy of the candidates ([N,2K] scores and flat indices): the host
//      finalises eos candidates ranked within the top K (fairseq), picks the K best non-eos
//      candidates as the next beam, and decides which sentences are done.
//   4. one host->device copy of the selection; the device gathers the new running scores (they
//      never leave the device except as that copy) and reorders the state (DecoderState::reorder:
//      one index_select per hypothesis entry; source entries, one row per sentence, only when
//      sentences left), which also drops finished sentences from the batch (so a finished
//      sentence neither steals slots from nor costs compute for the others).
// All decisions are per sentence, from that sentence's own rows: a sentence's translation does not
// depend on the batch it is decoded in (the bug class of OpenNMT-py #2208 and fairseq #3078).
#include "models/search/search.h"

#include "models/search/constraints.h"
#include "models/search/sampling.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace seqzoo {

void SearchOptions::check() const {
  if (max_len_a == 0 && max_len_b == 0)
    throw std::invalid_argument("search.max_len_b: max_len_a and max_len_b are both 0, so every translation would be "
                                "empty; set one of them > 0");
  if (nbest > beam_size && !sampling)
    throw std::invalid_argument("search.nbest: must be <= search.beam_size (" + std::to_string(beam_size) + "), got " +
                                std::to_string(nbest) + " (with search.sampling, nbest is the number of draws)");
}

void SearchOptions::validate() const {
  SearchOptions copy = *this;
  check_config_ranges([&](FieldVisitor& v) { v.section("search", "", [&](FieldVisitor& s) { copy.visit(s); }); });
  check();
}

namespace {

// Decoding batches of at most this many hypothesis rows (sentences x beam) run on one intra-op
// thread: at such sizes each operator is too small to split, and waking the other threads for it at
// every operator costs more than they add (README, Speed: a sentence at a time, and 16-line batches).
constexpr int64_t kOneThreadRows = 96;

// Sets the calling thread's OpenMP thread count to 1 for its lifetime (the count LibTorch's and
// oneDNN's parallel regions read), through the OpenMP runtime LibTorch loaded. Not
// torch::set_num_threads: that also resizes thread pools and empties oneDNN's kernel cache.
class OneThreadScope {
 public:
  explicit OneThreadScope(bool active) {
    static const auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    static const auto set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    if (!active || get == nullptr || set == nullptr) return;
    before_ = get();
    if (before_ > 1) set(1), set_ = set;
  }
  ~OneThreadScope() {
    if (set_ != nullptr) set_(before_);
  }
  OneThreadScope(const OneThreadScope&) = delete;
  OneThreadScope& operator=(const OneThreadScope&) = delete;

 private:
  int before_ = 1;
  void (*set_)(int) = nullptr;
};


constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Bookkeeping of one open hypothesis (one row of the beam), kept on the host.
struct OpenHyp {
  std::vector<int64_t> tokens;
  std::vector<std::vector<float>> attention;
};

}  // namespace

double length_penalty(const SearchOptions& o, int64_t length) {
  if (o.length_norm == "gnmt") return std::pow((5.0 + static_cast<double>(length)) / 6.0, o.alpha);
  if (o.length_norm == "average") return static_cast<double>(std::max<int64_t>(length, 1));
  return 1.0;
}

std::vector<std::vector<Hypothesis>> search_batch(Seq2SeqModelImpl& model, const torch::Tensor& src,
                                                  const torch::Tensor& src_len,
                                                  const SearchOptions& options,
                                                  const std::vector<std::vector<int64_t>>& prefixes,
                                                  const std::vector<int64_t>& ids) {
  options.validate();
  if (src.dim() != 2 || src_len.dim() != 1 || src_len.size(0) != src.size(0))
    throw std::invalid_argument("search_batch: src must be [N,S] and src_len [N]");
  if ((!prefixes.empty() && static_cast<int64_t>(prefixes.size()) != src.size(0)) ||
      (!ids.empty() && static_cast<int64_t>(ids.size()) != src.size(0)))
    throw std::invalid_argument("search_batch: one prefix and one id per sentence (or none)");
  torch::NoGradGuard no_grad;
  const int64_t n = src.size(0);
  std::vector<std::vector<Hypothesis>> results(static_cast<size_t>(n));
  if (n == 0) return results;

  const torch::Device device = src.device();
  const int64_t beam = options.beam_size;
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);

  // Source lengths and per-sentence output limits (tokens before eos), once on the host.
  const torch::Tensor len_cpu = src_len.to(torch::kCPU, torch::kInt64).contiguous();
  std::vector<int64_t> lengths(len_cpu.data_ptr<int64_t>(), len_cpu.data_ptr<int64_t>() + n);
  std::vector<int64_t> max_len(static_cast<size_t>(n));
  std::vector<SentenceLimits> limits;
  for (int64_t i = 0; i < n; ++i) {
    if (lengths[i] < 1) throw std::invalid_argument("search_batch: every src_len must be >= 1");
    limits.push_back(sentence_limits(options, lengths[i], prefixes.empty() ? std::vector<int64_t>{} : prefixes[i]));
    max_len[i] = limits.back().max_len;
  }
  if (options.sampling) {
    std::vector<int64_t> sentence_ids = ids;
    if (sentence_ids.empty()) {
      sentence_ids.resize(static_cast<size_t>(n));
      std::iota(sentence_ids.begin(), sentence_ids.end(), 0);
    }
    return sample_batch(model, src, src_len, limits, sentence_ids, options);
  }
  const bool constrained = has_token_constraints(options, limits);

  DecoderState state = model.encode(src, src_len);
  state.repeat_interleave(beam);

  // Sentences still being decoded: active[j] = original index of compact row-block j.
  std::vector<int64_t> active(static_cast<size_t>(n));
  std::iota(active.begin(), active.end(), 0);
  std::vector<OpenHyp> open(static_cast<size_t>(n * beam));

  // Running scores [N,K] on the device: only beam 0 is alive at the first step, so the K copies of
  // a sentence don't expand into K identical candidates.
  torch::Tensor scores =
      torch::full({n, beam}, -std::numeric_limits<float>::infinity(),
                  torch::TensorOptions().dtype(torch::kFloat32).device(device));
  scores.select(1, 0).fill_(0.0);
  torch::Tensor prev_tokens = torch::full({n * beam}, kBosId, i64.device(device));
  // Per-sentence output limits on the device [na], compacted with the batch.
  torch::Tensor limit = torch::tensor(max_len, i64).to(device);
  const torch::Tensor special = torch::tensor(std::vector<int64_t>{kPadId, kBosId}, i64).to(device);

  for (int64_t t = 0; !active.empty(); ++t) {
    const int64_t na = static_cast<int64_t>(active.size());
    // Candidate scores [na*K,V]: log-probs + running score, in place (step returns a new tensor).
    torch::Tensor total = model.step(prev_tokens, state).to(torch::kFloat32);
    const int64_t vocab = total.size(1);
    if (vocab <= kEosId) throw std::invalid_argument("search: vocabulary too small");
    total.add_(scores.reshape({na * beam, 1}));
    // Never generate pad or bos.
    total.index_fill_(1, special, -std::numeric_limits<float>::infinity());
    // Sentences at their length limit may only end (eos keeps its log-prob).
    bool any_at_limit = false;
    for (int64_t j = 0; j < na && !any_at_limit; ++j) any_at_limit = t >= max_len[active[j]];
    if (any_at_limit) {
      torch::Tensor at_limit = limit.le(t).repeat_interleave(beam).unsqueeze(1);  // [na*K,1]
      torch::Tensor eos_col = total.select(1, kEosId).clone();
      total.masked_fill_(at_limit, -std::numeric_limits<float>::infinity());
      total.select(1, kEosId).copy_(eos_col);
    }
    if (constrained) {  // min length, prefix, <unk>, no-repeat-ngram: rows of dead slots (-inf) too
      std::vector<const std::vector<int64_t>*> row_tokens(static_cast<size_t>(na * beam));
      std::vector<int64_t> row_sentence(static_cast<size_t>(na * beam));
      for (int64_t r = 0; r < na * beam; ++r) {
        row_tokens[r] = &open[r].tokens;
        row_sentence[r] = active[r / beam];
      }
      constrain_step(total, t, row_tokens, row_sentence, limits, options);
    }
    total = total.view({na, beam * vocab});
    const int64_t ncand = std::min<int64_t>(2 * beam, beam * vocab);
    auto top = total.topk(ncand, /*dim=*/1, /*largest=*/true, /*sorted=*/true);
    torch::Tensor cand_scores = std::get<0>(top);  // [na, C]
    torch::Tensor cand_index = std::get<1>(top);   // [na, C]
    // The one device->host copy of the step (double holds both exactly).
    torch::Tensor packed =
        torch::stack({cand_scores.to(torch::kFloat64), cand_index.to(torch::kFloat64)}, 2)
            .to(torch::kCPU)
            .contiguous();
    const double* pk = packed.data_ptr<double>();
    torch::Tensor attn_cpu;
    const float* attn = nullptr;
    int64_t attn_cols = 0;
    if (options.keep_attention && state.contains("attention")) {
      attn_cpu = state.at("attention").to(torch::kCPU, torch::kFloat32).contiguous();
      attn = attn_cpu.data_ptr<float>();
      attn_cols = attn_cpu.size(1);
    }
    auto attention_row = [&](int64_t row, int64_t sentence) {
      const int64_t cols = std::min(attn_cols, lengths[sentence]);
      return std::vector<float>(attn + row * attn_cols, attn + row * attn_cols + cols);
    };

    std::vector<int64_t> keep;       // compact indices j of sentences that go on
    std::vector<int64_t> selection;  // [keep.size(), K] candidate positions (-1 = dead slot)
    std::vector<OpenHyp> next_open;
    for (int64_t j = 0; j < na; ++j) {
      const int64_t s = active[j];
      auto& finished = results[s];
      std::vector<int64_t> chosen;
      for (int64_t c = 0; c < ncand; ++c) {
        const double score = pk[(j * ncand + c) * 2];
        const auto flat = static_cast<int64_t>(pk[(j * ncand + c) * 2 + 1]);
        const int64_t b = flat / vocab, token = flat % vocab;
        if (token == kEosId) {
          // Finalise eos candidates ranked among the top K (fairseq).
          if (c < beam && score > kNegInf) {
            Hypothesis h;
            const OpenHyp& parent = open[j * beam + b];
            h.tokens = parent.tokens;
            h.log_prob = score;
            h.score = score / length_penalty(options, t + 1);
            if (attn) {
              h.attention = parent.attention;
              h.attention.push_back(attention_row(j * beam + b, s));
            }
            finished.push_back(std::move(h));
          }
        } else if (static_cast<int64_t>(chosen.size()) < beam) {
          chosen.push_back(c);
        }
      }
      // Is this sentence done?
      const int64_t nfin = static_cast<int64_t>(finished.size());
      bool done = t >= max_len[s] || nfin >= beam || chosen.empty() ||
                  !(pk[(j * ncand + chosen[0]) * 2] > kNegInf);
      if (!done && nfin >= options.nbest) {
        // No open hypothesis can still beat the nbest-th finished one: scores only fall as
        // tokens are added (log-probs <= 0), so the best open raw score divided by the largest
        // normaliser it can reach bounds its final normalised score (OpenNMT-py's criterion).
        std::vector<double> fs;
        for (const auto& h : finished) fs.push_back(h.score);
        std::nth_element(fs.begin(), fs.begin() + (options.nbest - 1), fs.end(),
                         std::greater<double>());
        const double best_open = pk[(j * ncand + chosen[0]) * 2];
        const double bound = best_open / length_penalty(options, max_len[s] + 1);
        if (fs[options.nbest - 1] >= bound) done = true;
      }
      if (done) continue;
      keep.push_back(j);
      for (int64_t k = 0; k < beam; ++k) {
        if (k < static_cast<int64_t>(chosen.size())) {
          const int64_t c = chosen[k];
          const auto flat = static_cast<int64_t>(pk[(j * ncand + c) * 2 + 1]);
          const int64_t b = flat / vocab, token = flat % vocab;
          OpenHyp h = open[j * beam + b];
          h.tokens.push_back(token);
          if (attn) h.attention.push_back(attention_row(j * beam + b, s));
          next_open.push_back(std::move(h));
          selection.push_back(c);
        } else {
          next_open.emplace_back();
          selection.push_back(-1);
        }
      }
    }

    // Sentences that ended: n-best, best first.
    std::vector<int64_t> next_active;
    for (int64_t j : keep) next_active.push_back(active[j]);
    for (int64_t j = 0, q = 0; j < na; ++j) {
      if (q < static_cast<int64_t>(keep.size()) && keep[q] == j) {
        ++q;
        continue;
      }
      auto& finished = results[active[j]];
      std::stable_sort(finished.begin(), finished.end(),
                       [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
      if (static_cast<int64_t>(finished.size()) > options.nbest) finished.resize(options.nbest);
    }
    active = std::move(next_active);
    open = std::move(next_open);
    if (active.empty()) break;

    // The one host->device copy: kept sentence blocks and their K candidate positions.
    const int64_t nk = static_cast<int64_t>(keep.size());
    std::vector<int64_t> upload(keep);
    upload.insert(upload.end(), selection.begin(), selection.end());
    torch::Tensor up = torch::tensor(upload, i64).to(device);
    torch::Tensor keep_t = up.slice(0, 0, nk);
    torch::Tensor sel = up.slice(0, nk).reshape({nk, beam});
    limit = limit.index_select(0, keep_t);
    torch::Tensor dead = sel.lt(0);
    torch::Tensor sel0 = sel.clamp_min(0);
    torch::Tensor kept_scores = cand_scores.index_select(0, keep_t).gather(1, sel0);
    torch::Tensor kept_index = cand_index.index_select(0, keep_t).gather(1, sel0);
    scores = kept_scores.masked_fill(dead, -std::numeric_limits<float>::infinity());
    torch::Tensor origin = kept_index.div(vocab, /*rounding_mode=*/"floor");  // beam in block
    prev_tokens = kept_index.remainder(vocab).masked_fill(dead, kEosId).reshape({nk * beam});
    torch::Tensor rows = (keep_t.unsqueeze(1) * beam + origin).reshape({nk * beam});
    // Source entries (one row per sentence) only move when sentences left the batch.
    state.reorder(rows, nk == na ? torch::Tensor() : keep_t);
  }
  return results;
}

std::vector<std::vector<Hypothesis>> search_all(Seq2SeqModelImpl& model,
                                                const std::vector<std::vector<int64_t>>& src,
                                                const SearchOptions& options, int64_t batch_tokens,
                                                const torch::Device& device) {
  std::vector<SearchInput> inputs(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    inputs[i].src = src[i];
    inputs[i].id = static_cast<int64_t>(i);
  }
  return search_all(model, inputs, options, batch_tokens, device);
}

std::vector<std::vector<Hypothesis>> search_all(Seq2SeqModelImpl& model, const std::vector<SearchInput>& inputs,
                                                const SearchOptions& options, int64_t batch_tokens,
                                                const torch::Device& device) {
  return search_all(SearchWorkers{{&model}, 0}, inputs, options, batch_tokens, device);
}

void SearchWorkers::run(size_t tasks, const std::function<void(size_t task, Seq2SeqModelImpl& model)>& task) const {
  if (replicas.empty()) throw std::invalid_argument("SearchWorkers: no model replica");
  for (auto* r : replicas)
    if (r == nullptr) throw std::invalid_argument("SearchWorkers: a null model replica");
  auto in_scope = [&](const std::function<void()>& work) {
    if (scope)
      scope(work);
    else
      work();
  };
  if (replicas.size() == 1 || tasks <= 1) {
    in_scope([&] {
      for (size_t i = 0; i < tasks; ++i) task(i, *replicas.front());
    });
    return;
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::exception_ptr error;
  auto work = [&](Seq2SeqModelImpl& model) {
    // OpenMP's thread count belongs to the calling thread: a new thread starts from the default.
    if (threads_each > 0) torch::set_num_threads(static_cast<int>(threads_each));
    torch::NoGradGuard no_grad;
    auto record = [&] {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      failed = true;
    };
    try {
      in_scope([&] {
        for (size_t i = next++; i < tasks && !failed; i = next++) {
          try {
            task(i, model);
          } catch (...) {
            record();
          }
        }
      });
    } catch (...) {  // from the scope itself
      record();
    }
  };
  std::vector<std::thread> threads;
  const size_t n = std::min(replicas.size(), tasks);
  for (size_t w = 1; w < n; ++w) threads.emplace_back(work, std::ref(*replicas[w]));
  const int before = torch::get_num_threads();
  work(*replicas.front());  // the calling thread is the first worker, with its thread count restored after
  if (torch::get_num_threads() != before) torch::set_num_threads(before);
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

std::vector<std::vector<Hypothesis>> search_all(const SearchWorkers& workers, const std::vector<SearchInput>& inputs,
                                                const SearchOptions& options, int64_t batch_tokens,
                                                const torch::Device& device) {
  options.validate();
  std::vector<std::vector<Hypothesis>> results(inputs.size());
  // Empty sources are not decoded: a source without tokens gets one empty hypothesis (score 0,
  // log_prob 0), never something the model would invent for an input it was not trained on.
  std::vector<int64_t> order;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].src.empty())
      results[i].push_back(Hypothesis{});
    else
      order.push_back(static_cast<int64_t>(i));
  }
  // Longest first (stable: ties keep input order), then cut into batches whose padded size
  // (sentences x longest source) stays within the budget; a batch has at least one sentence.
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return inputs[a].src.size() > inputs[b].src.size(); });
  const int64_t budget = std::max<int64_t>(batch_tokens, 1);
  std::vector<std::pair<size_t, size_t>> batches;  // [begin, end) in order
  for (size_t begin = 0; begin < order.size();) {
    const int64_t longest = static_cast<int64_t>(inputs[order[begin]].src.size());
    size_t end = begin + 1;
    while (end < order.size() && static_cast<int64_t>(end - begin + 1) * longest <= budget) ++end;
    batches.emplace_back(begin, end);
    begin = end;
  }
  // Each batch writes its own sentences' results only: the workers share nothing else.
  workers.run(batches.size(), [&](size_t b, Seq2SeqModelImpl& model) {
    const size_t begin = batches[b].first, end = batches[b].second;
    const int64_t longest = static_cast<int64_t>(inputs[order[begin]].src.size());
    const int64_t bn = static_cast<int64_t>(end - begin);
    torch::Tensor ids = torch::full({bn, longest}, kPadId, torch::kInt64);
    torch::Tensor lens = torch::empty({bn}, torch::kInt64);
    auto ids_a = ids.accessor<int64_t, 2>();
    auto lens_a = lens.accessor<int64_t, 1>();
    for (int64_t r = 0; r < bn; ++r) {
      const auto& s = inputs[order[begin + r]].src;
      for (size_t p = 0; p < s.size(); ++p) ids_a[r][p] = s[p];
      lens_a[r] = static_cast<int64_t>(s.size());
    }
    std::vector<std::vector<int64_t>> prefixes;
    std::vector<int64_t> sentence_ids;
    bool any_prefix = false;
    for (int64_t r = 0; r < bn; ++r) {
      const SearchInput& in = inputs[order[begin + r]];
      prefixes.push_back(in.prefix);
      sentence_ids.push_back(in.id);
      any_prefix = any_prefix || !in.prefix.empty();
    }
    if (!any_prefix) prefixes.clear();
    const int64_t rows = bn * (options.sampling ? 1 : options.beam_size);
    OneThreadScope one_thread(device.is_cpu() && rows <= kOneThreadRows);
    auto out = search_batch(model, ids.to(device), lens.to(device), options, prefixes, sentence_ids);
    for (int64_t r = 0; r < bn; ++r) results[order[begin + r]] = std::move(out[r]);
  });
  return results;
}

}  // namespace seqzoo
