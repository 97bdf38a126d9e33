#include "models/rnn/recurrent.h"

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
}

std::tuple<torch::Tensor, RnnStates> RecurrentImpl::forward(const torch::Tensor& x,
                                                            const RnnStates& init) {
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
