// End-to-end checks of the three executables: exit codes, one-line errors, and translate's
// handling of empty, invalid-UTF-8 and huge lines on a tiny run trained here.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "models/training/precision.h"
#include "tests/tools/reversal_data.h"

namespace fs = std::filesystem;

namespace {

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

fs::path scratch() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("seqzoo_tools_test_" + std::to_string(::getpid()));
    // A folder left by an earlier test process with the same id (ids are reused) is stale.
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// Runs a shell command with stdin from `input`; captures exit code, stdout and stderr.
Result run(const std::string& command, const std::string& input = "") {
  const fs::path in = scratch() / "stdin.txt", out = scratch() / "stdout.txt", err = scratch() / "stderr.txt";
  { std::ofstream(in, std::ios::binary) << input; }
  const std::string full = "cd " + scratch().string() + " && " + command + " <" + in.string() + " >" +
                           out.string() + " 2>" + err.string();
  int status = std::system(full.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::string bin(const std::string& name) { return std::string(SEQZOO_BINARY_DIR) + "/" + name; }

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// A tiny reversal run, trained once for the tests below (a few seconds on 2 cores).
const fs::path& tiny_run() {
  static fs::path run_dir = [] {
    const fs::path data = scratch() / "data";
    write_reversal_data(data, 5);
    const fs::path dir = scratch() / "run";
    Result r = run(bin("seqzoo-train") + " --config " + SEQZOO_SOURCE_DIR + "/configs/reverse-tiny.yaml --set data.dir=" +
                   data.string() + " --set run_dir=" + dir.string() + " --set train.max_steps=40 --set train.valid_every=40" +
                   " --threads 2");
    INFO(r.err);
    REQUIRE(r.code == 0);
    return dir;
  }();
  return run_dir;
}

// Another tiny run on the same data: `settings` are extra --set arguments (e.g. another family).
fs::path other_run(const std::string& name, const std::string& settings) {
  tiny_run();  // makes the data
  const fs::path dir = scratch() / name;
  if (fs::exists(dir / "checkpoints" / "best.pt")) return dir;
  Result r = run(bin("seqzoo-train") + " --config " + SEQZOO_SOURCE_DIR + "/configs/reverse-tiny.yaml --set data.dir=" +
                 (scratch() / "data").string() + " --set run_dir=" + dir.string() +
                 " --set train.max_steps=40 --set train.valid_every=40 --threads 2 " + settings);
  INFO(r.err);
  REQUIRE(r.code == 0);
  return dir;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) lines.push_back(l);
  return lines;
}

}  // namespace

TEST_CASE("tools: --help lists options, wrong flags exit 2 with one line", "[tools]") {
  for (const char* tool : {"seqzoo-train", "seqzoo-evaluate", "seqzoo-translate", "seqzoo-score"}) {
    INFO(tool);
    Result help = run(bin(tool) + " --help");
    CHECK(help.code == 0);
    CHECK(help.out.find("--threads") != std::string::npos);
    CHECK(help.out.find("--device") != std::string::npos);
    Result bad = run(bin(tool) + " --no-such-flag");
    CHECK(bad.code == 2);
    CHECK(count_lines(bad.err) == 1);
    CHECK(bad.err.find("no-such-flag") != std::string::npos);
  }
}

TEST_CASE("tools: config errors and missing files are one-line errors with exit 1", "[tools]") {
  Result missing = run(bin("seqzoo-train") + " --config /nonexistent/x.yaml");
  CHECK(missing.code == 1);
  CHECK(count_lines(missing.err) == 1);
  CHECK(missing.err.find("/nonexistent/x.yaml") != std::string::npos);

  { std::ofstream(scratch() / "typo.yaml") << "model:\n  family: transformer\ntrain:\n  lr_schedul: constant\n"; }
  Result typo = run(bin("seqzoo-train") + " --config typo.yaml --dump-config");
  CHECK(typo.code == 1);
  CHECK(count_lines(typo.err) == 1);
  CHECK(typo.err.find("typo.yaml:4: train.lr_schedul: unknown key; did you mean lr_schedule?") != std::string::npos);

  Result dump = run(bin("seqzoo-train") + " --config " + SEQZOO_SOURCE_DIR +
                    "/configs/transformer-small.yaml --set train.max_steps=77 --dump-config");
  CHECK(dump.code == 0);
  CHECK(dump.out.find("family: transformer") != std::string::npos);
  CHECK(dump.out.find("max_steps: 77") != std::string::npos);
}

TEST_CASE("tools: evaluate --hyp scores a file and rejects a line-count mismatch", "[tools]") {
  { std::ofstream(scratch() / "hyp.txt") << "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n"; }
  { std::ofstream(scratch() / "ref.txt") << "The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n"; }
  { std::ofstream(scratch() / "short.txt") << "The dog bit the man.\n"; }
  Result ok = run(bin("seqzoo-evaluate") + " --hyp hyp.txt --ref ref.txt");
  CHECK(ok.code == 0);
  CHECK(ok.out.find("BLEU = 45.07") != std::string::npos);
  CHECK(ok.out.find("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:seqzoo-") != std::string::npos);
  CHECK(ok.out.find("chrF2") != std::string::npos);
  if (fs::exists("/dev/full")) {  // the scores must arrive: a full disk is an error
    Result full = run("(" + bin("seqzoo-evaluate") + " --hyp hyp.txt --ref ref.txt > /dev/full)");
    CHECK(full.code == 1);
    CHECK(full.err.find("cannot write to standard output") != std::string::npos);
  }
  Result bad = run(bin("seqzoo-evaluate") + " --hyp hyp.txt --ref short.txt");
  CHECK(bad.code == 1);
  CHECK(count_lines(bad.err) == 1);
  CHECK(bad.err.find("hyp.txt has 3 lines but references short.txt has 1") != std::string::npos);
}

TEST_CASE("tools: translate keeps order, answers empty lines, rejects or replaces invalid UTF-8, splits huge lines",
          "[tools][e2e]") {
  const std::string translate = bin("seqzoo-translate") + " --run " + tiny_run().string() + " --threads 2";
  Result r = run(translate, "a b c\n\nd e\n");
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::vector<std::string> lines;
  std::stringstream ss(r.out);
  for (std::string l; std::getline(ss, l);) lines.push_back(l);
  REQUIRE(lines.size() == 3);
  CHECK(lines[1].empty());

  Result bad = run(translate, "a b\nx \xff y\n");
  CHECK(bad.code == 1);
  CHECK(count_lines(bad.err) == 1);
  CHECK(bad.err.find("<stdin>:2: invalid UTF-8") != std::string::npos);
  Result replaced = run(translate + " --replace-invalid", "a b\nx \xff y\n");
  CHECK(replaced.code == 0);
  CHECK(count_lines(replaced.out) == 2);

  std::string huge;
  for (int i = 0; i < 3000; ++i) huge += std::string(i ? " " : "") + static_cast<char>('a' + i % 8);
  Result big = run(translate + " --max-input-tokens 64", huge + "\nb a\n");
  CHECK(big.code == 0);
  CHECK(count_lines(big.out) == 2);
  CHECK(big.err.find("translated in") != std::string::npos);

  Result scored = run(translate + " --beam 3 --nbest 2 --alignments", "a b c\n");
  CHECK(scored.code == 0);
  CHECK(count_lines(scored.out) == 2);
  CHECK(scored.out.find('\t') != std::string::npos);

  Result plot = run(translate + " --plot-attention attn.svg", "a b c\n");
  CHECK(plot.code == 0);
  // A standalone SVG file: the XML declaration, then the <svg> root element, closed at the end.
  const std::string svg = slurp(scratch() / "attn.svg");
  CHECK(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);

  Result eval = run(bin("seqzoo-evaluate") + " --run " + tiny_run().string() + " --src data/val.src --ref data/val.tgt --threads 2");
  INFO(eval.err);
  CHECK(eval.code == 0);
  CHECK(eval.out.find("BLEU = ") != std::string::npos);
  CHECK(eval.out.find("test perplexity") != std::string::npos);
}

TEST_CASE("tools: configs compose on the command line, direction by overlay or --set", "[tools]") {
  const std::string configs = std::string(SEQZOO_SOURCE_DIR) + "/configs/";
  Result both = run(bin("seqzoo-train") + " --config " + configs + "transformer-small.yaml --config " + configs +
                    "en-de.yaml --dump-config");
  INFO(both.err);
  CHECK(both.code == 0);
  CHECK(both.out.find("src_lang: en") != std::string::npos);
  CHECK(both.out.find("run_dir: runs/transformer-small-en-de") != std::string::npos);
  CHECK(both.out.find("family: transformer") != std::string::npos);
  Result set = run(bin("seqzoo-train") + " --config " + configs +
                   "transformer-small.yaml --set data.src_lang=en --set data.tgt_lang=de --dump-config");
  CHECK(set.code == 0);
  CHECK(set.out.find("run_dir: runs/transformer-small-en-de") != std::string::npos);
  // Overrides apply in command-line order, values after one --set included: the last one wins.
  Result order = run(bin("seqzoo-train") + " --config " + configs +
                     "transformer-small.yaml --set train.max_steps=60 train.valid_every=5 --run r --set train.max_steps=10 "
                     "--dump-config");
  INFO(order.err);
  CHECK(order.code == 0);
  CHECK(order.out.find("max_steps: 10 ") != std::string::npos);
  CHECK(order.out.find("valid_every: 5 ") != std::string::npos);
  Result stray = run(bin("seqzoo-train") + " --config " + configs + "transformer-small.yaml --dump-config train.lr=1");
  CHECK(stray.code == 2);
  CHECK(stray.err.find("unexpected argument 'train.lr=1'") != std::string::npos);
  Result bad_set = run(bin("seqzoo-train") + " --config " + configs + "transformer-small.yaml --set train.lr=-1 --dump-config");
  CHECK(bad_set.code == 1);
  CHECK(bad_set.err.find("--set train.lr=-1: train.lr: must be > 0") != std::string::npos);
  Result families = run(bin("seqzoo-train") + " --list-families");
  CHECK(families.code == 0);
  CHECK(families.out.find("transformer\n") != std::string::npos);
}

TEST_CASE("tools: evaluate --run alone scores the run's own split in its direction, and output errors are loud",
          "[tools][e2e]") {
  const std::string run_dir = tiny_run().string();
  Result split = run(bin("seqzoo-evaluate") + " --run " + run_dir + " --test val --threads 2");
  INFO(split.err);
  CHECK(split.code == 0);
  CHECK(split.out.find("val.src (20 sentences, src->tgt)") != std::string::npos);
  CHECK(split.out.find("BLEU = ") != std::string::npos);
  CHECK(fs::exists(fs::path(run_dir) / "eval" / "val.tgt.hyp"));
  // data.test of reverse-tiny is test_2016_flickr, which the tiny data does not have: named.
  Result missing = run(bin("seqzoo-evaluate") + " --run " + run_dir + " --threads 2");
  CHECK(missing.code == 1);
  CHECK(count_lines(missing.err) == 1);
  CHECK(missing.err.find("test_2016_flickr") != std::string::npos);
  Result both = run(bin("seqzoo-evaluate") + " --run " + run_dir + " --test val --src data/val.src --ref data/val.tgt");
  CHECK(both.code == 2);
  // A full disk behind stdout is an error, not a silent loss.
  if (fs::exists("/dev/full")) {
    Result full = run("(" + bin("seqzoo-translate") + " --run " + run_dir + " --threads 2 > /dev/full)", "a b\nc d\n");
    CHECK(full.code == 1);
    CHECK(full.err.find("cannot write") != std::string::npos);
  }
  Result zero = run(bin("seqzoo-translate") + " --run " + run_dir + " --max-batch-lines 0", "a b\n");
  CHECK(zero.code != 0);
  CHECK(zero.err.find("--max-batch-lines: must be >= 1, got 0") != std::string::npos);
}

// Every numeric and enumerated option of every tool, given a value it cannot work with: a one-line
// error naming the option, and a non-zero exit (2 for flag errors), never a silent run.
TEST_CASE("tools: workers translate, evaluate and score like one worker, byte for byte", "[tools][e2e]") {
  const std::string run_dir = tiny_run().string();
  std::string input;
  for (int i = 0; i < 13; ++i) input += std::string("a b c d e f g h").substr(0, 1 + 2 * (i % 8)) + "\n";
  input += "\nh g f\n";  // an empty line among them
  // Two lines a batch: seven batches, shared out among the workers, written in input order.
  const std::string translate = bin("seqzoo-translate") + " --run " + run_dir + " --threads 2 --max-batch-lines 2 --scores";
  Result one = run(translate + " --beam 3", input);
  INFO(one.err);
  REQUIRE(one.code == 0);
  REQUIRE(count_lines(one.out) == 15);
  for (const char* workers : {"2", "3"}) {
    INFO(workers << " workers");
    Result many = run(translate + " --beam 3 --workers " + workers, input);
    CHECK(many.code == 0);
    CHECK(many.out == one.out);
  }
  const std::string evaluate = bin("seqzoo-evaluate") + " --run " + run_dir + " --src data/val.src --ref data/val.tgt --threads 2 --batch-tokens 8";
  REQUIRE(run(evaluate + " --output one.hyp").code == 0);
  Result eval2 = run(evaluate + " --output two.hyp --workers 2");
  INFO(eval2.err);
  REQUIRE(eval2.code == 0);
  CHECK(slurp(scratch() / "two.hyp") == slurp(scratch() / "one.hyp"));
  const std::string score = bin("seqzoo-score") + " --run " + run_dir + " --threads 2 --per-token --batch-tokens 4";
  const std::string pairs = "a b c\tc b a\nd e\te d\nb\t\na b\tb a\nc d\td c\n";
  Result s1 = run(score, pairs), s2 = run(score + " --workers 2", pairs);
  REQUIRE(s1.code == 0);
  CHECK(s2.code == 0);
  CHECK(s2.out == s1.out);
}

TEST_CASE("tools: --precision bf16 decodes with bf16 matrix products where the CPU has them, else says so",
          "[tools][e2e]") {
  const std::string run_dir = tiny_run().string();
  const std::string input = "a b c\nd e f g\n\nh a\n";
  const std::string translate = bin("seqzoo-translate") + " --run " + run_dir + " --threads 2 --scores";
  Result fp32 = run(translate, input), bf16 = run(translate + " --precision bf16 --workers 2", input);
  INFO(bf16.err);
  REQUIRE(fp32.code == 0);
  REQUIRE(bf16.code == 0);
  const auto a = split_lines(fp32.out), b = split_lines(bf16.out);
  REQUIRE(b.size() == a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].empty()) {
      CHECK(b[i].empty());
      continue;
    }
    // The scores agree to bf16's precision (8 bits of mantissa in the matrix products).
    CHECK(std::stod(b[i]) == Approx(std::stod(a[i])).margin(0.1));
  }
  CHECK((bf16.err.find("decoding in fp32") != std::string::npos) == !seqzoo::cpu_has_native_bf16());
  const std::string score = bin("seqzoo-score") + " --run " + run_dir + " --threads 2";
  Result s32 = run(score, "a b c\tc b a\n"), s16 = run(score + " --precision bf16", "a b c\tc b a\n");
  REQUIRE(s32.code == 0);
  REQUIRE(s16.code == 0);
  CHECK(std::stod(s16.out) == Approx(std::stod(s32.out)).margin(0.1));
}

