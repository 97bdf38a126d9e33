#include "models/rnn/recurrent.h"

#include "models/layers/linear.h"

#include <stdexcept>
#include <vector>

namespace seqzoo {

namespace rnn_utils = torch::nn::utils::rnn;

RecurrentImpl::RecurrentImpl(const std::string& cell, int64_t input_dim, int64_t hidden_dim,
                             int64_t layers, double dropout, bool bidirectional)
    : hidden_dim_(hidden_dim), layers_(layers), directions_(bidirectional ? 2 : 1) {
  if (input_dim <= 0 || hidden_dim <= 0 || layers <= 0)
    throw std::invalid_argument("rnn: input size, hidden_dim and layers must be positive");
  const double p = layers > 1 ? dropout : 0.0;
  if (cell == "lstm") {
    lstm = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(input_dim, hidden_dim)
                                                       .num_layers(layers)
                                                       .dropout(p)
                                                       .bidirectional(bidirectional)
                                                       .batch_first(true)));
  } else if (cell == "gru") {
    gru = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(input_dim, hidden_dim)
                                                    .num_layers(layers)
                                                    .dropout(p)
                                                    .bidirectional(bidirectional)
                                                    .batch_first(true)));
  } else {
    throw std::invalid_argument("model.rnn.cell: unknown cell '" + cell + "' (known: lstm, gru)");
  }
  if (directions_ == 1) {
    auto params = lstm ? lstm->named_parameters(false) : gru->named_parameters(false);
    for (int64_t l = 0; l < layers; ++l) {
      const auto suffix = "_l" + std::to_string(l);
      cell_params_.push_back({params["weight_ih" + suffix], params["weight_hh" + suffix],
                              params["bias_ih" + suffix], params["bias_hh" + suffix]});
    }
  }
}

std::tuple<torch::Tensor, RnnStates> RecurrentImpl::cell_step(const torch::Tensor& x,
                                                              const RnnStates& init) {
  // LibTorch's GRUCell and LSTMCell (aten/src/ATen/native/RNN.cpp), operation for operation; the
  // input product comes first as there (pre_compute_input). Cho et al. 2014 (GRU), Hochreiter &
  // Schmidhuber 1997 with the forget gate of Gers et al. 2000 (LSTM).
  const int64_t n = x.size(0);
  std::vector<torch::Tensor> hs, cs;
  torch::Tensor input = x;  // [N,I] for the first layer, [N,H] above
  for (size_t l = 0; l < cell_params_.size(); ++l) {
    const auto& p = cell_params_[l];
    torch::Tensor h = init.h.defined() ? init.h[l] : torch::zeros({n, hidden_dim_}, x.options());
    auto igates = seqzoo::linear(input, p[0], p[2]);  // [N,gates*H]
    if (lstm) {
      torch::Tensor c = init.c.defined() ? init.c[l] : torch::zeros({n, hidden_dim_}, x.options());
      auto gates = seqzoo::linear(h, p[1], p[3]).add_(igates);
      auto chunked = gates.unsafe_chunk(4, 1);
      auto in_gate = chunked[0].sigmoid_();
      auto forget_gate = chunked[1].sigmoid_();
      auto cell_gate = chunked[2].tanh_();
      auto out_gate = chunked[3].sigmoid_();
      auto cy = (forget_gate * c).add_(in_gate * cell_gate);
      input = out_gate * cy.tanh();
      cs.push_back(cy);
    } else {
      auto i = igates.unsqueeze(0).chunk(3, 2);
      auto g = seqzoo::linear(h, p[1], p[3]).unsqueeze(0).chunk(3, 2);
      auto reset_gate = g[0].add_(i[0]).sigmoid_();
      auto update_gate = g[1].add_(i[1]).sigmoid_();
      auto new_gate = i[2].add(g[2].mul_(reset_gate)).tanh_();
      input = (h - new_gate).mul_(update_gate).add_(new_gate).squeeze(0);
    }
    hs.push_back(input);
  }
  RnnStates states{torch::stack(hs, 0), lstm ? torch::stack(cs, 0) : torch::Tensor()};
  return {input.unsqueeze(1), states};  // [N,1,H]
}

