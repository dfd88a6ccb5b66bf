#include "cli/report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <utility>

#include "cli/importance.h"
#include "scheduler/sha256.h"
#include "base/error.h"
#include "base/rng.h"

namespace hypertune::cli {

namespace {

using scheduler::TrialRecord;
using search::TrialState;

// ------------------------------------------------------------------------------------ text helpers

std::string num(double v, int digits = 6) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Pixel coordinates: one decimal is finer than any screen needs and keeps the file small.
std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  if (s == "-0") s = "0";
  return s;
}

// At most `max_chars` code points of valid UTF-8 text, with an ellipsis when cut.
std::string truncate_utf8(const std::string& text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return text.substr(0, i) + "\u2026";
      ++chars;
    }
  }
  return text;
}

// Escaped and shortened, for labels; the full text goes into a <title>.
std::string label(const std::string& text, size_t max_chars) { return html_escape(truncate_utf8(text, max_chars)); }

std::string utc_time(int64_t ms) {
  if (ms <= 0) return "";
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string duration_text(int64_t ms) {
  char buf[48];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(ms));
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lld m %02lld s", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld h %02lld m", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  }
  return buf;
}

std::string base64(const std::array<uint8_t, 32>& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  // 32 bytes leave two: three characters and one '='.
  const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
  out += kAlphabet[(v >> 18) & 63];
  out += kAlphabet[(v >> 12) & 63];
  out += kAlphabet[(v >> 6) & 63];
  out += '=';
  return out;
}

std::string csp_hash(std::string_view text) {
  scheduler::Sha256 h;
  h.update(text);
  return "'sha256-" + base64(h.digest()) + "'";
}

// ------------------------------------------------------------------------------------ colours

const char* state_colour(TrialState s) {
  switch (s) {
    case TrialState::kComplete:
      return "#1f77b4";
    case TrialState::kPruned:
      return "#d62728";
    case TrialState::kFail:
      return "#7f7f7f";
    case TrialState::kRunning:
      return "#ff7f0e";
    case TrialState::kPaused:
      return "#9467bd";
    case TrialState::kWaiting:
      return "#bcbd22";
  }
  return "#000";
}

const char* state_class(TrialState s) {
  switch (s) {
    case TrialState::kComplete:
      return "s-complete";
    case TrialState::kPruned:
      return "s-pruned";
    case TrialState::kFail:
      return "s-fail";
    case TrialState::kRunning:
      return "s-running";
    case TrialState::kPaused:
      return "s-paused";
    case TrialState::kWaiting:
      return "s-waiting";
  }
  return "";
}

constexpr std::array<TrialState, 6> kStates = {TrialState::kComplete, TrialState::kPruned, TrialState::kFail,
                                               TrialState::kRunning,  TrialState::kPaused, TrialState::kWaiting};

