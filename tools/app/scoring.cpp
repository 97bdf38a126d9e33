#include "tools/app/scoring.h"

#include <cstdio>
#include <stdexcept>

#include "data/corpus.h"
#include "data/common/text.h"
#include "models/search/scoring.h"
#include "tools/app/line_reader.h"
#include "tools/app/translation.h"

namespace seqzoo {
namespace {

std::string checked_text(const std::string& text, const ScoreOptions& options, const std::string& where) {
  const size_t bad = find_invalid_utf8(text);
  if (bad == std::string::npos) return text;
  if (!options.replace_invalid)
    throw std::invalid_argument(where + ": invalid UTF-8 at byte " + std::to_string(bad + 1) +
                                " (use --replace-invalid to replace it)");
  return replace_invalid_utf8(text);
}

std::string format_score(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  return buf;
}

void write_pair(std::ostream& out, const PairScore& s, bool per_token) {
  out << format_score(s.sum) << '\t' << format_score(s.mean);
  if (per_token) {
    out << '\t';
    for (size_t i = 0; i < s.pieces.size(); ++i) out << (i ? " " : "") << s.pieces[i];
    out << '\t';
    for (size_t i = 0; i < s.log_probs.size(); ++i) out << (i ? " " : "") << format_score(s.log_probs[i]);
  }
}

void check_written(std::ostream& out) {
  out.flush();
  if (!out) throw std::runtime_error("cannot write the scores to the output (disk full or closed?)");
}

}  // namespace

std::vector<PairScore> score_pairs(const LoadedModel& run, const std::vector<std::string>& srcs,
                                   const std::vector<std::string>& tgts, const ScoreOptions& options,
                                   const std::string& input_name, int64_t first_line) {
  if (srcs.size() != tgts.size()) throw std::invalid_argument("score_pairs: as many sources as targets");
  std::vector<std::vector<int64_t>> src_ids, tgt_ids;
  for (size_t i = 0; i < srcs.size(); ++i) {
    const std::string where = input_name + ":" + std::to_string(first_line + static_cast<int64_t>(i));
    src_ids.push_back(run.tok.src->encode(checked_text(srcs[i], options, where)));
    if (src_ids.back().empty()) throw std::invalid_argument(where + ": empty source, nothing to score");
    tgt_ids.push_back(run.tok.tgt->encode(checked_text(tgts[i], options, where)));
  }
  const auto log_probs = score_all(run.workers(), src_ids, tgt_ids, options.batch_tokens, run.device);
  std::vector<PairScore> out(srcs.size());
  for (size_t i = 0; i < srcs.size(); ++i) {
    PairScore& s = out[i];
    s.log_probs = log_probs[i];
    for (float lp : s.log_probs) s.sum += lp;
    s.mean = s.sum / static_cast<double>(s.log_probs.size());
    if (options.per_token) {
      s.pieces = run.tok.tgt->id_to_pieces(tgt_ids[i]);
      s.pieces.push_back("</s>");
    }
  }
  return out;
}

int64_t score_stream(const LoadedModel& run, int fd, std::ostream& out, const ScoreOptions& options) {
  if (options.max_batch_lines < 1) throw std::invalid_argument("--max-batch-lines: must be >= 1");
  if (!options.nbest.empty()) {
    if (options.src.empty()) throw std::invalid_argument("--nbest needs --src (the sources it translates)");
    const auto srcs = read_lines(options.src);
    const auto lines = read_lines(options.nbest);
    std::vector<std::string> pair_src, pair_tgt;
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string where = options.nbest + ":" + std::to_string(i + 1);
      const size_t a = lines[i].find('\t'), b = a == std::string::npos ? a : lines[i].find('\t', a + 1);
      if (b == std::string::npos)
        throw std::invalid_argument(where + ": expected INDEX<TAB>SCORE<TAB>TEXT (seqzoo-translate --nbest output)");
      size_t used = 0;
      long long index = -1;
      try {
        index = std::stoll(lines[i].substr(0, a), &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != a || index < 0 || index >= static_cast<long long>(srcs.size()))
        throw std::invalid_argument(where + ": index '" + lines[i].substr(0, a) + "' is not a line of " + options.src +
                                    " (0.." + std::to_string(static_cast<long long>(srcs.size()) - 1) + ")");
      pair_src.push_back(srcs[static_cast<size_t>(index)]);
      pair_tgt.push_back(lines[i].substr(b + 1));
    }
    const auto scores = score_pairs(run, pair_src, pair_tgt, options, options.nbest);
    for (size_t i = 0; i < lines.size(); ++i) {
      out << lines[i] << '\t';
      write_pair(out, scores[i], options.per_token);
      out << '\n';
    }
    check_written(out);
    return static_cast<int64_t>(lines.size());
  }
  if (!options.src.empty() || !options.tgt.empty()) {
    if (options.src.empty() || options.tgt.empty()) throw std::invalid_argument("--src and --tgt go together");
    const auto srcs = read_lines(options.src), tgts = read_lines(options.tgt);
    if (srcs.size() != tgts.size())
      throw std::invalid_argument("--src " + options.src + " has " + std::to_string(srcs.size()) + " lines but --tgt " +
                                  options.tgt + " has " + std::to_string(tgts.size()));
    int64_t done = 0;
    for (size_t begin = 0; begin < srcs.size(); begin += static_cast<size_t>(options.max_batch_lines)) {
      const size_t end = std::min(srcs.size(), begin + static_cast<size_t>(options.max_batch_lines));
      const std::vector<std::string> s(srcs.begin() + begin, srcs.begin() + end), t(tgts.begin() + begin, tgts.begin() + end);
      for (const auto& p : score_pairs(run, s, t, options, options.src, static_cast<int64_t>(begin) + 1)) {
        write_pair(out, p, options.per_token);
        out << '\n';
      }
      check_written(out);
      done += static_cast<int64_t>(end - begin);
    }
    return done;
  }
  LineReader reader(fd);
  for (;;) {
    const int64_t first = reader.lines_read() + 1;
    const auto lines = reader.next_batch(static_cast<size_t>(options.max_batch_lines));
    if (lines.empty()) break;
    std::vector<std::string> s, t;
    for (size_t i = 0; i < lines.size(); ++i) {
      const size_t tab = lines[i].find('\t');
      if (tab == std::string::npos || lines[i].find('\t', tab + 1) != std::string::npos)
        throw std::invalid_argument("<stdin>:" + std::to_string(first + static_cast<int64_t>(i)) +
                                    ": expected SOURCE<TAB>TARGET (one TAB)");
      s.push_back(lines[i].substr(0, tab));
      t.push_back(lines[i].substr(tab + 1));
    }
    for (const auto& p : score_pairs(run, s, t, options, "<stdin>", first)) {
      write_pair(out, p, options.per_token);
      out << '\n';
    }
    check_written(out);
  }
  return reader.lines_read();
}

}  // namespace seqzoo
