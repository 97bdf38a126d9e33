// SentencePiece wrapper (Kudo & Richardson 2018) with the fixed special ids of data/batch.h.
// SentencePiece itself is reached only through data/spm_shim.h (see there why).
#include "data/tokenizer.h"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "data/batch.h"

namespace fs = std::filesystem;

namespace seqzoo {
namespace {

// Threads SentencePiece trains with (the machine budget of the project: 2 cores).
constexpr int kTrainThreads = 2;
// Seed of SentencePiece's sentence sampling/shuffling, so a tokenizer is reproducible.
constexpr unsigned int kTrainSeed = 1;

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

void remove_model_files(const fs::path& prefix) {
  std::error_code ec;
  fs::remove(prefix.string() + ".model", ec);
  fs::remove(prefix.string() + ".vocab", ec);
}

}  // namespace

Tokenizer::Tokenizer() : sp_(spm::make_processor()) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::string& model_path) {
  std::error_code ec;
  if (!fs::is_regular_file(model_path, ec)) {
    throw std::runtime_error("cannot open SentencePiece model " + model_path);
  }
  Tokenizer tok;
  tok.path_ = model_path;
  const std::string error = tok.sp_->load(model_path);
  if (!error.empty()) {
    throw std::runtime_error("cannot load SentencePiece model " + model_path + ": " + error);
  }
  const int pad = tok.sp_->pad_id(), unk = tok.sp_->unk_id(), bos = tok.sp_->bos_id(),
            eos = tok.sp_->eos_id();
  if (pad != kPadId || unk != kUnkId || bos != kBosId || eos != kEosId) {
    throw std::invalid_argument(
        "SentencePiece model " + model_path + " has special ids pad=" + std::to_string(pad) +
        " unk=" + std::to_string(unk) + " bos=" + std::to_string(bos) + " eos=" +
        std::to_string(eos) +
        "; seqzoo needs pad=0 unk=1 bos=2 eos=3 (train with --pad_id=0 --unk_id=1 --bos_id=2 "
        "--eos_id=3)");
  }
  return tok;
}

Tokenizer Tokenizer::train(const std::vector<std::string>& files, const std::string& model_prefix,
                           const TokenizerConfig& config) {
  if (files.empty()) throw std::invalid_argument("tokenizer training: no input files");
  for (const auto& f : files) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec)) throw std::runtime_error("cannot open " + f);
    if (f.find(',') != std::string::npos) {
      // SentencePiece splits --input at commas.
      throw std::invalid_argument("tokenizer training: file name contains a comma: " + f);
    }
  }
  TokenizerConfig checked = config;  // the ranges declared in TokenizerConfig::visit
  check_config_ranges([&](FieldVisitor& v) { v.section("tokenizer", "", [&](FieldVisitor& s) { checked.visit(s); }); });

  spm::Flags args = {
      {"input", join(files, ",")},
      {"model_prefix", model_prefix},
      {"model_type", config.type},
      {"vocab_size", std::to_string(config.vocab_size)},
      {"character_coverage", std::to_string(config.character_coverage)},
      {"pad_id", std::to_string(kPadId)},
      {"unk_id", std::to_string(kUnkId)},
      {"bos_id", std::to_string(kBosId)},
      {"eos_id", std::to_string(kEosId)},
      {"pad_piece", "<pad>"},
      {"unk_piece", "<unk>"},
      {"bos_piece", "<s>"},
      {"eos_piece", "</s>"},
      {"hard_vocab_limit", "false"},  // tiny corpora may not support the requested size
      {"num_threads", std::to_string(kTrainThreads)},
      {"minloglevel", "2"},  // errors only: no training chatter
  };
  if (config.input_sentence_size > 0) {
    args.emplace_back("input_sentence_size", std::to_string(config.input_sentence_size));
    args.emplace_back("shuffle_input_sentence", "true");
  }
  const std::string error = spm::train(args, kTrainSeed);
  if (!error.empty()) {
    // The inputs exist (checked above): a failure comes from their content or the settings.
    throw std::invalid_argument("SentencePiece training on " + join(files, ", ") + " failed: " + error);
  }
  return load(model_prefix + ".model");
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  const std::vector<int> ids = sp_->encode(text);
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::vector<std::string> Tokenizer::encode_pieces(const std::string& text) const {
  return sp_->encode_pieces(text);
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  const int64_t v = vocab_size();
  std::vector<int> kept;
  kept.reserve(ids.size());
  for (const int64_t id : ids) {
    if (id == kEosId) break;
    if (id == kPadId || id == kBosId) continue;
    if (id < 0 || id >= v) {
      throw std::invalid_argument("decode: id " + std::to_string(id) + " outside the vocabulary [0, " +
                                  std::to_string(v) + ") of " + path_);
    }
    kept.push_back(static_cast<int>(id));
  }
  return sp_->decode(kept);
}