// Sequential blues, t = 0 (light: worst / earliest) to 1 (dark: best / latest); readable on white.
std::string ramp(double t) {
  static constexpr std::array<std::array<double, 3>, 4> kStops = {
      {{173, 205, 232}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (kStops.size() - 1);
  const auto k = std::min(static_cast<size_t>(t), kStops.size() - 2);
  const double f = t - static_cast<double>(k);
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x",
                static_cast<int>(std::lround(kStops[k][0] + f * (kStops[k + 1][0] - kStops[k][0]))),
                static_cast<int>(std::lround(kStops[k][1] + f * (kStops[k + 1][1] - kStops[k][1]))),
                static_cast<int>(std::lround(kStops[k][2] + f * (kStops[k + 1][2] - kStops[k][2]))));
  return buf;
}

// ------------------------------------------------------------------------------------ axes

struct Axis {
  enum class Kind { kLinear, kLog, kBand };
  Kind kind = Kind::kLinear;
  double lo = 0.0, hi = 1.0;  // domain; for kLog, log10 of the values
  double a = 0.0, b = 1.0;    // pixels of lo and hi
  std::vector<std::string> bands;

  [[nodiscard]] double at(double v) const {
    if (kind == Kind::kBand) return a + (b - a) * (v + 0.5) / static_cast<double>(bands.size());
    const double t = kind == Kind::kLog ? std::log10(v) : v;
    return a + (b - a) * (t - lo) / (hi - lo);
  }
  [[nodiscard]] double band_width() const { return std::abs(b - a) / static_cast<double>(bands.size()); }

  [[nodiscard]] std::vector<std::pair<double, std::string>> ticks() const {
    std::vector<std::pair<double, std::string>> out;
    if (kind == Kind::kBand) {
      for (size_t i = 0; i < bands.size(); ++i) out.emplace_back(at(static_cast<double>(i)), bands[i]);
      return out;
    }
    if (kind == Kind::kLog) {
      const int e0 = static_cast<int>(std::floor(lo + 1e-9));
      const int e1 = static_cast<int>(std::ceil(hi - 1e-9));
      // Under two full decades in view, the 2s and 5s are needed to read the axis.
      const bool fine = std::floor(hi + 1e-9) - std::ceil(lo - 1e-9) < 2;
      const int every = std::max(1, (e1 - e0) / 8);
      for (int e = e0; e <= e1; ++e) {
        for (double m : {1.0, 2.0, 5.0}) {
          if (m != 1.0 && !fine) continue;
          if (m == 1.0 && !fine && (e - e0) % every != 0) continue;
          const double v = m * std::pow(10.0, e);
          const double lv = std::log10(v);
          if (lv >= lo - 1e-9 && lv <= hi + 1e-9) out.emplace_back(at(v), num(v, 3));
        }
      }
      return out;
    }
    const double raw = (hi - lo) / 5.0;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = 10.0 * mag;
    for (double m : {1.0, 2.0, 5.0}) {
      if (m * mag >= raw) {
        step = m * mag;
        break;
      }
    }
    const auto k0 = static_cast<int64_t>(std::ceil(lo / step - 1e-9));
    const auto k1 = static_cast<int64_t>(std::floor(hi / step + 1e-9));
    for (int64_t k = k0; k <= k1; ++k) {
      double v = static_cast<double>(k) * step;
      if (std::abs(v) < step * 1e-9) v = 0.0;
      out.emplace_back(at(v), num(v, 4));
    }
    return out;
  }
};

// A linear axis over [mn, mx] widened by `pad` of its span on each side (a point range gets a
// unit-ish span so it sits in the middle).
Axis linear_axis(double mn, double mx, double a, double b, double pad) {
  if (!(mx > mn)) {
    const double d = std::max(std::abs(mn) * 0.1, 0.5);
    mn -= d;
    mx += d;
  } else {
    const double p = (mx - mn) * pad;
    mn -= p;
    mx += p;
  }
  Axis ax;
  ax.lo = mn;
  ax.hi = mx;
  ax.a = a;
  ax.b = b;
  return ax;
}

Axis log_axis(double mn, double mx, double a, double b, double pad) {  // 0 < mn <= mx
  double l = std::log10(mn), h = std::log10(mx);
  if (!(h > l)) {
    l -= 0.5;
    h += 0.5;
  } else {
    const double p = (h - l) * pad;
    l -= p;
    h += p;
  }
  Axis ax;
  ax.kind = Axis::Kind::kLog;
  ax.lo = l;
  ax.hi = h;
  ax.a = a;
  ax.b = b;
  return ax;
}

// Objective values: logarithmic when all are positive and span three decades or more, where a
// linear axis would squash all but the worst trials onto one line.
Axis value_axis(const std::vector<double>& values, double a, double b) {
  const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  if (*mn > 0.0 && *mx / *mn >= 1000.0) return log_axis(*mn, *mx, a, b, 0.04);
  return linear_axis(*mn, *mx, a, b, 0.04);
}

// A parameter's axis over its declared bounds, so that plots of one study compare.
Axis param_axis(const search::SearchSpace& space, size_t i, double a, double b, double pad) {
  const auto& d = space.params()[i].dist;
  if (d.kind == search::ParamKind::kCategorical) {
    Axis ax;
    ax.kind = Axis::Kind::kBand;
    ax.a = a;
    ax.b = b;
    for (const auto& c : d.choices) ax.bands.push_back(search::to_string(c));
    return ax;
  }
  if (d.log && d.low > 0.0) return log_axis(d.low, d.high, a, b, pad);
  return linear_axis(d.low, d.high, a, b, pad);
}

struct Box {
  double left, top, right, bottom;
};

void open_svg(std::string& s, const std::string& id, int width, int height, const std::string& aria) {
  const auto w = std::to_string(width), h = std::to_string(height);
  s += "<svg id=\"" + id + "\" class=\"plot\" viewBox=\"0 0 " + w + " " + h + "\" width=\"" + w + "\" height=\"" + h +
       "\" role=\"img\" aria-label=\"" + aria + "\">\n";
}

// Grid, axis lines, tick labels and axis titles of an x/y plot. Titles are already escaped.
void draw_frame(std::string& s, const Box& box, const Axis& x, const Axis& y, const std::string& x_title,
                const std::string& y_title) {
  const auto xt = x.ticks();
  const auto yt = y.ticks();
  s += "<g class=\"frame\">";
  for (const auto& [p, text] : yt) {
    s += "<line class=\"grid\" x1=\"" + px(box.left) + "\" x2=\"" + px(box.right) + "\" y1=\"" + px(p) + "\" y2=\"" +
         px(p) + "\"/>";
    s += "<text x=\"" + px(box.left - 6) + "\" y=\"" + px(p + 4) + "\" text-anchor=\"end\">" + label(text, 12) +
         "</text>";
  }
  const bool slanted = x.kind == Axis::Kind::kBand && xt.size() > 6;
  for (const auto& [p, text] : xt) {
    s += "<line class=\"grid\" x1=\"" + px(p) + "\" x2=\"" + px(p) + "\" y1=\"" + px(box.top) + "\" y2=\"" +
         px(box.bottom) + "\"/>";
    if (slanted) {
      s += "<text x=\"" + px(p) + "\" y=\"" + px(box.bottom + 14) + "\" text-anchor=\"end\" transform=\"rotate(-30 " +
           px(p) + " " + px(box.bottom + 14) + ")\">" + label(text, 14) + "</text>";
    } else {
      s += "<text x=\"" + px(p) + "\" y=\"" + px(box.bottom + 16) + "\" text-anchor=\"middle\">" + label(text, 14) +
           "</text>";
    }
  }
  s += "<line class=\"axis\" x1=\"" + px(box.left) + "\" x2=\"" + px(box.right) + "\" y1=\"" + px(box.bottom) +
       "\" y2=\"" + px(box.bottom) + "\"/>";
  s += "<line class=\"axis\" x1=\"" + px(box.left) + "\" x2=\"" + px(box.left) + "\" y1=\"" + px(box.top) + "\" y2=\"" +
       px(box.bottom) + "\"/>";
  s += "<text class=\"title\" x=\"" + px((box.left + box.right) / 2) + "\" y=\"" +
       px(box.bottom + (slanted ? 52 : 36)) + "\" text-anchor=\"middle\">" + x_title + "</text>";
  const double ym = (box.top + box.bottom) / 2;
  s += "<text class=\"title\" x=\"14\" y=\"" + px(ym) + "\" text-anchor=\"middle\" transform=\"rotate(-90 14 " +
       px(ym) + ")\">" + y_title + "</text>";
  s += "</g>\n";
}

// ------------------------------------------------------------------------------------ the study

// A COMPLETE trial with a finite value: what the history, parallel, importance and slice plots show.
struct Point {
  const TrialRecord* rec;
  double value;
};

class Page {
 public:
  Page(const ReportInput& in, const ReportOptions& opts, const std::vector<ReportTable>& tables)
      : in_(in), opts_(opts), tables_(tables) {
    for (const auto& t : in.trials) {
      if (t.trial.state == TrialState::kComplete && t.trial.value && std::isfinite(*t.trial.value)) {
        points_.push_back({&t, *t.trial.value});
      }
      ++counts_[static_cast<size_t>(t.trial.state)];
    }
    for (const auto& p : points_) {
      if (!best_ || loss(p.value) < loss(best_->value)) best_ = p;
    }
    // Rank of each point's value, 0 = worst, 1 = best: colours that outliers cannot wash out.
    std::vector<size_t> order(points_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return loss(points_[a].value) > loss(points_[b].value); });
    goodness_.resize(points_.size(), 1.0);
    for (size_t r = 0; r < order.size(); ++r) {
      goodness_[order[r]] = order.size() > 1 ? static_cast<double>(r) / static_cast<double>(order.size() - 1) : 1.0;
    }
    worst_first_ = order;
    metric_ = html_escape(in.study.metric);
    metric_title_ = label(in.study.metric, 40);
  }

  std::string render();

 private:
  [[nodiscard]] double loss(double v) const { return search::to_loss(in_.study.direction, v); }
  [[nodiscard]] std::string param_text(size_t i, double internal) const {
    return search::to_string(in_.space.external(i, internal));
  }
  [[nodiscard]] int64_t count(TrialState s) const { return counts_[static_cast<size_t>(s)]; }

  void summary(std::string& s);
  void no_complete(std::string& s);
  void history(std::string& s);
  void intermediate(std::string& s);
  void parallel(std::string& s);
  void importance(std::string& s);
  void slices(std::string& s);
  void table(std::string& s);
  void extra_tables(std::string& s);

  const ReportInput& in_;
  const ReportOptions& opts_;
  const std::vector<ReportTable>& tables_;
  std::vector<Point> points_;
  std::vector<double> goodness_;
  std::vector<size_t> worst_first_;
  std::optional<Point> best_;
  std::array<int64_t, 6> counts_{};
  std::string metric_;        // escaped
  std::string metric_title_;  // escaped and shortened, for axis titles
};

