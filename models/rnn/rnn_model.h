#pragma once
// What the two RNN families share: the encoder, the target embedding (tied to the output layer
// and, for equal vocabulary sizes, to the source embedding when model.tie_embeddings), the decoder
// RNN, the output layer, initialisation and the (h, c) <-> DecoderState conversions.
#include <torch/torch.h>

#include "models/core/model_config.h"
#include "models/rnn/rnn_config.h"
#include "models/core/model.h"
#include "models/layers/output.h"
#include "models/rnn/encoder.h"
#include "models/rnn/recurrent.h"

namespace seqzoo {

class RnnModelBase : public Seq2SeqModelImpl {
 public:
  const ModelConfig& config() const { return config_; }

  RnnEncoder encoder{nullptr};
  torch::nn::Embedding tgt_embed{nullptr};  // registered here unless shared with the encoder's
  torch::nn::Dropout dropout{nullptr};
  Recurrent decoder_rnn{nullptr};
  OutputLayer output{nullptr};

 protected:
  // Validates the config (std::invalid_argument naming the key) and builds the encoder and the
  // target embedding. Derived classes then build decoder_rnn and call finish(output_in_dim).
  RnnModelBase(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size);
  // Builds the output layer (tied when configured) and initialises all parameters.
  void finish(int64_t output_in_dim);

  // tokens [N] or [N,T] -> dropout(embedding) [N,E] or [N,T,E].
  torch::Tensor embed_target(const torch::Tensor& tokens);
  // DecoderState keeps h, c batch-first [N,layers,H]; the RNN wants [layers,N,H].
  static void put_states(DecoderState& state, const RnnStates& s);
  static RnnStates get_states(const DecoderState& state);

  ModelConfig config_;
  int64_t src_vocab_size_, tgt_vocab_size_;
};

}  // namespace seqzoo
