#pragma once
// The whole configuration, parsed once into typed structs (CTranslate2 TranslationOptions,
// SentencePiece TrainerSpec). Every field has a default and a one-line comment, given once in the
// struct's visit(): parsing, unknown-key detection, --set overrides, --dump-config and the
// commented reference (configs/REFERENCE.yaml) are all generated from it.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace seqzoo {

// Walks the fields of a config struct. Implementations parse YAML, dump YAML, list keys, ...
class FieldVisitor {
 public:
  virtual ~FieldVisitor() = default;
  virtual void field(const char* key, int64_t& value, const char* doc) = 0;
  virtual void field(const char* key, double& value, const char* doc) = 0;
  virtual void field(const char* key, bool& value, const char* doc) = 0;
  // choices: the allowed values (empty = any string).
  virtual void field(const char* key, std::string& value, const char* doc,
                     const std::vector<std::string>& choices = {}) = 0;
  virtual void section(const char* key, const char* doc,
                       const std::function<void(FieldVisitor&)>& body) = 0;
};

struct DataConfig {
  std::string dir;                      // corpus folder; "" = $SEQZOO_DATA, else ../shared/data/multi30k
  std::string src_lang = "de";          // source language suffix: <dir>/<prefix>.<src_lang>
  std::string tgt_lang = "en";          // target language suffix
  std::string train = "train";          // training file prefix (or a .tsv file: src<TAB>tgt)
  std::string valid = "val";            // validation file prefix (or .tsv)
  std::string test = "test_2016_flickr";// test file prefix used by seqzoo-evaluate by default
  int64_t min_len = 1;                  // drop training pairs with fewer subword tokens on a side
  int64_t max_len = 128;                // drop training pairs with more subword tokens on a side
  double max_len_ratio = 3.0;           // drop training pairs whose length ratio exceeds this (0 = off)
  int64_t batch_tokens = 4096;          // token budget per batch (padded src or tgt, as fairseq --max-tokens)
  int64_t max_sentences = 0;            // at most this many sentences per batch (0 = no limit)
  int64_t max_train_pairs = 0;          // use only the first N training pairs (0 = all)

  void visit(FieldVisitor& v) {
    v.field("dir", dir, "corpus folder; empty = $SEQZOO_DATA, else ../shared/data/multi30k");
    v.field("src_lang", src_lang, "source language suffix: <dir>/<prefix>.<src_lang>");
    v.field("tgt_lang", tgt_lang, "target language suffix: <dir>/<prefix>.<tgt_lang>");
    v.field("train", train, "training file prefix, or a .tsv file of src<TAB>tgt lines");
    v.field("valid", valid, "validation file prefix (or .tsv)");
    v.field("test", test, "test file prefix, seqzoo-evaluate's default");
    v.field("min_len", min_len, "drop training pairs with fewer subword tokens on either side");
    v.field("max_len", max_len, "drop training pairs with more subword tokens on either side");
    v.field("max_len_ratio", max_len_ratio, "drop training pairs whose length ratio exceeds this (0 = off)");
    v.field("batch_tokens", batch_tokens, "token budget per batch: padded source or target tokens (fairseq --max-tokens)");
    v.field("max_sentences", max_sentences, "at most this many sentences per batch (0 = no limit)");
    v.field("max_train_pairs", max_train_pairs, "use only the first N training pairs (0 = all)");
  }
};

struct TokenizerConfig {
  std::string type = "unigram";         // SentencePiece model type: unigram | bpe | char | word
  int64_t vocab_size = 8000;            // vocabulary size (per side when not joint)
  bool joint = true;                    // one vocabulary for source and target (needed to tie all embeddings)
  double character_coverage = 1.0;      // SentencePiece character_coverage
  int64_t input_sentence_size = 0;      // train SentencePiece on at most N sampled sentences (0 = all)
  std::string model;                    // existing SentencePiece model to use instead of training one

  void visit(FieldVisitor& v) {
    v.field("type", type, "SentencePiece model type", {"unigram", "bpe", "char", "word"});
    v.field("vocab_size", vocab_size, "vocabulary size (per side when not joint)");
    v.field("joint", joint, "one vocabulary for source and target (needed to tie all embeddings)");
    v.field("character_coverage", character_coverage, "SentencePiece character_coverage");
    v.field("input_sentence_size", input_sentence_size, "train SentencePiece on at most N sampled sentences (0 = all)");
    v.field("model", model, "existing SentencePiece .model to use instead of training one (joint)");
  }
};

