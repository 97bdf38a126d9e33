#pragma once
// Attention scorers for RNN encoder-decoders, as modules with one interface:
//   keys  = project_keys(memory)        memory [N,S,H_enc] -> keys [N,S,K]   (once per sentence)
//   score = score(query, keys)          query [N,T,H_dec], keys [N,S,K] -> scores [N,T,S]
// The key projection depends only on the encoder states, so it is computed once in encode() and
// kept in the decoder state (Bahdanau et al. 2015, appendix A.1.2: "U_a h_j ... can be
// pre-computed in advance to minimize the computational cost").
//
//   bahdanau  e = v^T tanh(W1 h_enc + W2 s)        Bahdanau et al. 2015 (additive), no biases
//   dot       e = s^T h_enc                       Luong et al. 2015; h_enc projected to H_dec
//                                                 (no bias) when the sizes differ (bidirectional)
//   general   e = s^T W h_enc                     Luong et al. 2015 ("h_t^T W_a h_s")
//   concat    e = v^T tanh(W [h_enc; s] + b)      Luong et al. 2015 ("v_a^T tanh(W_a [h_t; h_s])");
//                                                 W is applied blockwise (W = [W_h W_s]), which is
//                                                 the same product without building [N,T,S,*].
#include <torch/torch.h>

#include <memory>
#include <string>

namespace seqzoo {

class AttentionScorerImpl : public torch::nn::Module {
 public:
  ~AttentionScorerImpl() override = default;
  // memory [N,S,H_enc] -> keys [N,S,K]. Scorers without a key projection return memory itself.
  virtual torch::Tensor project_keys(const torch::Tensor& memory) = 0;
  // query [N,T,H_dec], keys [N,S,K] (from project_keys) -> unnormalised scores [N,T,S].
  virtual torch::Tensor score(const torch::Tensor& query, const torch::Tensor& keys) = 0;
  // false when project_keys is the identity (keys need not be stored separately).
  virtual bool projects_keys() const = 0;
  // Scorer name as in the config: bahdanau | dot | general | concat.
  virtual std::string type() const = 0;
};

using AttentionScorerPtr = std::shared_ptr<AttentionScorerImpl>;

// Bahdanau et al. 2015 additive score v^T tanh(W1 h_enc + W2 s); W1, W2, v without bias.
class BahdanauScorerImpl : public AttentionScorerImpl {
 public:
  BahdanauScorerImpl(int64_t enc_dim, int64_t dec_dim, int64_t attention_dim);
  torch::Tensor project_keys(const torch::Tensor& memory) override;  // W1 h_enc [N,S,A]
  torch::Tensor score(const torch::Tensor& query, const torch::Tensor& keys) override;
  bool projects_keys() const override { return true; }
  std::string type() const override { return "bahdanau"; }

  torch::nn::Linear w_enc{nullptr};   // W1: H_enc -> A
  torch::nn::Linear w_dec{nullptr};   // W2: H_dec -> A
  torch::nn::Linear v{nullptr};       // v:  A -> 1
};
TORCH_MODULE(BahdanauScorer);

// Luong et al. 2015 dot score s^T h_enc; when enc_dim != dec_dim the encoder states are first
// projected to dec_dim by a bias-free linear map (a bidirectional encoder has 2*hidden).
class DotScorerImpl : public AttentionScorerImpl {
 public:
  DotScorerImpl(int64_t enc_dim, int64_t dec_dim);
  torch::Tensor project_keys(const torch::Tensor& memory) override;  // [N,S,H_dec]
  torch::Tensor score(const torch::Tensor& query, const torch::Tensor& keys) override;
  bool projects_keys() const override { return static_cast<bool>(proj); }
  std::string type() const override { return "dot"; }

  torch::nn::Linear proj{nullptr};    // H_enc -> H_dec, only when the sizes differ
};
TORCH_MODULE(DotScorer);

// Luong et al. 2015 general score s^T W h_enc; keys = W h_enc precomputed.
class GeneralScorerImpl : public AttentionScorerImpl {
 public:
  GeneralScorerImpl(int64_t enc_dim, int64_t dec_dim);
  torch::Tensor project_keys(const torch::Tensor& memory) override;  // W h_enc [N,S,H_dec]
  torch::Tensor score(const torch::Tensor& query, const torch::Tensor& keys) override;
  bool projects_keys() const override { return true; }
  std::string type() const override { return "general"; }

  torch::nn::Linear w{nullptr};       // W: H_enc -> H_dec, no bias
};
TORCH_MODULE(GeneralScorer);

// Luong et al. 2015 concat score v^T tanh(W [h_enc; s] + b). `w` is one Linear over the
// concatenation (in_features = H_enc + H_dec, encoder part first); it is applied blockwise.
class ConcatScorerImpl : public AttentionScorerImpl {
 public:
  ConcatScorerImpl(int64_t enc_dim, int64_t dec_dim, int64_t attention_dim);
  torch::Tensor project_keys(const torch::Tensor& memory) override;  // W_h h_enc + b [N,S,A]
  torch::Tensor score(const torch::Tensor& query, const torch::Tensor& keys) override;
  bool projects_keys() const override { return true; }
  std::string type() const override { return "concat"; }

  torch::nn::Linear w{nullptr};       // W: (H_enc + H_dec) -> A, with bias
  torch::nn::Linear v{nullptr};       // v: A -> 1, no bias
  int64_t enc_dim;
};
TORCH_MODULE(ConcatScorer);

// Builds a scorer by config name; attention_dim <= 0 means dec_dim. Throws std::invalid_argument
// for an unknown type.
AttentionScorerPtr make_attention_scorer(const std::string& type, int64_t enc_dim, int64_t dec_dim,
                                         int64_t attention_dim);

// Softmax over the last dimension restricted to mask == true: scores [N,T,S], mask [N,S] bool
// (true = real token) -> weights [N,T,S], exactly 0 on masked positions. Every row of `mask`
// must have at least one true entry.
torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& mask);

}  // namespace seqzoo
