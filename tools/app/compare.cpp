#include "tools/app/compare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "data/common/files.h"
#include "data/common/text.h"
#include "data/corpus.h"
#include "models/search/search.h"
#include "tools/app/evaluation.h"
#include "tools/app/inference.h"
#include "tools/app/run_directory.h"
#include "tools/app/svg_plot.h"
#include "tools/app/translation.h"

namespace seqzoo {

namespace fs = std::filesystem;

int64_t count_words(const std::string& text) {
  int64_t n = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

namespace {

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

}  // namespace

bool has_repeated_ngram(const std::string& text, int n) {
  if (n < 1) throw std::invalid_argument("has_repeated_ngram: n must be >= 1");
  const auto words = split_words(text);
  std::set<std::vector<std::string>> seen;
  for (size_t i = 0; i + static_cast<size_t>(n) <= words.size(); ++i) {
    std::vector<std::string> gram(words.begin() + static_cast<std::ptrdiff_t>(i),
                                  words.begin() + static_cast<std::ptrdiff_t>(i) + n);
    if (!seen.insert(std::move(gram)).second) return true;
  }
  return false;
}

std::vector<LengthBucket> length_buckets(const std::vector<int64_t>& lengths, int64_t max_buckets, int64_t min_size) {
  if (max_buckets < 1) throw std::invalid_argument("length buckets: the number of buckets must be >= 1");
  if (min_size < 1) throw std::invalid_argument("length buckets: the minimum bucket size must be >= 1");
  if (lengths.empty()) throw std::invalid_argument("length buckets: no sentences");
  const int64_t n = static_cast<int64_t>(lengths.size());
  const int64_t buckets = std::max<int64_t>(1, std::min<int64_t>(max_buckets, n / min_size));
  std::map<int64_t, std::vector<int64_t>> by_length;  // length -> sentences
  for (int64_t i = 0; i < n; ++i) by_length[lengths[static_cast<size_t>(i)]].push_back(i);
  std::vector<LengthBucket> out;
  LengthBucket cur;
  bool open = false;
  int64_t assigned = 0;
  for (auto it = by_length.begin(); it != by_length.end(); ++it) {
    if (!open) {
      cur = LengthBucket{};
      cur.lo = it->first;
      open = true;
    }
    cur.hi = it->first;
    cur.sentences.insert(cur.sentences.end(), it->second.begin(), it->second.end());
    assigned += static_cast<int64_t>(it->second.size());
    // Close at the next quantile edge, when the bucket is big enough and enough remain for the rest.
    const int64_t target = n * static_cast<int64_t>(out.size() + 1) / buckets;
    const int64_t remaining = n - assigned;
    const bool last = static_cast<int64_t>(out.size()) + 1 == buckets;
    if (!last && assigned >= target && static_cast<int64_t>(cur.sentences.size()) >= min_size && remaining >= min_size) {
      std::sort(cur.sentences.begin(), cur.sentences.end());
      out.push_back(std::move(cur));
      open = false;
    }
  }
  if (open) {
    std::sort(cur.sentences.begin(), cur.sentences.end());
    if (!out.empty() && static_cast<int64_t>(cur.sentences.size()) < min_size) {  // too small: merge
      LengthBucket& prev = out.back();
      prev.hi = cur.hi;
      prev.sentences.insert(prev.sentences.end(), cur.sentences.begin(), cur.sentences.end());
      std::sort(prev.sentences.begin(), prev.sentences.end());
    } else {
      out.push_back(std::move(cur));
    }
  }
  return out;
}

ProbeSet build_long_sentence_probe(const std::vector<std::string>& src, const std::vector<std::string>& ref,
                                   int64_t max_k) {
  if (src.size() != ref.size())
    throw std::invalid_argument("long-sentence probe: " + std::to_string(src.size()) + " sources but " +
                                std::to_string(ref.size()) + " references");
  if (max_k < 1) throw std::invalid_argument("long-sentence probe: k must be >= 1");
  ProbeSet p;
  const int64_t n = static_cast<int64_t>(src.size());
  for (int64_t k = 1; k <= max_k; ++k)
    for (int64_t first = 0; first + k <= n; first += k) {
      std::string s, r;
      for (int64_t j = first; j < first + k; ++j) {
        s += (j > first ? " " : "") + src[static_cast<size_t>(j)];
        r += (j > first ? " " : "") + ref[static_cast<size_t>(j)];
      }
      p.src.push_back(std::move(s));
      p.ref.push_back(std::move(r));
      p.k.push_back(k);
      p.first.push_back(first);
    }
  return p;
}

ValidCurve valid_curve(const std::vector<MetricsRow>& rows) {
  ValidCurve c;
  // Tokens per update, from train rows with no validation since the previous train row.
  std::vector<double> per_update_est(rows.size(), std::nan(""));
  std::vector<double> rates;
  double sum_est = 0;
  int64_t n_est = 0;
  const MetricsRow* prev_train = nullptr;
  bool valid_between = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    const MetricsRow& r = rows[i];
    if (r.kind == "valid") {
      valid_between = true;
      continue;
    }
    if (r.kind != "train") continue;
    if (std::isfinite(r.tgt_tok_s)) rates.push_back(r.tgt_tok_s);
    if (prev_train != nullptr && !valid_between && std::isfinite(r.tgt_tok_s) && r.step > prev_train->step &&
        r.elapsed > prev_train->elapsed) {
      const double est = r.tgt_tok_s * (r.elapsed - prev_train->elapsed) / static_cast<double>(r.step - prev_train->step);
      per_update_est[i] = est;
      sum_est += est;
      ++n_est;
    }
    prev_train = &r;
    valid_between = false;
  }
  const double mean_est = n_est > 0 ? sum_est / static_cast<double>(n_est) : std::nan("");
  double tokens = 0;
  int64_t last_step = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const MetricsRow& r = rows[i];
    // Tokens of the updates since the last row, at this interval's estimate when it has one.
    const double est = std::isfinite(per_update_est[i]) ? per_update_est[i] : mean_est;
    if (r.step > last_step) {
      tokens += est * static_cast<double>(r.step - last_step);
      last_step = r.step;
    }
    if (r.kind == "valid" && std::isfinite(r.valid_bleu)) {
      c.minutes.push_back(r.elapsed / 60.0);
      c.tokens.push_back(tokens);
      c.updates.push_back(static_cast<double>(r.step));
      c.bleu.push_back(r.valid_bleu);
    }
    c.train_minutes = std::max(c.train_minutes, r.elapsed / 60.0);
    c.last_step = std::max(c.last_step, r.step);
  }
  if (!rates.empty()) {
    std::sort(rates.begin(), rates.end());
    c.tgt_tok_s = rates[rates.size() / 2];
  }
  if (c.train_minutes > 0) c.updates_per_minute = static_cast<double>(c.last_step) / c.train_minutes;
  return c;
}

