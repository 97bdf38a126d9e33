#pragma once
// Helpers for the RNN family tests (rnn_model_test.cpp): tiny configs of every RNN variant, batches.
#include <torch/torch.h>

#include <sstream>
#include <string>
#include <vector>

#include "data/batch.h"
#include "models/core/model_config.h"
#include "models/rnn/rnn_config.h"

namespace seqzoo {
namespace rnn_test {

constexpr int64_t kVocab = 20;

struct Variant {
  std::string family = "seq2seq";
  std::string cell = "lstm";
  bool bidirectional = false;
  bool reverse_source = false;
  bool context_every_step = false;
  std::string attention = "bahdanau";
  bool input_feeding = true;
  bool tie = false;
  int64_t embed = 8, hidden = 12, layers = 2;

  ModelConfig config() const {
    ModelConfig c;
    c.family = family;
    c.embed_dim = embed;
    c.dropout = 0.2;  // off in eval mode
    c.tie_embeddings = tie;
    c.init_range = 0.3;
    c.options<RnnConfig>().cell = cell;
    c.options<RnnConfig>().hidden_dim = hidden;
    c.options<RnnConfig>().layers = layers;
    c.options<RnnConfig>().bidirectional = bidirectional;
    c.options<RnnConfig>().reverse_source = reverse_source;
    c.options<RnnConfig>().context_every_step = context_every_step;
    c.options<AttentionConfig>().type = attention;
    c.options<AttentionConfig>().attention_dim = 10;
    c.options<AttentionConfig>().input_feeding = input_feeding;
    return c;
  }
  std::string name() const {
    std::ostringstream s;
    s << family << " " << cell << (bidirectional ? " bi" : "") << (reverse_source ? " rev" : "")
      << (family == "seq2seq" && context_every_step ? " ctx" : "")
      << (family == "attention" ? " " + attention + (input_feeding ? " feed" : " nofeed") : "")
      << (tie ? " tied" : "") << " E" << embed << " H" << hidden << " L" << layers;
    return s.str();
  }
};

// Every seq2seq variant (cell x bidirectional x reverse_source x context_every_step) and every
// attention variant (scorer x input feeding x cell x bidirectional), plus tied ones.
inline std::vector<Variant> all_variants() {
  std::vector<Variant> out;
  for (const char* cell : {"lstm", "gru"})
    for (bool bi : {false, true})
      for (bool rev : {false, true})
        for (bool ctx : {false, true}) {
          Variant v;
          v.cell = cell, v.bidirectional = bi, v.reverse_source = rev, v.context_every_step = ctx;
          out.push_back(v);
        }
  for (const char* type : {"bahdanau", "dot", "general", "concat"})
    for (bool feed : {false, true})
      for (const char* cell : {"lstm", "gru"})
        for (bool bi : {false, true}) {
          Variant v;
          v.family = "attention", v.attention = type, v.input_feeding = feed, v.cell = cell;
          v.bidirectional = bi, v.reverse_source = bi;
          out.push_back(v);
        }
  // Tied output layer: with a projection (H != E) and without (H == E); one layer.
  for (const char* family : {"seq2seq", "attention"})
    for (int64_t hidden : {8, 12}) {
      Variant v;
      v.family = family, v.tie = true, v.hidden = hidden, v.layers = 1;
      v.context_every_step = true, v.attention = "dot";
      out.push_back(v);
    }
  return out;
}

// Sentences of random real tokens (ids 4..kVocab-1).
inline std::vector<std::vector<int64_t>> random_sentences(const std::vector<int64_t>& lengths) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t n : lengths) {
    auto t = torch::randint(4, kVocab, {n}, torch::kInt64);
    out.emplace_back(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
  }
  return out;
}

// Pads to the longest sentence (plus extra_src_pad more source columns).
inline Batch make_batch(const std::vector<std::vector<int64_t>>& src,
                        const std::vector<std::vector<int64_t>>& tgt, int64_t extra_src_pad = 0) {
  const int64_t n = static_cast<int64_t>(src.size());
  int64_t s = 0, t = 0;
  for (const auto& x : src) s = std::max<int64_t>(s, x.size());
  for (const auto& y : tgt) t = std::max<int64_t>(t, y.size() + 1);
  s += extra_src_pad;
  Batch b;
  b.src = torch::zeros({n, s}, torch::kInt64);
  b.src_len = torch::zeros({n}, torch::kInt64);
  b.tgt_in = torch::zeros({n, t}, torch::kInt64);
  b.tgt_out = torch::zeros({n, t}, torch::kInt64);
  b.tgt_len = torch::zeros({n}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < src[i].size(); ++j) b.src[i][j] = src[i][j];
    b.src_len[i] = static_cast<int64_t>(src[i].size());
    b.tgt_in[i][0] = kBosId;
    for (size_t j = 0; j < tgt[i].size(); ++j) {
      b.tgt_in[i][j + 1] = tgt[i][j];
      b.tgt_out[i][j] = tgt[i][j];
    }
    b.tgt_out[i][static_cast<int64_t>(tgt[i].size())] = kEosId;
    b.tgt_len[i] = static_cast<int64_t>(tgt[i].size()) + 1;
    b.ids.push_back(i);
  }
  b.src_tokens = b.src_len.sum().item<int64_t>();
  b.tgt_tokens = b.tgt_len.sum().item<int64_t>();
  return b;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

}  // namespace rnn_test
}  // namespace seqzoo
