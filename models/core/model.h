#pragma once
// The one interface every model family implements. Search and training know models only through
// it (CTranslate2 layers/decoder.h, Marian models/states.h).
#include <torch/torch.h>

#include <memory>
#include <string>

#include "data/batch.h"
#include "models/core/decoder_state.h"

namespace seqzoo {

class Seq2SeqModelImpl : public torch::nn::Module {
 public:
  ~Seq2SeqModelImpl() override = default;

  // Teacher-forced decoding of batch.tgt_in given batch.src: logits [B,T,V] (V = target vocab).
  virtual torch::Tensor forward(const Batch& batch) = 0;

  // Runs the encoder. src [N,S] int64 (kPadId-padded), src_len [N] int64.
  // The returned state holds batch-first tensors only (dim 0 = N), state.step = 0 and
  // state.beam() = 1. Entries that only depend on the source may be source entries
  // (DecoderState::set_source), which search never expands.
  virtual DecoderState encode(const torch::Tensor& src, const torch::Tensor& src_len) = 0;

  // One decoding step: prev_tokens [R] int64 (kBosId at the first step; R = N * state.beam()
  // hypothesis rows, sentence-major) -> log-probs [R,V], a new tensor the caller may modify in
  // place. Updates `state` in place (and increments state.step). After each step, families with
  // attention store the step's attention over the source in state "attention" [R,S]; families with
  // several layers or heads of it also store "head_attention" [R,L,H,S] when the state holds an
  // entry "keep_head_attention" (set by the caller, e.g. for attention plots).
  virtual torch::Tensor step(const torch::Tensor& prev_tokens, DecoderState& state) = 0;

  // The family's name in the registry (models/registry.cpp).
  virtual std::string family() const = 0;
};

using ModelPtr = std::shared_ptr<Seq2SeqModelImpl>;

// Number of trainable parameters (shared tensors counted once).
int64_t count_parameters(const torch::nn::Module& model);

}  // namespace seqzoo
