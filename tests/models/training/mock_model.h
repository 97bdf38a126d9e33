#pragma once
// A small Seq2SeqModelImpl for trainer tests: embeddings, a GRU encoder summarised by a masked
// mean, a GRU decoder started from that summary, a linear output layer. Optional dropout, and
// NaN logits on chosen forward calls (1-based) to exercise the NaN guards.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "data/batch.h"
#include "models/core/model.h"
#include "models/training/trainer.h"

namespace seqzoo::test {

class MockModelImpl : public Seq2SeqModelImpl {
 public:
  MockModelImpl(int64_t vocab, int64_t dim, double dropout = 0.0)
      : src_emb(register_module("src_emb", torch::nn::Embedding(vocab, dim))),
        tgt_emb(register_module("tgt_emb", torch::nn::Embedding(vocab, dim))),
        enc(register_module("enc", torch::nn::GRU(torch::nn::GRUOptions(dim, dim).batch_first(true)))),
        dec(register_module("dec", torch::nn::GRU(torch::nn::GRUOptions(dim, dim).batch_first(true)))),
        out(register_module("out", torch::nn::Linear(dim, vocab))),
        drop(register_module("drop", torch::nn::Dropout(dropout))) {
    register_buffer("calls_seen", torch::zeros({1}, torch::kLong));
  }

  torch::Tensor summary(const torch::Tensor& src) {
    auto enc_out = std::get<0>(enc->forward(drop->forward(src_emb->forward(src))));  // [B,S,D]
    auto mask = src.ne(kPadId).unsqueeze(-1).to(enc_out.dtype());                      // [B,S,1]
    return (enc_out * mask).sum(1) / mask.sum(1).clamp_min(1.0);                       // [B,D]
  }

  torch::Tensor forward(const Batch& batch) override {
    ++calls;
    auto ctx = summary(batch.src);                                                     // [B,D]
    auto x = drop->forward(tgt_emb->forward(batch.tgt_in)) + ctx.unsqueeze(1);          // [B,T,D]
    auto y = std::get<0>(dec->forward(x, ctx.unsqueeze(0).contiguous()));              // [B,T,D]
    auto logits = out->forward(drop->forward(y));                                       // [B,T,V]
    if (nan_calls.count(calls) || (nan_from > 0 && calls >= nan_from))
      logits = logits * std::numeric_limits<float>::quiet_NaN();
    return logits;
  }

  DecoderState encode(const torch::Tensor& src, const torch::Tensor& src_len) override {
    DecoderState s;
    auto ctx = summary(src);
    s.set("ctx", ctx);
    s.set("h", ctx);
    return s;
  }

  torch::Tensor step(const torch::Tensor& prev, DecoderState& s) override {
    auto x = tgt_emb->forward(prev) + s.at("ctx");                                       // [N,D]
    auto r = dec->forward(x.unsqueeze(1), s.at("h").unsqueeze(0).contiguous());
    s.set("h", std::get<1>(r).squeeze(0));
    s.step += 1;
    return torch::log_softmax(out->forward(std::get<0>(r).squeeze(1)), -1);
  }

  std::string family() const override { return "mock"; }

