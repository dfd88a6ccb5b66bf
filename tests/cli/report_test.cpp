// Tests of `hypertune report`: parameter importance, the page built from in-memory trials, and the
// real binary's report of a real sweep, rendered in headless Chromium.

#include "cli/report.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/importance.h"
#include "base/rng.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace hypertune;
using search::Distribution;
using search::TrialState;

namespace {

const std::string kChromium = "/usr/bin/chromium";

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
  return n;
}

// The element that starts with `start` up to its closing tag `end` (no nesting of the same tag).
std::string element(const std::string& html, const std::string& start, const std::string& end) {
  const auto a = html.find(start);
  if (a == std::string::npos) return "";
  const auto b = html.find(end, a);
  REQUIRE(b != std::string::npos);
  return html.substr(a, b + end.size() - a);
}

std::string svg(const std::string& html, const std::string& id) {
  return element(html, "<svg id=\"" + id + "\"", "</svg>");
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

std::string write_file(const test::TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir.file(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Headless Chromium with a fresh profile, no network services; stdout to `out_file` (stderr,
// full of D-Bus complaints in containers, to a log). Returns the exit code.
int chromium(const test::TempDir& dir, const std::string& tag, const std::string& action, const std::string& page,
             const std::string& out_file) {
  std::filesystem::create_directories(dir.path() / ("profile-" + tag));
  const std::string cmd =
      "exec timeout 60 " + shell_quote(kChromium) +
      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
      " --disable-component-update --disable-sync --user-data-dir=" +
      shell_quote(dir.file("profile-" + tag)) + " " + action + " " + shell_quote("file://" + page) + " > " +
      shell_quote(out_file) + " 2> " + shell_quote(dir.file("chromium-" + tag + ".log"));
  return test::run_process({"/bin/sh", "-c", cmd}).exit_code;
}

std::string dump_dom(const test::TempDir& dir, const std::string& tag, const std::string& page) {
  const auto out = dir.file("dom-" + tag + ".html");
  const int rc = chromium(dir, tag, "--dump-dom", page, out);
  INFO(read_file(dir.file("chromium-" + tag + ".log")));
  REQUIRE(rc == 0);
  return read_file(out);
}

bool have_chromium() {
  if (std::filesystem::exists(kChromium)) return true;
  WARN("skipping the browser checks: " << kChromium << " is not installed (Debian package `chromium`)");
  return false;
}

// Bytes of the PNG's IDAT chunks (its compressed pixels) and its size, checking the structure.
struct PngInfo {
  uint32_t width = 0, height = 0;
  size_t idat_bytes = 0;
  std::set<unsigned char> idat_distinct;
};

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<unsigned char>(s[at])} << 24) | (uint32_t{static_cast<unsigned char>(s[at + 1])} << 16) |
         (uint32_t{static_cast<unsigned char>(s[at + 2])} << 8) | uint32_t{static_cast<unsigned char>(s[at + 3])};
}

PngInfo png_info(const std::string& png) {
  REQUIRE(png.size() > 33);
  REQUIRE(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  PngInfo info;
  bool ended = false;
  for (size_t at = 8; at + 12 <= png.size() && !ended;) {
    const uint32_t len = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    REQUIRE(at + 12 + len <= png.size());
    if (type == "IHDR") {
      info.width = be32(png, at + 8);
      info.height = be32(png, at + 12);
    } else if (type == "IDAT") {
      info.idat_bytes += len;
      for (size_t k = 0; k < len; ++k) info.idat_distinct.insert(static_cast<unsigned char>(png[at + 8 + k]));
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + len;
  }
  REQUIRE(ended);
  return info;
}

search::FrozenTrial complete_trial(int64_t number, search::Params params, double value) {
  search::FrozenTrial t;
  t.number = number;
  t.state = TrialState::kComplete;
  t.params = std::move(params);
  t.value = value;
  return t;
}

double importance_of(const cli::Importance& imp, const std::string& name) {
  for (const auto& p : imp.params) {
    if (p.name == name) return p.importance;
  }
  FAIL("no parameter " << name);
  return 0.0;
}

// ------------------------------------------------------------------------------ an in-memory study

// A study whose names, choices, worker and fail reason are all attempts at HTML/JS injection.
struct Fixture {
  scheduler::StudyRecord study;
  search::SearchSpace space;
  std::vector<scheduler::TrialRecord> trials;
  int64_t complete = 0, pruned = 0, with_reports = 0, sgd_complete = 0;
  int64_t best = -1;

  static constexpr const char* kEvilChoice = "<img src=x onerror=alert(1)>";

  explicit Fixture(search::Direction direction, int n_trials = 60, int64_t long_curves = 30) {
    study.name = "<script>alert('name')</script>";
    study.metric = "loss</title><script>alert(2)</script>";
    study.direction = direction;
    study.seed = 5;
    study.created_ms = 1'700'000'000'000;
    space.add({"lr", Distribution::Float(1e-5, 1e-1, true), std::nullopt});
    space.add({"layers", Distribution::Int(1, 4), std::nullopt});
    space.add({"opt", Distribution::Categorical({std::string("sgd"), std::string(kEvilChoice)}), std::nullopt});
    space.add({"mo\"men'tum<b>", Distribution::Float(0.0, 1.0), search::Condition{"opt", {0}}});
    space.finalize();

    hypertune::Rng rng(99);
    std::optional<double> best_value;
    for (int n = 0; n < n_trials; ++n) {
      scheduler::TrialRecord r;
      auto& t = r.trial;
      t.number = n;
      const double lr = std::exp(rng.uniform(std::log(1e-5), std::log(1e-1)));
      const double layers = static_cast<double>(1 + rng.below(4));
      const double opt = static_cast<double>(rng.below(2));
      t.params = {lr, layers, opt, std::nullopt};
      if (opt == 0.0) t.params[3] = rng.uniform();
      const double value = std::pow(std::log10(lr) + 3.0, 2) + 0.3 * layers + (opt == 0.0 ? *t.params[3] : 0.5);
      r.worker = "w<" + std::to_string(n % 3) + ">";
      r.created_ms = study.created_ms + n * 1000;
      r.started_ms = r.created_ms + 10;
      const int kind = n % 10;  // 0-6 complete, 7-8 pruned, 9 failed; the last two still running/waiting
      const int64_t steps = kind <= 6 ? (n % 2 ? long_curves : 1) : kind <= 8 ? 1 + n % 4 : 0;
      for (int64_t s = 1; s <= steps; ++s) {
        t.add_report(s, value + 3.0 / static_cast<double>(s));
        r.reports.push_back({s, value + 3.0 / static_cast<double>(s), nlohmann::json::object(), r.started_ms + s});
      }
      if (n == n_trials - 2) {
        t.state = TrialState::kRunning;
      } else if (n == n_trials - 1) {
        t.state = TrialState::kWaiting;
        r.started_ms = 0;
        t.intermediate.clear();
      } else if (kind <= 6) {
        t.state = TrialState::kComplete;
        t.value = value;
        r.finished_ms = r.started_ms + 1234 + n;
        ++complete;
        sgd_complete += opt == 0.0 ? 1 : 0;
        if (!best_value || search::to_loss(direction, value) < search::to_loss(direction, *best_value)) {
          best_value = value;
          best = n;
        }
      } else if (kind <= 8) {
        t.state = TrialState::kPruned;
        r.finished_ms = r.started_ms + 50;
        ++pruned;
      } else {
        t.state = TrialState::kFail;
        r.fail_reason = "</td></tr></table><img src=x onerror=alert(3)> & \xff\xfe bad bytes";
        r.finished_ms = r.started_ms + 5;
      }
      with_reports += t.intermediate.empty() ? 0 : 1;
      trials.push_back(std::move(r));
    }
  }

  [[nodiscard]] std::string render(const cli::ReportOptions& options = {}) const {
    return cli::render_report(cli::ReportInput{study, space, trials, "tpe", "median"}, options);
  }
};

// The per-plot counts the page promises (cli/report.h), on the raw HTML or the browser's DOM.
void check_marks(const std::string& html, const Fixture& fx) {
  CHECK(count(svg(html, "plot-history"), "<circle class=\"pt\"") == static_cast<size_t>(fx.complete));
  CHECK(count(svg(html, "plot-history"), "<path class=\"best\"") == 1);
  CHECK(count(svg(html, "plot-intermediate"), "<polyline class=\"curve\"") == static_cast<size_t>(fx.with_reports));
  CHECK(count(svg(html, "plot-intermediate"), "<path class=\"pruned\"") == static_cast<size_t>(fx.pruned));
  CHECK(count(svg(html, "plot-parallel"), "<polyline class=\"line\"") == static_cast<size_t>(fx.complete));
  CHECK(count(svg(html, "plot-importance"), "<rect class=\"bar\"") == 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(count(svg(html, "plot-slice-" + std::to_string(i)), "<circle class=\"pt\"") ==
          static_cast<size_t>(fx.complete));
  }
  CHECK(count(svg(html, "plot-slice-3"), "<circle class=\"pt\"") == static_cast<size_t>(fx.sgd_complete));
  const auto table = element(html, "<table id=\"trial-table\"", "</table>");
  CHECK(count(table, "<tr data-t=") == fx.trials.size());
}

}  // namespace

// ------------------------------------------------------------------------------ importance

TEST_CASE("importance: a function of x1 alone gives x1 nearly all of it wherever x1 sits in the space",
          "[report][importance]") {
  search::SearchSpace space;
  for (const char* name : {"x1", "x2", "x3"}) space.add({name, Distribution::Float(0.0, 1.0), std::nullopt});
  space.finalize();

  for (size_t relevant : {size_t{0}, size_t{2}}) {
    hypertune::Rng rng(17);
    std::vector<search::FrozenTrial> trials;
    for (int n = 0; n < 300; ++n) {
      search::Params p = {rng.uniform(), rng.uniform(), rng.uniform()};
      trials.push_back(complete_trial(n, p, 10.0 * std::pow(*p[relevant] - 0.3, 2) + 0.01 * rng.normal()));
    }
    // Unfinished and pruned trials do not count, even with values that depend on another parameter.
    for (int n = 300; n < 400; ++n) {
      search::Params p = {rng.uniform(), rng.uniform(), rng.uniform()};
      auto t = complete_trial(n, p, 1000.0 * *p[1]);
      t.state = n % 2 ? TrialState::kPruned : TrialState::kRunning;
      trials.push_back(t);
    }
    const auto imp = cli::parameter_importance(space, trials);
    REQUIRE(imp);
    const std::string name = "x" + std::to_string(relevant + 1);
    INFO("relevant " << name);
    CHECK(imp->trials == 300);
    REQUIRE(imp->params.size() == 3);
    CHECK(imp->params[0].name == name);
    CHECK(imp->params[0].explained > 0.9);
    CHECK(imp->params[0].importance > 0.95);
    for (size_t k = 1; k < 3; ++k) CHECK(imp->params[k].importance < 0.04);
    double total = 0.0;
    for (const auto& p : imp->params) total += p.importance;
    CHECK(total == Approx(1.0));
    // Deterministic: the same trials give the same numbers.
    const auto again = cli::parameter_importance(space, trials);
    CHECK(again->params[0].explained == imp->params[0].explained);
  }
}

TEST_CASE("importance: parameters that do not matter explain about nothing whatever their number of bins",
          "[report][importance]") {
  search::SearchSpace space;
  for (const char* name : {"x1", "x2", "x3"}) space.add({name, Distribution::Float(0.0, 1.0), std::nullopt});
  space.finalize();
  // Pure noise: the uncorrected ratio SS_between / SS_total would give each parameter about
  // (bins - 1) / (n - 1) = 9/199, 0.136 for the three together; the corrected share is about 0.
  double mean_sum = 0.0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    hypertune::Rng rng(seed);
    std::vector<search::FrozenTrial> trials;
    for (int n = 0; n < 200; ++n) {
      search::Params p = {rng.uniform(), rng.uniform(), rng.uniform()};
      trials.push_back(complete_trial(n, p, rng.normal()));
    }
    const auto imp = cli::parameter_importance(space, trials);
    REQUIRE(imp);
    for (const auto& p : imp->params) {
      CHECK(p.groups == 10);
      mean_sum += p.explained / 10.0;
    }
  }
  CHECK(mean_sum < 0.06);
}

TEST_CASE("importance: categorical parents get their branch and conditional children their effect within it",
          "[report][importance]") {
  search::SearchSpace space;
  space.add({"opt", Distribution::Categorical({std::string("sgd"), std::string("adam")}), std::nullopt});
  space.add({"momentum", Distribution::Float(0.0, 1.0), search::Condition{"opt", {0}}});
  space.add({"lr", Distribution::Float(1e-4, 1e-1, true), std::nullopt});
  space.finalize();

  auto make = [&](auto objective) {
    hypertune::Rng rng(23);
    std::vector<search::FrozenTrial> trials;
    for (int n = 0; n < 400; ++n) {
      const double opt = static_cast<double>(rng.below(2));
      search::Params p = {opt, std::nullopt, std::exp(rng.uniform(std::log(1e-4), std::log(1e-1)))};
      if (opt == 0.0) p[1] = rng.uniform();
      trials.push_back(complete_trial(n, p, objective(p) + 0.02 * rng.normal()));
    }
    return trials;
  };
  {
    // The optimiser decides everything: momentum, set only with sgd, must not share the credit.
    const auto trials = make([](const search::Params& p) { return *p[0] == 0.0 ? 1.0 : 0.0; });
    const auto imp = cli::parameter_importance(space, trials);
    REQUIRE(imp);
    CHECK(importance_of(*imp, "opt") > 0.95);
    CHECK(importance_of(*imp, "momentum") < 0.03);
    CHECK(importance_of(*imp, "lr") < 0.03);
  }
  {
    // Within sgd, momentum decides; adam sits at sgd's mean, so the branch itself explains nothing.
    const auto trials =
        make([](const search::Params& p) { return *p[0] == 0.0 ? 4.0 * std::pow(*p[1] - 0.5, 2) : 1.0 / 3.0; });
    const auto imp = cli::parameter_importance(space, trials);
    REQUIRE(imp);
    CHECK(imp->params[0].name == "momentum");
    CHECK(importance_of(*imp, "momentum") > 0.85);
    CHECK(importance_of(*imp, "lr") < 0.05);
    for (const auto& p : imp->params) {
      if (p.name == "momentum") CHECK(p.active_trials < 250);
    }
  }
}

TEST_CASE("importance: too few trials or no variance give no estimate", "[report][importance]") {
  search::SearchSpace space;
  space.add({"x1", Distribution::Float(0.0, 1.0), std::nullopt});
  space.finalize();
  std::vector<search::FrozenTrial> trials = {complete_trial(0, {0.1}, 1.0), complete_trial(1, {0.2}, 2.0),
                                             complete_trial(2, {0.3}, 3.0)};
  CHECK_FALSE(cli::parameter_importance(space, trials));
  trials.push_back(complete_trial(3, {0.4}, 4.0));
  CHECK(cli::parameter_importance(space, trials));
  for (auto& t : trials) t.value = 7.0;
  CHECK_FALSE(cli::parameter_importance(space, trials));
  CHECK_THROWS_AS(cli::parameter_importance(space, trials, {.max_bins = 1}), ConfigError);
}

// ------------------------------------------------------------------------------ text helpers

TEST_CASE("html_escape neutralises markup and repairs bad UTF-8", "[report]") {
  CHECK(cli::html_escape("<a href='x' title=\"y\">&amp;</a>") ==
        "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;amp;&lt;/a&gt;");
  CHECK(cli::html_escape("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x99\x82") == "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x99\x82");
  CHECK(cli::html_escape("a\xFF"
                         "b") ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(cli::html_escape("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  CHECK(cli::html_escape("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  CHECK(cli::html_escape("\xE2\x9C") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // cut short
  CHECK(cli::html_escape(std::string("x\0y\x01z\tw\n", 9)) == "xyz\tw\n");
}

TEST_CASE("long curves keep evenly spaced points with the first and the last", "[report]") {
  CHECK(cli::downsample_indices(5, 10) == std::vector<size_t>{0, 1, 2, 3, 4});
  CHECK(cli::downsample_indices(9, 3) == std::vector<size_t>{0, 4, 8});
  const auto kept = cli::downsample_indices(1000, 17);
  REQUIRE(kept.size() == 17);
  CHECK(kept.front() == 0);
  CHECK(kept.back() == 999);
  for (size_t k = 1; k < kept.size(); ++k) {
    CHECK(kept[k] > kept[k - 1]);
    CHECK(kept[k] - kept[k - 1] <= 63);  // evenly spaced: 999/16 = 62.4
  }
  CHECK_THROWS_AS(cli::downsample_indices(10, 1), ConfigError);
}

// ------------------------------------------------------------------------------ the page

TEST_CASE("the page has each plot with one mark per trial and escapes every user string", "[report]") {
  const Fixture fx(search::Direction::kMinimize);
  REQUIRE(fx.complete > 20);
  REQUIRE(fx.pruned > 4);
  const auto html = fx.render();
  check_marks(html, fx);

  // Our script is the only one, and nothing a user wrote became markup.
  CHECK(count(html, "<script") == 1);
  CHECK(count(html, "<img") == 0);
  CHECK(count(html, "<b>") == count(html, "</b>"));
  CHECK_THAT(html, Catch::Contains("&lt;img src=x onerror=alert(1)&gt;"));
  CHECK_THAT(html, Catch::Contains("mo&quot;men&#39;tum&lt;b&gt;"));
  CHECK_THAT(html, Catch::Contains("\xEF\xBF\xBD\xEF\xBF\xBD bad bytes"));
  // Self-contained: nothing to fetch, and a policy that forbids fetching.
  CHECK(count(html, "http://") + count(html, "https://") + count(html, "src=\"") == 0);
  CHECK_THAT(html, Catch::Contains("default-src 'none'; script-src 'sha256-"));

  // The best trial is named, the log parameter has decade ticks, the table marks the best row.
  CHECK_THAT(html, Catch::Contains("Best trial <b>#" + std::to_string(fx.best) + "</b>"));
  CHECK_THAT(svg(html, "plot-slice-0"), Catch::Contains(">0.001</text>") && Catch::Contains(">1e-05</text>"));
  CHECK_THAT(html, Catch::Contains("<tr data-t=\"" + std::to_string(fx.best) + "\" class=\"s-complete best\""));
  // Deterministic bytes.
  CHECK(fx.render() == html);

  if (!have_chromium()) return;
  test::TempDir dir("report-page");
  const auto page = write_file(dir, "page.html", html);
  const auto dom = dump_dom(dir, "page", page);
  // The script ran (its CSP hash is right) and the browser sees the same marks.
  CHECK_THAT(dom, Catch::Contains("data-js=\"ready\""));
  CHECK(count(dom, "<img") == 0);
  CHECK(count(dom, "<script") == 1);
  check_marks(dom, fx);
}

TEST_CASE("maximised studies rank the largest value best", "[report]") {
  const Fixture fx(search::Direction::kMaximize);
  const auto html = fx.render();
  double best_value = -1e300;
  int64_t best = -1;
  for (const auto& t : fx.trials) {
    if (t.trial.state == TrialState::kComplete && *t.trial.value > best_value) {
      best_value = *t.trial.value;
      best = t.trial.number;
    }
  }
  CHECK(best == fx.best);
  CHECK_THAT(html, Catch::Contains("Best trial <b>#" + std::to_string(best) + "</b>"));
  CHECK_THAT(html, Catch::Contains("maximised"));
  // The best-so-far line only climbs: its y (pixels, downwards) never increases along the path.
  const auto path = element(svg(html, "plot-history"), "<path class=\"best\" d=\"", "\"><title>");
  std::istringstream in(path.substr(path.find("d=\"M") + 4));
  double x = 0, y = 0;
  in >> x >> y;
  double last_y = y;
  for (char c; in >> c && c != '"';) {
    double v = 0;
    if (!(in >> v)) break;
    if (c == 'V') {
      CHECK(v < last_y);
      last_y = v;
    }
  }
}

TEST_CASE("a study with no completed trial says so instead of drawing empty charts", "[report]") {
  Fixture fx(search::Direction::kMinimize, 10);
  fx.trials.erase(
      std::remove_if(fx.trials.begin(), fx.trials.end(),
                     [](const scheduler::TrialRecord& t) { return t.trial.state == TrialState::kComplete; }),
      fx.trials.end());
  REQUIRE(fx.trials.size() == 3);  // pruned, running, waiting
  const auto html = fx.render();
  CHECK_THAT(html, Catch::Contains("<section id=\"no-complete\""));
  CHECK_THAT(html, Catch::Contains("None of the 3 trials has completed"));
  CHECK_THAT(html, Catch::Contains("1 PRUNED, 1 RUNNING, 1 WAITING"));
  for (const char* plot : {"plot-history", "plot-parallel", "plot-importance", "plot-slice-0"}) {
    CHECK(svg(html, plot).empty());
  }
  CHECK(count(svg(html, "plot-intermediate"), "<path class=\"pruned\"") == 1);
  CHECK(count(svg(html, "plot-intermediate"), "<polyline class=\"curve\"") == 2);
  CHECK(count(element(html, "<table id=\"trial-table\"", "</table>"), "<tr data-t=") == 3);

  fx.trials.clear();
  const auto empty = fx.render();
  CHECK_THAT(empty, Catch::Contains("The study holds no trial yet."));
  CHECK_THAT(empty, Catch::Contains("id=\"no-intermediate\""));
}

TEST_CASE("thousands of trials with long curves keep the page small", "[report]") {
  const Fixture fx(search::Direction::kMinimize, 3000, 500);
  const auto start = std::chrono::steady_clock::now();
  const auto html = fx.render();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("size " << html.size() << " bytes, rendered in " << secs << " s");
  check_marks(html, fx);
  // The default budget of 50000 points shared by the curves; the long ones keep their share.
  const size_t cap = std::clamp<size_t>(50000 / static_cast<size_t>(fx.with_reports), 10, 200);
  REQUIRE(cap < 500);
  const auto curves = svg(html, "plot-intermediate");
  size_t max_points = 0;
  for (auto pos = curves.find("points=\""); pos != std::string::npos; pos = curves.find("points=\"", pos + 1)) {
    const auto end = curves.find('"', pos + 8);
    max_points = std::max(max_points, count(curves.substr(pos + 8, end - pos - 8), ","));
  }
  CHECK(max_points == cap);
  CHECK(html.size() < 12u * 1024 * 1024);
  CHECK(secs < 5.0);
}

// ------------------------------------------------------------------------------ the binary

TEST_CASE("hypertune report renders a real sweep in a headless browser", "[report][cli]") {
  test::TempDir dir("report-e2e");
  const auto cfg = write_file(dir, "sweep.yaml", R"(
name: report-e2e
seed: 7
max_trials: 40
space:
  x1: {type: float, low: -5, high: 10}
  x2: {type: float, low: 0, high: 15}
sampler: random
pruner:
  type: hyperband
  min_resource: 1
  max_resource: 27
  reduction_factor: 3
trial:
  function: branin
)");
  const auto db = dir.file("sweep.db");
  auto run = test::run_process({HYPERTUNE_BIN, "run", cfg, "--storage", db, "--quiet"});
  INFO(run.out);
  REQUIRE(run.exit_code == 0);

  auto exported = test::run_process({HYPERTUNE_BIN, "export", db, "--format", "json"});
  REQUIRE(exported.exit_code == 0);
  const auto trials = nlohmann::json::parse(exported.out)["trials"];
  size_t complete = 0, pruned = 0, curves = 0;
  for (const auto& t : trials) {
    complete += t["state"] == "COMPLETE" ? 1 : 0;
    pruned += t["state"] == "PRUNED" ? 1 : 0;
    curves += t["intermediate"].empty() ? 0 : 1;
  }
  REQUIRE(trials.size() == 40);
  REQUIRE(complete >= 3);
  REQUIRE(pruned >= 5);

  const auto out = dir.file("report.html");
  auto report = test::run_process({HYPERTUNE_BIN, "report", db, "--out", out});
  INFO(report.out);
  REQUIRE(report.exit_code == 0);
  CHECK_THAT(report.out, Catch::Contains("Wrote " + out));
  const auto html = read_file(out);
  CHECK_THAT(html, Catch::Contains("Study report-e2e"));
  CHECK_THAT(html, Catch::Contains("pruner hyperband"));

  // Errors name the file.
  auto missing = test::run_process({HYPERTUNE_BIN, "report", dir.file("nope.db"), "--out", out});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.out, Catch::Contains("nope.db"));
  auto unwritable = test::run_process({HYPERTUNE_BIN, "report", db, "--out", dir.file("no/such/dir/r.html")});
  CHECK(unwritable.exit_code == 1);
  CHECK_THAT(unwritable.out, Catch::Contains("no/such/dir/r.html"));

  if (!have_chromium()) return;
  const auto dom = dump_dom(dir, "e2e", out);
  CHECK_THAT(dom, Catch::Contains("data-js=\"ready\""));
  CHECK(count(svg(dom, "plot-history"), "<circle class=\"pt\"") == complete);
  CHECK(count(svg(dom, "plot-intermediate"), "<polyline class=\"curve\"") == curves);
  CHECK(count(svg(dom, "plot-intermediate"), "<path class=\"pruned\"") == pruned);
  CHECK(count(svg(dom, "plot-parallel"), "<polyline class=\"line\"") == complete);
  CHECK(count(svg(dom, "plot-importance"), "<rect class=\"bar\"") == 2);
  CHECK(count(svg(dom, "plot-slice-0"), "<circle class=\"pt\"") == complete);
  CHECK(count(svg(dom, "plot-slice-1"), "<circle class=\"pt\"") == complete);
  CHECK(count(element(dom, "<table id=\"trial-table\"", "</table>"), "<tr data-t=") == 40);

  // A screenshot of the report against one of an empty page of the same size: the report's
  // compressed pixels must be many times larger (a blank or single-colour page compresses to
  // almost nothing).
  const auto shot = dir.file("report.png");
  REQUIRE(chromium(dir, "shot", "--screenshot=" + shell_quote(shot) + " --window-size=1400,3000", out,
                   dir.file("shot.out")) == 0);
  const auto blank_page = write_file(dir, "blank.html", "<!DOCTYPE html><html><body></body></html>");
  const auto blank_shot = dir.file("blank.png");
  REQUIRE(chromium(dir, "blank", "--screenshot=" + shell_quote(blank_shot) + " --window-size=1400,3000", blank_page,
                   dir.file("blank.out")) == 0);
  const auto info = png_info(read_file(shot));
  const auto blank = png_info(read_file(blank_shot));
  INFO("report IDAT " << info.idat_bytes << " bytes, blank page IDAT " << blank.idat_bytes << " bytes");
  CHECK(info.width == 1400);
  CHECK(info.height == 3000);
  CHECK(info.idat_bytes > 50'000);
  CHECK(info.idat_bytes > 5 * blank.idat_bytes);
  CHECK(info.idat_distinct.size() > 200);
}

TEST_CASE("report: extra tables follow the summary, every cell escaped", "[report]") {
  const Fixture fx(search::Direction::kMinimize);
  cli::ReportTable t;
  t.id = "model-leaderboard";
  t.title = "Models";
  t.note = "a <note>";
  t.header = {"model", "score"};
  t.rows = {{"best <script>alert(1)</script>", "0.9"}, {"ensemble", "0.95"}};
  const std::string html =
      cli::render_report(cli::ReportInput{fx.study, fx.space, fx.trials, "tpe", "median"}, {}, {t});
  const auto section = element(html, "<section id=\"model-leaderboard\"", "</section>");
  CHECK(count(section, "<tr>") == 3);  // the header and two rows
  CHECK(section.find("best &lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(section.find("a &lt;note&gt;") != std::string::npos);
  CHECK(html.find("<script>alert(1)") == std::string::npos);
  // Right after the summary, before the first plot.
  CHECK(html.find("id=\"model-leaderboard\"") < html.find("id=\"plot-history\""));
  // Without tables, the page is the one it always was.
  CHECK(fx.render() == cli::render_report(cli::ReportInput{fx.study, fx.space, fx.trials, "tpe", "median"}));
}