std::tuple<torch::Tensor, RnnStates> RecurrentImpl::forward(const torch::Tensor& x,
                                                            const RnnStates& init) {
  if (x.dim() == 3 && x.size(1) == 1 && x.device().is_cpu() && !cell_params_.empty() && !is_training() &&
      !torch::GradMode::is_enabled())
    return cell_step(x.select(1, 0), init);
  if (lstm) {
    torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hx;
    if (init.h.defined()) hx = std::make_tuple(init.h, init.c);
    auto result = lstm->forward(x, hx);
    const auto& hc = std::get<1>(result);
    return {std::get<0>(result), RnnStates{std::get<0>(hc), std::get<1>(hc)}};
  }
  auto result = gru->forward(x, init.h);
  return {std::get<0>(result), RnnStates{std::get<1>(result), torch::Tensor()}};
}

std::tuple<torch::Tensor, RnnStates> RecurrentImpl::forward_padded(const torch::Tensor& x,
                                                                   const torch::Tensor& lengths) {
  // Packing needs the lengths on the host (as in PyTorch): one small copy per batch.
  auto packed = rnn_utils::pack_padded_sequence(x, lengths.to(torch::kCPU, torch::kInt64),
                                                /*batch_first=*/true, /*enforce_sorted=*/false);
  auto pad = [&](const rnn_utils::PackedSequence& seq) {  // -> [N,T,dirs*H], zeros at padding
    return std::get<0>(rnn_utils::pad_packed_sequence(seq, /*batch_first=*/true,
                                                      /*padding_value=*/0.0,
                                                      /*total_length=*/x.size(1)));
  };
  torch::Tensor out;
  RnnStates states;
  if (lstm) {
    auto result = lstm->forward_with_packed_input(packed);
    out = pad(std::get<0>(result));
    states = RnnStates{std::get<0>(std::get<1>(result)), std::get<1>(std::get<1>(result))};
  } else {
    auto result = gru->forward_with_packed_input(packed);
    out = pad(std::get<0>(result));
    states = RnnStates{std::get<1>(result), torch::Tensor()};
  }
  return {out, states};
}

void init_rnn_parameters(torch::nn::Module& module, double init_range, double forget_bias) {
  if (init_range < 0) throw std::invalid_argument("model.init_range must be >= 0");
  torch::NoGradGuard no_grad;
  for (auto& kv : module.named_parameters(/*recurse=*/true)) {
    auto& p = kv.value();
    if (init_range > 0) {
      p.uniform_(-init_range, init_range);
    } else if (p.dim() < 2) {
      p.zero_();
    } else if (kv.key().find("weight_hh") != std::string::npos) {
      // One orthogonal block per gate: [gates*H, H] -> gates blocks of [H, H].
      const int64_t h = p.size(1);
      for (int64_t g = 0; g + h <= p.size(0); g += h) torch::nn::init::orthogonal_(p.narrow(0, g, h));
    } else {
      torch::nn::init::xavier_uniform_(p);
    }
  }
  // LSTM biases are [4H] in the gate order input, forget, cell, output (torch::nn::LSTM).
  // modules(include_self=false): `module` may still be under construction (not in a shared_ptr).
  std::vector<torch::nn::Module*> all{&module};
  for (auto& child : module.modules(/*include_self=*/false)) all.push_back(child.get());
  for (auto* m : all) {
    auto* recurrent = m->as<RecurrentImpl>();
    if (recurrent == nullptr || !recurrent->lstm) continue;
    for (auto& kv : recurrent->lstm->named_parameters(/*recurse=*/false)) {
      const bool ih = kv.key().rfind("bias_ih", 0) == 0, hh = kv.key().rfind("bias_hh", 0) == 0;
      if (!ih && !hh) continue;
      auto& b = kv.value();
      const int64_t h = b.size(0) / 4;
      b.narrow(0, h, h).fill_(ih ? forget_bias : 0.0);
    }
  }
}

}  // namespace seqzoo
