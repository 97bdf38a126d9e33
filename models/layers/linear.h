#pragma once
// y = x Wᵀ + b as every family computes it, with optional inference copies of W packed once.
//
// Why packed copies: BLAS repacks the whole weight matrix at every call, which for the 8k-word
// output layer at a beam of 5 rows costs far more than the arithmetic. pack_linears keeps a copy of
// each weight in oneDNN's blocked layout (models/layers/packed_matmul.h), fp32 or bf16 (CPUs with
// native bf16), and multiplies through it: no repacking per call, the arithmetic of the type.
//
// int8 is dynamic quantization (as PyTorch's quantize_dynamic and CTranslate2's int8): each weight
// matrix is stored once in int8 with one symmetric scale per output row (max |w| / 127), and each
// call quantizes its input on the fly, multiplies in integers and rescales to fp32. On CPUs with
// VNNI it runs through the same oneDNN packing (one symmetric scale per input); elsewhere
// through LibTorch's quantized engine (oneDNN or FBGEMM; one affine uint8 scale per call).
//
// Only weights packed by quantize_linears_int8 or pack_linears take those paths, and only outside
// autograd (no gradient mode): training and unpacked models compute exactly as torch::nn::Linear
// does.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace seqzoo {

// A module that multiplies by a weight it does not hold as a Linear (a tied output layer multiplies
// by its target embedding's matrix) lists it here, so that pack_linears and quantize_linears_int8
// pack it too. Embedding matrices nobody multiplies by (a source embedding) are not packed.
class TiedWeights {
 public:
  virtual ~TiedWeights() = default;
  virtual std::vector<torch::Tensor> tied_weights() const = 0;  // each [out, in]
};

// x [..., in] -> [..., out] with layer's weight [out, in] and bias.
torch::Tensor linear(const torch::nn::LinearImpl& layer, const torch::Tensor& x);
torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x);
// The same with an explicit weight [out, in] and an optional bias [out] (a tied output layer).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

// Whether int8 products can run on `device`: a CPU, with VNNI and seqzoo built with oneDNN, or a
// LibTorch with a quantized engine that packs dynamic linear weights (oneDNN or FBGEMM).
bool int8_linear_available(const torch::Device& device);

// Whether pack_linears can pack for `dtype` (kFloat32 or kBFloat16) on `device`: a CPU, seqzoo built
// with oneDNN, and for bf16 a CPU with native bf16.
bool packed_linear_available(torch::ScalarType dtype, const torch::Device& device);

// Packs a `dtype` copy of the weight of every Linear in `model` (itself included), of every weight a
// module lists as TiedWeights and of every unidirectional GRU/LSTM matrix into oneDNN's layout; the
// weights stay, unchanged. Returns the number of matrices packed (a matrix listed twice is packed
// once). std::invalid_argument when not available. Replaces an int8 copy and vice versa.
int64_t pack_linears(torch::nn::Module& model, torch::ScalarType dtype);

// Packs an int8 copy of the weight of every Linear in `model` (itself included), of every weight a
// module lists as TiedWeights (a tied output layer's embedding) and of every unidirectional GRU/LSTM
// matrix (a decoder step multiplies by them, models/rnn/recurrent.h); the fp32 weights stay, unchanged.
// Returns the number of matrices packed. std::invalid_argument when int8 is not available for the
// model's device. Packing again replaces the copies (after the weights were changed).
int64_t quantize_linears_int8(torch::nn::Module& model);

}  // namespace seqzoo