void Page::summary(std::string& s) {
  const auto& st = in_.study;
  s += "<header><h1>Study " + html_escape(st.name) + "</h1>\n<p class=\"meta\">" +
       html_escape(search::to_string(st.direction)) + " <b>" + metric_ + "</b>";
  if (!in_.sampler.empty()) s += " &middot; sampler " + html_escape(in_.sampler);
  if (!in_.pruner.empty()) s += " &middot; pruner " + html_escape(in_.pruner);
  s += " &middot; seed " + std::to_string(st.seed);
  if (st.created_ms > 0) s += " &middot; created " + utc_time(st.created_ms) + " UTC";
  if (!st.version.empty()) s += " &middot; hypertune " + html_escape(st.version);
  if (!st.config_hash.empty()) s += " &middot; config sha256 " + html_escape(st.config_hash.substr(0, 12));
  s += "</p></header>\n";
  s += points_.empty() ? "<nav><a href=\"#summary\">summary</a> <a href=\"#intermediate\">learning curves</a> "
                         "<a href=\"#trials\">trials</a></nav>\n"
                       : "<nav><a href=\"#summary\">summary</a> <a href=\"#history\">history</a> "
                         "<a href=\"#intermediate\">learning curves</a> <a href=\"#parallel\">parallel coordinates</a> "
                         "<a href=\"#importance\">importance</a> <a href=\"#slices\">slices</a> "
                         "<a href=\"#trials\">trials</a></nav>\n";
  s += "<section id=\"summary\"><h2>Summary</h2>\n<p class=\"chips\">";
  s += "<span class=\"chip total\">" + std::to_string(in_.trials.size()) + " trials</span>";
  for (auto state : kStates) {
    if (count(state) == 0) continue;
    s += std::string("<span class=\"chip ") + state_class(state) + "\">" + search::to_string(state) + " " +
         std::to_string(count(state)) + "</span>";
  }
  s += "</p>\n";
  if (best_) {
    s += "<p id=\"best\" data-t=\"" + std::to_string(best_->rec->trial.number) + "\">Best trial <b>#" +
         std::to_string(best_->rec->trial.number) + "</b>: " + metric_ + " = <b>" + num(best_->value, 10) +
         "</b></p>\n";
    s += "<table class=\"kv\">";
    const auto& p = best_->rec->trial.params;
    for (size_t i = 0; i < in_.space.size() && i < p.size(); ++i) {
      if (!p[i]) continue;
      s += "<tr><th>" + html_escape(in_.space.params()[i].name) + "</th><td>" + html_escape(param_text(i, *p[i])) +
           "</td></tr>";
    }
    s += "</table>\n";
  }
  s += "</section>\n";
}