std::vector<std::string> Tokenizer::id_to_pieces(const std::vector<int64_t>& ids) const {
  const int64_t v = vocab_size();
  std::vector<std::string> pieces;
  pieces.reserve(ids.size());
  for (const int64_t id : ids) {
    if (id < 0 || id >= v) {
      throw std::invalid_argument("id_to_pieces: id " + std::to_string(id) +
                                  " outside the vocabulary [0, " + std::to_string(v) + ")");
    }
    pieces.push_back(sp_->id_to_piece(static_cast<int>(id)));
  }
  return pieces;
}

int64_t Tokenizer::vocab_size() const { return sp_->piece_size(); }

Tokenizers load_tokenizers(const TokenizerPaths& paths) {
  const fs::path joint = paths.joint + ".model", src = paths.src + ".model", tgt = paths.tgt + ".model";
  std::error_code ec;
  Tokenizers t;
  if (fs::is_regular_file(joint, ec)) {
    t.src = std::make_shared<Tokenizer>(Tokenizer::load(joint.string()));
    t.tgt = t.src;
    return t;
  }
  const bool has_src = fs::is_regular_file(src, ec), has_tgt = fs::is_regular_file(tgt, ec);
  if (has_src && has_tgt) {
    t.src = std::make_shared<Tokenizer>(Tokenizer::load(src.string()));
    t.tgt = std::make_shared<Tokenizer>(Tokenizer::load(tgt.string()));
    return t;
  }
  if (has_src || has_tgt)
    throw std::runtime_error("incomplete tokenizer: " + (has_src ? tgt : src).string() + " is missing");
  throw std::runtime_error("no tokenizer: expected " + joint.string() + ", or " + src.string() + " and " +
                           tgt.string());
}

Tokenizers train_tokenizers(const TokenizerPaths& paths, const std::string& src_file,
                            const std::string& tgt_file, const TokenizerConfig& config) {
  std::error_code ec;
  const fs::path joint = paths.joint, src = paths.src, tgt = paths.tgt;
  if (joint.has_parent_path()) {
    fs::create_directories(joint.parent_path(), ec);
    if (ec) throw std::runtime_error("cannot create " + joint.parent_path().string() + ": " + ec.message());
  }

  Tokenizers t;
  if (!config.model.empty() || config.joint) {
    // A joint model; stale per-side models would be ambiguous, so remove them.
    remove_model_files(src);
    remove_model_files(tgt);
    if (!config.model.empty()) {
      const fs::path dest = joint.string() + ".model";
      if (!fs::is_regular_file(config.model, ec)) {
        throw std::runtime_error("cannot open SentencePiece model " + config.model +
                                 " (tokenizer.model)");
      }
      // Validate before copying (special ids), then copy unless it already is the run's model.
      Tokenizer::load(config.model);
      if (!fs::equivalent(config.model, dest, ec)) {
        fs::copy_file(config.model, dest, fs::copy_options::overwrite_existing, ec);
        if (ec) {
          throw std::runtime_error("cannot copy " + config.model + " to " + dest.string() + ": " +
                                   ec.message());
        }
        fs::remove(joint.string() + ".vocab", ec);  // would describe another model
      }
      t.src = std::make_shared<Tokenizer>(Tokenizer::load(dest.string()));
    } else {
      t.src = std::make_shared<Tokenizer>(Tokenizer::train({src_file, tgt_file}, joint.string(), config));
    }
    t.tgt = t.src;
    return t;
  }
  remove_model_files(joint);
  t.src = std::make_shared<Tokenizer>(Tokenizer::train({src_file}, src.string(), config));
  t.tgt = std::make_shared<Tokenizer>(Tokenizer::train({tgt_file}, tgt.string(), config));
  return t;
}

}  // namespace seqzoo
