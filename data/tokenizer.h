#pragma once
// SentencePiece wrapper with the fixed special ids of data/batch.h (pad 0, unk 1, bos 2, eos 3).
#include <memory>
#include <string>
#include <vector>

#include "data/data_config.h"

#include "data/spm_shim.h"

namespace seqzoo {

class Tokenizer {
 public:
  // Loads a trained SentencePiece model (std::runtime_error if missing/corrupt; std::invalid_argument
  // if its special ids are not pad 0, unk 1, bos 2, eos 3).
  static Tokenizer load(const std::string& model_path);
  // Trains on the given text files (one sentence per line) and writes <model_prefix>.model/.vocab.
  static Tokenizer train(const std::vector<std::string>& files, const std::string& model_prefix,
                         const TokenizerConfig& config);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  std::vector<int64_t> encode(const std::string& text) const;   // ids, no bos/eos
  std::vector<std::string> encode_pieces(const std::string& text) const;
  std::string decode(const std::vector<int64_t>& ids) const;    // stops at eos, skips pad/bos
  std::vector<std::string> id_to_pieces(const std::vector<int64_t>& ids) const;
  int64_t vocab_size() const;
  const std::string& path() const { return path_; }

 private:
  Tokenizer();
  // NOTE: SentencePiece is used ONLY through data/spm_shim.h (spm::make_processor(), spm::train()).
  // Including <sentencepiece_processor.h> or linking libsentencepiece elsewhere crashes the
  // process at start-up (protobuf 3.14 inside libsentencepiece vs LibTorch's protobuf 3.21).
  std::unique_ptr<spm::Processor> sp_;
  std::string path_;
};

// The tokenizer(s) of a run: one joint model, or one per side.
struct Tokenizers {
  std::shared_ptr<Tokenizer> src;
  std::shared_ptr<Tokenizer> tgt;  // same object as src when joint
  bool joint() const { return src == tgt; }
};

// Where a run's tokenizer files live: model prefixes (<prefix>.model, <prefix>.vocab) of the joint
// model and of the per-side models. The run directory (tools/app/run_directory.h) decides them.
struct TokenizerPaths {
  std::string joint, src, tgt;
};

// Loads the joint model, or the source and target models (std::runtime_error naming what is missing).
Tokenizers load_tokenizers(const TokenizerPaths& paths);
// Trains the tokenizer(s) on the training files (or copies config.model) to `paths`; removes the
// files of the other kind (joint vs per side), which would be ambiguous.
Tokenizers train_tokenizers(const TokenizerPaths& paths, const std::string& src_file,
                            const std::string& tgt_file, const TokenizerConfig& config);

}  // namespace seqzoo
