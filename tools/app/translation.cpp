#include "tools/app/translation.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "data/corpus.h"
#include "data/common/files.h"
#include "data/common/text.h"
#include "tools/app/line_reader.h"
#include "tools/app/svg_plot.h"

namespace seqzoo {
namespace {

bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

}  // namespace

std::string replace_invalid_utf8(const std::string& s) {
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    const std::string rest = s.substr(pos);
    size_t bad = find_invalid_utf8(rest);
    if (bad == std::string::npos) {
      out += rest;
      break;
    }
    out += rest.substr(0, bad);
    out += "\xEF\xBF\xBD";  // U+FFFD
    pos += bad + 1;
  }
  return out;
}

std::vector<Translation> translate_lines(Seq2SeqModelImpl& model, const Tokenizers& tok,
                                         const std::vector<std::string>& lines,
                                         const TranslateOptions& options, const torch::Device& device,
                                         int64_t first_line) {
  return translate_lines(SearchWorkers{{&model}, 0}, tok, lines, options, device, first_line);
}

std::vector<Translation> translate_lines(const SearchWorkers& workers, const Tokenizers& tok,
                                         const std::vector<std::string>& lines,
                                         const TranslateOptions& options, const torch::Device& device,
                                         int64_t first_line) {
  std::vector<int64_t> numbers(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) numbers[i] = first_line + static_cast<int64_t>(i);
  return translate_lines(workers, tok, lines, numbers, options, device);
}

std::vector<Translation> translate_lines(Seq2SeqModelImpl& model, const Tokenizers& tok,
                                         const std::vector<std::string>& lines,
                                         const std::vector<int64_t>& line_numbers,
                                         const TranslateOptions& options, const torch::Device& device) {
  return translate_lines(SearchWorkers{{&model}, 0}, tok, lines, line_numbers, options, device);
}

std::vector<Translation> translate_lines(const SearchWorkers& workers, const Tokenizers& tok,
                                         const std::vector<std::string>& lines,
                                         const std::vector<int64_t>& line_numbers,
                                         const TranslateOptions& options, const torch::Device& device) {
  if (line_numbers.size() != lines.size())
    throw std::invalid_argument("translate_lines: " + std::to_string(lines.size()) + " lines but " +
                                std::to_string(line_numbers.size()) + " line numbers");
  options.search.validate();
  std::vector<Translation> out(lines.size());
  std::vector<SearchInput> requests;  // one per piece of a line
  struct Piece {
    size_t line;
    int64_t offset;  // position of the piece's first source token in the line
  };
  std::vector<Piece> owners;

  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    const size_t bad = find_invalid_utf8(line);
    if (bad != std::string::npos) {
      if (!options.replace_invalid)
        throw std::invalid_argument(options.input_name + ":" + std::to_string(line_numbers[i]) +
                                    ": invalid UTF-8 at byte " + std::to_string(bad + 1) +
                                    " (use --replace-invalid to replace it)");
      line = replace_invalid_utf8(line);
    }
    std::vector<int64_t> prefix;
    if (options.prefix) {
      const size_t tab = line.find('\t');
      if (tab != std::string::npos) {
        prefix = tok.tgt->encode(line.substr(tab + 1));
        line = line.substr(0, tab);
      }
    }
    if (blank(line)) continue;  // empty in, empty out
    std::vector<int64_t> ids = tok.src->encode(line);
    if (ids.empty()) continue;
    out[i].src_pieces = tok.src->id_to_pieces(ids);
    const auto n = static_cast<int64_t>(ids.size());
    if (n > options.search.max_input_tokens) {
      out[i].truncated = true;
      const int64_t pieces = (n + options.search.max_input_tokens - 1) / options.search.max_input_tokens;
      std::cerr << "seqzoo: warning: " << options.input_name << ":" << line_numbers[i]
                << ": input has " << n << " subword tokens (limit " << options.search.max_input_tokens
                << "); translated in " << pieces << " pieces\n";
    }
    for (int64_t start = 0, piece = 0; start < n; start += options.search.max_input_tokens, ++piece) {
      const int64_t end = std::min(n, start + options.search.max_input_tokens);
      SearchInput in;
      in.src.assign(ids.begin() + start, ids.begin() + end);
      if (start == 0) in.prefix = prefix;  // the prefix starts the first piece's translation
      // The sentence's identity for sampling: its line number (and piece), whatever the batch.
      in.id = (line_numbers[i] << 16) + piece;
      requests.push_back(std::move(in));
      owners.push_back({i, start});
    }
  }
  if (requests.empty()) return out;

  SearchOptions search = options.search;
  auto results = search_all(workers, requests, search, options.search.batch_tokens, device);

  // Reassemble pieces (in order) into lines.
  for (size_t r = 0; r < requests.size(); ++r) {
    Translation& t = out[owners[r].line];
    const auto& hyps = results[r];
    if (hyps.empty()) continue;
    const bool single = !t.truncated;
    if (single) {
      for (const auto& h : hyps) t.nbest.push_back({tok.tgt->decode(h.tokens), h.score, h.log_prob});
    } else {  // pieces: only the best chain, texts joined by a space
      const auto& h = hyps.front();
      const std::string text = tok.tgt->decode(h.tokens);
      if (t.nbest.empty()) t.nbest.push_back({text, 0, 0});
      else if (!text.empty()) t.nbest[0].text += (t.nbest[0].text.empty() ? "" : " ") + text;
      t.nbest[0].score += h.score;
      t.nbest[0].log_prob += h.log_prob;
    }
    const auto& best = hyps.front();
    const int64_t tgt_offset = static_cast<int64_t>(t.tgt_pieces.size());
    auto pieces = tok.tgt->id_to_pieces(best.tokens);
    t.tgt_pieces.insert(t.tgt_pieces.end(), pieces.begin(), pieces.end());
    const size_t src_total = t.src_pieces.size();
    for (size_t row = 0; row < best.attention.size(); ++row) {
      if (!single && row == best.tokens.size()) continue;  // eos rows of inner pieces
      std::vector<float> full(src_total, 0.0f);
      const auto& a = best.attention[row];
      for (size_t s = 0; s < a.size() && owners[r].offset + s < src_total; ++s) full[owners[r].offset + s] = a[s];
      if (row < best.tokens.size()) {
        const auto arg = std::max_element(full.begin(), full.end()) - full.begin();
        t.alignment.emplace_back(arg, tgt_offset + static_cast<int64_t>(row));
      }
      t.attention.push_back(std::move(full));
    }
  }
  return out;
}