void Page::no_complete(std::string& s) {
  s += "<section id=\"no-complete\" class=\"notice\"><h2>No completed trial yet</h2>\n<p>";
  if (in_.trials.empty()) {
    s += "The study holds no trial yet.";
  } else {
    s += "None of the " + std::to_string(in_.trials.size()) + " trials has completed with a finite " + metric_ + " (";
    bool first = true;
    for (auto state : kStates) {
      if (count(state) == 0) continue;
      s += (first ? "" : ", ") + std::to_string(count(state)) + " " + search::to_string(state);
      first = false;
    }
    s += ").";
  }
  s += " The optimisation history, parallel coordinates, parameter importance and slice plots need completed "
       "trials; the learning curves and the trial table below show what there is.</p></section>\n";
}

void Page::history(std::string& s) {
  constexpr int kW = 1100, kH = 380;
  const Box box{80, 24, kW - 24, kH - 50};
  std::vector<double> values;
  int64_t n_min = points_.front().rec->trial.number, n_max = n_min;
  for (const auto& p : points_) {
    values.push_back(p.value);
    n_min = std::min(n_min, p.rec->trial.number);
    n_max = std::max(n_max, p.rec->trial.number);
  }
  const Axis x = linear_axis(static_cast<double>(n_min), static_cast<double>(n_max), box.left, box.right, 0.02);
  const Axis y = value_axis(values, box.bottom, box.top);
  s += "<section id=\"history\"><h2>Optimisation history</h2>\n<p class=\"note\">" + metric_ + " of each of the " +
       std::to_string(points_.size()) + " completed trials by trial number (" +
       (in_.study.direction == search::Direction::kMinimize ? "minimised" : "maximised") +
       "); the orange line is the best so far" + (y.kind == Axis::Kind::kLog ? "; logarithmic axis" : "") + ".</p>\n";
  open_svg(s, "plot-history", kW, kH, "Optimisation history");
  draw_frame(s, box, x, y, "trial number", metric_title_);
  // Best so far, a step line in trial order.
  std::optional<double> best;
  std::string d;
  for (const auto& p : points_) {
    const double bx = x.at(static_cast<double>(p.rec->trial.number));
    if (!best) {
      best = p.value;
      d = "M" + px(bx) + " " + px(y.at(*best));
    } else {
      d += "H" + px(bx);
      if (loss(p.value) < loss(*best)) {
        best = p.value;
        d += "V" + px(y.at(*best));
      }
    }
  }
  s += "<path class=\"best\" d=\"" + d + "\"><title>best so far</title></path>\n";
  for (const auto& p : points_) {
    const auto n = std::to_string(p.rec->trial.number);
    s += "<circle class=\"pt\" data-t=\"" + n + "\" cx=\"" + px(x.at(static_cast<double>(p.rec->trial.number))) +
         "\" cy=\"" + px(y.at(p.value)) + "\" r=\"3.5\" fill=\"#1f77b4\"><title>#" + n + ": " + num(p.value) +
         "</title></circle>\n";
  }
  s += "</svg></section>\n";
}

void Page::intermediate(std::string& s) {
  struct Curve {
    const TrialRecord* rec;
    std::vector<std::pair<int64_t, double>> pts;
  };
  std::vector<Curve> curves;
  for (const auto& t : in_.trials) {
    Curve c{&t, {}};
    for (const auto& [step, v] : t.trial.intermediate) {
      if (std::isfinite(v)) c.pts.emplace_back(step, v);
    }
    if (!c.pts.empty()) curves.push_back(std::move(c));
  }
  s += "<section id=\"intermediate\"><h2>Intermediate values</h2>\n";
  if (curves.empty()) {
    s += "<p class=\"note\" id=\"no-intermediate\">No trial has reported intermediate values.</p></section>\n";
    return;
  }
  std::vector<double> values;
  int64_t s_min = curves.front().pts.front().first, s_max = s_min;
  size_t longest = 0;
  for (const auto& c : curves) {
    for (const auto& [step, v] : c.pts) {
      values.push_back(v);
      s_min = std::min(s_min, step);
      s_max = std::max(s_max, step);
    }
    longest = std::max(longest, c.pts.size());
  }
  const size_t cap =
      std::clamp(opts_.curve_point_budget / curves.size(), opts_.min_points_per_curve, opts_.max_points_per_curve);

  constexpr int kW = 1100, kH = 420;
  const Box box{80, 24, kW - 24, kH - 50};
  // Steps spanning two decades (Hyperband's 1..81) read better on a log axis.
  const Axis x = s_min >= 1 && s_max >= 100 * s_min
                     ? log_axis(static_cast<double>(s_min), static_cast<double>(s_max), box.left, box.right, 0.02)
                     : linear_axis(static_cast<double>(s_min), static_cast<double>(s_max), box.left, box.right, 0.02);
  const Axis y = value_axis(values, box.bottom, box.top);
  s += "<p class=\"note\">" + metric_ + " reported at each step by the " + std::to_string(curves.size()) +
       " trials that reported, coloured by state:";
  for (auto state : kStates) {
    if (std::none_of(curves.begin(), curves.end(), [&](const Curve& c) { return c.rec->trial.state == state; }))
      continue;
    s += std::string(" <span class=\"k ") + state_class(state) + "\">" + search::to_string(state) +
         (state == TrialState::kPruned ? " (&#x2715; where it stopped)" : "") + "</span>";
  }
  if (longest > cap) {
    s += ". Curves longer than " + std::to_string(cap) + " points show " + std::to_string(cap) +
         " evenly spaced reports, the first and last included";
  }
  s += ".</p>\n";
  open_svg(s, "plot-intermediate", kW, kH, "Intermediate values");
  draw_frame(s, box, x, y, "step", metric_title_);
  // Pruned and failed curves underneath, completed ones on top.
  auto layer = [](TrialState st) {
    switch (st) {
      case TrialState::kPruned:
        return 0;
      case TrialState::kFail:
        return 1;
      case TrialState::kComplete:
        return 3;
      default:
        return 2;
    }
  };
  std::stable_sort(curves.begin(), curves.end(), [&](const Curve& a, const Curve& b) {
    return layer(a.rec->trial.state) < layer(b.rec->trial.state);
  });
  for (const auto& c : curves) {
    const auto n = std::to_string(c.rec->trial.number);
    std::string pts;
    for (size_t k : downsample_indices(c.pts.size(), cap)) {
      if (!pts.empty()) pts += ' ';
      pts += px(x.at(static_cast<double>(c.pts[k].first))) + "," + px(y.at(c.pts[k].second));
    }
    // A one-point curve repeats its point: with round caps the zero-length segment shows as a dot.
    if (c.pts.size() == 1) pts += " " + pts;
    s += "<polyline class=\"curve\" data-t=\"" + n + "\" stroke=\"" + state_colour(c.rec->trial.state) +
         "\" points=\"" + pts + "\"><title>#" + n + " (" + search::to_string(c.rec->trial.state) +
         "): " + std::to_string(c.pts.size()) + " reports, last " + num(c.pts.back().second) + " at step " +
         std::to_string(c.pts.back().first) + "</title></polyline>\n";
  }
  for (const auto& c : curves) {
    if (c.rec->trial.state != TrialState::kPruned) continue;
    const auto n = std::to_string(c.rec->trial.number);
    const double cx = x.at(static_cast<double>(c.pts.back().first)), cy = y.at(c.pts.back().second);
    s += "<path class=\"pruned\" data-t=\"" + n + "\" d=\"M" + px(cx - 4) + " " + px(cy - 4) + "L" + px(cx + 4) + " " +
         px(cy + 4) + "M" + px(cx - 4) + " " + px(cy + 4) + "L" + px(cx + 4) + " " + px(cy - 4) + "\"><title>#" + n +
         " pruned at step " + std::to_string(c.pts.back().first) + ": " + num(c.pts.back().second) +
         "</title></path>\n";
  }
  s += "</svg></section>\n";
}

