#include "tools/app/curves.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "data/common/text.h"
#include "tools/app/svg_plot.h"

namespace seqzoo {
namespace {

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

}  // namespace seqzoo
