// `hypertune baseline --train train.csv --target COLUMN [--test test.csv] --out DIR`: the AutoML
// baseline. It plans a sweep (cli/baseline_plan.h), writes it as DIR/sweep.yaml, runs it with the
// same in-process executor as `hypertune run`, refits the best configuration on every training row
// and predicts the test file. Everything is written into a hidden sibling directory that is renamed
// to DIR only when complete, so a failure never leaves a finished-looking result behind.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/baseline_plan.h"
#include "cli/commands.h"
#include "cli/local_executor.h"
#include "cli/report.h"
#include "cli/study_setup.h"
#include "cli/study_view.h"
#include "pipelines/csv.h"
#include "pipelines/idx.h"
#include "scheduler/sha256.h"
#include "search/error.h"
#ifdef HYPERTUNE_WITH_PIPELINES
#include "pipelines/predict.h"
#include "pipelines/trainer.h"
#endif

#ifndef HYPERTUNE_VERSION
#define HYPERTUNE_VERSION "0.0.0"
#endif

namespace hypertune::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BaselineArgs {
  std::string train, target, out;
  std::optional<std::string> test, id, task, metric, train_images, train_labels, test_images;
  std::string budget = "10m";
  int workers = 1;
  uint64_t seed = 0;
  std::optional<int64_t> max_trials;
  bool quiet = false;
};

// Removes the partial output directory unless the run got to the final rename.
struct PartialDir {
  fs::path path;
  bool keep = false;
  ~PartialDir() {
    if (keep || path.empty()) return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ConfigError(path, "cannot be read");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) throw Error("cannot write " + path.string());
}

void warn(const std::string& msg) { std::fprintf(stderr, "warning: %s\n", msg.c_str()); }

// The test file may hold the training columns (the id among them) and nothing else; the target is
// dropped with a warning. Returns the table to predict from.
pipelines::CsvTable checked_test(const pipelines::CsvTable& train, pipelines::CsvTable test,
                                 const baseline::Plan& plan, const std::string& target) {
  std::set<std::string> known(train.header.begin(), train.header.end());
  std::vector<std::string> other;
  for (const auto& h : test.header) {
    if (!known.count(h)) other.push_back(h);
  }
  if (!other.empty()) {
    std::string names;
    for (const auto& o : other) names += (names.empty() ? "'" : ", '") + o + "'";
    throw ConfigError(test.source, "has columns the training file does not: " + names +
                                       " (the test file must hold the training columns without the target)");
  }
  std::vector<std::string> missing;
  for (const auto& c : plan.columns) {
    if ((c.role == "numeric" || c.role == "categorical") && !test.column(c.name)) missing.push_back(c.name);
  }
  if (!missing.empty()) {
    std::string names;
    for (const auto& m : missing) names += (names.empty() ? "'" : ", '") + m + "'";
    throw ConfigError(test.source, "lacks the feature columns " + names);
  }
  if (test.rows.empty()) throw ConfigError(test.source, "has no rows to predict");
  if (auto t = test.column(target)) {
    warn(test.source + " has the target column '" + target +
         "': it was dropped and never read (predictions use the features only)");
    test.header.erase(test.header.begin() + static_cast<std::ptrdiff_t>(*t));
    for (auto& row : test.rows) row.erase(row.begin() + static_cast<std::ptrdiff_t>(*t));
  }
  return test;
}

std::string score_text(const std::optional<double>& v) {
  if (!v) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", *v);
  return buf;
}

