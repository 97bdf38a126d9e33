// The isolated SentencePiece module (see data/spm_shim.h). Built as libseqzoo_spm.so; the only
// translation unit of seqzoo that includes SentencePiece.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <string>
#include <unordered_map>

#include "data/spm_shim.h"

namespace {

class ProcessorImpl : public seqzoo::spm::Processor {
 public:
  std::string load(const std::string& path) override {
    auto status = sp_.Load(path);
    return status.ok() ? std::string() : status.ToString();
  }
  std::vector<int> encode(const std::string& text) const override {
    std::vector<int> ids;
    sp_.Encode(text, &ids);
    return ids;
  }
  std::vector<std::string> encode_pieces(const std::string& text) const override {
    std::vector<std::string> pieces;
    sp_.Encode(text, &pieces);
    return pieces;
  }
  std::string decode(const std::vector<int>& ids) const override {
    std::string text;
    sp_.Decode(ids, &text);
    return text;
  }
  std::string id_to_piece(int id) const override { return sp_.IdToPiece(id); }
  int piece_to_id(const std::string& piece) const override { return sp_.PieceToId(piece); }
  int piece_size() const override { return sp_.GetPieceSize(); }
  int pad_id() const override { return sp_.pad_id(); }
  int unk_id() const override { return sp_.unk_id(); }
  int bos_id() const override { return sp_.bos_id(); }
  int eos_id() const override { return sp_.eos_id(); }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

}  // namespace

extern "C" __attribute__((visibility("default"))) seqzoo::spm::Processor* seqzoo_spm_new() {
  return new ProcessorImpl();
}

extern "C" __attribute__((visibility("default"))) void seqzoo_spm_train(const std::string* flags,
                                                                       std::string* error) {
  auto status = sentencepiece::SentencePieceTrainer::Train(*flags);
  *error = status.ok() ? std::string() : status.ToString();
}

extern "C" __attribute__((visibility("default"))) void seqzoo_spm_train_flags(
    const seqzoo::spm::Flags* flags, unsigned int seed, std::string* error) {
  std::unordered_map<std::string, std::string> kwargs(flags->begin(), flags->end());
  sentencepiece::SetRandomGeneratorSeed(seed);
  auto status = sentencepiece::SentencePieceTrainer::Train(kwargs);
  *error = status.ok() ? std::string() : status.ToString();
}