TEST_CASE("tools: --precision int8 decodes with int8 linear layers close to fp32", "[tools][e2e]") {
  const std::string run_dir = tiny_run().string();
  const std::string input = "a b c\nd e f g\n\nh a\n";
  const std::string translate = bin("seqzoo-translate") + " --run " + run_dir + " --threads 2 --scores";
  Result fp32 = run(translate, input), int8 = run(translate + " --precision int8 --workers 2", input);
  INFO(int8.err);
  REQUIRE(fp32.code == 0);
  REQUIRE(int8.code == 0);
  CHECK(int8.err.find("decoding in fp32") == std::string::npos);  // Debian's LibTorch has oneDNN
  const auto a = split_lines(fp32.out), b = split_lines(int8.out);
  REQUIRE(b.size() == a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].empty()) {
      CHECK(b[i].empty());
      continue;
    }
    CHECK(b[i].substr(b[i].find('\t')) == a[i].substr(a[i].find('\t')));  // the same translation
    CHECK(std::stod(b[i]) == Approx(std::stod(a[i])).margin(0.1));
  }
  const std::string score = bin("seqzoo-score") + " --run " + run_dir + " --threads 2";
  Result s32 = run(score, "a b c\tc b a\n"), s8 = run(score + " --precision int8", "a b c\tc b a\n");
  REQUIRE(s32.code == 0);
  REQUIRE(s8.code == 0);
  CHECK(std::stod(s8.out) == Approx(std::stod(s32.out)).margin(0.1));
  CHECK(std::stod(s8.out) != std::stod(s32.out));  // the int8 path ran
}

