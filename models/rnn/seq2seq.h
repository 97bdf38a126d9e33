#pragma once
// Family `seq2seq`: RNN encoder-decoder without attention.
// Sutskever et al. 2014: the encoder's final states initialise the decoder (first step only); the
// decoder sees nothing else of the source. With rnn.context_every_step (Cho et al. 2014) the
// context c = the encoder's final top-layer hidden state (bridged to hidden_dim) is also
// concatenated to the decoder input embedding at every step and to the output layer input:
//   s_t = RNN([E y_{t-1}; c], s_{t-1}),   logits_t = Out([s_t; c])     (else Out(s_t)).
// DecoderState: "h" [N,layers,H], "c" [N,layers,H] (LSTM), "context" [N,H] (context_every_step).
#include <torch/torch.h>

#include "models/core/model_config.h"
#include "models/rnn/rnn_config.h"
#include "models/core/model.h"
#include "models/rnn/rnn_model.h"

namespace seqzoo {

class Seq2SeqRnnImpl : public RnnModelBase {
 public:
  Seq2SeqRnnImpl(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size);

  torch::Tensor forward(const Batch& batch) override;  // logits [B,T,V]
  DecoderState encode(const torch::Tensor& src, const torch::Tensor& src_len) override;
  torch::Tensor step(const torch::Tensor& prev_tokens, DecoderState& state) override;  // [N,V]
  std::string family() const override { return "seq2seq"; }

 private:
  // Decoder over tgt [N,T] from states/context: logits [N,T,V]; updates `states`.
  torch::Tensor decode(const torch::Tensor& tgt, RnnStates& states, const torch::Tensor& context);
  bool context_every_step_;
};
TORCH_MODULE(Seq2SeqRnn);

ModelPtr make_seq2seq(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size);

}  // namespace seqzoo
