#pragma once
// The sweep report of `hypertune report`: one self-contained HTML page with the figures
// optuna-dashboard offers, readable in any browser, offline, with or without JavaScript.
//
// Sections, each an element with a fixed id (tests and users may rely on them):
//   #summary              study, direction, trials per state, best trial and its parameters
//   section#<id>          each extra ReportTable, in order, right after the summary
//   svg#plot-history      one circle.pt per COMPLETE trial with a finite value (x: trial number),
//                         path.best: the best value so far
//   svg#plot-intermediate one polyline.curve per trial that reported intermediate values,
//                         coloured by state; one path.pruned (a cross) at the last report of each
//                         PRUNED trial that reported
//   svg#plot-parallel     one polyline.line per COMPLETE trial with a finite value across one axis
//                         per parameter and the objective; inactive parameters go to an "n/a" slot
//   svg#plot-importance   one rect.bar per parameter (cli/importance.h)
//   svg#plot-slice-<i>    per parameter i (space order): one circle.pt per COMPLETE trial with a
//                         finite value that set it; log and categorical axes as the space says
//   table#trial-table     one tbody row per trial: number, state, value, parameters, steps,
//                         duration, worker, start time, note (fail reason / pruning step / retries)
// With no COMPLETE trial with a finite value, section#no-complete says so in place of the history,
// parallel-coordinate, importance and slice plots (learning curves and the table remain).
// Every element that stands for a trial carries data-t="<number>"; the inline script highlights a
// trial everywhere on hover, sorts the table by a clicked column, then sets body[data-js=ready].
//
// Guarantees:
//  * Self-contained: no external resource. A Content-Security-Policy allows nothing to be fetched
//    and only the page's own script and style (by their SHA-256), so an injection could not run.
//  * Escaping: every user string (study and metric names, parameter names, categorical values,
//    workers, fail reasons) goes through html_escape(); invalid UTF-8 becomes U+FFFD. No data is
//    written inside the script.
//  * Size: learning curves share a point budget (ReportOptions); a curve with more reports than
//    its share keeps evenly spaced ones, always its first and last. Everything else is drawn whole.
//  * Deterministic: the same input gives the same bytes (no clock, no randomness).
// Not here: reading the storage (cli/study_view.h), live refresh, multi-objective studies.
// Thread-safety: pure functions.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/trial_store.h"
#include "search/space.h"

namespace hypertune::cli {

struct ReportInput {
  const scheduler::StudyRecord& study;
  const search::SearchSpace& space;
  const std::vector<scheduler::TrialRecord>& trials;  // ordered by number
  std::string sampler;                                // shown in the summary when not empty ("tpe")
  std::string pruner;                                 // shown in the summary when not empty ("hyperband")
};

// An extra table shown after the summary (the baseline's model leaderboard, feature importance):
// section#<id> with an h2 title, an optional note, and table#<id>-table; every cell escaped.
struct ReportTable {
  std::string id, title, note;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

struct ReportOptions {
  size_t curve_point_budget = 50000;  // points of all learning curves together, about
  size_t max_points_per_curve = 200;
  size_t min_points_per_curve = 10;  // a curve keeps at least this many, whatever the budget
};

// The whole page. Throws ConfigError when the options are inconsistent (min > max, a max < 2).
[[nodiscard]] std::string render_report(const ReportInput& input, const ReportOptions& options = {},
                                        const std::vector<ReportTable>& tables = {});

// Text safe inside HTML/SVG text and double- or single-quoted attributes: & < > " ' escaped,
// control characters other than tab and newline dropped, invalid UTF-8 replaced by U+FFFD.
[[nodiscard]] std::string html_escape(std::string_view text);

// Indices of the points kept when a curve of n points may keep at most `cap` (>= 2): all of them
// when n <= cap, else `cap` evenly spaced ones including 0 and n - 1, increasing.
[[nodiscard]] std::vector<size_t> downsample_indices(size_t n, size_t cap);

}  // namespace hypertune::cli