TEST_CASE("tools: every numeric and enumerated option refuses values that cannot work", "[tools][e2e]") {
  const std::string run_dir = tiny_run().string();
  const std::string train = bin("seqzoo-train") + " --config " + SEQZOO_SOURCE_DIR + "/configs/reverse-tiny.yaml";
  const std::string evaluate = bin("seqzoo-evaluate") + " --run " + run_dir + " --test val";
  const std::string translate = bin("seqzoo-translate") + " --run " + run_dir;
  const std::string compare = bin("seqzoo-compare") + " " + run_dir + " --test val";
  struct Case {
    std::string command, expect;
  };
  const std::vector<Case> cases = {
      {train + " --nproc 0", "--nproc must be in [1, 256], got 0"},
      {train + " --nproc 100000", "--nproc must be in [1, 256], got 100000"},
      {train + " --nproc two", "nproc"},
      {train + " --dist-timeout 0", "--dist-timeout must be in (0, 604800] seconds, got 0"},
      {train + " --dist-timeout 1e12", "--dist-timeout must be in"},
      {train + " --average-checkpoints 0", "--average-checkpoints: must be >= 1"},
      {train + " --threads -1", "threads"},
      {train + " --threads 100000", "threads"},
      {train + " --device gpu", "device"},
      {train + " --set search.max_len_a=0 search.max_len_b=0", "max_len_a and max_len_b are both 0"},
      {evaluate + " --tokenize 14a", "tokenize must be 13a, none, intl or char, not '14a'"},
      {evaluate + " --beam-size 0", "--beam-size: must be >= 1, got 0"},
      {evaluate + " --beam 0", "--beam-size: must be >= 1, got 0"},
      {evaluate + " --beam 2 --beam-size 3", "give --beam or --beam-size, not both"},
      {evaluate + " --beam-size 2 --nbest 3", "nbest: must be <= search.beam_size (2), got 3"},
      {evaluate + " --alpha -0.5", "--alpha: must be >= 0"},
      {evaluate + " --alpha x", "--alpha: 'x' is not a valid value"},
      {evaluate + " --length-norm sqrt", "--length-norm"},
      {evaluate + " --max-len-a 0 --max-len-b 0", "max_len_a and max_len_b are both 0"},
      {evaluate + " --max-len-b -1", "--max-len-b: must be >= 0"},
      {evaluate + " --batch-tokens 0", "--batch-tokens: must be >= 1, got 0"},
      {evaluate + " --max-input-tokens 0", "--max-input-tokens: must be >= 1, got 0"},
      {evaluate + " --threads -2", "--threads must be in [0, 1024]"},
      {evaluate + " --threads 5000", "--threads must be in [0, 1024]"},
      {evaluate + " --device tpu", "--device must be cpu, cuda or auto, got 'tpu'"},
      {evaluate + " --checkpoint newest", "newest"},
      {translate + " --max-batch-lines -3", "--max-batch-lines: must be >= 1, got -3"},
      {translate + " --max-batch-lines many", "--max-batch-lines: 'many' is not a valid value"},
      {translate + " --beam-size 1.5", "--beam-size: '1.5' is not a valid value"},
      {translate + " --beam-size=x", "--beam-size: 'x' is not a valid value"},
      {translate + " --nbest 0", "--nbest: must be >= 1, got 0"},
      {translate + " --threads 99999", "--threads must be in [0, 1024]"},
      {translate + " --workers 0", "--workers: must be in [1, 1024], got 0"},
      {evaluate + " --workers 5000", "--workers: must be in [1, 1024], got 5000"},
      {compare + " --workers -1", "--workers: must be in [1, 1024], got -1"},
      {translate + " --precision fp16", "--precision must be fp32, bf16 or int8, got 'fp16'"},
      {compare + " --precision int4", "--precision must be fp32, bf16 or int8, got 'int4'"},
      {compare + " --samples 0", "--samples must be in [1, 100000], got 0"},
      {compare + " --bootstrap-seed -1", "--bootstrap-seed must be in [0, 4294967295], got -1"},
      {translate + " --seed -1", "--seed: must be >= 0, got -1"},
      {translate + " --temperature 0", "--temperature: must be > 0, got 0"},
      {translate + " --topp 0", "--topp: must be in (0, 1], got 0"},
      {translate + " --topk -2", "--topk: must be >= 0, got -2"},
      {translate + " --min-len-a -1", "--min-len-a: must be >= 0, got -1"},
      {translate + " --no-repeat-ngram -1", "--no-repeat-ngram: must be >= 0, got -1"},
      {compare + " --buckets 0", "--buckets must be in [1, 100], got 0"},
      {compare + " --min-bucket 0", "--min-bucket must be >= 1, got 0"},
      {compare + " --probe-max-k 21", "--probe-max-k must be in [0, 20], got 21"},
      {compare + " --probe-bin-words 0", "--probe-bin-words must be >= 1, got 0"},
      {compare + " --attention-line 99", "--attention-line must be in [0, 20], got 99"},
      {compare + " --beam-size 0", "--beam-size: must be >= 1, got 0"},
      {compare + " --name a --name b", "--name: 2 names for 1 systems"},
  };
  for (const Case& c : cases) {
    INFO(c.command);
    Result r = run(c.command, "a b\n");
    INFO(r.err);
    CHECK(r.code != 0);
    CHECK(r.out.empty());
    // One error line, the last; seqzoo-compare may say which run it loaded before.
    const bool progress_allowed = c.command.rfind(compare, 0) == 0;
    CHECK((progress_allowed || count_lines(r.err) == 1));
    const size_t last = r.err.rfind('\n', r.err.size() >= 2 ? r.err.size() - 2 : 0);
    const std::string last_line = r.err.substr(last == std::string::npos ? 0 : last + 1);
    CHECK(last_line.find("error: ") != std::string::npos);
    CHECK(last_line.find(c.expect) != std::string::npos);
    CHECK(r.err.find("error: ") == r.err.rfind("error: "));
  }
}

