#include "tools/app/evaluation.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <iomanip>
#include <stdexcept>

#include "data/batcher.h"
#include "data/common/files.h"
#include "data/corpus.h"
#include "tools/app/run_directory.h"

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

namespace {

void print_scores(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                  const BleuOptions& bleu_options, const ChrfOptions& chrf_options, std::ostream& out) {
  const BleuScore bleu = corpus_bleu(hyps, refs, bleu_options);
  const ChrfScore chrf = corpus_chrf(hyps, refs, chrf_options);
  out << bleu.format() << "\n" << "signature: " << bleu.signature << "\n" << chrf.format() << "\n"
      << "signature: " << chrf.signature << std::endl;
}

}  // namespace

void score_hypotheses(const std::string& hyp_path, const std::vector<std::string>& ref_paths, const BleuOptions& bleu,
                      const ChrfOptions& chrf, std::ostream& out) {
  bleu.validate();
  const auto hyps = read_lines(hyp_path);
  const auto refs = read_references(ref_paths, hyps.size(), "hypotheses " + hyp_path);
  print_scores(hyps, refs, bleu, chrf, out);
}

void evaluate_run(const LoadedModel& run, const std::string& run_dir, const TranslateOptions& translate,
                  const EvaluateOptions& options, std::ostream& out) {
  namespace fs = std::filesystem;
  options.bleu.validate();  // before any decoding
  const RunDirectory dir(run_dir);
  std::vector<std::string> srcs;
  std::vector<std::vector<std::string>> refs;
  std::string src_name, default_output;
  if (!options.src.empty()) {
    srcs = read_lines(options.src);
    refs = read_references(options.refs, srcs.size(), "source " + options.src);
    src_name = options.src;
    default_output = (fs::path(dir.eval_dir()) / (fs::path(options.src).filename().string() + ".hyp")).string();
  } else {
    const std::string split = options.test.empty() ? run.config.data.test : options.test;
    if (split.empty())
      throw std::invalid_argument(dir.config() + ": data.test is empty; give --test PREFIX or --src/--ref");
    RawCorpus raw = read_split(run.config.data, split);
    if (raw.tgt.size() != raw.src.size()) throw std::invalid_argument("test set " + raw.src_path + ": no target side");
    srcs = std::move(raw.src);
    refs = {std::move(raw.tgt)};
    src_name = raw.src_path;
    default_output =
        (fs::path(dir.eval_dir()) / (fs::path(split).filename().string() + "." + run.config.data.tgt_lang + ".hyp")).string();
  }
  if (srcs.empty()) throw std::invalid_argument("test set " + src_name + " is empty: nothing to translate or score");
  if (!options.output_tag.empty())
    default_output = default_output.substr(0, default_output.size() - 4) + "." + options.output_tag + ".hyp";
  TranslateOptions topts = translate;
  topts.input_name = src_name;
  const auto t0 = std::chrono::steady_clock::now();
  const auto results = translate_lines(run.workers(), run.tok, srcs, topts, run.device);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<std::string> hyps;
  int64_t tgt_tokens = 0;
  for (const auto& r : results) {
    hyps.push_back(r.nbest.empty() ? std::string() : r.nbest.front().text);
    tgt_tokens += static_cast<int64_t>(r.tgt_pieces.size());
  }
  const std::string output = options.output.empty() ? default_output : options.output;
  write_lines(output, hyps);
  const Perplexity ppl =
      corpus_perplexity(*run.model, run.tok, srcs, refs.front(), topts.search.batch_tokens, run.device);
  out << std::fixed << std::setprecision(2) << "test set: " << src_name << " (" << srcs.size() << " sentences, "
      << run.config.data.src_lang << "->" << run.config.data.tgt_lang << ")\n"
      << "translated " << srcs.size() << " sentences in " << seconds << " s: " << srcs.size() / seconds
      << " sentences/s, " << tgt_tokens / seconds << " target tokens/s (beam " << topts.search.beam_size << ", "
      << run.device << ")\n"
      << "hypotheses: " << output << "\n"
      << "test perplexity: " << ppl.ppl << " (" << ppl.tokens << " target tokens)\n";
  out.unsetf(std::ios::floatfield);
  out << std::setprecision(6);
  print_scores(hyps, refs, options.bleu, options.chrf, out);
}

}  // namespace seqzoo
