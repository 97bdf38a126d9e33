#pragma once
// Text in, text out: what seqzoo-translate and seqzoo-evaluate share on top of the search.
// Validates and tokenizes raw lines, splits over-long inputs into pieces, decodes in batches,
// detokenizes, and derives alignments and attention plots from the attention the search kept.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/tokenizer.h"
#include "models/core/model.h"
#include "models/search/search.h"
#include "tools/app/inference.h"

namespace seqzoo {

struct TranslateOptions {
  SearchOptions search;            // beam, alpha, max length, nbest, batch_tokens, max_input_tokens, keep_attention
  bool replace_invalid = false;    // replace invalid UTF-8 by U+FFFD instead of failing
  std::string input_name = "<stdin>";  // named in errors: "<stdin>:LINE: ..."
  // Each line is SOURCE<TAB>TARGET PREFIX: the translation starts with the prefix (forced decoding
  // of its subwords, then search as usual). A line without a TAB has no prefix.
  bool prefix = false;
};

struct TranslationHyp {
  std::string text;                // detokenized
  double score = 0;                // normalised search score
  double log_prob = 0;             // sum of token log-probs
};

struct Translation {
  std::vector<TranslationHyp> nbest;                // best first; empty for an empty input line
  std::vector<std::string> src_pieces, tgt_pieces;  // subword pieces of the input and of the best output
  std::vector<std::vector<float>> attention;        // [tgt_pieces+1 (eos)][src_pieces] when kept
  std::vector<std::pair<int64_t, int64_t>> alignment;  // hard src-tgt pairs (argmax of attention)
  bool truncated = false;          // the input was split into pieces
};

// Translates lines[i] (1-based line number first_line + i in errors). Invalid UTF-8 throws
// std::invalid_argument naming the line unless replace_invalid. Results are in input order. When
// sampling, a line's draws depend on its line number and the seed only.
std::vector<Translation> translate_lines(Seq2SeqModelImpl& model, const Tokenizers& tok,
                                         const std::vector<std::string>& lines,
                                         const TranslateOptions& options, const torch::Device& device,
                                         int64_t first_line = 1);
// The same with each line's own number (errors, and a sampled line's identity): lines gathered from
// several requests (seqzoo-serve's shared batches) translate as they would alone.
std::vector<Translation> translate_lines(Seq2SeqModelImpl& model, const Tokenizers& tok,
                                         const std::vector<std::string>& lines,
                                         const std::vector<int64_t>& line_numbers,
                                         const TranslateOptions& options, const torch::Device& device);
// The same with the decoding batches shared out among workers (identical results).
std::vector<Translation> translate_lines(const SearchWorkers& workers, const Tokenizers& tok,
                                         const std::vector<std::string>& lines,
                                         const std::vector<int64_t>& line_numbers,
                                         const TranslateOptions& options, const torch::Device& device);
std::vector<Translation> translate_lines(const SearchWorkers& workers, const Tokenizers& tok,
                                         const std::vector<std::string>& lines,
                                         const TranslateOptions& options, const torch::Device& device,
                                         int64_t first_line = 1);

// Replaces each invalid UTF-8 sequence by U+FFFD.
std::string replace_invalid_utf8(const std::string& s);

// "0-0 1-2 ..." (fast_align / Marian format: source index - target index, 0-based subwords).
std::string format_alignment(const std::vector<std::pair<int64_t, int64_t>>& alignment);

// Writes an SVG heatmap of attention [tgt][src] with the pieces as axis labels.
void write_attention_svg(const std::string& path, const std::vector<std::string>& src_pieces,
                         const std::vector<std::string>& tgt_pieces,
                         const std::vector<std::vector<float>>& attention);

// How seqzoo-translate writes its answers.
struct StreamOptions {
  bool scores = false;             // "score<TAB>" before each translation
  bool alignments = false;         // "<TAB>src-tgt ..." after each translation
  std::string plot_attention;      // SVG heatmap of the first non-empty sentence ("" = none)
  int64_t max_batch_lines = 256;   // lines translated together when input is piped (>= 1)
};

// The translate use-case: reads raw lines from `fd` (each line answered as soon as it is read when
// input is interactive; piped input in batches of max_batch_lines) and writes one translation per
// line to `out`, in order; with nbest > 1, K lines "index<TAB>score<TAB>text" per input. With
// workers (run.replicas), up to one batch of lines per worker is read ahead, when already available,
// and the batches are translated at once, each as it would be alone. A failed write (a full disk) is
// a std::runtime_error. Returns the number of input lines.
int64_t translate_stream(const LoadedModel& run, int fd, std::ostream& out, const TranslateOptions& options,
                         const StreamOptions& stream);

}  // namespace seqzoo