TEST_CASE("tools: compare puts runs side by side in a report with every plot", "[tools][e2e]") {
  const std::string run_dir = tiny_run().string();
  REQUIRE(run(bin("seqzoo-evaluate") + " --run " + run_dir + " --test val --output copy.hyp --threads 2").code == 0);
  Result r = run(bin("seqzoo-compare") + " " + run_dir + " copy.hyp " + run_dir + " --name tiny --name file --name again" +
                 " --test val --min-bucket 5 --probe-max-k 3 --probe-bin-words 4 --probe-min-bin 1 --samples 50" +
                 " --report report.html --markdown report.md --threads 2");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out == slurp(scratch() / "report.md"));
  CHECK(r.out.find("| tiny | transformer |") != std::string::npos);
  CHECK(r.out.find("Long-sentence probe") != std::string::npos);
  CHECK(r.err.find("compare: [3/3] again: translating 20 test sentences") != std::string::npos);
  const std::string html = slurp(scratch() / "report.html");
  size_t svgs = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) ++svgs;
  // BLEU by length, the probe, three curves when the runs validated with BLEU, and per run the
  // attention of 2 layers (head-averaged) and their 2 x 4 heads.
  const size_t curves = r.out.find("Training (") != std::string::npos ? 3 : 0;
  CHECK(svgs == 2 + curves + 2 * 10);
  CHECK(html.find("layer 2, head 4") != std::string::npos);
  CHECK(html.find("</html>") != std::string::npos);
}