std::string json_scalar_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Every trial with its parameters and validation score (the last reported one for pruned
// trials), best first; trials without a score last.
void write_leaderboard(const fs::path& path, const StoredStudy& st, const std::string& metric) {
  std::set<std::string> names;
  std::vector<nlohmann::json> params;
  for (const auto& t : st.trials) {
    params.push_back(params_json(st.space(), t.trial.params));
    for (auto it = params.back().begin(); it != params.back().end(); ++it) names.insert(it.key());
  }
  std::vector<size_t> order(st.trials.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto score = [&](size_t i) -> std::optional<double> {
    const auto& t = st.trials[i].trial;
    if (t.state == search::TrialState::kComplete) return t.value;
    if (t.state == search::TrialState::kPruned) {
      if (auto r = t.last_report()) return r->second;
    }
    return std::nullopt;
  };
  auto group = [&](size_t i) {
    const auto s = st.trials[i].trial.state;
    return s == search::TrialState::kComplete ? 0 : s == search::TrialState::kPruned ? 1 : 2;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (group(a) != group(b)) return group(a) < group(b);
    const auto sa = score(a), sb = score(b);
    if (sa.has_value() != sb.has_value()) return sa.has_value();
    if (!sa) return false;
    return search::to_loss(st.record.direction, *sa) < search::to_loss(st.record.direction, *sb);
  });
  std::vector<std::string> header{"rank", "trial", "state", metric, "epochs"};
  header.insert(header.end(), names.begin(), names.end());
  std::vector<std::vector<std::string>> rows;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    const auto& t = st.trials[i].trial;
    const auto last = t.last_report();
    std::vector<std::string> row{std::to_string(k + 1), std::to_string(t.number), search::to_string(t.state),
                                 score_text(score(i)), last ? std::to_string(last->first) : "0"};
    for (const auto& n : names) row.push_back(params[i].contains(n) ? json_scalar_text(params[i][n]) : "");
    rows.push_back(std::move(row));
  }
  pipelines::write_csv(path.string(), header, rows);
}

void write_report_html(const fs::path& path, const StoredStudy& st) {
  write_text(path, render_report(ReportInput{st.record, st.space(), st.trials, st.config->sampler.type,
                                             st.config->pruner.type}));
}

nlohmann::json file_info(const std::string& path) {
  return {{"path", fs::absolute(path).string()}, {"sha256", scheduler::sha256_hex(read_bytes(path))}};
}

#ifdef HYPERTUNE_WITH_PIPELINES

// Keeps the id column and `prediction` (and the class probabilities when asked) of predict()'s
// output, in the same order.
void write_predictions(const fs::path& model_dir, const std::string& input, const fs::path& raw,
                       const fs::path& out, bool probabilities) {
  pipelines::predict(model_dir.string(), input, raw.string());
  const auto table = pipelines::read_csv(raw.string());
  std::vector<size_t> keep;
  for (size_t c = 0; c < table.header.size(); ++c) {
    if (probabilities || table.header[c].rfind("proba_", 0) != 0) keep.push_back(c);
  }
  std::vector<std::string> header;
  for (size_t c : keep) header.push_back(table.header[c]);
  std::vector<std::vector<std::string>> rows;
  rows.reserve(table.rows.size());
  for (const auto& r : table.rows) {
    std::vector<std::string> row;
    for (size_t c : keep) row.push_back(r[c]);
    rows.push_back(std::move(row));
  }
  pipelines::write_csv(out.string(), header, rows);
  fs::remove(raw);
}