struct RnnConfig {
  std::string cell = "lstm";            // lstm | gru
  int64_t hidden_dim = 512;             // hidden size of encoder and decoder RNNs
  int64_t layers = 2;                   // stacked layers (encoder and decoder)
  bool bidirectional = false;           // bidirectional encoder; final states bridged to the decoder size
  bool reverse_source = false;          // feed the source reversed (Sutskever et al. 2014)
  bool context_every_step = false;      // seq2seq: feed the encoder context at every decoder step (Cho et al. 2014)
  double forget_bias = 1.0;             // LSTM forget-gate bias at initialisation (Gers et al. 2000; Jozefowicz et al. 2015)

  void visit(FieldVisitor& v) {
    v.field("cell", cell, "recurrent cell", {"lstm", "gru"});
    v.field("hidden_dim", hidden_dim, "hidden size of the encoder and decoder RNNs");
    v.field("layers", layers, "stacked RNN layers (encoder and decoder)");
    v.field("bidirectional", bidirectional, "bidirectional encoder; final states bridged to the decoder size");
    v.field("reverse_source", reverse_source, "feed the source reversed (Sutskever et al. 2014)");
    v.field("context_every_step", context_every_step, "seq2seq: feed the encoder context at every decoder step (Cho et al. 2014)");
    v.field("forget_bias", forget_bias, "LSTM forget-gate bias at initialisation (Gers et al. 2000; Jozefowicz et al. 2015)");
  }
};

struct AttentionConfig {
  std::string type = "bahdanau";        // bahdanau (additive) | dot | general | concat (Luong)
  int64_t attention_dim = 0;            // additive/concat scorer size (0 = hidden_dim)
  bool input_feeding = true;            // feed the previous attentional vector to the next step (Luong 2015)

  void visit(FieldVisitor& v) {
    v.field("type", type, "scorer: bahdanau (additive), or Luong's dot | general | concat",
            {"bahdanau", "dot", "general", "concat"});
    v.field("attention_dim", attention_dim, "additive/concat scorer size (0 = rnn.hidden_dim)");
    v.field("input_feeding", input_feeding, "feed the previous attentional vector into the next step (Luong et al. 2015)");
  }
};

struct TransformerConfig {
  int64_t d_model = 256;                // model width
  int64_t ffn_dim = 1024;               // feed-forward inner size
  int64_t heads = 4;                    // attention heads (must divide d_model)
  int64_t encoder_layers = 3;           // encoder blocks
  int64_t decoder_layers = 3;           // decoder blocks
  bool pre_norm = true;                 // LayerNorm before each sublayer (else after, as in Vaswani 2017)
  double attention_dropout = 0.0;       // dropout on attention weights
  double activation_dropout = 0.0;      // dropout after the FFN activation
  std::string activation = "relu";      // relu | gelu

  void visit(FieldVisitor& v) {
    v.field("d_model", d_model, "model width (embedding size)");
    v.field("ffn_dim", ffn_dim, "feed-forward inner size");
    v.field("heads", heads, "attention heads (must divide d_model)");
    v.field("encoder_layers", encoder_layers, "encoder blocks");
    v.field("decoder_layers", decoder_layers, "decoder blocks");
    v.field("pre_norm", pre_norm, "LayerNorm before each sublayer (false: after, as in Vaswani et al. 2017)");
    v.field("attention_dropout", attention_dropout, "dropout on attention weights");
    v.field("activation_dropout", activation_dropout, "dropout after the feed-forward activation");
    v.field("activation", activation, "feed-forward activation", {"relu", "gelu"});
  }
};

struct ModelConfig {
  std::string family = "transformer";   // seq2seq | attention | transformer (see models/core/registry.h)
  int64_t embed_dim = 256;              // RNN families: embedding size (Transformer uses d_model)
  double dropout = 0.1;                 // dropout on embeddings and between layers
  bool tie_embeddings = true;           // share target embedding and output projection (and source, when joint)
  double init_range = 0.1;              // RNN families: uniform(-r, r) initialisation (Sutskever 2014); 0 = orthogonal
  RnnConfig rnn;
  AttentionConfig attention;
  TransformerConfig transformer;

