#pragma once
// Family `attention`: RNN encoder-decoder with global attention over all encoder states.
// Every scorer (models/layers/attention.h) is used with the ordering of Luong et al. 2015, sec. 3:
//   s_t   = RNN([E y_{t-1}; h~_{t-1}], s_{t-1})       (h~_{t-1} only with input feeding, sec. 3.3;
//                                                      h~_0 = 0)
//   a_t   = softmax over real source positions of score(s_t^top, h_enc)
//   c_t   = sum_j a_tj h_enc_j
//   h~_t  = tanh(W_c [c_t; s_t^top])                  (eq. 5, no bias)
//   p(y_t | ...) = softmax(Out(h~_t))
// For `bahdanau` this keeps the additive score of Bahdanau et al. 2015 (v^T tanh(W1 h + W2 s)) but
// queries with the current state s_t as Luong et al. do, not with s_{t-1} as Bahdanau et al.
// (eq. 6) do; then the same computation serves all scorers, and without input feeding forward()
// runs the decoder RNN over the whole target at once and attends for all steps in one batch.
// attention.ordering: bahdanau follows Bahdanau et al. 2015 (sec. 3.1, appendix A.2.2) instead:
//   a_i   = softmax of score(s_{i-1}^top, h_enc);  c_i = sum_j a_ij h_enc_j
//   s_i   = RNN([E y_{i-1}; c_i], s_{i-1})         (the context joins the RNN input)
//   t_i   = maxout_2(U_o s_{i-1}^top + V_o E y_{i-1} + C_o c_i)   (deep output, pool size 2)
//   p(y_i | ...) = softmax(Out(t_i))
// which is sequential in training too (the query needs the previous state).
// The decoder starts from the encoder's final states (bridged when bidirectional).
// DecoderState (N sentences, R = N * state.beam() hypothesis rows): "h", "c" [R,layers,H];
// source entries "memory" [N,S,H_enc], "memory_proj" [N,S,K] (scorer keys, when the scorer
// projects them) and "src_mask" [N,S] bool, shared by a sentence's hypotheses; "input_feed" [R,H]
// (input feeding); "attention" [R,S] (the last step's weights; set by every step()).
#include <torch/torch.h>

#include "models/core/model_config.h"
#include "models/rnn/rnn_config.h"
#include "models/core/model.h"
#include "models/layers/attention.h"
#include "models/rnn/rnn_model.h"

namespace seqzoo {

class AttentionRnnImpl : public RnnModelBase {
 public:
  AttentionRnnImpl(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size);

  torch::Tensor forward(const Batch& batch) override;  // logits [B,T,V]
  DecoderState encode(const torch::Tensor& src, const torch::Tensor& src_len) override;
  torch::Tensor step(const torch::Tensor& prev_tokens, DecoderState& state) override;  // [N,V]
  std::string family() const override { return "attention"; }

  // query [N,T,H] (decoder top states), memory [N,S,H_enc], keys [N,S,K], mask [N,S] ->
  // attentional vectors h~ [N,T,H] and weights [N,T,S].
  std::tuple<torch::Tensor, torch::Tensor> attend(const torch::Tensor& query,
                                                  const torch::Tensor& memory,
                                                  const torch::Tensor& keys,
                                                  const torch::Tensor& mask);

  AttentionScorerPtr scorer;
  torch::nn::Linear combine{nullptr};   // luong ordering: W_c: (H_enc + H) -> H, no bias
  torch::nn::Linear deep_out{nullptr};  // bahdanau ordering: [U_o V_o C_o]: (H + E + H_enc) -> 2H

 private:
  // Bahdanau ordering. query [N,k,H] (s_{i-1}^top), embedded [N*k,E], memory/keys/mask of the N
  // sentences -> (t_i [N*k,H] after dropout, context [N*k,H_enc], weights [N*k,S]).
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> bahdanau_output(const torch::Tensor& query,
                                                                          const torch::Tensor& embedded,
                                                                          const torch::Tensor& memory,
                                                                          const torch::Tensor& keys,
                                                                          const torch::Tensor& mask);
  torch::Tensor forward_bahdanau(const Batch& batch);
  torch::Tensor step_bahdanau(const torch::Tensor& prev_tokens, DecoderState& state);
  bool input_feeding_;
  bool bahdanau_order_;
};
TORCH_MODULE(AttentionRnn);

ModelPtr make_attention(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size);

}  // namespace seqzoo