void run_baseline(const BaselineArgs& a) {
  const auto t0 = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };

  baseline::BaselineOptions opts;
  const auto budget = baseline::parse_budget(a.budget);
  if (!budget) {
    throw ConfigError("--time-budget " + a.budget, "expected a duration such as 90s, 10m, 1h30m or seconds");
  }
  opts.budget_seconds = *budget;
  opts.seed = a.seed;
  opts.target = a.target;
  opts.id = a.id;
  opts.metric = a.metric;
  opts.max_trials = a.max_trials;
  if (a.task) {
    if (*a.task == "classification") opts.task = pipelines::TaskKind::kClassification;
    else if (*a.task == "regression") opts.task = pipelines::TaskKind::kRegression;
    else throw ConfigError("--task " + *a.task, "expected classification or regression");
  }
  const bool images = a.train_images.has_value();
  if (images == !a.train.empty()) {
    throw ConfigError("baseline", "give either --train (CSV) or --train-images with --train-labels (IDX)");
  }
  if (images && !a.train_labels) throw ConfigError("--train-images", "needs --train-labels");
  if (!images && a.target.empty()) throw ConfigError("--train", "needs --target COLUMN");

  const fs::path out = fs::absolute(a.out).lexically_normal();
  if (fs::exists(out) && !(fs::is_directory(out) && fs::is_empty(out))) {
    throw ConfigError("--out " + a.out, "already exists and is not empty; choose another directory");
  }
  const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::current_path();
  fs::create_directories(parent);
  PartialDir partial{parent / ("." + out.filename().string() + ".partial-" + std::to_string(::getpid()))};
  fs::remove_all(partial.path);
  fs::create_directories(partial.path);
  const fs::path dir = partial.path;

  // Plan.
  baseline::Plan plan;
  baseline::SweepPaths paths;
  paths.storage = (dir / "study.db").string();
  std::optional<std::string> predict_input;
  nlohmann::json data_json;
  if (images) {
    const auto labels = pipelines::read_idx(*a.train_labels);
    const auto head = pipelines::read_idx(*a.train_images);
    if (head.count() != labels.count()) {
      throw ConfigError(*a.train_images, "holds " + std::to_string(head.count()) + " images but " +
                                             *a.train_labels + " holds " + std::to_string(labels.count()) +
                                             " labels");
    }
    plan = baseline::plan_images(labels.count(), head.item_size(), labels.data, opts, *a.train_labels);
    paths.train = fs::absolute(*a.train_images).string();
    paths.labels = fs::absolute(*a.train_labels).string();
    data_json["train_images"] = file_info(*a.train_images);
    data_json["train_labels"] = file_info(*a.train_labels);
    if (a.test_images) {
      predict_input = fs::absolute(*a.test_images).string();
      data_json["test_images"] = file_info(*a.test_images);
    }
  } else {
    const auto train = pipelines::read_csv(a.train);
    plan = baseline::plan_tabular(train, opts);
    paths.train = fs::absolute(a.train).string();
    data_json["train"] = file_info(a.train);
    data_json["train"]["rows"] = train.rows.size();
    if (a.test) {
      const auto test = checked_test(train, pipelines::read_csv(*a.test), plan, a.target);
      const fs::path input = dir / "test_input.csv";
      pipelines::write_csv(input.string(), test.header, test.rows);
      predict_input = input.string();
      data_json["test"] = file_info(*a.test);
      data_json["test"]["rows"] = test.rows.size();
    }
  }
  if (!a.quiet) {
    std::printf("%s", baseline::plan_summary(plan, opts).c_str());
    std::fflush(stdout);
  }

  // The sweep: an ordinary config file, run by the executor behind `hypertune run`.
  const fs::path sweep_path = dir / "sweep.yaml";
  write_text(sweep_path, baseline::sweep_yaml(plan, paths, opts, "baseline-" + out.filename().string()));
  std::atomic<bool> stop{false};
  bool stopped_by_budget = false;
  {
    OpenedStudy s = open_study(sweep_path.string(), std::nullopt, std::nullopt);
    // Safety stop: the sweep's own timeout ends it at 60% of the budget; this also cuts trials
    // still running at 70%, so refit and prediction keep their share.
    std::mutex mu;
    std::condition_variable cv;
    bool finished = false;
    std::thread watchdog([&] {
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, std::chrono::duration<double>(0.7 * opts.budget_seconds - elapsed()),
                       [&] { return finished; })) {
        stop.store(true);
      }
    });
    LocalRunOptions ro;
    ro.slots = a.workers;
    ro.trial = s.config->trial;
    ro.work_dir = s.config->config_dir.string();
    ro.artifacts_dir = s.artifacts_dir;
    ro.threads_per_trial = 1;
    ro.stop = &stop;
    (void)run_in_process(*s.study, ro);
    {
      std::lock_guard lock(mu);
      finished = true;
    }
    cv.notify_all();
    watchdog.join();
    const auto p = s.study->progress();
    stopped_by_budget = stop.load() || p.complete + p.pruned + p.failed < plan.max_trials;
  }
  const StoredStudy st = load_stored_study(paths.storage);
  const auto* best = st.best();
  int64_t complete = 0, pruned = 0, failed = 0;
  for (const auto& t : st.trials) {
    complete += t.trial.state == search::TrialState::kComplete;
    pruned += t.trial.state == search::TrialState::kPruned;
    failed += t.trial.state == search::TrialState::kFail;
  }
  if (!best) {
    std::string why = "the time budget ran out before any model finished training";
    for (const auto& t : st.trials) {
      if (t.trial.state == search::TrialState::kFail && !t.fail_reason.empty()) {
        why = "no trial completed; trial " + std::to_string(t.trial.number) + " failed: " + t.fail_reason;
        break;
      }
    }
    throw ConfigError("--time-budget " + a.budget, why + " (nothing was written to " + out.string() + ")");
  }
  const auto best_params = params_json(st.space(), best->trial.params);
  const int64_t best_epochs = best->trial.last_report() ? best->trial.last_report()->first : plan.max_epochs;
  if (!a.quiet) {
    std::printf("Sweep: %zu trials (%lld complete, %lld pruned, %lld failed) in %.1f s; best trial #%lld: %s = %.6g\n",
                st.trials.size(), static_cast<long long>(complete), static_cast<long long>(pruned),
                static_cast<long long>(failed), elapsed(), static_cast<long long>(best->trial.number),
                plan.metric.c_str(), *best->trial.value);
  }

  // Refit on every training row (the training file doubles as the validation file, so no row is
  // held out), when the best trial's own time says it fits before 93% of the budget. Otherwise
  // the best trial's model, trained on the 80% split, is the result.
  const fs::path best_model = fs::path(paths.storage + ".artifacts") /
                              ("trial-" + std::to_string(best->trial.number)) / "model";
  nlohmann::json refit = {{"done", false}, {"epochs", best_epochs}};
  const double best_seconds = static_cast<double>(best->finished_ms - best->started_ms) / 1000.0;
  const double refit_estimate = best_seconds / (1.0 - plan.split) * 1.2 + 0.5;
  const double refit_deadline = 0.93 * opts.budget_seconds;
  fs::path model_src = best_model;
  if (images) {
    refit["reason"] = "image sets keep the best trial's model (trained on the 80% split)";
  } else if (elapsed() + refit_estimate > refit_deadline) {
    refit["reason"] = "not enough budget left: refit estimated at " + score_text(refit_estimate) + " s";
  } else {
    pipelines::TrainRequest req;
    req.pipeline = st.config->trial.at("pipeline");
    req.pipeline["data"]["validation"] = paths.train;
    req.params = best_params;
    req.metric = plan.metric;
    req.seed = best->trial.seed;
    req.max_epochs = best_epochs;
    req.checkpoint_dir = (dir / "refit").string();
    req.base_dir = dir.string();
    req.threads = 1;
    const auto result = pipelines::train(
        req, [](int64_t, const nlohmann::json&) { return pipelines::EpochVerdict{}; },
        [&] { return elapsed() > refit_deadline; });
    if (result.kind == pipelines::TrainResult::Kind::kComplete && result.model_dir) {
      model_src = *result.model_dir;
      refit["done"] = true;
      refit["reason"] = "best configuration retrained on every training row";
    } else {
      refit["reason"] = result.kind == pipelines::TrainResult::Kind::kFailed
                            ? "refit failed: " + result.error
                            : "refit stopped at the budget's refit deadline";
      warn(refit["reason"].get<std::string>() + "; keeping the best trial's model");
    }
  }
  fs::copy(model_src, dir / "model", fs::copy_options::recursive);

  if (predict_input) {
    write_predictions(dir / "model", *predict_input, dir / "predictions.raw.csv", dir / "predictions.csv",
                      plan.metric == "roc_auc");
    fs::remove(dir / "test_input.csv");
  }
  write_leaderboard(dir / "leaderboard.csv", st, plan.metric);
  write_report_html(dir / "report.html", st);

  nlohmann::json j;
  j["task"] = pipelines::to_string(plan.task);
  j["metric"] = plan.metric;
  j["direction"] = plan.direction == search::Direction::kMaximize ? "maximize" : "minimize";
  j["validation"] = {{"scheme", "holdout"},
                     {"fraction", plan.split},
                     {"stratified", plan.task == pipelines::TaskKind::kClassification},
                     {"split_seed", opts.seed}};
  j["validation_score"] = *best->trial.value;
  j["best_trial"] = best->trial.number;
  j["best_params"] = best_params;
  j["refit"] = refit;
  j["trials"] = {{"planned", plan.max_trials},
                 {"total", st.trials.size()},
                 {"complete", complete},
                 {"pruned", pruned},
                 {"failed", failed}};
  j["max_epochs"] = plan.max_epochs;
  j["stopped_by_budget"] = stopped_by_budget;
  j["budget_seconds"] = opts.budget_seconds;
  j["seed"] = opts.seed;
  j["workers"] = a.workers;
  j["data"] = data_json;
  if (plan.id) j["id_column"] = *plan.id;
  if (!images) j["target"] = a.target;
  j["dropped_columns"] = plan.drop;
  if (!plan.classes.empty()) j["classes"] = plan.classes;
  j["versions"] = {{"hypertune", HYPERTUNE_VERSION}, {"compiler", __VERSION__}};
  std::error_code ec;
  fs::remove_all(paths.storage + ".artifacts", ec);
  fs::remove_all(dir / "refit", ec);
  j["budget_used_seconds"] = elapsed();
  write_text(dir / "baseline.json", j.dump(2) + "\n");

  if (fs::exists(out)) fs::remove(out);  // an empty directory, checked above
  fs::rename(dir, out);
  partial.keep = true;
  if (!a.quiet) {
    std::printf("Validation %s: %.6g (%s); wrote %s in %.1f s of %.0f s\n", plan.metric.c_str(),
                *best->trial.value, refit["done"].get<bool>() ? "refit on all rows" : "best trial's model",
                out.string().c_str(), elapsed(), opts.budget_seconds);
  }
}