namespace {

struct AttentionMap {
  std::string title;
  std::vector<std::vector<float>> weights;  // [tgt pieces + 1][src pieces]
};

struct System {
  std::string name, path;
  bool is_run = false;
  std::string family;       // runs: the registry name
  int64_t params = 0;
  std::string search;       // runs: "beam 5, alpha 1.0"
  std::vector<std::string> hyps;
  std::vector<bool> hit_limit;  // runs: the output reached the search's length limit
  double decode_seconds = 0;
  std::vector<std::string> probe_hyps;  // runs, with the probe
  ValidCurve curve;
  bool has_curve = false;
  std::vector<std::string> src_pieces, tgt_pieces;
  std::vector<AttentionMap> maps;
  // scores
  BleuScore bleu;
  ChrfScore chrf;
  PairedResult bleu_bs, chrf_bs;
  std::vector<BleuStats> bleu_stats;
  std::vector<ChrfStats> chrf_stats;
};

std::string fmt(const char* f, double v) { return format_printf(f, v); }

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string percent(int64_t part, int64_t whole) {
  return whole > 0 ? fmt("%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole)) : "-";
}

BleuScore bleu_of(const std::vector<BleuStats>& stats, const std::vector<int64_t>& idx, const BleuOptions& o) {
  BleuStats sum;
  sum.counts.assign(static_cast<size_t>(o.max_order), 0);
  sum.totals = sum.counts;
  for (int64_t i : idx) sum += stats[static_cast<size_t>(i)];
  return compute_bleu(sum, o);
}

double chrf_of(const std::vector<ChrfStats>& stats, const std::vector<int64_t>& idx, const ChrfOptions& o) {
  ChrfStats sum;
  sum.counts.assign(static_cast<size_t>(3 * (o.char_order + o.word_order)), 0);
  for (int64_t i : idx) sum += stats[static_cast<size_t>(i)];
  return chrf_from_stats(sum, o).score;
}

// The best hypothesis replayed through the model interface, one step per token, to read every
// attention the family exposes: state "attention" [1,S] and, where present, "head_attention"
// [1,L,H,S].
std::vector<AttentionMap> replay_attention(Seq2SeqModelImpl& model, const std::vector<int64_t>& src_ids,
                                           const std::vector<int64_t>& tgt_ids, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  torch::Tensor src = torch::tensor(src_ids, i64).view({1, -1}).to(device);
  torch::Tensor len = torch::full({1}, static_cast<int64_t>(src_ids.size()), i64).to(device);
  DecoderState state = model.encode(src, len);
  state.set_source("keep_head_attention", torch::ones({1}, i64).to(device));
  std::vector<std::vector<float>> avg;                       // [T][S]
  std::vector<std::vector<std::vector<std::vector<float>>>> heads;  // [L][H][T][S]
  int64_t prev = kBosId;
  for (size_t t = 0; t <= tgt_ids.size(); ++t) {
    model.step(torch::full({1}, prev, i64).to(device), state);
    const torch::Tensor a = state.get("attention");
    if (a.defined()) {
      const torch::Tensor row = a.to(torch::kCPU, torch::kFloat).contiguous().view({-1});
      avg.emplace_back(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    }
    const torch::Tensor h = state.get("head_attention");
    if (h.defined()) {
      const torch::Tensor hh = h.to(torch::kCPU, torch::kFloat).contiguous()[0];  // [L,H,S]
      if (heads.empty()) heads.assign(static_cast<size_t>(hh.size(0)), std::vector<std::vector<std::vector<float>>>(static_cast<size_t>(hh.size(1))));
      for (int64_t l = 0; l < hh.size(0); ++l)
        for (int64_t k = 0; k < hh.size(1); ++k) {
          const torch::Tensor row = hh[l][k].contiguous();
          heads[static_cast<size_t>(l)][static_cast<size_t>(k)].emplace_back(row.data_ptr<float>(),
                                                                             row.data_ptr<float>() + row.numel());
        }
    }
    if (t < tgt_ids.size()) prev = tgt_ids[t];
  }
  std::vector<AttentionMap> out;
  if (heads.empty()) {
    if (!avg.empty()) out.push_back({"attention", avg});
    return out;
  }
  for (size_t l = 0; l < heads.size(); ++l) {
    std::vector<std::vector<float>> mean(heads[l][0].size(), std::vector<float>(heads[l][0][0].size(), 0.0f));
    for (const auto& head : heads[l])
      for (size_t t = 0; t < head.size(); ++t)
        for (size_t s = 0; s < head[t].size(); ++s) mean[t][s] += head[t][s] / static_cast<float>(heads[l].size());
    out.push_back({"layer " + std::to_string(l + 1) + ", heads averaged", mean});
  }
  for (size_t l = 0; l < heads.size(); ++l)
    for (size_t k = 0; k < heads[l].size(); ++k)
      out.push_back({"layer " + std::to_string(l + 1) + ", head " + std::to_string(k + 1), heads[l][k]});
  return out;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

}  // namespace

void compare_systems(const CompareOptions& options, const std::function<SearchOptions(const SearchOptions&)>& search_for,
                     const torch::Device& device, std::ostream& out, std::ostream& progress) {
  if (options.systems.empty()) throw std::invalid_argument("no systems to compare (give run directories or hypothesis files)");
  if (!options.names.empty() && options.names.size() != options.systems.size())
    throw std::invalid_argument("--name: " + std::to_string(options.names.size()) + " names for " +
                                std::to_string(options.systems.size()) + " systems");
  if (options.probe_max_k < 0 || options.probe_max_k > 20)
    throw std::invalid_argument("--probe-max-k must be in [0, 20], got " + std::to_string(options.probe_max_k));
  if (options.probe_bin_words < 1)
    throw std::invalid_argument("--probe-bin-words must be >= 1, got " + std::to_string(options.probe_bin_words));
  if (options.probe_min_bin < 1)
    throw std::invalid_argument("--probe-min-bin must be >= 1, got " + std::to_string(options.probe_min_bin));
  if (options.max_buckets < 1 || options.max_buckets > 100)
    throw std::invalid_argument("--buckets must be in [1, 100], got " + std::to_string(options.max_buckets));
  if (options.min_bucket < 1) throw std::invalid_argument("--min-bucket must be >= 1, got " + std::to_string(options.min_bucket));
  if (options.bootstrap.samples < 1 || options.bootstrap.samples > 100000)
    throw std::invalid_argument("--samples must be in [1, 100000], got " + std::to_string(options.bootstrap.samples));
  options.bleu.validate();
  search_for(SearchOptions{});  // the decoding flags, checked before anything is loaded

  // ---- systems: runs are loaded, hypothesis files read later ----
  std::vector<System> systems(options.systems.size());
  std::vector<LoadedModel> runs(options.systems.size());
  const LoadedModel* first_run = nullptr;
  for (size_t i = 0; i < options.systems.size(); ++i) {
    System& s = systems[i];
    s.path = options.systems[i];
    const std::string given = options.names.empty() ? "" : options.names[i];
    fs::path p(s.path);
    std::string stem = p.filename().string();
    if (stem.empty()) stem = p.parent_path().filename().string();
    s.name = given.empty() ? stem : given;
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      if (!fs::exists(p / "config.yaml"))
        throw std::invalid_argument("system " + s.path + ": a directory without config.yaml is not a run directory");
      progress << "compare: loading run " << s.path << " (" << options.checkpoint << ")" << std::endl;
      runs[i] = load_workers({s.path}, {}, options.checkpoint, device, options.workers, options.threads);
      set_precision(runs[i], options.precision);
      s.is_run = true;
      s.family = runs[i].model->family();
      s.params = count_parameters(*runs[i].model);
      if (first_run == nullptr) {
        first_run = &runs[i];
      } else if (runs[i].config.data.src_lang != first_run->config.data.src_lang ||
                 runs[i].config.data.tgt_lang != first_run->config.data.tgt_lang) {
        throw std::invalid_argument("system " + s.path + " translates " + runs[i].config.data.src_lang + "->" +
                                    runs[i].config.data.tgt_lang + " but the first run " +
                                    first_run->config.data.src_lang + "->" + first_run->config.data.tgt_lang);
      }
      const std::string metrics = RunDirectory(s.path).metrics();
      if (fs::exists(metrics)) {
        s.curve = valid_curve(parse_metrics(read_text_file(metrics)));
        s.has_curve = !s.curve.bleu.empty();
      }
    } else if (fs::is_regular_file(p, ec)) {
      s.family = "(hypotheses)";
    } else {
      throw std::invalid_argument("system " + s.path + ": no such run directory or hypothesis file");
    }
  }

  // ---- the test set ----
  std::vector<std::string> srcs;
  std::vector<std::vector<std::string>> refs;
  std::string test_name;
  if (!options.src.empty()) {
    if (!options.test.empty()) throw std::invalid_argument("give --src/--ref or --test, not both");
    srcs = read_lines(options.src);
    refs = read_references(options.refs, srcs.size(), "source " + options.src);
    test_name = options.src;
  } else {
    if (!options.refs.empty()) throw std::invalid_argument("--ref goes with --src");
    if (first_run == nullptr)
      throw std::invalid_argument("every system is a hypothesis file: give the test set as --src FILE --ref FILE");
    const std::string split = options.test.empty() ? first_run->config.data.test : options.test;
    if (split.empty()) throw std::invalid_argument("the first run's data.test is empty: give --test PREFIX or --src/--ref");
    RawCorpus raw = read_split(first_run->config.data, split);
    if (raw.tgt.size() != raw.src.size()) throw std::invalid_argument("test set " + raw.src_path + ": no target side");
    srcs = std::move(raw.src);
    refs = {std::move(raw.tgt)};
    test_name = raw.src_path + " -> " + raw.tgt_path;
  }
  if (srcs.empty()) throw std::invalid_argument("test set " + test_name + " is empty");
  const int64_t n = static_cast<int64_t>(srcs.size());
  std::vector<int64_t> src_words(srcs.size());
  for (size_t i = 0; i < srcs.size(); ++i) src_words[i] = count_words(srcs[i]);
  const std::vector<LengthBucket> buckets = length_buckets(src_words, options.max_buckets, options.min_bucket);
  const ProbeSet probe = options.probe_max_k > 0 ? build_long_sentence_probe(srcs, refs.front(), options.probe_max_k)
                                                 : ProbeSet{};
  // Probe inputs beyond the test set itself (k >= 2) are decoded; k = 1 reuses the test decode.
  std::vector<std::string> probe_extra;
  for (size_t j = 0; j < probe.src.size(); ++j)
    if (probe.k[j] > 1) probe_extra.push_back(probe.src[j]);

  // The attention sentence: the given line, or the first with 10-16 source words.
  int64_t att_line = options.attention_line;
  if (att_line < 0 || att_line > n)
    throw std::invalid_argument("--attention-line must be in [0, " + std::to_string(n) + "], got " + std::to_string(att_line));
  if (att_line == 0) {
    att_line = 1;
    for (int64_t i = 0; i < n; ++i)
      if (src_words[static_cast<size_t>(i)] >= 10 && src_words[static_cast<size_t>(i)] <= 16) {
        att_line = i + 1;
        break;
      }
  }

  // ---- decoding ----
  for (size_t i = 0; i < systems.size(); ++i) {
    System& s = systems[i];
    const std::string tag = "compare: [" + std::to_string(i + 1) + "/" + std::to_string(systems.size()) + "] " + s.name;
    if (!s.is_run) {
      s.hyps = read_lines(s.path);
      if (static_cast<int64_t>(s.hyps.size()) != n)
        throw std::invalid_argument("hypotheses " + s.path + " have " + std::to_string(s.hyps.size()) +
                                    " lines but the test set " + std::to_string(n));
      progress << tag << ": " << n << " hypotheses read" << std::endl;
      continue;
    }
    const LoadedModel& run = runs[i];
    TranslateOptions topts;
    topts.search = search_for(run.config.search);
    topts.search.nbest = 1;
    topts.input_name = test_name;
    s.search = "beam " + std::to_string(topts.search.beam_size) + ", alpha " + fmt("%.2g", topts.search.alpha);
    progress << tag << ": translating " << n << " test sentences (" << s.search << ")" << std::endl;
    const auto t0 = std::chrono::steady_clock::now();
    const auto results = translate_lines(run.workers(), run.tok, srcs, topts, run.device);
    s.decode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    progress << tag << ": " << fmt("%.1f", s.decode_seconds) << " s, " << fmt("%.1f", n / s.decode_seconds)
             << " sentences/s" << std::endl;
    for (const auto& r : results) {
      s.hyps.push_back(r.nbest.empty() ? std::string() : r.nbest.front().text);
      const double limit =
          std::floor(topts.search.max_len_a * static_cast<double>(r.src_pieces.size()) + static_cast<double>(topts.search.max_len_b));
      s.hit_limit.push_back(!r.nbest.empty() && static_cast<double>(r.tgt_pieces.size()) >= limit);
    }
    if (!probe_extra.empty()) {
      progress << tag << ": long-sentence probe, " << probe_extra.size() << " joined inputs (k = 2.."
               << options.probe_max_k << ")" << std::endl;
      TranslateOptions popts = topts;
      popts.input_name = "long-sentence probe";
      const auto t1 = std::chrono::steady_clock::now();
      const auto pres = translate_lines(*run.model, run.tok, probe_extra, popts, run.device);
      progress << tag << ": probe "
               << fmt("%.1f", std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count()) << " s"
               << std::endl;
      size_t next = 0;
      for (size_t j = 0; j < probe.src.size(); ++j) {
        if (probe.k[j] == 1)
          s.probe_hyps.push_back(s.hyps[static_cast<size_t>(probe.first[j])]);
        else {
          const auto& r = pres[next++];
          s.probe_hyps.push_back(r.nbest.empty() ? std::string() : r.nbest.front().text);
        }
      }
    }
    // Attention of the chosen sentence.
    const std::vector<int64_t> ids = run.tok.src->encode(srcs[static_cast<size_t>(att_line - 1)]);
    if (!ids.empty()) {
      SearchOptions one = topts.search;
      one.keep_attention = false;
      const auto hyp = search_all(*run.model, {ids}, one, one.batch_tokens, run.device);
      if (!hyp.empty() && !hyp.front().empty()) {
        s.src_pieces = run.tok.src->id_to_pieces(ids);
        s.tgt_pieces = run.tok.tgt->id_to_pieces(hyp.front().front().tokens);
        s.maps = replay_attention(*run.model, ids, hyp.front().front().tokens, run.device);
      }
    }
  }

  // ---- scores ----
  progress << "compare: scoring, paired bootstrap (" << options.bootstrap.samples << " resamples, seed "
           << options.bootstrap.seed << ")" << std::endl;
  std::vector<SentenceStats> bleu_rows, chrf_rows;
  for (System& s : systems) {
    s.bleu = corpus_bleu(s.hyps, refs, options.bleu);
    s.chrf = corpus_chrf(s.hyps, refs, options.chrf);
    s.bleu_stats = sentence_bleu_stats(s.hyps, refs, options.bleu);
    s.chrf_stats = sentence_chrf_stats(s.hyps, refs, options.chrf);
    bleu_rows.push_back(bleu_sentence_stats(s.hyps, refs, options.bleu));
    chrf_rows.push_back(chrf_sentence_stats(s.hyps, refs, options.chrf));
  }
  const auto bleu_bs = paired_bootstrap(bleu_rows, options.bootstrap);
  const auto chrf_bs = paired_bootstrap(chrf_rows, options.bootstrap);
  for (size_t i = 0; i < systems.size(); ++i) {
    systems[i].bleu_bs = bleu_bs[i];
    systems[i].chrf_bs = chrf_bs[i];
  }
  // Bucket scores [system][bucket].
  std::vector<std::vector<BleuScore>> bucket_bleu(systems.size());
  std::vector<std::vector<double>> bucket_chrf(systems.size());
  for (size_t i = 0; i < systems.size(); ++i)
    for (const auto& b : buckets) {
      bucket_bleu[i].push_back(bleu_of(systems[i].bleu_stats, b.sentences, options.bleu));
      bucket_chrf[i].push_back(chrf_of(systems[i].chrf_stats, b.sentences, options.chrf));
    }
  // Probe bins by source words.
  std::map<int64_t, std::vector<int64_t>> bins;  // bin -> probe inputs
  std::vector<int64_t> probe_words(probe.src.size());
  for (size_t j = 0; j < probe.src.size(); ++j) {
    probe_words[j] = count_words(probe.src[j]);
    bins[probe_words[j] / options.probe_bin_words].push_back(static_cast<int64_t>(j));
  }
  std::vector<int64_t> shown_bins;
  for (const auto& b : bins)
    if (static_cast<int64_t>(b.second.size()) >= options.probe_min_bin) shown_bins.push_back(b.first);
  std::vector<size_t> probed;  // systems with probe decodes
  std::vector<std::vector<double>> bin_bleu;  // [probed][shown bin]
  std::vector<std::vector<double>> k_bleu;    // [probed][k-1]
  for (size_t i = 0; i < systems.size(); ++i) {
    if (systems[i].probe_hyps.size() != probe.src.size() || probe.src.empty()) continue;
    probed.push_back(i);
    const auto stats = sentence_bleu_stats(systems[i].probe_hyps, {probe.ref}, options.bleu);
    std::vector<double> row;
    for (int64_t b : shown_bins) row.push_back(bleu_of(stats, bins[b], options.bleu).score);
    bin_bleu.push_back(row);
    std::vector<double> krow;
    for (int64_t k = 1; k <= options.probe_max_k; ++k) {
      std::vector<int64_t> idx;
      for (size_t j = 0; j < probe.src.size(); ++j)
        if (probe.k[j] == k) idx.push_back(static_cast<int64_t>(j));
      krow.push_back(idx.empty() ? std::nan("") : bleu_of(stats, idx, options.bleu).score);
    }
    k_bleu.push_back(krow);
  }
  // Error analysis.
  int64_t ref_repeats = 0;
  for (const auto& r : refs.front()) ref_repeats += has_repeated_ngram(r, 3) ? 1 : 0;

  // ---- markdown ----
  std::ostringstream md;
  const std::string src_lang = first_run ? first_run->config.data.src_lang : "";
  const std::string tgt_lang = first_run ? first_run->config.data.tgt_lang : "";
  md << "Test set: " << test_name << " (" << n << " sentences"
     << (src_lang.empty() ? "" : ", " + src_lang + "->" + tgt_lang) << "). BLEU signature: " << systems[0].bleu.signature
     << ". Paired bootstrap: " << options.bootstrap.samples << " resamples, seed " << options.bootstrap.seed
     << ", 95% interval, p against " << systems[0].name << ".\n\n";
  md << "| system | family | params | search | BLEU | 95% interval | p | " << systems[0].chrf.name
     << " | 95% interval | p | BP | ratio | sentences/s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const System& s : systems) {
    md << "| " << md_cell(s.name) << " | " << s.family << " | "
       << (s.params > 0 ? fmt("%.1fM", static_cast<double>(s.params) / 1e6) : std::string("-")) << " | "
       << (s.search.empty() ? "-" : s.search) << " | " << fmt("%.2f", s.bleu.score) << " | "
       << fmt("%.2f", s.bleu_bs.mean) << " ± " << fmt("%.2f", s.bleu_bs.half_width) << " | "
       << (std::isnan(s.bleu_bs.p_value) ? std::string("(baseline)") : fmt("%.4f", s.bleu_bs.p_value)) << " | "
       << fmt("%.2f", s.chrf.score) << " | " << fmt("%.2f", s.chrf_bs.mean) << " ± " << fmt("%.2f", s.chrf_bs.half_width)
       << " | " << (std::isnan(s.chrf_bs.p_value) ? std::string("(baseline)") : fmt("%.4f", s.chrf_bs.p_value)) << " | "
       << fmt("%.3f", s.bleu.bp) << " | "
       << fmt("%.3f", s.bleu.ref_len > 0 ? static_cast<double>(s.bleu.sys_len) / static_cast<double>(s.bleu.ref_len) : 0.0)
       << " | " << (s.decode_seconds > 0 ? fmt("%.1f", n / s.decode_seconds) : std::string("-")) << " |\n";
  }
  md << "\nBLEU by source length (words; bucket edges at the length quantiles, each bucket >= " << options.min_bucket
     << " sentences):\n\n| system |";
  for (const auto& b : buckets) md << " " << b.lo << "-" << b.hi << " words (" << b.sentences.size() << ") |";
  md << "\n|---|";
  for (size_t b = 0; b < buckets.size(); ++b) md << "---|";
  md << "\n";
  for (size_t i = 0; i < systems.size(); ++i) {
    md << "| " << md_cell(systems[i].name) << " |";
    for (size_t b = 0; b < buckets.size(); ++b)
      md << " " << fmt("%.2f", bucket_bleu[i][b].score) << " (chrF " << fmt("%.1f", bucket_chrf[i][b]) << ", BP "
         << fmt("%.2f", bucket_bleu[i][b].bp) << ", ratio "
         << fmt("%.2f", bucket_bleu[i][b].ref_len > 0 ? static_cast<double>(bucket_bleu[i][b].sys_len) /
                                                             static_cast<double>(bucket_bleu[i][b].ref_len)
                                                       : 0.0)
         << ") |";
    md << "\n";
  }
  md << "\nError analysis (shares of the " << n << " test sentences; repeated 3-gram: some word 3-gram occurs twice in "
     << "the output; the references have " << percent(ref_repeats, n) << "):\n\n"
     << "| system | empty output | hit the length limit | repeated 3-gram | length ratio | BP |\n|---|---|---|---|---|---|\n";
  for (const System& s : systems) {
    int64_t empty = 0, limit = 0, repeats = 0;
    for (size_t j = 0; j < s.hyps.size(); ++j) {
      empty += s.hyps[j].find_first_not_of(" \t") == std::string::npos ? 1 : 0;
      repeats += has_repeated_ngram(s.hyps[j], 3) ? 1 : 0;
      if (j < s.hit_limit.size()) limit += s.hit_limit[j] ? 1 : 0;
    }
    md << "| " << md_cell(s.name) << " | " << percent(empty, n) << " | "
       << (s.is_run ? percent(limit, n) : std::string("-")) << " | " << percent(repeats, n) << " | "
       << fmt("%.3f", s.bleu.ref_len > 0 ? static_cast<double>(s.bleu.sys_len) / static_cast<double>(s.bleu.ref_len) : 0.0)
       << " | " << fmt("%.3f", s.bleu.bp) << " |\n";
  }
  if (!probed.empty()) {
    md << "\nLong-sentence probe (k consecutive test pairs joined into one input, k = 1.." << options.probe_max_k
       << "; BLEU per bin of " << options.probe_bin_words << " source words, bins with >= " << options.probe_min_bin
       << " inputs):\n\n| system |";
    for (int64_t b : shown_bins)
      md << " " << b * options.probe_bin_words << "-" << (b + 1) * options.probe_bin_words - 1 << " (" << bins[b].size()
         << ") |";
    md << "\n|---|";
    for (size_t b = 0; b < shown_bins.size(); ++b) md << "---|";
    md << "\n";
    for (size_t q = 0; q < probed.size(); ++q) {
      md << "| " << md_cell(systems[probed[q]].name) << " |";
      for (double v : bin_bleu[q]) md << " " << fmt("%.2f", v) << " |";
      md << "\n";
    }
    md << "\nProbe BLEU by k (pairs joined):\n\n| system |";
    for (int64_t k = 1; k <= options.probe_max_k; ++k) md << " k=" << k << " |";
    md << "\n|---|";
    for (int64_t k = 1; k <= options.probe_max_k; ++k) md << "---|";
    md << "\n";
    for (size_t q = 0; q < probed.size(); ++q) {
      md << "| " << md_cell(systems[probed[q]].name) << " |";
      for (double v : k_bleu[q]) md << " " << (std::isnan(v) ? std::string("-") : fmt("%.2f", v)) << " |";
      md << "\n";
    }
  }
  bool any_curve = false;
  for (const System& s : systems) any_curve = any_curve || s.has_curve;
  if (any_curve) {
    md << "\nTraining (from each run's metrics.tsv; target tokens/s is the median of the logged throughput):\n\n"
       << "| system | updates | train time | target tokens/s | updates/min | best valid BLEU | at minute |\n"
       << "|---|---|---|---|---|---|---|\n";
    for (const System& s : systems) {
      if (!s.has_curve) continue;
      const auto best = std::max_element(s.curve.bleu.begin(), s.curve.bleu.end()) - s.curve.bleu.begin();
      md << "| " << md_cell(s.name) << " | " << s.curve.last_step << " | " << format_duration(s.curve.train_minutes * 60)
         << " | " << fmt("%.0f", s.curve.tgt_tok_s) << " | " << fmt("%.1f", s.curve.updates_per_minute) << " | "
         << fmt("%.2f", s.curve.bleu[static_cast<size_t>(best)]) << " | "
         << fmt("%.1f", s.curve.minutes[static_cast<size_t>(best)]) << " |\n";
    }
  }
  out << md.str();
  out.flush();
  if (!out) throw std::runtime_error("cannot write to standard output (disk full or closed?)");
  if (!options.markdown.empty()) write_text_file(options.markdown, md.str());

  if (options.html.empty()) return;
  // ---- HTML ----
  auto plot_of = [&](const std::string& title, const std::string& x_label, const std::string& y_label) {
    LinePlot p;
    p.title = title;
    p.x_label = x_label;
    p.y_label = y_label;
    return p;
  };
  std::vector<std::string> svgs;
  {
    LinePlot p = plot_of("BLEU by source length (test set buckets)", "source words (bucket mean)", "BLEU");
    p.x_from_zero = false;
    p.y_from_zero = true;
    for (size_t i = 0; i < systems.size(); ++i) {
      PlotSeries s{systems[i].name, {}, true};
      for (size_t b = 0; b < buckets.size(); ++b) {
        double mean = 0;
        for (int64_t j : buckets[b].sentences) mean += static_cast<double>(src_words[static_cast<size_t>(j)]);
        mean /= static_cast<double>(buckets[b].sentences.size());
        s.points.emplace_back(mean, bucket_bleu[i][b].score);
      }
      p.series.push_back(s);
    }
    svgs.push_back(render_line_plot_svg(p));
  }
  if (!probed.empty()) {
    LinePlot p = plot_of("Long-sentence probe: BLEU against source length", "source words (bin mean)", "BLEU");
    p.y_from_zero = true;
    for (size_t q = 0; q < probed.size(); ++q) {
      PlotSeries s{systems[probed[q]].name, {}, true};
      for (size_t b = 0; b < shown_bins.size(); ++b) {
        double mean = 0;
        for (int64_t j : bins[shown_bins[b]]) mean += static_cast<double>(probe_words[static_cast<size_t>(j)]);
        mean /= static_cast<double>(bins[shown_bins[b]].size());
        s.points.emplace_back(mean, bin_bleu[q][b]);
      }
      p.series.push_back(s);
    }
    svgs.push_back(render_line_plot_svg(p));
  }
  if (any_curve) {
    const char* axes[3][2] = {{"Validation BLEU against wall-clock time", "training minutes"},
                              {"Validation BLEU against training target tokens", "target tokens"},
                              {"Validation BLEU against updates", "updates"}};
    for (int a = 0; a < 3; ++a) {
      LinePlot p = plot_of(axes[a][0], axes[a][1], "validation BLEU");
      p.y_from_zero = true;
      for (const System& s : systems) {
        if (!s.has_curve) continue;
        PlotSeries ps{s.name, {}, true};
        const auto& xs = a == 0 ? s.curve.minutes : a == 1 ? s.curve.tokens : s.curve.updates;
        for (size_t j = 0; j < xs.size(); ++j) ps.points.emplace_back(xs[j], s.curve.bleu[j]);
        p.series.push_back(ps);
      }
      svgs.push_back(render_line_plot_svg(p));
    }
  }
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
       << "<title>" << xml_escape(options.title) << "</title>\n<style>\n"
       << "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\n"
       << "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
       << "td:first-child,th:first-child{text-align:left}th{background:#f2f2f2}\n"
       << ".maps{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}.note{color:#555;font-size:13px}\n"
       << "</style>\n</head>\n<body>\n<h1>" << xml_escape(options.title) << "</h1>\n<p class=\"note\">Generated "
       << utc_now() << " by seqzoo-compare " SEQZOO_VERSION ".</p>\n";
  // The markdown tables, as HTML tables.
  {
    std::istringstream in(md.str());
    std::string line;
    bool in_table = false, header = false;
    while (std::getline(in, line)) {
      if (line.rfind("|", 0) == 0) {
        if (line.rfind("|---", 0) == 0) continue;
        if (!in_table) {
          html << "<table>\n";
          in_table = true;
          header = true;
        }
        html << "<tr>";
        std::string cell;
        std::vector<std::string> cells;
        for (size_t c = 1; c < line.size(); ++c) {
          if (line[c] == '\\' && c + 1 < line.size() && line[c + 1] == '|') {
            cell += '|';
            ++c;
          } else if (line[c] == '|') {
            cells.push_back(cell);
            cell.clear();
          } else {
            cell += line[c];
          }
        }
        for (auto& c : cells) {
          while (!c.empty() && c.front() == ' ') c.erase(c.begin());
          while (!c.empty() && c.back() == ' ') c.pop_back();
          html << (header ? "<th>" : "<td>") << xml_escape(c) << (header ? "</th>" : "</td>");
        }
        html << "</tr>\n";
        header = false;
      } else {
        if (in_table) html << "</table>\n";
        in_table = false;
        if (!line.empty()) html << "<p>" << xml_escape(line) << "</p>\n";
      }
    }
    if (in_table) html << "</table>\n";
  }
  html << "<h2>Plots</h2>\n";
  if (!probed.empty())
    html << "<p class=\"note\">The long-sentence probe: for k = 1.." << options.probe_max_k
         << ", the test set is cut into consecutive groups of k pairs (lines 1..k, k+1..2k, ...; an incomplete last "
         << "group is dropped), and each group's sources and references are joined with single spaces into one input "
         << "and one reference, translated as one sentence. BLEU is computed per bin of " << options.probe_bin_words
         << " source words over all probe inputs in the bin.</p>\n";
  for (const auto& svg : svgs) html << "<div>\n" << svg << "</div>\n";
  bool any_map = false;
  for (const System& s : systems) any_map = any_map || !s.maps.empty();
  if (any_map) {
    html << "<h2>Attention, test line " << att_line << "</h2>\n<p>" << xml_escape(srcs[static_cast<size_t>(att_line - 1)])
         << "</p>\n";
    for (const System& s : systems) {
      if (s.maps.empty()) continue;
      html << "<h3>" << xml_escape(s.name) << " (" << xml_escape(s.family) << ")</h3>\n<div class=\"maps\">\n";
      const bool many = s.maps.size() > 1;
      for (const auto& m : s.maps)
        html << "<div>" << render_attention_svg(s.src_pieces, s.tgt_pieces, m.weights, s.name + ": " + m.title, many ? 16 : 22)
             << "</div>\n";
      html << "</div>\n";
    }
  }
  html << "</body>\n</html>\n";
  write_text_file(options.html, html.str());
  progress << "compare: report " << options.html << std::endl;
}

}  // namespace seqzoo