void Page::parallel(std::string& s) {
  const auto& params = in_.space.params();
  const size_t n_axes = params.size() + 1;
  const int width = std::max(1100, static_cast<int>(n_axes) * 130);
  constexpr int kH = 440;
  constexpr double kTop = 44, kBottom = kH - 60, kNa = kH - 30;
  const double left = 70, right = width - 80;
  auto axis_x = [&](size_t i) {
    return n_axes == 1 ? (left + right) / 2 : left + (right - left) * static_cast<double>(i) / (n_axes - 1);
  };
  std::vector<Axis> axes;
  std::vector<bool> has_na(params.size(), false);
  for (size_t i = 0; i < params.size(); ++i) {
    axes.push_back(param_axis(in_.space, i, kBottom, kTop, 0.0));
    for (const auto& p : points_) has_na[i] = has_na[i] || i >= p.rec->trial.params.size() || !p.rec->trial.params[i];
  }
  std::vector<double> values;
  for (const auto& p : points_) values.push_back(p.value);
  axes.push_back(value_axis(values, kBottom, kTop));

  s += "<section id=\"parallel\"><h2>Parallel coordinates</h2>\n<p class=\"note\">One line per completed trial "
       "through its parameters and " +
       metric_ + "; darker lines are better trials (by rank), drawn on top." +
       (std::find(has_na.begin(), has_na.end(), true) != has_na.end()
            ? " A parameter a trial did not set (conditional) is drawn at n/a."
            : "") +
       "</p>\n";
  open_svg(s, "plot-parallel", width, kH, "Parallel coordinates");
  for (size_t k : worst_first_) {
    const auto& p = points_[k];
    const auto n = std::to_string(p.rec->trial.number);
    std::string pts;
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& v = i < p.rec->trial.params.size() ? p.rec->trial.params[i] : std::nullopt;
      pts += px(axis_x(i)) + "," + px(v ? axes[i].at(*v) : kNa) + " ";
    }
    pts += px(axis_x(params.size())) + "," + px(axes.back().at(p.value));
    s += "<polyline class=\"line\" data-t=\"" + n + "\" stroke=\"" + ramp(goodness_[k]) + "\" points=\"" + pts +
         "\"><title>#" + n + ": " + num(p.value) + "</title></polyline>\n";
  }
  // Axes over the lines, so that their labels stay readable.
  for (size_t i = 0; i < n_axes; ++i) {
    const double ax = axis_x(i);
    const std::string name = i < params.size() ? params[i].name : in_.study.metric;
    s += "<g class=\"frame\"><line class=\"axis\" x1=\"" + px(ax) + "\" x2=\"" + px(ax) + "\" y1=\"" + px(kTop) +
         "\" y2=\"" + px(kBottom) + "\"/>";
    s += "<text class=\"title\" x=\"" + px(ax) + "\" y=\"" + px(kTop - 18) + "\" text-anchor=\"middle\">" +
         label(name, 18) + "<title>" + html_escape(name) + "</title></text>";
    for (const auto& [p, text] : axes[i].ticks()) {
      s += "<line class=\"axis\" x1=\"" + px(ax - 3) + "\" x2=\"" + px(ax) + "\" y1=\"" + px(p) + "\" y2=\"" + px(p) +
           "\"/><text x=\"" + px(ax - 5) + "\" y=\"" + px(p + 4) + "\" text-anchor=\"end\">" + label(text, 12) +
           "</text>";
    }
    if (i < params.size() && has_na[i]) {
      s += "<text x=\"" + px(ax - 5) + "\" y=\"" + px(kNa + 4) + "\" text-anchor=\"end\">n/a</text><circle cx=\"" +
           px(ax) + "\" cy=\"" + px(kNa) + "\" r=\"2\" fill=\"#444\"/>";
    }
    s += "</g>\n";
  }
  s += "</svg></section>\n";
}

