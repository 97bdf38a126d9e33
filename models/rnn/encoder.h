#pragma once
// The RNN encoder shared by the `seq2seq` and `attention` families:
// embedding (padding_idx 0) -> dropout -> stacked LSTM/GRU (optionally bidirectional) over a
// packed sequence, so padding never changes a result. With reverse_source the real tokens of each
// sentence are fed in reverse (Sutskever et al. 2014); the outputs are put back in source order.
// Bidirectional final states are bridged to the decoder size, per layer:
// s = tanh(W [h_fwd; h_bwd] + b) (for LSTM h and c alike).
#include <torch/torch.h>

#include "models/layers/masks.h"

#include "models/core/model_config.h"
#include "models/rnn/rnn_config.h"
#include "models/rnn/recurrent.h"

namespace seqzoo {

struct EncoderOutput {
  torch::Tensor memory;    // [N,S,H_enc] top-layer outputs in source order, zeros at padding
  torch::Tensor src_mask;  // [N,S] bool, true = real token
  RnnStates final;         // h, c [layers,N,H] decoder-sized (c undefined for GRU)
};

class RnnEncoderImpl : public torch::nn::Module {
 public:
  RnnEncoderImpl(const ModelConfig& config, int64_t src_vocab_size);
  // src [N,S] int64 kPadId-padded, src_len [N] int64 (1 <= len <= S).
  EncoderOutput forward(const torch::Tensor& src, const torch::Tensor& src_len);
  // H_enc: hidden_dim * directions.
  int64_t output_dim() const { return rnn->hidden_dim() * rnn->directions(); }

  torch::nn::Embedding embed{nullptr};
  torch::nn::Dropout dropout{nullptr};
  Recurrent rnn{nullptr};
  torch::nn::ModuleList bridge_h{nullptr};  // bidirectional: per layer Linear(2H -> H)
  torch::nn::ModuleList bridge_c{nullptr};  // bidirectional LSTM: the same for cell states

 private:
  bool reverse_source_;
};
TORCH_MODULE(RnnEncoder);

// Index map reversing each row's first src_len positions and keeping the padding in place:
// rev[n,i] = len_n - 1 - i for i < len_n, else i. src_len [N] -> [N,S] int64. The map is its own
// inverse: x.gather(1, rev) reverses the real tokens, and gathering again restores the order.
torch::Tensor reversal_index(const torch::Tensor& src_len, int64_t max_len);


}  // namespace seqzoo
