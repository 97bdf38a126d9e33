#pragma once
// The data floor's own configuration: the parallel corpus and batching (`data:`) and the
// SentencePiece model (`tokenizer:`). Every field's key, doc and range is declared once, in visit().
#include <cstdint>
#include <string>

#include "data/common/config_fields.h"

namespace seqzoo {

struct DataConfig {
  std::string dir;                                           // doc and ranges in visit()
  std::string src_lang = "de", tgt_lang = "en";
  std::string train = "train", valid = "val", test = "test_2016_flickr";
  int64_t min_len = 1, max_len = 128;
  double max_len_ratio = 3.0;
  int64_t batch_tokens = 4096, max_sentences = 0, max_train_pairs = 0;

  void visit(FieldVisitor& v) {
    v.field("dir", dir, "corpus folder; empty = $SEQZOO_DATA, else ../shared/data/multi30k");
    v.field("src_lang", src_lang, "source language suffix: <dir>/<prefix>.<src_lang>");
    v.field("tgt_lang", tgt_lang, "target language suffix: <dir>/<prefix>.<tgt_lang>");
    v.field("train", train, "training file prefix, or a .tsv file of src<TAB>tgt lines");
    v.field("valid", valid, "validation file prefix (or .tsv); empty = no validation (best.pt follows last.pt)");
    v.field("test", test, "test file prefix (or .tsv): what seqzoo-evaluate --run DIR scores by default");
    v.field("min_len", min_len, "drop training pairs with fewer subword tokens on either side", Range::at_least(1));
    v.field("max_len", max_len, "drop training pairs with more subword tokens on either side", Range::at_least(1));
    v.field("max_len_ratio", max_len_ratio, "drop training pairs whose length ratio exceeds this (0 = off)",
            Range::non_negative());
    v.field("batch_tokens", batch_tokens, "token budget per batch: padded source or target tokens (fairseq --max-tokens)",
            Range::at_least(1));
    v.field("max_sentences", max_sentences, "at most this many sentences per batch (0 = no limit)", Range::non_negative());
    v.field("max_train_pairs", max_train_pairs, "use only the first N training pairs (0 = all)", Range::non_negative());
  }
  // Checks across fields (std::invalid_argument naming the key).
  void check() const;
};

struct TokenizerConfig {
  std::string type = "unigram";
  int64_t vocab_size = 8000;
  bool joint = true;
  double character_coverage = 1.0;
  int64_t input_sentence_size = 0;
  std::string model;

  void visit(FieldVisitor& v) {
    v.field("type", type, "SentencePiece model type", {"unigram", "bpe", "char", "word"});
    v.field("vocab_size", vocab_size, "vocabulary size (per side when not joint)", Range::at_least(8));
    v.field("joint", joint, "one vocabulary for source and target (needed to tie all embeddings)");
    v.field("character_coverage", character_coverage, "SentencePiece character_coverage", Range::fraction());
    v.field("input_sentence_size", input_sentence_size, "train SentencePiece on at most N sampled sentences (0 = all)",
            Range::non_negative());
    v.field("model", model, "existing SentencePiece .model to use instead of training one (joint)");
  }
  void check() const {}
};

// The data folder: data.dir, else $SEQZOO_DATA, else ../shared/data/multi30k.
std::string resolve_data_dir(const DataConfig& data);

}  // namespace seqzoo