void Page::importance(std::string& s) {
  std::vector<search::FrozenTrial> trials;
  trials.reserve(points_.size());
  for (const auto& p : points_) trials.push_back(p.rec->trial);
  const auto imp = parameter_importance(in_.space, trials);
  s += "<section id=\"importance\"><h2>Parameter importance</h2>\n";
  if (!imp) {
    s += "<p class=\"note\" id=\"no-importance\">Importance needs at least 4 completed trials whose " + metric_ +
         " values differ; this study has " + std::to_string(points_.size()) + " completed trial" +
         (points_.size() == 1 ? "" : "s") + (points_.size() >= 4 ? ", all with the same value" : "") +
         ".</p></section>\n";
    return;
  }
  s += "<p class=\"note\">Share of the explained variance of " + metric_ + " over " + std::to_string(imp->trials) +
       " completed trials, from a first-order variance decomposition (each parameter's binned conditional means, "
       "corrected for chance; see docs/report.md). Interactions between parameters are not counted.";
  const bool none =
      std::all_of(imp->params.begin(), imp->params.end(), [](const ParamImportance& p) { return p.explained <= 0.0; });
  if (none) s += " <b>No parameter explains more of the variance than chance would.</b>";
  s += "</p>\n";
  constexpr int kW = 1100;
  const int height = 30 + 26 * static_cast<int>(imp->params.size());
  const double x0 = 220, x1 = kW - 90;
  open_svg(s, "plot-importance", kW, height, "Parameter importance");
  for (size_t r = 0; r < imp->params.size(); ++r) {
    const auto& p = imp->params[r];
    const double y = 14 + 26.0 * static_cast<double>(r);
    const double w = std::max(0.0, p.importance * (x1 - x0));
    char pct[32], raw[32];
    std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * p.importance);
    std::snprintf(raw, sizeof raw, "%.1f%%", 100.0 * p.explained);
    s += "<text x=\"" + px(x0 - 8) + "\" y=\"" + px(y + 14) + "\" text-anchor=\"end\">" + label(p.name, 30) +
         "</text><rect class=\"bar\" x=\"" + px(x0) + "\" y=\"" + px(y) + "\" width=\"" + px(w) +
         "\" height=\"18\"><title>" + html_escape(p.name) + ": " + pct + " of the explained variance; alone explains " +
         raw + " of the variance of " + metric_ + " (" + std::to_string(p.groups) + " groups, set in " +
         std::to_string(p.active_trials) + " of " + std::to_string(imp->trials) + " trials)</title></rect><text x=\"" +
         px(x0 + w + 6) + "\" y=\"" + px(y + 14) + "\">" + pct + "</text>\n";
  }
  s += "</svg></section>\n";
}

void Page::slices(std::string& s) {
  s += "<section id=\"slices\"><h2>Slices</h2>\n<p class=\"note\">" + metric_ +
       " against each parameter; darker points are later trials. Categorical values are spread sideways "
       "within their column so that equal values stay visible.</p>\n<div class=\"slices\">\n";
  std::vector<double> values;
  for (const auto& p : points_) values.push_back(p.value);
  constexpr int kW = 540, kH = 300;
  const Box box{72, 16, kW - 16, kH - 56};
  for (size_t i = 0; i < in_.space.size(); ++i) {
    const auto& spec = in_.space.params()[i];
    const Axis x = param_axis(in_.space, i, box.left, box.right, 0.03);
    const Axis y = value_axis(values, box.bottom, box.top);
    int64_t set = 0;
    for (const auto& p : points_) set += i < p.rec->trial.params.size() && p.rec->trial.params[i] ? 1 : 0;
    std::string title = label(spec.name, 40);
    if (x.kind == Axis::Kind::kLog) title += " (log)";
    if (set < static_cast<int64_t>(points_.size())) {
      title += " &middot; set in " + std::to_string(set) + " of " + std::to_string(points_.size()) + " trials";
    }
    open_svg(s, "plot-slice-" + std::to_string(i), kW, kH, "Slice of " + html_escape(spec.name));
    draw_frame(s, box, x, y, title, metric_title_);
    const double last = static_cast<double>(std::max<size_t>(points_.size(), 2) - 1);
    for (size_t k = 0; k < points_.size(); ++k) {
      const auto& p = points_[k];
      if (i >= p.rec->trial.params.size() || !p.rec->trial.params[i]) continue;
      const double v = *p.rec->trial.params[i];
      double cx = x.at(v);
      if (x.kind == Axis::Kind::kBand) {
        // Deterministic jitter from the trial number: the same report every time.
        uint64_t state = static_cast<uint64_t>(p.rec->trial.number);
        const double u = static_cast<double>(hypertune::splitmix64(state) >> 11) * 0x1.0p-53;
        cx += (u - 0.5) * 0.6 * x.band_width();
      }
      const auto n = std::to_string(p.rec->trial.number);
      s += "<circle class=\"pt\" data-t=\"" + n + "\" cx=\"" + px(cx) + "\" cy=\"" + px(y.at(p.value)) +
           "\" r=\"3.2\" fill=\"" + ramp(0.15 + 0.85 * static_cast<double>(k) / last) + "\"><title>#" + n + ": " +
           html_escape(param_text(i, v)) + " &rarr; " + num(p.value) + "</title></circle>\n";
    }
    s += "</svg>\n";
  }
  s += "</div></section>\n";
}