  void visit(FieldVisitor& v) {
    v.field("family", family, "model family", {"seq2seq", "attention", "transformer"});
    v.field("embed_dim", embed_dim, "RNN families: embedding size (the Transformer uses d_model)");
    v.field("dropout", dropout, "dropout on embeddings and between layers");
    v.field("tie_embeddings", tie_embeddings, "share target embedding and output projection (and the source embedding when the vocabulary is joint)");
    v.field("init_range", init_range, "RNN families: uniform(-r, r) init (Sutskever et al. 2014); 0 = orthogonal");
    v.section("rnn", "RNN encoder/decoder (families seq2seq and attention)", [&](FieldVisitor& s) { rnn.visit(s); });
    v.section("attention", "attention scorer (family attention)", [&](FieldVisitor& s) { attention.visit(s); });
    v.section("transformer", "Transformer (family transformer)", [&](FieldVisitor& s) { transformer.visit(s); });
  }
};

struct TrainConfig {
  int64_t seed = 1;                     // seeds parameters, dropout and batch order
  int64_t max_steps = 0;                // stop after this many updates (0 = no limit)
  int64_t max_epochs = 0;               // stop after this many epochs (0 = no limit)
  double max_minutes = 0;               // stop after this much wall time (0 = no limit)
  std::string optimizer = "adam";       // adam | adamw
  double lr = 5e-4;                     // peak learning rate
  double beta1 = 0.9;                   // Adam beta1
  double beta2 = 0.98;                  // Adam beta2
  double eps = 1e-9;                    // Adam epsilon
  double weight_decay = 0.0;            // L2 (adam) or decoupled (adamw) weight decay
  std::string lr_schedule = "inverse_sqrt"; // inverse_sqrt | constant | plateau
  int64_t warmup_steps = 4000;          // linear warmup steps (inverse_sqrt, constant)
  double plateau_factor = 0.5;          // plateau: multiply lr by this when validation stalls
  int64_t plateau_patience = 2;         // plateau: validations without improvement before decaying
  double min_lr = 1e-6;                 // lower bound of the learning rate
  double clip_norm = 1.0;               // clip the gradient norm to this (0 = off)
  int64_t update_freq = 1;              // accumulate gradients over N batches per update
  double label_smoothing = 0.1;         // label smoothing epsilon
  int64_t log_every = 100;              // print a progress line every N updates
  int64_t valid_every = 1000;           // validate (and checkpoint) every N updates
  bool valid_bleu = true;               // compute BLEU on the validation set (greedy/beam search)
  int64_t valid_beam = 1;               // beam size for validation BLEU (1 = greedy)
  int64_t valid_max_sentences = 0;      // validate on the first N dev sentences (0 = all)
  std::string best_metric = "bleu";     // bleu | loss: which validation metric picks best.pt
  int64_t patience = 0;                 // stop after N validations without improvement (0 = off)
  int64_t keep_last = 3;                // keep the last K step checkpoints
  int64_t max_bad_steps = 10;           // stop after this many consecutive NaN/inf losses
  std::string precision = "fp32";       // fp32 | bf16 (CUDA, or a CPU with AVX512-BF16/AMX) | fp16 (CUDA)

  void visit(FieldVisitor& v) {
    v.field("seed", seed, "seeds parameters, dropout and batch order");
    v.field("max_steps", max_steps, "stop after this many updates (0 = no limit)");
    v.field("max_epochs", max_epochs, "stop after this many epochs (0 = no limit)");
    v.field("max_minutes", max_minutes, "stop after this much wall-clock time (0 = no limit)");
    v.field("optimizer", optimizer, "optimizer", {"adam", "adamw"});
    v.field("lr", lr, "peak learning rate");
    v.field("beta1", beta1, "Adam beta1");
    v.field("beta2", beta2, "Adam beta2");
    v.field("eps", eps, "Adam epsilon");
    v.field("weight_decay", weight_decay, "L2 (adam) or decoupled (adamw) weight decay");
    v.field("lr_schedule", lr_schedule, "learning-rate schedule", {"inverse_sqrt", "constant", "plateau"});
    v.field("warmup_steps", warmup_steps, "linear warmup steps");
    v.field("plateau_factor", plateau_factor, "plateau: multiply the lr by this when validation stalls");
    v.field("plateau_patience", plateau_patience, "plateau: validations without improvement before decaying");
    v.field("min_lr", min_lr, "lower bound of the learning rate");
    v.field("clip_norm", clip_norm, "clip the global gradient norm to this (0 = off)");
    v.field("update_freq", update_freq, "accumulate gradients over N batches per update");
    v.field("label_smoothing", label_smoothing, "label smoothing epsilon");
    v.field("log_every", log_every, "print a progress line every N updates");
    v.field("valid_every", valid_every, "validate and checkpoint every N updates");
    v.field("valid_bleu", valid_bleu, "compute BLEU on the validation set (needs decoding)");
    v.field("valid_beam", valid_beam, "beam size for validation BLEU (1 = greedy)");
    v.field("valid_max_sentences", valid_max_sentences, "validate on the first N dev sentences (0 = all)");
    v.field("best_metric", best_metric, "validation metric that selects best.pt", {"bleu", "loss"});
    v.field("patience", patience, "early stopping: validations without improvement (0 = off)");
    v.field("keep_last", keep_last, "keep the last K step checkpoints");
    v.field("max_bad_steps", max_bad_steps, "stop after this many consecutive NaN/inf losses");
    v.field("precision", precision, "mixed precision (bf16: CUDA or an AVX512-BF16/AMX CPU; fp16: CUDA)", {"fp32", "bf16", "fp16"});
  }
};

