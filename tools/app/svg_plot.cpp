#include "tools/app/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "data/common/text.h"

namespace seqzoo {
namespace {

// Okabe & Ito's colour-blind-safe palette.
const char* const kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  if (std::abs(v) >= 1e6 && std::fmod(v, 1e5) == 0)
    std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
  else if (std::abs(v) >= 1e4 && std::fmod(v, 1e3) == 0)
    std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Characters of UTF-8 text (bytes that do not continue a sequence).
size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

}  // namespace

std::vector<double> nice_ticks(double& lo, double& hi, int max_ticks) {
  if (!(hi > lo)) {
    const double pad = std::abs(lo) > 0 ? std::abs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, max_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  lo = std::floor(lo / step + 1e-9) * step;
  hi = std::ceil(hi / step - 1e-9) * step;
  std::vector<double> ticks;
  for (double t = lo; t <= hi + step * 1e-6; t += step) ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

std::string render_line_plot_svg(const LinePlot& plot) {
  const double legend_w = 190, left = 70, top = plot.title.empty() ? 20 : 40, bottom = 52;
  const double w = std::max(100.0, plot.width - left - legend_w - 20), h = std::max(80.0, plot.height - top - bottom);
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& s : plot.series)
    for (const auto& p : s.points) {
      if (!std::isfinite(p.first) || !std::isfinite(p.second)) continue;
      x_lo = std::min(x_lo, p.first);
      x_hi = std::max(x_hi, p.first);
      y_lo = std::min(y_lo, p.second);
      y_hi = std::max(y_hi, p.second);
    }
  const bool empty = !std::isfinite(x_lo);
  if (empty) x_lo = y_lo = 0, x_hi = y_hi = 1;
  if (plot.x_from_zero) x_lo = std::min(0.0, x_lo);
  if (plot.y_from_zero) y_lo = std::min(0.0, y_lo);
  const auto xt = nice_ticks(x_lo, x_hi, 7);
  const auto yt = nice_ticks(y_lo, y_hi, 6);
  auto X = [&](double v) { return left + (v - x_lo) / (x_hi - x_lo) * w; };
  auto Y = [&](double v) { return top + h - (v - y_lo) / (y_hi - y_lo) * h; };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << plot.width << "\" height=\"" << plot.height
      << "\" viewBox=\"0 0 " << plot.width << " " << plot.height
      << "\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\n"
      << "<title>" << xml_escape(plot.title) << "</title>\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  if (!plot.title.empty())
    svg << "<text x=\"" << num(left + w / 2) << "\" y=\"24\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">"
        << xml_escape(plot.title) << "</text>\n";
  svg << "<rect x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\"" << num(w) << "\" height=\"" << num(h)
      << "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (double t : xt) {
    svg << "<line x1=\"" << num(X(t)) << "\" y1=\"" << num(top) << "\" x2=\"" << num(X(t)) << "\" y2=\"" << num(top + h)
        << "\" stroke=\"#e5e5e5\"/>\n"
        << "<text x=\"" << num(X(t)) << "\" y=\"" << num(top + h + 16) << "\" text-anchor=\"middle\">" << tick_label(t)
        << "</text>\n";
  }
  for (double t : yt) {
    svg << "<line x1=\"" << num(left) << "\" y1=\"" << num(Y(t)) << "\" x2=\"" << num(left + w) << "\" y2=\"" << num(Y(t))
        << "\" stroke=\"#e5e5e5\"/>\n"
        << "<text x=\"" << num(left - 6) << "\" y=\"" << num(Y(t) + 4) << "\" text-anchor=\"end\">" << tick_label(t)
        << "</text>\n";
  }
  svg << "<text x=\"" << num(left + w / 2) << "\" y=\"" << num(top + h + 38) << "\" text-anchor=\"middle\">"
      << xml_escape(plot.x_label) << "</text>\n"
      << "<text x=\"16\" y=\"" << num(top + h / 2) << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
      << num(top + h / 2) << ")\">" << xml_escape(plot.y_label) << "</text>\n";
  if (empty)
    svg << "<text x=\"" << num(left + w / 2) << "\" y=\"" << num(top + h / 2)
        << "\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n";
  double ly = top + 12;
  for (size_t k = 0; k < plot.series.size(); ++k) {
    const PlotSeries& s = plot.series[k];
    const std::string color = kPalette[k % (sizeof kPalette / sizeof *kPalette)];
    std::vector<std::pair<double, double>> pts;
    for (const auto& p : s.points)
      if (std::isfinite(p.first) && std::isfinite(p.second)) pts.push_back(p);
    if (pts.size() > 1) {
      svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
      for (const auto& p : pts) svg << num(X(p.first)) << "," << num(Y(p.second)) << " ";
      svg << "\"/>\n";
    }
    if (s.markers || pts.size() == 1)
      for (const auto& p : pts)
        svg << "<circle cx=\"" << num(X(p.first)) << "\" cy=\"" << num(Y(p.second)) << "\" r=\"3\" fill=\"" << color
            << "\"><title>" << xml_escape(s.name) << ": (" << tick_label(p.first) << ", " << num(p.second)
            << ")</title></circle>\n";
    const double lx = left + w + 14;
    svg << "<line x1=\"" << num(lx) << "\" y1=\"" << num(ly - 4) << "\" x2=\"" << num(lx + 20) << "\" y2=\"" << num(ly - 4)
        << "\" stroke=\"" << color << "\" stroke-width=\"3\"/>\n"
        << "<text x=\"" << num(lx + 26) << "\" y=\"" << num(ly) << "\">" << xml_escape(s.name)
        << (pts.empty() ? " (no data)" : "") << "</text>\n";
    ly += 18;
  }
  svg << "</svg>\n";
  return svg.str();
}

std::string render_attention_svg(const std::vector<std::string>& src_pieces, const std::vector<std::string>& tgt_pieces,
                                 const std::vector<std::vector<float>>& attention, const std::string& title, int cell) {
  size_t longest_src = 1, longest_tgt = 4;
  for (const auto& p : src_pieces) longest_src = std::max(longest_src, utf8_length(p));
  for (const auto& p : tgt_pieces) longest_tgt = std::max(longest_tgt, utf8_length(p));
  const int font = std::max(8, std::min(12, cell / 2));
  const int left = 12 + static_cast<int>(longest_tgt) * font * 6 / 10;
  const int top = 30 + static_cast<int>(std::lround(static_cast<double>(longest_src) * font * 0.6 * 0.87)) + 8;
  const size_t rows = attention.size(), cols = src_pieces.size();
  const int width = std::max(left + static_cast<int>(cols) * cell + 40, static_cast<int>(title.size()) * 7 + 20);
  const int height = top + static_cast<int>(rows) * cell + 12;
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
     << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"" << font << "\" role=\"img\">\n"
     << "<title>" << xml_escape(title) << "</title>\n"
     << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
     << "<text x=\"6\" y=\"16\" font-size=\"13\">" << xml_escape(title) << "</text>\n";
  for (size_t s = 0; s < cols; ++s) {
    const int x = left + static_cast<int>(s) * cell + cell / 2;
    os << "<text transform=\"translate(" << x << "," << top - 5 << ") rotate(-60)\">" << xml_escape(src_pieces[s])
       << "</text>\n";
  }
  for (size_t t = 0; t < rows; ++t) {
    const int y = top + static_cast<int>(t) * cell;
    const std::string label = t < tgt_pieces.size() ? tgt_pieces[t] : "</s>";
    os << "<text x=\"" << left - 5 << "\" y=\"" << y + cell / 2 + font / 3 << "\" text-anchor=\"end\">" << xml_escape(label)
       << "</text>\n";
    for (size_t s = 0; s < cols && s < attention[t].size(); ++s) {
      const float a = std::clamp(attention[t][s], 0.0f, 1.0f);
      const int shade = static_cast<int>(std::lround(255 * (1 - a)));
      char weight[16];
      std::snprintf(weight, sizeof weight, "%.3f", a);
      os << "<rect x=\"" << left + static_cast<int>(s) * cell << "\" y=\"" << y << "\" width=\"" << cell << "\" height=\""
         << cell << "\" fill=\"rgb(" << shade << "," << shade << ",255)\" stroke=\"#ddd\"><title>" << xml_escape(label)
         << " / " << xml_escape(src_pieces[s]) << ": " << weight << "</title></rect>\n";
    }
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace seqzoo