void Page::table(std::string& s) {
  const auto& params = in_.space.params();
  s += "<section id=\"trials\"><h2>Trials</h2>\n<p class=\"note\">" + std::to_string(in_.trials.size()) +
       " trials; click a column to sort.</p>\n<div class=\"scroll\"><table id=\"trial-table\" class=\"trials\">"
       "<thead><tr><th>#</th><th>state</th><th>" +
       metric_ + "</th>";
  for (const auto& p : params) s += "<th>" + html_escape(p.name) + "</th>";
  s += "<th>steps</th><th>duration</th><th>worker</th><th>started (UTC)</th><th>note</th></tr></thead>\n<tbody>\n";
  // Cells sort by their text (numbers as numbers) unless a data-v says otherwise; empty sorts last.
  const int64_t best = best_ ? best_->rec->trial.number : -1;
  for (const auto& t : in_.trials) {
    const auto n = std::to_string(t.trial.number);
    const bool is_best = t.trial.number == best;
    s += "<tr data-t=\"" + n + "\" class=\"" + state_class(t.trial.state) + (is_best ? " best" : "") + "\">";
    s += is_best ? "<td class=\"n\" data-v=\"" + n + "\">" + n + " &#x2605;</td>" : "<td class=\"n\">" + n + "</td>";
    s += std::string("<td>") + search::to_string(t.trial.state) + "</td>";
    s += t.trial.value ? "<td class=\"n\">" + num(*t.trial.value) + "</td>" : "<td></td>";
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& v = i < t.trial.params.size() ? t.trial.params[i] : std::nullopt;
      if (!v) {
        s += "<td data-v=\"\">&mdash;</td>";
      } else if (params[i].dist.kind == search::ParamKind::kCategorical) {
        s += "<td>" + html_escape(param_text(i, *v)) + "</td>";
      } else if (params[i].dist.kind == search::ParamKind::kInt) {
        s += "<td class=\"n\">" + param_text(i, *v) + "</td>";
      } else {
        s += "<td class=\"n\">" + num(*v) + "</td>";  // the summary has the best trial's exact values
      }
    }
    const auto last = t.trial.last_report();
    s += last ? "<td class=\"n\">" + std::to_string(last->first) + "</td>" : "<td></td>";
    if (t.started_ms > 0 && t.finished_ms >= t.started_ms) {
      s += "<td class=\"n\" data-v=\"" + std::to_string(t.finished_ms - t.started_ms) + "\">" +
           duration_text(t.finished_ms - t.started_ms) + "</td>";
    } else {
      s += "<td></td>";
    }
    s += "<td>" + html_escape(t.worker) + "</td><td>" + utc_time(t.started_ms) + "</td>";
    std::string note;
    if (t.trial.state == TrialState::kFail) note = t.fail_reason;
    if (t.trial.state == TrialState::kPruned && last) note = "pruned at step " + std::to_string(last->first);
    if (t.retries > 0) note += (note.empty() ? "" : "; ") + std::to_string(t.retries) + " retries";
    const auto shown = label(note, 120);
    const auto full = html_escape(note);
    s +=
        (shown == full ? "<td class=\"note\">" : "<td class=\"note\" title=\"" + full + "\">") + shown + "</td></tr>\n";
  }
  s += "</tbody></table></div></section>\n";
}

