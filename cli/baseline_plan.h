#pragma once
// The planning half of `hypertune baseline`: from a training file to a sweep config.
//
// plan_tabular() reads nothing itself: it types the columns of an already read training table,
// infers the task and the metric, and derives a deterministic trial budget; sweep_yaml() turns the
// plan into the YAML text of an ordinary sweep (`trial: {pipeline: ...}`, TPE, Hyperband over
// epochs) that `hypertune run` would accept as it is. The baseline command runs that sweep with the
// same executor as `run`; nothing here trains or schedules.
//
// Decisions (docs/baseline.md explains them):
//  * Columns: the target; the id column (--id, else a column named like an identifier whose values
//    are all distinct) is kept out of the features and copied into the predictions; constant
//    columns (at most one distinct non-missing value) and ID-like columns (a text column whose
//    values are all distinct, or an integer column counting up 1, 2, 3... by row) are dropped;
//    the rest are numeric when every value parses as a number, else categorical.
//  * Task: --task, else pipelines::infer_task (text or <= 20 distinct integers: classification).
//  * Metric: --metric, else accuracy (classification) / rmse (regression).
//  * Validation: stratified 5-fold cross-validation up to kFoldMaxRows labelled rows (a trial's
//    score is the mean over the folds), else one seeded holdout of 20% (stratified for
//    classification); the same rows for every trial.
//  * Search: one conditional space over three families (xgboost, MLP, linear; docs/baseline.md),
//    TPE, Hyperband over steps (epochs, or `xgboost_rounds` boosting rounds).
//  * Budget: the sweep runs until the budget less a small reserve (sweep_seconds); --trials gives
//    a budget in trials instead (the clock is then a safety stop). The planning rule (rows, feature
//    columns, budget; no measurement) picks max_epochs and prints an estimate of the trial count.
//
// Not here: reading or writing files, running the sweep, refitting, predicting (cmd_baseline.cpp).
// Thread-safety: pure functions.
// Errors: ConfigError naming the file and what was expected (missing target with the columns that
// exist, one-class target, too few rows, an unknown metric for the task, a budget too small).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/config.h"
#include "pipelines/csv.h"
#include "search/trial.h"

namespace hypertune::cli::baseline {

// Data up to this many labelled rows is validated by k-fold (kFolds folds), larger data by holdout.
constexpr int64_t kFoldMaxRows = 3000;
constexpr int kFolds = 5;
// The trial cap of a time-budgeted search (the clock ends it long before).
constexpr int64_t kUnboundedTrials = 1000000;

struct BaselineOptions {
  std::string target;
  std::optional<std::string> id;
  std::optional<pipelines::TaskKind> task;
  std::optional<std::string> metric;
  double budget_seconds = 600.0;
  uint64_t seed = 0;
  std::optional<int64_t> max_trials;  // --trials: a budget in trials (the time budget is then a safety stop)
  bool refit = false;                 // --refit: retrain the chosen models on every row
};

struct ColumnDecision {
  std::string name;
  std::string role;    // target | id | numeric | categorical | dropped
  std::string reason;  // why, for the printed summary
};

struct Plan {
  bool images = false;
  pipelines::TaskKind task = pipelines::TaskKind::kClassification;
  std::string task_reason;
  std::string metric;
  search::Direction direction = search::Direction::kMaximize;
  std::vector<ColumnDecision> columns;  // tabular only, in file order
  std::vector<std::string> drop;        // columns the pipeline ignores
  std::optional<std::string> id;
  std::vector<std::string> classes;  // classification: the training labels, sorted
  int64_t rows = 0;                  // training rows with a target
  int64_t feature_columns = 0;       // or pixels per image
  double split = 0.2;                // holdout fraction (folds == 1)
  int folds = 1;                     // k-fold validation when >= 2
  std::string validation_reason;     // why this scheme
  int64_t max_epochs = 27;           // Hyperband's max_resource
  int64_t max_trials = 0;            // --trials, else kUnboundedTrials
  int64_t expected_trials = 0;       // the rule's estimate of the trials the budget allows (printed)
  double sweep_seconds = 0.0;        // the sweep's share of the wall-clock budget
  double reserve_seconds = 0.0;      // the rest: ensemble selection, refits (--refit), prediction
  int64_t xgboost_rounds = 10;       // boosting rounds per step of an xgboost trial
  int64_t early_stopping_steps = 1;  // steps without a better val_loss that end an xgboost trial
  double est_trial_seconds = 0.0;    // the rule's estimate of one trial at max_epochs
};

// Paths the generated sweep refers to (absolute).
struct SweepPaths {
  std::string train;                  // CSV, or IDX images
  std::optional<std::string> labels;  // IDX labels
  std::string storage;                // the study's SQLite file
};

// "10m", "90s", "1h", "1h30m", "250ms" or a plain number of seconds. nullopt when malformed.
[[nodiscard]] std::optional<double> parse_budget(const std::string& text);

// Plans a tabular baseline for `train` (already read). Throws ConfigError (see the file comment).
[[nodiscard]] Plan plan_tabular(const pipelines::CsvTable& train, const BaselineOptions& opts);

// Plans an image baseline: `count` labelled images of `pixels` values; `labels` are the label
// values (one per image). Throws ConfigError for one class or too few images.
[[nodiscard]] Plan plan_images(int64_t count, int64_t pixels, const std::vector<uint8_t>& labels,
                               const BaselineOptions& opts, const std::string& labels_path);

// The sweep as YAML text (see the file comment). `name` names the study.
[[nodiscard]] std::string sweep_yaml(const Plan& plan, const SweepPaths& paths, const BaselineOptions& opts,
                                     const std::string& name);

// The printed summary: task, metric, validation, budget and one line per column decision.
[[nodiscard]] std::string plan_summary(const Plan& plan, const BaselineOptions& opts);

}  // namespace hypertune::cli::baseline
