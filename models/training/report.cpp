#include "models/training/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace seqzoo {
namespace {

std::string field(double v, int digits) { return std::isnan(v) ? "" : format_number(v, digits); }

double parse_field(const std::string& s) {
  if (s.empty()) return MetricsRow::kNone;
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    return used == s.size() ? v : MetricsRow::kNone;
  } catch (const std::exception&) {
    return MetricsRow::kNone;
  }
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == '\t') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// "Nice" axis ticks (1, 2, 5 x 10^k) covering [lo, hi].
std::vector<double> nice_ticks(double& lo, double& hi, int max_ticks) {
  if (!(hi > lo)) {
    double pad = std::abs(lo) > 0 ? std::abs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  double raw = (hi - lo) / std::max(1, max_ticks - 1);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / mag;
  double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  lo = std::floor(lo / step + 1e-9) * step;
  hi = std::ceil(hi / step - 1e-9) * step;
  std::vector<double> ticks;
  for (double t = lo; t <= hi + step * 1e-6; t += step) ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

struct Series {
  std::string name, color;
  std::vector<std::pair<double, double>> points;  // (step, value)
  bool markers = false;
};

// One panel: frame, ticks, grid, polylines, legend. (x0,y0) top-left of the plot area.
void panel(std::ostringstream& svg, double x0, double y0, double w, double h, double x_max,
           const std::vector<Series>& series, const std::string& y_label) {
  double y_lo = std::numeric_limits<double>::infinity(), y_hi = -y_lo;
  for (const auto& s : series)
    for (const auto& p : s.points) {
      y_lo = std::min(y_lo, p.second);
      y_hi = std::max(y_hi, p.second);
    }
  bool empty = !std::isfinite(y_lo);
  if (empty) {
    y_lo = 0;
    y_hi = 1;
  }
  double x_lo = 0, x_hi = std::max(1.0, x_max);
  auto xt = nice_ticks(x_lo, x_hi, 7);
  auto yt = nice_ticks(y_lo, y_hi, 6);
  auto X = [&](double v) { return x0 + (v - x_lo) / (x_hi - x_lo) * w; };
  auto Y = [&](double v) { return y0 + h - (v - y_lo) / (y_hi - y_lo) * h; };
  svg << "<rect x=\"" << num(x0) << "\" y=\"" << num(y0) << "\" width=\"" << num(w) << "\" height=\"" << num(h)
      << "\" fill=\"white\" stroke=\"#444\"/>\n";
  for (double t : xt) {
    svg << "<line x1=\"" << num(X(t)) << "\" y1=\"" << num(y0) << "\" x2=\"" << num(X(t)) << "\" y2=\""
        << num(y0 + h) << "\" stroke=\"#e5e5e5\"/>\n";
    svg << "<line x1=\"" << num(X(t)) << "\" y1=\"" << num(y0 + h) << "\" x2=\"" << num(X(t)) << "\" y2=\""
        << num(y0 + h + 5) << "\" stroke=\"#444\"/>\n";
    svg << "<text x=\"" << num(X(t)) << "\" y=\"" << num(y0 + h + 18)
        << "\" text-anchor=\"middle\">" << tick_label(t) << "</text>\n";
  }
  for (double t : yt) {
    svg << "<line x1=\"" << num(x0) << "\" y1=\"" << num(Y(t)) << "\" x2=\"" << num(x0 + w) << "\" y2=\""
        << num(Y(t)) << "\" stroke=\"#e5e5e5\"/>\n";
    svg << "<line x1=\"" << num(x0 - 5) << "\" y1=\"" << num(Y(t)) << "\" x2=\"" << num(x0) << "\" y2=\""
        << num(Y(t)) << "\" stroke=\"#444\"/>\n";
    svg << "<text x=\"" << num(x0 - 8) << "\" y=\"" << num(Y(t) + 4) << "\" text-anchor=\"end\">"
        << tick_label(t) << "</text>\n";
  }
  svg << "<text x=\"" << num(x0 - 50) << "\" y=\"" << num(y0 + h / 2) << "\" text-anchor=\"middle\" transform=\"rotate(-90 "
      << num(x0 - 50) << " " << num(y0 + h / 2) << ")\">" << xml_escape(y_label) << "</text>\n";
  svg << "<text x=\"" << num(x0 + w / 2) << "\" y=\"" << num(y0 + h + 36) << "\" text-anchor=\"middle\">step</text>\n";
  if (empty)
    svg << "<text x=\"" << num(x0 + w / 2) << "\" y=\"" << num(y0 + h / 2)
        << "\" text-anchor=\"middle\" fill=\"#888\">no data yet</text>\n";
  for (const auto& s : series) {
    if (s.points.empty()) continue;
    svg << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.5\" points=\"";
    for (const auto& p : s.points) svg << num(X(p.first)) << "," << num(Y(p.second)) << " ";
    svg << "\"/>\n";
    if (s.markers)
      for (const auto& p : s.points)
        svg << "<circle cx=\"" << num(X(p.first)) << "\" cy=\"" << num(Y(p.second)) << "\" r=\"2.5\" fill=\""
            << s.color << "\"/>\n";
  }
  // Legend (top right).
  double ly = y0 + 14;
  for (const auto& s : series) {
    double lx = x0 + w - 130;
    svg << "<line x1=\"" << num(lx) << "\" y1=\"" << num(ly - 4) << "\" x2=\"" << num(lx + 22) << "\" y2=\""
        << num(ly - 4) << "\" stroke=\"" << s.color << "\" stroke-width=\"2\"/>\n";
    svg << "<text x=\"" << num(lx + 28) << "\" y=\"" << num(ly) << "\">" << xml_escape(s.name) << "</text>\n";
    ly += 16;
  }
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string metrics_header() {
  return "step\tepoch\tkind\tloss\tnll\tppl\tlr\tsrc_tok_s\ttgt_tok_s\tvalid_loss\tvalid_nll\tvalid_ppl\tvalid_bleu\telapsed";
}

std::string metrics_line(const MetricsRow& r) {
  std::ostringstream o;
  o << r.step << '\t' << r.epoch << '\t' << r.kind << '\t' << field(r.loss, 6) << '\t' << field(r.nll, 6) << '\t'
    << field(r.ppl, 6) << '\t' << field(r.lr, 6) << '\t' << field(r.src_tok_s, 6) << '\t'
    << field(r.tgt_tok_s, 6) << '\t' << field(r.valid_loss, 6) << '\t' << field(r.valid_nll, 6) << '\t'
    << field(r.valid_ppl, 6) << '\t' << field(r.valid_bleu, 6) << '\t' << format_number(r.elapsed, 6);
  return o.str();
}

std::vector<MetricsRow> parse_metrics(const std::string& text) {
  std::vector<MetricsRow> rows;
  std::istringstream in(text);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    auto f = split_tabs(line);
    if (f.size() != 14) continue;
    MetricsRow r;
    double step = parse_field(f[0]), epoch = parse_field(f[1]);
    if (std::isnan(step) || std::isnan(epoch)) continue;
    r.step = static_cast<int64_t>(step);
    r.epoch = static_cast<int64_t>(epoch);
    r.kind = f[2];
    r.loss = parse_field(f[3]);
    r.nll = parse_field(f[4]);
    r.ppl = parse_field(f[5]);
    r.lr = parse_field(f[6]);
    r.src_tok_s = parse_field(f[7]);
    r.tgt_tok_s = parse_field(f[8]);
    r.valid_loss = parse_field(f[9]);
    r.valid_nll = parse_field(f[10]);
    r.valid_ppl = parse_field(f[11]);
    r.valid_bleu = parse_field(f[12]);
    double e = parse_field(f[13]);
    r.elapsed = std::isnan(e) ? 0 : e;
    rows.push_back(r);
  }
  return rows;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buf[48];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

std::string format_number(double value, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", digits, value);
  return buf;
}

std::string render_curves_svg(const std::vector<MetricsRow>& rows, const std::string& title) {
  Series train{"train loss", "#1f77b4", {}, false}, valid{"valid loss", "#ff7f0e", {}, true},
      bleu{"valid BLEU", "#2ca02c", {}, true};
  double x_max = 0;
  for (const auto& r : rows) {
    x_max = std::max(x_max, static_cast<double>(r.step));
    if (r.kind == "train" && std::isfinite(r.loss)) train.points.emplace_back(r.step, r.loss);
    if (r.kind == "valid" && std::isfinite(r.valid_loss)) valid.points.emplace_back(r.step, r.valid_loss);
    if (r.kind == "valid" && std::isfinite(r.valid_bleu)) bleu.points.emplace_back(r.step, r.valid_bleu);
  }
  const double width = 820, height = 640, left = 80, right = 20, top = 50, gap = 70, bottom = 50;
  const double w = width - left - right, h = (height - top - gap - bottom) / 2;
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"#fafafa\"/>\n"
      << "<text x=\"" << num(width / 2) << "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">"
      << xml_escape(title) << "</text>\n";
  panel(svg, left, top, w, h, x_max, {train, valid}, "loss per token (label-smoothed)");
  panel(svg, left, top + h + gap, w, h, x_max, {bleu}, "BLEU");
  svg << "</svg>\n";
  return svg.str();
}

void write_text_file(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + ec.message());
}

}  // namespace seqzoo
