#pragma once
// A padded, bucketed mini-batch: what the data pipeline hands to models, trainer and search.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace seqzoo {

// Fixed special ids shared by the tokenizer and every model (SentencePiece is trained with them).
constexpr int64_t kPadId = 0;
constexpr int64_t kUnkId = 1;
constexpr int64_t kBosId = 2;
constexpr int64_t kEosId = 3;

struct Batch {
  torch::Tensor src;      // [B,S] int64 source ids (no bos/eos unless configured), kPadId-padded
  torch::Tensor src_len;  // [B]   int64 true source lengths (>= 1)
  torch::Tensor tgt_in;   // [B,T] int64 bos y1 .. yn, kPadId-padded (decoder input)
  torch::Tensor tgt_out;  // [B,T] int64 y1 .. yn eos, kPadId-padded (prediction targets)
  torch::Tensor tgt_len;  // [B]   int64 n + 1 (tokens in tgt_out that count)
  std::vector<int64_t> ids;   // position of each sentence in its corpus (input order)
  int64_t src_tokens = 0;     // sum(src_len)
  int64_t tgt_tokens = 0;     // sum(tgt_len)

  int64_t size() const { return src.defined() ? src.size(0) : 0; }
  torch::Tensor src_mask() const { return src.ne(kPadId); }      // [B,S] bool, true = real token
  torch::Tensor tgt_mask() const { return tgt_out.ne(kPadId); }  // [B,T] bool
  // Copy to a device (non_blocking when the host tensors are pinned).
  Batch to(const torch::Device& device, bool non_blocking = false) const {
    Batch b = *this;
    b.src = src.to(device, non_blocking);
    b.src_len = src_len.to(device, non_blocking);
    if (tgt_in.defined()) b.tgt_in = tgt_in.to(device, non_blocking);
    if (tgt_out.defined()) b.tgt_out = tgt_out.to(device, non_blocking);
    if (tgt_len.defined()) b.tgt_len = tgt_len.to(device, non_blocking);
    return b;
  }
};

}  // namespace seqzoo
