#include "cli/baseline_plan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "pipelines/tabular.h"
#include "base/error.h"

namespace hypertune::cli::baseline {

namespace {

using pipelines::TaskKind;

// Fewer rows than this cannot give a holdout that says anything.
constexpr int64_t kMinRows = 10;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool id_like_name(const std::string& name) {
  const std::string n = lower(name);
  return n == "id" || n == "index" || n == "row" || n == "rowid" || n == "row_id" ||
         (n.size() > 3 && (n.ends_with("_id") || n.ends_with("-id")));
}

std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Direction and availability of a metric: the pipelines report accuracy and f1_macro (and
// roc_auc with two classes) for classification, rmse, mae and r2 for regression.
search::Direction check_metric(const std::string& metric, TaskKind task, size_t classes) {
  if (task == TaskKind::kClassification) {
    if (metric == "accuracy" || metric == "f1_macro") return search::Direction::kMaximize;
    if (metric == "roc_auc") {
      if (classes != 2) {
        throw ConfigError("--metric roc_auc", "needs a target with exactly two classes; this one has " +
                                                  std::to_string(classes) + " (use accuracy or f1_macro)");
      }
      return search::Direction::kMaximize;
    }
    if (metric == "balanced_accuracy") {
      throw ConfigError("--metric balanced_accuracy",
                        "the training pipelines do not report balanced accuracy; use accuracy, f1_macro or "
                        "roc_auc (two classes)");
    }
    throw ConfigError("--metric " + metric,
                      "not a classification metric: expected accuracy, f1_macro or roc_auc");
  }
  if (metric == "rmse" || metric == "mae") return search::Direction::kMinimize;
  if (metric == "r2") return search::Direction::kMaximize;
  throw ConfigError("--metric " + metric, "not a regression metric: expected rmse, mae or r2");
}

// The deterministic trial budget: no measurement, so the same inputs give the same sweep.
// Cost units are multiply-adds per row and epoch (forward and backward together are taken as
// 1.2e-10 s per unit on one core, with 1 ms per model and epoch of fixed cost), for
//  * the average MLP of the search space (layers 0-4 and widths 64-512 drawn uniformly:
//    192 x (inputs + outputs) + 104,448), which sets the trial count, and
//  * the largest one (four 512-wide layers), which must fit a whole trial of max_epochs into half
//    the sweep's share: the first trials of a sweep run to max_epochs with nothing to compare
//    against. max_epochs is the largest of 81, 27, 9, 3 (capped by the row count) that fits.
// A Hyperband trial in stopping mode runs on average about 0.39 (81), 0.48 (27), 0.6 (9) or 0.78 (3)
// of max_epochs (brackets equally used, a third promoted at each rung).
// Calibrated on the one-minute runs of docs/benchmarks.md: ozone (292 rows) finished its sweep in
// 7 s of 60, letter (16,000 rows) could not finish one trial of 27 epochs in 36 s; the trial count
// is then scaled by what the first runs of this rule showed (below).
void derive_budget(Plan& plan, const BaselineOptions& opts) {
  // Rows trained per epoch: k-fold trains k models on (k-1)/k of the rows each.
  const double rows_train = plan.folds > 1 ? static_cast<double>(plan.rows) * (plan.folds - 1)
                                           : static_cast<double>(plan.rows) * (1.0 - plan.split);
  const double models = static_cast<double>(std::max(1, plan.folds));
  const double in = static_cast<double>(plan.feature_columns);
  const double out = plan.task == TaskKind::kClassification ? static_cast<double>(plan.classes.size()) : 1.0;
  // Images train a CNN: its cost per pixel is taken as that of a 64-wide dense layer per block.
  const double avg_units = plan.images ? in * 2.0 * 32.0 * 9.0 : 192.0 * (in + out) + 104448.0;
  const double max_units = plan.images ? in * 3.0 * 64.0 * 9.0 : 512.0 * (in + out) + 3.0 * 512.0 * 512.0;
  constexpr double kSecondsPerUnit = 1.2e-10;
  const double per_epoch_avg = 0.001 * models + rows_train * avg_units * kSecondsPerUnit;
  const double per_epoch_max = 0.001 * models + rows_train * max_units * kSecondsPerUnit;
  const double per_trial_overhead = 0.05;
  // The whole budget goes to the search, less a reserve for ensemble selection, prediction and
  // the outputs; with --refit, the refits get the last third of it.
  plan.reserve_seconds = opts.refit ? 0.35 * opts.budget_seconds : std::min(30.0, 1.0 + 0.05 * opts.budget_seconds);
  plan.sweep_seconds = opts.budget_seconds - plan.reserve_seconds;
  const int64_t cap = plan.max_epochs;
  const std::pair<int64_t, double> choices[] = {{81, 0.39}, {27, 0.48}, {9, 0.6}, {3, 0.78}};
  double fraction = 0.78;
  plan.max_epochs = 3;
  for (const auto& [epochs, f] : choices) {
    if (epochs > cap) continue;
    if (per_trial_overhead + per_epoch_max * static_cast<double>(epochs) <= 0.5 * plan.sweep_seconds ||
        epochs == 3) {
      plan.max_epochs = epochs;
      fraction = f;
      break;
    }
  }
  plan.est_trial_seconds = per_trial_overhead + per_epoch_avg * static_cast<double>(plan.max_epochs);
  // The one-minute runs of this rule (ozone, letter, vehicle; 2 cores shared, load about 6) were
  // cut by the clock after 40%, 36% and 69% of the trials it planned; trials cost about 2.5 times
  // the estimate above, so the count divides by that.
  constexpr double kObservedOverEstimate = 2.5;
  const double avg_trial = kObservedOverEstimate * (per_trial_overhead + per_epoch_avg *
                                                                            static_cast<double>(plan.max_epochs) * fraction);
  // One second of the sweep's share goes to starting it (storage, loading the data).
  if (plan.sweep_seconds < plan.est_trial_seconds + 1.0) {
    const double need = std::ceil((plan.est_trial_seconds + 1.0) / 0.6) + 1.0;
    throw ConfigError("--time-budget " + fmt(opts.budget_seconds) + "s",
                      "too small to train one model: one trial of " + std::to_string(plan.max_epochs) +
                          " epochs on " + std::to_string(plan.rows) + " rows takes about " +
                          fmt(plan.est_trial_seconds) + " s and the sweep gets " + fmt(plan.sweep_seconds) +
                          " s of the budget; give at least " + fmt(need) + "s");
  }
  plan.expected_trials = std::max<int64_t>(1, static_cast<int64_t>(plan.sweep_seconds / avg_trial));
  if (opts.max_trials) {
    if (*opts.max_trials < 1) throw ConfigError("--trials", "must be at least 1");
    plan.max_trials = *opts.max_trials;
  } else {
    plan.max_trials = kUnboundedTrials;  // the clock ends the search
  }
  // Boosting rounds per step: about 1,000 rounds at the largest resource; early stopping after
  // about a ninth of the steps without a better validation loss.
  plan.xgboost_rounds = std::max<int64_t>(10, (1000 + plan.max_epochs - 1) / plan.max_epochs);
  plan.early_stopping_steps = std::max<int64_t>(1, plan.max_epochs / 9);
}

// k-fold for small data (every row validates once; the holdout of a few hundred rows is too noisy
// to rank configurations), holdout for larger data (its 20% is large enough, and k-fold would cost
// k-1 times the training per trial). A class with fewer rows than folds keeps the holdout.
void choose_validation(Plan& plan, const pipelines::CsvTable& train, size_t target_col,
                       const std::vector<size_t>& labelled) {
  if (plan.rows > kFoldMaxRows) {
    plan.folds = 1;
    plan.validation_reason = "more than " + std::to_string(kFoldMaxRows) + " rows";
    return;
  }
  if (plan.task == TaskKind::kClassification) {
    std::map<std::string, int64_t> counts;
    for (size_t r : labelled) ++counts[train.rows[r][target_col]];
    for (const auto& [label, n] : counts) {
      if (n < kFolds) {
        plan.folds = 1;
        plan.validation_reason = "class '" + label + "' has " + std::to_string(n) + " rows, fewer than " +
                                 std::to_string(kFolds) + " folds";
        return;
      }
    }
  }
  plan.folds = kFolds;
  plan.validation_reason = "at most " + std::to_string(kFoldMaxRows) + " rows";
}

}  // namespace

std::optional<double> parse_budget(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (auto plain = pipelines::parse_number(text)) {
    if (!std::isfinite(*plain) || *plain <= 0) return std::nullopt;
    return *plain;
  }
  double total = 0.0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.')) ++j;
    if (j == i) return std::nullopt;
    const auto num = pipelines::parse_number(text.substr(i, j - i));
    if (!num) return std::nullopt;
    size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
    const std::string unit = text.substr(j, k - j);
    double scale = 0.0;
    if (unit == "ms") scale = 0.001;
    else if (unit == "s") scale = 1.0;
    else if (unit == "m" || unit == "min") scale = 60.0;
    else if (unit == "h") scale = 3600.0;
    else return std::nullopt;
    total += *num * scale;
    i = k;
  }
  if (total <= 0) return std::nullopt;
  return total;
}

Plan plan_tabular(const pipelines::CsvTable& train, const BaselineOptions& opts) {
  Plan plan;
  const auto target_col = train.column(opts.target);
  if (!target_col) {
    std::string cols;
    for (const auto& h : train.header) cols += (cols.empty() ? "" : ", ") + h;
    throw ConfigError(train.source, "no target column '" + opts.target + "'; the columns are: " + cols);
  }
  if (opts.id) {
    if (!train.column(*opts.id)) throw ConfigError(train.source, "no id column '" + *opts.id + "' (--id)");
    if (*opts.id == opts.target) throw ConfigError("--id " + *opts.id, "is the target column");
  }

  std::vector<size_t> labelled;
  for (size_t r = 0; r < train.rows.size(); ++r) {
    if (!train.rows[r][*target_col].empty()) labelled.push_back(r);
  }
  plan.rows = static_cast<int64_t>(labelled.size());
  if (plan.rows < kMinRows) {
    throw ConfigError(train.source, "has " + std::to_string(plan.rows) + " rows with a target '" + opts.target +
                                        "'; a baseline needs at least " + std::to_string(kMinRows));
  }

  // Task and classes.
  if (opts.task) {
    plan.task = *opts.task;
    plan.task_reason = "--task";
  } else {
    plan.task = pipelines::infer_task(train, *target_col);
    plan.task_reason = plan.task == TaskKind::kClassification
                           ? "the target holds text or at most 20 distinct integers"
                           : "the target holds numbers with more than 20 distinct values or fractions";
  }
  std::set<std::string> distinct_targets;
  for (size_t r : labelled) distinct_targets.insert(train.rows[r][*target_col]);
  if (distinct_targets.size() < 2) {
    throw ConfigError(train.source + " column '" + opts.target + "'",
                      "the target has a single value ('" + *distinct_targets.begin() +
                          "'): there is nothing to learn");
  }
  if (plan.task == TaskKind::kClassification) {
    plan.classes.assign(distinct_targets.begin(), distinct_targets.end());
  } else {
    for (size_t r : labelled) {
      if (!pipelines::parse_number(train.rows[r][*target_col])) {
        throw ConfigError(train.where(r, *target_col),
                          "regression needs a numeric target, found '" + train.rows[r][*target_col] + "'");
      }
    }
  }

  // Columns.
  plan.id = opts.id;
  int64_t width = 0;
  for (size_t c = 0; c < train.header.size(); ++c) {
    const std::string& name = train.header[c];
    ColumnDecision d{name, "", ""};
    if (c == *target_col) {
      d.role = "target";
      d.reason = std::string(pipelines::to_string(plan.task)) + " (" + plan.task_reason + ")";
      plan.columns.push_back(d);
      continue;
    }
    if (plan.id && name == *plan.id) {
      plan.columns.push_back({name, "id", "--id: copied into the predictions, never a feature"});
      continue;
    }
    std::set<std::string> distinct;
    bool numeric = true, integral = true, counts_up = true;
    int64_t missing = 0;
    std::optional<double> prev;
    for (size_t r = 0; r < train.rows.size(); ++r) {
      const std::string& v = train.rows[r][c];
      if (v.empty()) {
        ++missing;
        counts_up = false;
        continue;
      }
      distinct.insert(v);
      const auto x = pipelines::parse_number(v);
      if (!x) {
        numeric = false;
        continue;
      }
      if (*x != std::floor(*x)) integral = false;
      if (prev && *x != *prev + 1.0) counts_up = false;
      prev = x;
    }
    const bool all_distinct = missing == 0 && distinct.size() == train.rows.size();
    const std::string missing_note =
        missing > 0 ? ", " + std::to_string(missing) + " missing (filled, with an indicator)" : "";
    if (distinct.size() <= 1) {
      d.role = "dropped";
      d.reason = distinct.empty() ? "no values" : "constant ('" + *distinct.begin() + "')";
    } else if (all_distinct && id_like_name(name) && !plan.id) {
      plan.id = name;
      d.role = "id";
      d.reason = "named like an identifier, all values distinct: copied into the predictions";
    } else if (all_distinct && !numeric && train.rows.size() >= 20) {
      d.role = "dropped";
      d.reason = "ID-like: text with a distinct value on every row";
    } else if (numeric && integral && counts_up && train.rows.size() >= 20) {
      d.role = "dropped";
      d.reason = "ID-like: integers counting up by one per row (a row number)";
    } else if (numeric) {
      d.role = "numeric";
      d.reason = std::to_string(distinct.size()) + " distinct values" + missing_note;
      width += 1;
    } else {
      d.role = "categorical";
      d.reason = std::to_string(distinct.size()) + " levels, " +
                 (distinct.size() <= 20 ? "one-hot" : "hashed into 32 buckets") + missing_note;
      width += std::min<int64_t>(static_cast<int64_t>(distinct.size()), 32);
    }
    if (d.role == "dropped") plan.drop.push_back(name);
    plan.columns.push_back(d);
  }
  if (width == 0) throw ConfigError(train.source, "no usable feature column is left (see the column summary)");
  plan.feature_columns = width;

  plan.metric = opts.metric.value_or(plan.task == TaskKind::kClassification ? "accuracy" : "rmse");
  plan.direction = check_metric(plan.metric, plan.task, plan.classes.size());
  plan.split = 0.2;
  choose_validation(plan, train, *target_col, labelled);
  plan.max_epochs = plan.rows <= 3000 ? 81 : plan.rows <= 100000 ? 27 : 9;
  derive_budget(plan, opts);
  return plan;
}

Plan plan_images(int64_t count, int64_t pixels, const std::vector<uint8_t>& labels, const BaselineOptions& opts,
                 const std::string& labels_path) {
  Plan plan;
  plan.images = true;
  plan.task = TaskKind::kClassification;
  plan.task_reason = "image labels";
  plan.rows = count;
  plan.feature_columns = pixels;
  if (count < kMinRows) {
    throw ConfigError(labels_path, "has " + std::to_string(count) + " labels; a baseline needs at least " +
                                       std::to_string(kMinRows));
  }
  std::set<int> distinct(labels.begin(), labels.end());
  if (distinct.size() < 2) {
    throw ConfigError(labels_path, "every image has the same label: there is nothing to learn");
  }
  for (int v : distinct) plan.classes.push_back(std::to_string(v));
  if (opts.task && *opts.task != TaskKind::kClassification) {
    throw ConfigError("--task regression", "image sets are classification only");
  }
  plan.metric = opts.metric.value_or("accuracy");
  plan.direction = check_metric(plan.metric, plan.task, plan.classes.size());
  plan.split = 0.2;
  plan.validation_reason = "image sets use a holdout";
  plan.max_epochs = count <= 20000 ? 27 : 9;
  derive_budget(plan, opts);
  return plan;
}

std::string sweep_yaml(const Plan& plan, const SweepPaths& paths, const BaselineOptions& opts,
                       const std::string& name) {
  std::ostringstream y;
  y << "# Generated by `hypertune baseline`: the sweep it ran (rerun with `hypertune run`).\n";
  y << "name: " << quoted(name) << "\n";
  y << "seed: " << opts.seed << "\n";
  y << "objective:\n  metric: " << plan.metric << "\n  direction: "
    << (plan.direction == search::Direction::kMaximize ? "maximize" : "minimize") << "\n";
  y << "max_trials: " << plan.max_trials << "\n";
  y << "timeout: " << std::max<int64_t>(1, static_cast<int64_t>(plan.sweep_seconds * 1000)) << "ms\n";
  y << "on_timeout: stop\n";
  y << "storage: " << quoted(paths.storage) << "\n";
  y << "space:\n";
  if (plan.images) {
    y << "  blocks: {type: int, low: 1, high: 3}\n";
    y << "  channels: {type: categorical, values: [16, 32, 64]}\n";
    y << "  dense: {type: categorical, values: [0, 64, 128, 256]}\n";
    y << "  activation: {type: categorical, values: [relu, gelu, silu]}\n";
    y << "  dropout: {type: float, low: 0.0, high: 0.4}\n";
    y << "  optimizer: {type: categorical, values: [adamw, adam, sgd]}\n";
    y << "  lr: {type: float, low: 1.0e-4, high: 3.0e-2, log: true}\n";
    y << "  weight_decay: {type: float, low: 1.0e-6, high: 1.0e-2, log: true}\n";
    y << "  batch_size: {type: categorical, values: [32, 64, 128, 256]}\n";
  } else {
    // One conditional space over three families: each family's parameters exist only in its
    // trials, and the pipeline section leaves out the keys of the others (docs/pipelines.md).
    const std::string xgb = ", when: {family: xgboost}}\n";
    const std::string mlp = ", when: {family: mlp}}\n";
    const std::string net = ", when: {family: [mlp, linear]}}\n";
    y << "  family: {type: categorical, values: [xgboost, mlp, linear]}\n";
    y << "  rounds: {type: categorical, values: [" << plan.xgboost_rounds << "]" << xgb;
    y << "  early_stopping: {type: categorical, values: [" << plan.early_stopping_steps << "]" << xgb;
    y << "  eta: {type: float, low: 0.01, high: 0.3, log: true" << xgb;
    y << "  max_depth: {type: int, low: 2, high: 10" << xgb;
    y << "  min_child_weight: {type: float, low: 0.5, high: 20.0, log: true" << xgb;
    y << "  subsample: {type: float, low: 0.5, high: 1.0" << xgb;
    y << "  colsample_bytree: {type: float, low: 0.4, high: 1.0" << xgb;
    y << "  lambda: {type: float, low: 1.0e-3, high: 10.0, log: true" << xgb;
    y << "  alpha: {type: float, low: 1.0e-3, high: 10.0, log: true" << xgb;
    y << "  layers: {type: int, low: 1, high: 4" << mlp;
    y << "  width: {type: categorical, values: [64, 128, 256, 512]" << mlp;
    y << "  activation: {type: categorical, values: [relu, gelu, silu]" << mlp;
    y << "  dropout: {type: float, low: 0.0, high: 0.4" << mlp;
    y << "  optimizer: {type: categorical, values: [adamw, adam, sgd]" << net;
    y << "  lr: {type: float, low: 1.0e-4, high: 3.0e-2, log: true" << net;
    y << "  weight_decay: {type: float, low: 1.0e-6, high: 1.0e-2, log: true" << net;
    y << "  batch_size: {type: categorical, values: [32, 64, 128, 256]" << net;
  }
  if (!plan.images) {
    // Each family's library defaults run first, so a strong cheap model is in hand whatever the
    // sampler tries next (as FLAML and AutoGluon start from defaults).
    y << "enqueue:\n";
    y << "  - {family: xgboost, rounds: " << plan.xgboost_rounds << ", early_stopping: " << plan.early_stopping_steps
      << ", eta: 0.1, max_depth: 6, min_child_weight: 1.0, subsample: 0.8, colsample_bytree: 0.8, lambda: 1.0,"
         " alpha: 0.001}\n";
    y << "  - {family: mlp, layers: 2, width: 256, activation: relu, dropout: 0.1, optimizer: adamw, lr: 0.001,"
         " weight_decay: 0.0001, batch_size: 64}\n";
    y << "  - {family: linear, optimizer: adamw, lr: 0.01, weight_decay: 0.0001, batch_size: 64}\n";
  }
  y << "sampler: tpe\n";
  y << "pruner:\n  type: hyperband\n  mode: stopping\n  min_resource: 1\n  max_resource: " << plan.max_epochs
    << "\n  reduction_factor: 3\n";
  y << "trial:\n  pipeline:\n    data:\n";
  if (plan.images) {
    y << "      format: idx\n      train_images: " << quoted(paths.train) << "\n      train_labels: "
      << quoted(paths.labels.value_or("")) << "\n";
  } else {
    y << "      format: csv\n      train: " << quoted(paths.train) << "\n      target: " << quoted(opts.target)
      << "\n";
    if (plan.id) y << "      id: " << quoted(*plan.id) << "\n";
    if (!plan.drop.empty()) {
      y << "      drop: [";
      for (size_t i = 0; i < plan.drop.size(); ++i) y << (i ? ", " : "") << quoted(plan.drop[i]);
      y << "]\n";
    }
  }
  if (plan.folds > 1)
    y << "      folds: " << plan.folds << "\n";
  else
    y << "      split: " << plan.split << "\n";
  y << "      stratify: true\n      split_seed: " << opts.seed << "\n";
  y << "    task: " << pipelines::to_string(plan.task) << "\n";
  if (plan.images) {
    y << "    model:\n      type: cnn\n      blocks: \"{blocks}\"\n      channels: \"{channels}\"\n"
         "      dense: \"{dense}\"\n      activation: \"{activation}\"\n      dropout: \"{dropout}\"\n";
  } else {
    y << "    model:\n      type: \"{family}\"\n";
    for (const char* key : {"rounds", "early_stopping", "eta", "max_depth", "min_child_weight", "subsample",
                            "colsample_bytree", "lambda", "alpha", "layers", "width", "activation", "dropout"})
      y << "      " << key << ": \"{" << key << "}\"\n";
  }
  y << "    optimizer:\n      type: \"{optimizer}\"\n      lr: \"{lr}\"\n      weight_decay: \"{weight_decay}\"\n";
  y << "    schedule:\n      type: cosine\n";
  y << "    batch_size: \"{batch_size}\"\n";
  y << "    epochs: " << plan.max_epochs << "\n";
  return y.str();
}

std::string plan_summary(const Plan& plan, const BaselineOptions& opts) {
  std::ostringstream s;
  s << "Task: " << pipelines::to_string(plan.task) << " (" << plan.task_reason << ")";
  if (plan.task == TaskKind::kClassification) s << ", " << plan.classes.size() << " classes";
  s << "\nMetric: " << plan.metric << (opts.metric ? " (--metric)" : " (default for the task)") << ", "
    << (plan.direction == search::Direction::kMaximize ? "higher" : "lower") << " is better\n";
  if (plan.folds > 1)
    s << "Validation: " << plan.folds << "-fold cross-validation of " << plan.rows << " rows ("
      << plan.validation_reason << "), a trial scores the mean over folds";
  else
    s << "Validation: holdout of " << static_cast<int>(plan.split * 100) << "% of " << plan.rows << " rows ("
      << plan.validation_reason << ")";
  s << (plan.task == TaskKind::kClassification ? ", stratified" : "") << ", split seed " << opts.seed << "\n";
  s << "Search: TPE over "
    << (plan.images ? "CNNs (1-3 conv blocks)"
                    : "gradient-boosted trees (xgboost, " + std::to_string(plan.xgboost_rounds) +
                          " rounds a step), MLPs (1-4 hidden layers) and linear models")
    << ", Hyperband over 1.." << plan.max_epochs << " steps; ";
  if (opts.max_trials)
    s << plan.max_trials << " trials (--trials), the " << fmt(opts.budget_seconds) << " s budget a safety stop\n";
  else
    s << "trials until " << fmt(plan.sweep_seconds) << " s of the " << fmt(opts.budget_seconds)
      << " s budget (about " << plan.expected_trials << " by the planning rule)\n";
  if (!plan.columns.empty()) {
    s << "Columns:\n";
    for (const auto& c : plan.columns) s << "  " << c.name << ": " << c.role << " - " << c.reason << "\n";
  }
  return s.str();
}

}  // namespace hypertune::cli::baseline
