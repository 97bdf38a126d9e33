// models/rnn/recurrent: a decoder's single time step, run cell by cell outside autograd, is
// LibTorch's GRU/LSTM result (to the bit on LibTorch 1.x, whose CPU cells it mirrors), with and
// without initial states, for one and several layers; packed weights serve it.
#include <catch2/catch.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include "models/layers/linear.h"
#include "models/rnn/recurrent.h"

using namespace seqzoo;

namespace {

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

void check_same(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
#if TORCH_VERSION_MAJOR < 2
  CHECK(torch::equal(a, b));
#else
  CHECK(max_diff(a, b) < 1e-6);  // LibTorch 2.x may run its RNNs through oneDNN
#endif
}

}  // namespace

TEST_CASE("recurrent: a single step outside autograd is LibTorch's RNN result", "[models][rnn]") {
  for (const std::string cell : {"gru", "lstm"}) {
    for (int64_t layers : {1, 2}) {
      DYNAMIC_SECTION(cell << " " << layers << " layers") {
        torch::manual_seed(8);
        Recurrent rnn(cell, 12, 16, layers, 0.3, /*bidirectional=*/false);
        rnn->eval();
        torch::NoGradGuard no_grad;
        auto x = torch::randn({5, 1, 12});
        RnnStates init{torch::randn({layers, 5, 16}), rnn->is_lstm() ? torch::randn({layers, 5, 16}) : torch::Tensor()};
        auto got = rnn->forward(x, init);
        torch::Tensor out, h, c;
        if (rnn->is_lstm()) {
          auto r = rnn->lstm->forward(x, std::make_tuple(init.h, init.c));
          out = std::get<0>(r);
          h = std::get<0>(std::get<1>(r));
          c = std::get<1>(std::get<1>(r));
          check_same(std::get<1>(got).c, c);
        } else {
          auto r = rnn->gru->forward(x, init.h);
          out = std::get<0>(r);
          h = std::get<1>(r);
          CHECK_FALSE(std::get<1>(got).c.defined());
        }
        check_same(std::get<0>(got), out);
        check_same(std::get<1>(got).h, h);
        // No initial states: zeros, as LibTorch.
        auto zero = rnn->forward(x);
        auto ref = rnn->is_lstm() ? std::get<0>(rnn->lstm->forward(x)) : std::get<0>(rnn->gru->forward(x));
        check_same(std::get<0>(zero), ref);
        // Packed weights take the products: close, not equal.
        for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
          if (!packed_linear_available(dtype, torch::kCPU)) continue;
          INFO(c10::toString(dtype));
          pack_linears(*rnn, dtype);
          CHECK(max_diff(std::get<0>(rnn->forward(x, init)), out) < (dtype == torch::kFloat32 ? 1e-5 : 0.05));
        }
      }
    }
  }
}