  torch::nn::Embedding src_emb, tgt_emb;
  torch::nn::GRU enc, dec;
  torch::nn::Linear out;
  torch::nn::Dropout drop;
  int64_t calls = 0;
  std::set<int64_t> nan_calls;  // forward calls (1-based) that return NaN logits
  int64_t nan_from = 0;         // every call from this one on returns NaN (0 = never)
};
TORCH_MODULE(MockModel);

// A padded batch from id lists (targets get bos/eos as the data pipeline does).
inline Batch make_test_batch(const std::vector<std::vector<int64_t>>& src,
                             const std::vector<std::vector<int64_t>>& tgt) {
  const int64_t n = static_cast<int64_t>(src.size());
  int64_t s_max = 0, t_max = 0;
  for (const auto& s : src) s_max = std::max<int64_t>(s_max, s.size());
  for (const auto& t : tgt) t_max = std::max<int64_t>(t_max, t.size() + 1);
  Batch b;
  b.src = torch::full({n, s_max}, kPadId, torch::kLong);
  b.tgt_in = torch::full({n, t_max}, kPadId, torch::kLong);
  b.tgt_out = torch::full({n, t_max}, kPadId, torch::kLong);
  b.src_len = torch::zeros({n}, torch::kLong);
  b.tgt_len = torch::zeros({n}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < src[i].size(); ++j) b.src[i][j] = src[i][j];
    b.tgt_in[i][0] = kBosId;
    for (size_t j = 0; j < tgt[i].size(); ++j) {
      b.tgt_in[i][j + 1] = tgt[i][j];
      b.tgt_out[i][j] = tgt[i][j];
    }
    b.tgt_out[i][tgt[i].size()] = kEosId;
    b.src_len[i] = static_cast<int64_t>(src[i].size());
    b.tgt_len[i] = static_cast<int64_t>(tgt[i].size() + 1);
    b.src_tokens += static_cast<int64_t>(src[i].size());
    b.tgt_tokens += static_cast<int64_t>(tgt[i].size() + 1);
    b.ids.push_back(i);
  }
  return b;
}

// Random sentence pairs (ids 4..vocab-1), target = reversed source.
inline std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> random_pairs(int64_t count, int64_t vocab,
                                                                                       int64_t min_len, int64_t max_len,
                                                                                       uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> out;
  for (int64_t i = 0; i < count; ++i) {
    int64_t len = min_len + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_len - min_len + 1));
    std::vector<int64_t> s;
    for (int64_t j = 0; j < len; ++j) s.push_back(4 + static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab - 4)));
    out.emplace_back(s, std::vector<int64_t>(s.rbegin(), s.rend()));
  }
  return out;
}

// Batches of `per_batch` consecutive pairs.
inline std::vector<Batch> batches_of(const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>>& pairs,
                                     size_t per_batch) {
  std::vector<Batch> out;
  for (size_t i = 0; i < pairs.size(); i += per_batch) {
    std::vector<std::vector<int64_t>> s, t;
    for (size_t j = i; j < std::min(pairs.size(), i + per_batch); ++j) {
      s.push_back(pairs[j].first);
      t.push_back(pairs[j].second);
    }
    out.push_back(make_test_batch(s, t));
  }
  return out;
}

// A fresh, empty temporary folder (removed by the destructor).
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name) {
    path = std::filesystem::temp_directory_path() /
           ("seqzoo_" + name + "_" + std::to_string(std::random_device{}()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// Whether two modules hold equal parameters (by name).
inline bool same_parameters(const torch::nn::Module& a, const torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& p : pa)
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  return true;
}

// A whole file as a string ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Training batches from a fixed list; with shuffle their order is permuted per epoch by seed + epoch.
class VectorBatchSource : public BatchSource {
 public:
  VectorBatchSource(std::vector<Batch> batches, bool shuffle, uint64_t seed);
  int64_t begin_epoch(int64_t epoch) override;
  Batch batch(int64_t index) override;

 private:
  std::vector<Batch> batches_;
  std::vector<int64_t> order_;
  bool shuffle_;
  uint64_t seed_;
};

inline VectorBatchSource::VectorBatchSource(std::vector<Batch> batches, bool shuffle, uint64_t seed)
    : batches_(std::move(batches)), shuffle_(shuffle), seed_(seed) {}

inline int64_t VectorBatchSource::begin_epoch(int64_t epoch) {
  order_.resize(batches_.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<int64_t>(i);
  if (shuffle_) {  // Fisher-Yates with a portable engine: the same order on every platform
    std::mt19937_64 rng(seed_ + static_cast<uint64_t>(epoch));
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng() % i]);
  }
  return static_cast<int64_t>(order_.size());
}

inline Batch VectorBatchSource::batch(int64_t index) {
  return batches_.at(static_cast<size_t>(order_.at(static_cast<size_t>(index))));
}

}  // namespace seqzoo::test