std::string format_alignment(const std::vector<std::pair<int64_t, int64_t>>& alignment) {
  std::ostringstream os;
  for (size_t i = 0; i < alignment.size(); ++i)
    os << (i ? " " : "") << alignment[i].first << "-" << alignment[i].second;
  return os.str();
}

void write_attention_svg(const std::string& path, const std::vector<std::string>& src_pieces,
                         const std::vector<std::string>& tgt_pieces,
                         const std::vector<std::vector<float>>& attention) {
  write_text_file(path, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" +
                            render_attention_svg(src_pieces, tgt_pieces, attention,
                                                 "attention (rows: output, columns: input)"));
}

int64_t translate_stream(const LoadedModel& run, int fd, std::ostream& out, const TranslateOptions& options,
                         const StreamOptions& stream) {
  if (stream.max_batch_lines < 1)
    throw std::invalid_argument("--max-batch-lines: must be >= 1, got " + std::to_string(stream.max_batch_lines));
  TranslateOptions topts = options;
  topts.search.keep_attention = topts.search.keep_attention || stream.alignments || !stream.plot_attention.empty();
  const bool nbest = topts.search.nbest > 1;
  LineReader reader(fd);
  bool plotted = stream.plot_attention.empty();
  auto write = [&](const std::vector<Translation>& results, int64_t first) {
    for (size_t i = 0; i < results.size(); ++i) {
      const Translation& t = results[i];
      if (!plotted && !t.nbest.empty()) {
        write_attention_svg(stream.plot_attention, t.src_pieces, t.tgt_pieces, t.attention);
        plotted = true;
      }
      const size_t shown = nbest ? std::max<size_t>(t.nbest.size(), 1) : 1;
      for (size_t k = 0; k < shown; ++k) {
        const TranslationHyp hyp = k < t.nbest.size() ? t.nbest[k] : TranslationHyp{};
        if (nbest) out << first + static_cast<int64_t>(i) - 1 << '\t';
        if (nbest || stream.scores) out << hyp.score << '\t';
        out << hyp.text;
        if (stream.alignments) out << '\t' << (k == 0 ? format_alignment(t.alignment) : "");
        out << '\n';
      }
    }
    out.flush();
    if (!out) throw std::runtime_error("cannot write the translations to the output (disk full or closed?)");
  };
  const SearchWorkers workers = run.workers();
  const auto batch_lines = static_cast<size_t>(stream.max_batch_lines);
  for (;;) {
    // One batch of lines (waiting for it), then one more per further worker when already there.
    std::vector<std::vector<std::string>> chunks;
    std::vector<int64_t> firsts;
    for (size_t w = 0; w < workers.replicas.size(); ++w) {
      const int64_t first = reader.lines_read() + 1;
      auto lines = reader.next_batch(batch_lines, /*block=*/w == 0);
      if (lines.empty()) break;
      chunks.push_back(std::move(lines));
      firsts.push_back(first);
    }
    if (chunks.empty()) break;
    std::vector<std::vector<Translation>> translated(chunks.size());
    workers.run(chunks.size(), [&](size_t c, Seq2SeqModelImpl& model) {
      translated[c] = translate_lines(model, run.tok, chunks[c], topts, run.device, firsts[c]);
    });
    for (size_t c = 0; c < chunks.size(); ++c) write(translated[c], firsts[c]);
  }
  return reader.lines_read();
}

}  // namespace seqzoo
