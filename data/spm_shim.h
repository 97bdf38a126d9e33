#pragma once
// SentencePiece behind an isolation boundary.
//
// Why: Debian's libsentencepiece embeds its own copy of protobuf-lite 3.14 and exports its
// symbols, while LibTorch pulls in libprotobuf 3.21. Linked into one process they interpose each
// other and the program crashes before main(). So SentencePiece lives in a small module
// (libseqzoo_spm.so, built from data/spm/spm_module.cc) that is dlopen'ed with
// RTLD_LOCAL | RTLD_DEEPBIND: it binds to its own protobuf, LibTorch to the system one.
// Nothing else in seqzoo may include <sentencepiece_processor.h> or link libsentencepiece.
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace seqzoo {
namespace spm {

// One loaded SentencePiece model (implemented inside the module).
class Processor {
 public:
  virtual ~Processor() = default;
  virtual std::string load(const std::string& path) = 0;  // "" on success, else the error text
  virtual std::vector<int> encode(const std::string& text) const = 0;
  virtual std::vector<std::string> encode_pieces(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int>& ids) const = 0;
  virtual std::string id_to_piece(int id) const = 0;
  virtual int piece_to_id(const std::string& piece) const = 0;
  virtual int piece_size() const = 0;
  virtual int pad_id() const = 0;
  virtual int unk_id() const = 0;
  virtual int bos_id() const = 0;
  virtual int eos_id() const = 0;
};

// A new, empty processor (call load()). Loads the module on first use; std::runtime_error if the
// module cannot be found or opened.
std::unique_ptr<Processor> make_processor();
// SentencePieceTrainer::Train with a flag string ("--input=... --model_prefix=... ...").
// Returns "" on success, else the error text.
std::string train(const std::string& flags);
// Same, from key/value flags ({"input", "a.txt,b.txt"}, ...: no word splitting, so paths may hold
// spaces), after seeding SentencePiece's random generator with `seed` (its sentence sampling and
// shuffling), so that a trained model is reproducible. Returns "" on success, else the error text.
using Flags = std::vector<std::pair<std::string, std::string>>;
std::string train(const Flags& flags, unsigned int seed);

}  // namespace spm
}  // namespace seqzoo