TEST_CASE("tools: score gives each pair its log-probability, batch-independent, from TSV, files or an n-best list",
          "[tools][e2e]") {
  const std::string run_dir = tiny_run().string();
  const std::string score = bin("seqzoo-score") + " --run " + run_dir + " --threads 2";
  const std::string pairs = "a b c\tc b a\nd e\te d\nb\t\n";
  Result r = run(score + " --per-token", pairs);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto lines = split_lines(r.out);
  REQUIRE(lines.size() == 3);
  for (const auto& l : lines) CHECK(std::count(l.begin(), l.end(), '\t') == 3);  // sum, mean, pieces, log-probs
  CHECK(lines[2].find("\t</s>\t") != std::string::npos);  // an empty target: eos alone
  Result one_by_one = run(score + " --per-token --batch-tokens 1 --max-batch-lines 1", pairs);
  CHECK(one_by_one.out == r.out);
  // The same pairs as files; the sum and mean columns alone.
  { std::ofstream(scratch() / "s.txt") << "a b c\nd e\nb\n"; std::ofstream(scratch() / "t.txt") << "c b a\ne d\n\n"; }
  Result files = run(score + " --src s.txt --tgt t.txt");
  REQUIRE(files.code == 0);
  const auto file_lines = split_lines(files.out);
  REQUIRE(file_lines.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(lines[i].rfind(file_lines[i] + "\t", 0) == 0);
  // A better translation scores higher than a worse one.
  Result ranked = run(score, "a b c\tc b a\na b c\ta a a a a a\n");
  const auto rl = split_lines(ranked.out);
  REQUIRE(rl.size() == 2);
  CHECK(std::stod(rl[0]) > std::stod(rl[1]));
  // Rescoring seqzoo-translate's n-best list: each line gains SUM and MEAN.
  Result nbest = run(bin("seqzoo-translate") + " --run " + run_dir + " --threads 2 --beam 3 --nbest 3", "a b c\nd e\n");
  REQUIRE(nbest.code == 0);
  { std::ofstream(scratch() / "nbest.txt") << nbest.out; }
  Result rescored = run(score + " --src s.txt --nbest nbest.txt");
  INFO(rescored.err);
  REQUIRE(rescored.code == 0);
  const auto nl = split_lines(nbest.out), rs = split_lines(rescored.out);
  REQUIRE(rs.size() == nl.size());
  for (size_t i = 0; i < nl.size(); ++i) CHECK(rs[i].rfind(nl[i] + "\t", 0) == 0);
  // Bad input: one line naming the place, exit 1 (usage mistakes 2).
  Result no_tab = run(score, "a b c\n");
  CHECK(no_tab.code == 1);
  CHECK(no_tab.err.find("<stdin>:1: expected SOURCE<TAB>TARGET") != std::string::npos);
  Result empty_src = run(score, "a b\tb a\n\tx\n");
  CHECK(empty_src.code == 1);
  CHECK(empty_src.err.find("<stdin>:2: empty source") != std::string::npos);
  Result bad_utf8 = run(score, "a \xff\tb\n");
  CHECK(bad_utf8.code == 1);
  CHECK(bad_utf8.err.find("<stdin>:1: invalid UTF-8") != std::string::npos);
  { std::ofstream(scratch() / "t2.txt") << "c b a\n"; }
  Result misaligned = run(score + " --src s.txt --tgt t2.txt");
  CHECK(misaligned.code == 1);
  CHECK(misaligned.err.find("has 3 lines but --tgt t2.txt has 1") != std::string::npos);
  CHECK(run(score + " --src s.txt").code == 2);
  CHECK(run(score + " --batch-tokens 0", "a\tb\n").code == 2);
  if (fs::exists("/dev/full")) {
    Result full = run("(" + score + " > /dev/full)", "a\tb\n");
    CHECK(full.code == 1);
    CHECK(count_lines(full.err) == 1);
  }
}

TEST_CASE("tools: sampling, a forced prefix and decoding controls in translate", "[tools][e2e]") {
  const std::string translate = bin("seqzoo-translate") + " --run " + tiny_run().string() + " --threads 2";
  const std::string input = "a b c\nd e f g\nh a\n";
  Result s1 = run(translate + " --sampling --nbest 4 --seed 7 --temperature 1.5", input);
  INFO(s1.err);
  REQUIRE(s1.code == 0);
  CHECK(count_lines(s1.out) == 12);  // 4 draws per line, INDEX<TAB>SCORE<TAB>TEXT
  Result s2 = run(translate + " --sampling --nbest 4 --seed 7 --temperature 1.5 --max-batch-lines 1", input);
  CHECK(s2.out == s1.out);  // the same draws, whatever the batching
  Result s3 = run(translate + " --sampling --nbest 4 --seed 8 --temperature 1.5", input);
  CHECK(s3.out != s1.out);
  Result prefixed = run(translate + " --prefix", "a b c\tg g\nd e\n");
  INFO(prefixed.err);
  REQUIRE(prefixed.code == 0);
  const auto pl = split_lines(prefixed.out);
  REQUIRE(pl.size() == 2);
  CHECK(pl[0].rfind("g g", 0) == 0);
  Result controls = run(translate + " --min-len-b 6 --no-repeat-ngram 1 --suppress-unk --max-len-a 0 --max-len-b 7",
                        "a b\n");
  REQUIRE(controls.code == 0);
  const auto words = split_lines(controls.out);
  REQUIRE(words.size() == 1);
  std::stringstream ws(words[0]);
  std::vector<std::string> tokens;
  for (std::string w; ws >> w;) tokens.push_back(w);
  CHECK(tokens.size() >= 6);
  CHECK(std::set<std::string>(tokens.begin(), tokens.end()).size() == tokens.size());  // no word twice
  CHECK(run(translate + " --temperature 0", "a\n").code == 2);
  CHECK(run(translate + " --topp 1.5", "a\n").code == 2);
}

TEST_CASE("tools: ensembles of runs, of one family or several, name what differs", "[tools][e2e]") {
  const std::string a = tiny_run().string();
  const std::string b = other_run("run_attention", "--set model.family=attention").string();
  const std::string input = "a b c\nd e\n";
  Result alone = run(bin("seqzoo-translate") + " --run " + a + " --threads 2 --scores", input);
  Result self = run(bin("seqzoo-translate") + " --run " + a + " --run " + a + " --threads 2 --scores", input);
  INFO(self.err);
  REQUIRE(self.code == 0);
  CHECK(self.out == alone.out);  // a model with itself is the model
  Result mixed = run(bin("seqzoo-translate") + " --run " + a + " --run " + b + " --weights 0.7,0.3 --threads 2", input);
  INFO(mixed.err);
  CHECK(mixed.code == 0);
  CHECK(count_lines(mixed.out) == 2);
  Result eval = run(bin("seqzoo-evaluate") + " --run " + a + " --run " + b + " --test val --threads 2");
  INFO(eval.err);
  CHECK(eval.code == 0);
  CHECK(eval.out.find("BLEU = ") != std::string::npos);
  CHECK(eval.out.find(".ensemble2.hyp") != std::string::npos);
  Result scored = run(bin("seqzoo-score") + " --run " + a + " --run " + b + " --threads 2", "a b\tb a\n");
  CHECK(scored.code == 0);
  CHECK(run(bin("seqzoo-translate") + " --run " + a + " --run " + b + " --weights 1", input).code == 2);
  Result bad_weight = run(bin("seqzoo-translate") + " --run " + a + " --run " + b + " --weights 1,x", input);
  CHECK(bad_weight.code == 2);
  CHECK(bad_weight.err.find("--weights: 'x' is not a valid value") != std::string::npos);
  const std::string reversed =
      other_run("run_reversed", "--set data.src_lang=tgt --set data.tgt_lang=src").string();
  Result wrong = run(bin("seqzoo-translate") + " --run " + a + " --run " + reversed + " --threads 2", input);
  CHECK(wrong.code == 1);
  CHECK(count_lines(wrong.err) == 1);
  CHECK(wrong.err.find("they translate in other directions") != std::string::npos);
}

TEST_CASE("tools: evaluate takes sacreBLEU's smoothing and chrF++ options", "[tools][e2e]") {
  { std::ofstream(scratch() / "h.txt") << "the cat sat\n"; std::ofstream(scratch() / "r.txt") << "the cat sat down\n"; }
  Result plus = run(bin("seqzoo-evaluate") + " --hyp h.txt --ref r.txt --chrf-word-order 2");
  INFO(plus.err);
  REQUIRE(plus.code == 0);
  CHECK(plus.out.find("chrF2++") != std::string::npos);
  Result floor = run(bin("seqzoo-evaluate") + " --hyp h.txt --ref r.txt --smooth-method floor --smooth-value 0.2");
  REQUIRE(floor.code == 0);
  CHECK(floor.out.find("smooth:floor[0.20]") != std::string::npos);
  CHECK(run(bin("seqzoo-evaluate") + " --hyp h.txt --ref r.txt --smooth-method nope").code == 2);
  CHECK(run(bin("seqzoo-evaluate") + " --hyp h.txt --ref r.txt --smooth-value 1").code == 2);
  CHECK(run(bin("seqzoo-evaluate") + " --hyp h.txt --ref r.txt --chrf-word-order 9").code == 2);
}

TEST_CASE("tools: an exported run holds the weights alone and translates like the original", "[tools][e2e]") {
  const std::string run_dir = tiny_run().string();
  const fs::path slim = scratch() / "slim", half = scratch() / "slim_bf16";
  fs::remove_all(slim);
  fs::remove_all(half);
  Result exported = run(bin("seqzoo-train") + " --run " + run_dir + " --export " + slim.string());
  INFO(exported.err);
  REQUIRE(exported.code == 0);
  CHECK(exported.out.find("exported ") != std::string::npos);
  const auto full_size = fs::file_size(fs::path(run_dir) / "checkpoints" / "last.pt");
  const auto slim_size = fs::file_size(slim / "checkpoints" / "best.pt");
  CHECK(slim_size * 2 < full_size);  // no Adam moments
  CHECK(slim_size <= fs::file_size(fs::path(run_dir) / "checkpoints" / "best.pt"));  // nor a training state
  const std::string input = "a b c\nd e f\nh\n";
  Result original = run(bin("seqzoo-translate") + " --run " + run_dir + " --threads 2 --scores", input);
  Result from_slim = run(bin("seqzoo-translate") + " --run " + slim.string() + " --threads 2 --scores", input);
  CHECK(from_slim.code == 0);
  CHECK(from_slim.out == original.out);  // fp32: the same translations and scores
  Result bf16 = run(bin("seqzoo-train") + " --run " + run_dir + " --export " + half.string() + " --export-dtype bf16");
  REQUIRE(bf16.code == 0);
  CHECK(fs::file_size(half / "checkpoints" / "best.pt") * 3 < slim_size * 2);
  Result from_half = run(bin("seqzoo-translate") + " --run " + half.string() + " --threads 2", input);
  CHECK(from_half.code == 0);
  CHECK(count_lines(from_half.out) == 3);
  Result again = run(bin("seqzoo-train") + " --run " + run_dir + " --export " + slim.string());
  CHECK(again.code == 1);
  CHECK(again.err.find("already holds a run") != std::string::npos);
  CHECK(run(bin("seqzoo-train") + " --run " + run_dir + " --export x --export-dtype int4").code == 2);
  CHECK(run(bin("seqzoo-train") + " --run " + run_dir + " --export-dtype bf16").code == 2);
}