#endif  // HYPERTUNE_WITH_PIPELINES

}  // namespace

void add_baseline_command(CLI::App& app) {
  auto a = std::make_shared<BaselineArgs>();
  auto* cmd = app.add_subcommand(
      "baseline", "AutoML baseline: plan and run a sweep on a CSV or IDX image set, refit the best model, "
                  "predict the test file (docs/baseline.md)");
  cmd->add_option("--train", a->train, "Training CSV")->check(CLI::ExistingFile);
  cmd->add_option("--target", a->target, "Target column of the training CSV");
  cmd->add_option("--test", a->test, "Test CSV to predict (the training columns, no target)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--id", a->id, "Identifier column copied into predictions.csv (default: detected)");
  cmd->add_option("--task", a->task, "classification or regression (default: inferred)");
  cmd->add_option("--metric", a->metric, "accuracy, f1_macro, roc_auc, rmse, mae or r2 (default by task)");
  cmd->add_option("--time-budget", a->budget, "Wall-clock budget, a hard limit (default 10m)")->capture_default_str();
  cmd->add_option("-w,--workers", a->workers, "Trials trained at once in this process (1: deterministic)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--seed", a->seed, "Seed of the split, the sampler and every trial")->capture_default_str();
  cmd->add_option("--max-trials", a->max_trials, "Trial count (default: derived from data size and budget)");
  cmd->add_option("--train-images", a->train_images, "Training images (IDX)")->check(CLI::ExistingFile);
  cmd->add_option("--train-labels", a->train_labels, "Training labels (IDX)")->check(CLI::ExistingFile);
  cmd->add_option("--test-images", a->test_images, "Test images to predict (IDX)")->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", a->out, "Output directory (must not exist or be empty)")->required();
  cmd->add_flag("-q,--quiet", a->quiet, "Print only warnings and errors");
  cmd->callback([a] {
#ifdef HYPERTUNE_WITH_PIPELINES
    run_baseline(*a);
#else
    throw ConfigError("baseline", "this hypertune was built without LibTorch (HYPERTUNE_WITH_TORCH=OFF)");
#endif
  });
}

}  // namespace hypertune::cli