constexpr std::string_view kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1160px;padding:12px 24px 48px;color:#222;background:#fff}
h1{font-size:22px;margin:10px 0 2px}
h2{font-size:18px;margin:30px 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px}
nav a{margin-right:12px}
.meta,.note{color:#555;font-size:13px}
.notice{background:#fff8e1;border:1px solid #f0d58a;padding:4px 16px 10px;border-radius:4px;margin-top:24px}
.chip{display:inline-block;padding:2px 9px;border-radius:10px;margin:0 6px 4px 0;color:#fff;font-size:12px}
.chip.total{background:#555}
.s-complete.chip,.k.s-complete{background:#1f77b4}.s-pruned.chip,.k.s-pruned{background:#d62728}
.s-fail.chip,.k.s-fail{background:#7f7f7f}.s-running.chip,.k.s-running{background:#ff7f0e}
.s-paused.chip,.k.s-paused{background:#9467bd}.s-waiting.chip,.k.s-waiting{background:#bcbd22}
.k{color:#fff;padding:0 5px;border-radius:3px}
table.kv th{text-align:left;font-weight:normal;color:#555;padding:1px 12px 1px 0}
svg.plot{display:block;max-width:100%;height:auto;margin:4px 0}
svg text{font:11px sans-serif;fill:#333}
svg text.title{font-size:12px;fill:#111}
#plot-parallel text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.axis{stroke:#555;stroke-width:1}
.grid{stroke:#ececec;stroke-width:1}
.pt{stroke:#fff;stroke-width:.6}
.best{fill:none;stroke:#e6550d;stroke-width:2}
.curve{fill:none;stroke-width:1.4;stroke-linecap:round;stroke-linejoin:round;opacity:.7}
.pruned{fill:none;stroke:#a50f15;stroke-width:2}
.line{fill:none;stroke-width:1.2;opacity:.75}
.bar{fill:#3182bd}
.hl{stroke:#e6550d!important;stroke-width:3!important;opacity:1!important}
circle.hl{fill:#e6550d!important}
tr.hl td{background:#fdd0a2}
.slices{display:flex;flex-wrap:wrap;gap:4px 16px}
.slices svg.plot{max-width:540px}
.scroll{overflow-x:auto}
table.trials{border-collapse:collapse;font-size:12px}
table.trials th{position:sticky;top:0;background:#f2f2f2;cursor:pointer;text-align:left;padding:3px 6px;border-bottom:1px solid #bbb;user-select:none}
table.trials td{padding:2px 6px;border-bottom:1px solid #eee;white-space:nowrap}
table.trials td.n{text-align:right;font-variant-numeric:tabular-nums}
table.trials td.note{white-space:normal;min-width:16em;color:#555}
table.trials tr.best td{font-weight:bold}
th[aria-sort=ascending]::after{content:" \25B2"}
th[aria-sort=descending]::after{content:" \25BC"}
)";

// Reads only the DOM: no data is ever written into the script.
constexpr std::string_view kScript = R"(
(function () {
  'use strict';
  var lit = [];
  function light(t) {
    lit.forEach(function (e) { e.classList.remove('hl'); });
    lit = t === null ? [] : Array.prototype.slice.call(document.querySelectorAll('[data-t="' + t + '"]'));
    lit.forEach(function (e) { e.classList.add('hl'); });
  }
  document.addEventListener('mouseover', function (ev) {
    var el = ev.target && ev.target.closest ? ev.target.closest('[data-t]') : null;
    light(el ? el.getAttribute('data-t') : null);
  });
  var table = document.getElementById('trial-table');
  if (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener('click', function () {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        function key(r) {
          var c = r.cells[col], v = c.getAttribute('data-v');
          return v === null ? c.textContent : v;
        }
        rows.sort(function (ra, rb) {
          var a = key(ra), b = key(rb);
          if (a === '' || b === '') return a === b ? 0 : (a === '' ? 1 : -1);
          var x = Number(a), y = Number(b);
          var c = !isNaN(x) && !isNaN(y) ? x - y : (a < b ? -1 : (a > b ? 1 : 0));
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  document.body.setAttribute('data-js', 'ready');
})();
)";

void Page::extra_tables(std::string& s) {
  for (const auto& t : tables_) {
    s += "<section id=\"" + html_escape(t.id) + "\"><h2>" + html_escape(t.title) + "</h2>\n";
    if (!t.note.empty()) s += "<p class=\"meta\">" + html_escape(t.note) + "</p>\n";
    s += "<table id=\"" + html_escape(t.id) + "-table\"><thead><tr>";
    for (const auto& h : t.header) s += "<th>" + html_escape(h) + "</th>";
    s += "</tr></thead>\n<tbody>\n";
    for (const auto& row : t.rows) {
      s += "<tr>";
      for (const auto& cell : row) s += "<td>" + html_escape(cell) + "</td>";
      s += "</tr>\n";
    }
    s += "</tbody></table></section>\n";
  }
}

std::string Page::render() {
  std::string s;
  s.reserve(64 * 1024 + in_.trials.size() * 2048);
  s += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  s += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src " + csp_hash(kScript) +
       "; style-src " + csp_hash(kStyle) + "; img-src data:; base-uri 'none'; form-action 'none'\">\n";
  s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  s += "<title>" + html_escape(in_.study.name) + " &middot; hypertune report</title>\n<style>";
  s += kStyle;
  s += "</style></head>\n<body>\n";
  summary(s);
  extra_tables(s);
  if (points_.empty()) {
    no_complete(s);
    intermediate(s);
  } else {
    history(s);
    intermediate(s);
    parallel(s);
    importance(s);
    slices(s);
  }
  table(s);
  s += "<script>";
  s += kScript;
  s += "</script>\n</body></html>\n";
  return s;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        case '\t':
        case '\n':
          out += static_cast<char>(c);
          break;
        default:
          if (c >= 0x20 && c != 0x7F) out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A well-formed multi-byte sequence (no overlongs, no surrogates, <= U+10FFFF) is copied.
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (ok) {
      ok = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) &&
           !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::vector<size_t> downsample_indices(size_t n, size_t cap) {
  if (cap < 2) throw ConfigError("report", "a curve must keep at least 2 points, got " + std::to_string(cap));
  std::vector<size_t> out;
  if (n <= cap) {
    for (size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  out.reserve(cap);
  for (size_t j = 0; j < cap; ++j) {
    // Rounded j * (n-1) / (cap-1) in integers: exact first and last, strictly increasing (n > cap).
    out.push_back((j * (n - 1) + (cap - 1) / 2) / (cap - 1));
  }
  return out;
}

std::string render_report(const ReportInput& input, const ReportOptions& options,
                          const std::vector<ReportTable>& tables) {
  if (options.max_points_per_curve < 2 || options.min_points_per_curve < 2 ||
      options.min_points_per_curve > options.max_points_per_curve) {
    throw ConfigError("report", "curve point limits must satisfy 2 <= min <= max, got min " +
                                    std::to_string(options.min_points_per_curve) + ", max " +
                                    std::to_string(options.max_points_per_curve));
  }
  return Page(input, options, tables).render();
}

}  // namespace hypertune::cli
