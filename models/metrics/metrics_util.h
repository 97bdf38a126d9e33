#pragma once
// Internal helpers shared by bleu.cpp and chrf.cpp (not part of the public contract).
#include <string>
#include <vector>

namespace seqzoo {
namespace metrics_detail {

// UTF-8 -> code points, lowercased as Python's str.lower() when asked.
std::u32string prepare(const std::string& text, bool lowercase);

// A segment as BLEU sees it: lowercased (optionally), right-stripped, tokenized by
// 13a | intl | char | none, split on whitespace.
std::vector<std::u32string> bleu_tokens(const std::string& text, const std::string& tokenize,
                                        bool lowercase);

// Reference streams [R][N] -> per-sentence reference lists [N][<=R] without empty references
// (sacreBLEU's variable number of references); throws std::invalid_argument for a length mismatch
// or a sentence with no reference. nrefs: "R", or "var" when sentences have different counts.
std::vector<std::vector<std::string>> transpose_references(
    const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
    std::string& nrefs);

}  // namespace metrics_detail
}  // namespace seqzoo
