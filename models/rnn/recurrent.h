#pragma once
// Stacked LSTM or GRU (batch-first) behind one interface, and the RNN families' initialisation.
#include <torch/torch.h>

#include <array>
#include <string>
#include <tuple>
#include <vector>

namespace seqzoo {

// Hidden states use torch's layout here: h, c [layers*directions, N, H]; c is undefined for GRU.
struct RnnStates {
  torch::Tensor h;
  torch::Tensor c;
};

class RecurrentImpl : public torch::nn::Module {
 public:
  // cell: "lstm" | "gru" (std::invalid_argument otherwise). dropout: between layers (ignored
  // when layers == 1, where torch would only warn).
  RecurrentImpl(const std::string& cell, int64_t input_dim, int64_t hidden_dim, int64_t layers,
                double dropout, bool bidirectional);

  // x [N,T,I]; init: states as above, or undefined tensors for zeros.
  // Returns outputs [N,T,dirs*H] (top layer) and the final states.
  // A single time step of a unidirectional RNN on the CPU outside autograd and training (a decoder
  // step) runs the cells here, layer by layer, with LibTorch's own cell arithmetic in its order, and
  // the products through seqzoo::linear, so weights packed for inference (pack_linears,
  // quantize_linears_int8) serve them; unpacked, the result is LibTorch's to the bit.
  std::tuple<torch::Tensor, RnnStates> forward(const torch::Tensor& x, const RnnStates& init = {});

  // Padded input x [N,T,I] with true lengths [N] (any device; 1 <= len <= T): runs on a packed
  // sequence (enforce_sorted = false) so padding never enters the recurrence. Returns outputs
  // [N,T,dirs*H] with zeros at padding, and the states after each row's last real token.
  std::tuple<torch::Tensor, RnnStates> forward_padded(const torch::Tensor& x,
                                                      const torch::Tensor& lengths);

  bool is_lstm() const { return static_cast<bool>(lstm); }
  int64_t hidden_dim() const { return hidden_dim_; }
  int64_t layers() const { return layers_; }
  int64_t directions() const { return directions_; }

  torch::nn::LSTM lstm{nullptr};
  torch::nn::GRU gru{nullptr};

 private:
  // One time step: x [N,I] -> top output [N,H] and the new states (see forward()).
  std::tuple<torch::Tensor, RnnStates> cell_step(const torch::Tensor& x, const RnnStates& init);

  int64_t hidden_dim_, layers_, directions_;
  // Per layer: weight_ih, weight_hh, bias_ih, bias_hh (torch's parameters, shared handles).
  std::vector<std::array<torch::Tensor, 4>> cell_params_;
};
TORCH_MODULE(Recurrent);

// Initialises every parameter of `module` (recursively). init_range > 0: uniform(-r, r) for all
// of them (Sutskever et al. 2014, section 3.4). init_range == 0: orthogonal recurrent matrices
// (weight_hh*, Saxe et al. 2014), Xavier-uniform for every other matrix (Glorot & Bengio 2010),
// zero vectors (biases). Then every LSTM's forget-gate bias is set to `forget_bias` (bias_ih's
// forget block; bias_hh's is zeroed, so the sum is exactly forget_bias): a positive value keeps the
// cell state flowing early in training (Gers et al. 2000; Jozefowicz et al. 2015, section 3.3).
// Callers zero embedding pad rows afterwards.
void init_rnn_parameters(torch::nn::Module& module, double init_range, double forget_bias = 0.0);

}  // namespace seqzoo
