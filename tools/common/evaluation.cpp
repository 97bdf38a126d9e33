#include "tools/common/evaluation.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "data/batcher.h"
#include "data/corpus.h"

namespace seqzoo {

Perplexity corpus_perplexity(Seq2SeqModelImpl& model, const Tokenizers& tok, const std::vector<std::string>& srcs,
                             const std::vector<std::string>& refs, int64_t batch_tokens, const torch::Device& device) {
  if (srcs.size() != refs.size())
    throw std::invalid_argument("perplexity: " + std::to_string(srcs.size()) + " sources but " +
                                std::to_string(refs.size()) + " references");
  TokenizedCorpus corpus;
  Perplexity out;
  for (size_t i = 0; i < srcs.size(); ++i) {
    auto s = tok.src->encode(srcs[i]);
    auto t = tok.tgt->encode(refs[i]);
    if (s.empty() || t.empty()) {
      ++out.skipped;
      continue;
    }
    corpus.src.push_back(std::move(s));
    corpus.tgt.push_back(std::move(t));
    corpus.index.push_back(static_cast<int64_t>(i));
  }
  if (corpus.size() == 0) return out;
  torch::NoGradGuard no_grad;
  model.eval();
  const BatchPlan plan = plan_batches(corpus, batch_tokens, 0, /*shuffle=*/false, 0);
  torch::Tensor nll_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device));
  for (const auto& positions : plan.batches) {
    Batch batch = make_batch(corpus, positions).to(device);
    torch::Tensor logits = model.forward(batch);  // [B,T,V]
    torch::Tensor nll = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}).to(torch::kFloat), batch.tgt_out.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kPadId).reduction(torch::kSum));
    nll_sum += nll.to(torch::kDouble);
    out.tokens += batch.tgt_tokens;
  }
  out.nll = nll_sum.item<double>() / static_cast<double>(out.tokens);
  out.ppl = std::exp(out.nll);
  return out;
}

std::vector<std::vector<std::string>> read_references(const std::vector<std::string>& paths, size_t expected,
                                                      const std::string& what) {
  if (paths.empty()) throw std::invalid_argument("no reference file given (--ref FILE)");
  std::vector<std::vector<std::string>> refs;
  for (const auto& p : paths) {
    refs.push_back(read_lines(p));
    if (refs.back().size() != expected)
      throw std::invalid_argument(what + " has " + std::to_string(expected) + " lines but references " + p +
                                  " has " + std::to_string(refs.back().size()));
  }
  return refs;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {  // /dev/null, a pipe
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot write " + path);
    for (const auto& l : lines) f << l << '\n';
    return;
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw std::runtime_error("cannot write " + path);
    for (const auto& l : lines) f << l << '\n';
    f.flush();
    if (!f) throw std::runtime_error("cannot write " + path + " (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

}  // namespace seqzoo