struct SearchConfig {
  int64_t beam_size = 5;                // beam size (1 = greedy)
  double alpha = 0.6;                   // length penalty exponent (GNMT, Wu et al. 2016)
  std::string length_norm = "gnmt";     // gnmt | average | none
  double max_len_a = 1.5;               // max output length = a * src_len + b
  int64_t max_len_b = 10;               // max output length = a * src_len + b
  int64_t nbest = 1;                    // hypotheses returned per sentence
  int64_t batch_tokens = 4000;          // source-token budget per decoding batch
  int64_t max_input_tokens = 256;       // longer inputs are translated in pieces
  bool tune_alpha = false;              // after training, pick alpha by validation BLEU (see run.h)

  void visit(FieldVisitor& v) {
    v.field("beam_size", beam_size, "beam size (1 = greedy)");
    v.field("alpha", alpha, "length penalty exponent (GNMT, Wu et al. 2016)");
    v.field("length_norm", length_norm, "length normalisation of scores", {"gnmt", "average", "none"});
    v.field("max_len_a", max_len_a, "max output length = a * source length + b");
    v.field("max_len_b", max_len_b, "max output length = a * source length + b");
    v.field("nbest", nbest, "hypotheses returned per sentence");
    v.field("batch_tokens", batch_tokens, "source-token budget per decoding batch");
    v.field("max_input_tokens", max_input_tokens, "inputs longer than this (subword tokens) are translated in pieces");
    v.field("tune_alpha", tune_alpha, "after training, set alpha to the best of 0.6/1.0/1.5/2.0 by validation BLEU (beam_size)");
  }
};

struct Config {
  std::string run_dir = "runs/default"; // where train writes and evaluate/translate read
  std::string device = "auto";          // cpu | cuda | auto
  int64_t threads = 0;                  // intra-op CPU threads (0 = all cores)
  DataConfig data;
  TokenizerConfig tokenizer;
  ModelConfig model;
  TrainConfig train;
  SearchConfig search;

  void visit(FieldVisitor& v) {
    v.field("run_dir", run_dir, "run directory: train writes it, evaluate and translate read it");
    v.field("device", device, "compute device", {"cpu", "cuda", "auto"});
    v.field("threads", threads, "intra-op CPU threads (0 = all cores)");
    v.section("data", "parallel corpus and batching", [&](FieldVisitor& s) { data.visit(s); });
    v.section("tokenizer", "SentencePiece subword model", [&](FieldVisitor& s) { tokenizer.visit(s); });
    v.section("model", "model family and sizes", [&](FieldVisitor& s) { model.visit(s); });
    v.section("train", "optimisation, validation, checkpoints", [&](FieldVisitor& s) { train.visit(s); });
    v.section("search", "decoding (greedy / beam search)", [&](FieldVisitor& s) { search.visit(s); });
  }
};

// Parses YAML text (`origin` names it in errors: a file path or "<string>") into a Config, after
// applying overrides of the form "section.key=value". Unknown keys (with a did-you-mean), wrong
// types, bad choices and failed cross-field checks throw std::invalid_argument naming the key.
Config parse_config(const std::string& yaml_text, const std::string& origin,
                    const std::vector<std::string>& overrides = {});
// Reads a YAML file (std::runtime_error if unreadable) and parses it as above.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
// The resolved config as YAML; with comments = true each key carries its one-line comment.
std::string dump_config(const Config& config, bool comments = true);
// Cross-field checks (positive sizes, heads divide d_model, ...); throws std::invalid_argument.
void validate_config(const Config& config);
// The data folder: data.dir, else $SEQZOO_DATA, else ../shared/data/multi30k.
std::string resolve_data_dir(const DataConfig& data);

}  // namespace seqzoo
