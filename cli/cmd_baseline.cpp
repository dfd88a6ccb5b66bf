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
#include "protocol/keys.h"
#include "scheduler/dispatcher.h"
#include "scheduler/sha256.h"
#include "base/error.h"
#ifdef HYPERTUNE_WITH_PIPELINES
#include "pipelines/metrics.h"
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
  std::optional<std::string> connect, keys, allow, endpoint_file;
  bool insecure = false;
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

// The top-k ensemble decision: the best-scoring mean of the 2, 3, ... kEnsembleSize best complete
// trials' validation outputs, against the best trial's own outputs scored the same way.
constexpr size_t kEnsembleSize = 5;

struct EnsembleChoice {
  bool use = false;
  size_t k = 0;
  std::optional<double> ensemble_score, single_score;
  std::vector<std::pair<size_t, double>> tried;  // (members, score) of each prefix of the ranking
  std::string reason, summary;
  nlohmann::json to_json() const {
    nlohmann::json j = {{"chosen", use ? "ensemble" : "single"}, {"k", k}, {"reason", reason}};
    j["tried"] = nlohmann::json::array();
    for (const auto& [n, score] : tried) j["tried"].push_back({{"k", n}, {"score", score}});
    j["ensemble_score"] = ensemble_score ? nlohmann::json(*ensemble_score) : nlohmann::json(nullptr);
    j["single_score"] = single_score ? nlohmann::json(*single_score) : nlohmann::json(nullptr);
    return j;
  }
};

// Validation outputs of a trial's export: rows x columns outputs and the truth of each row.
struct ValidationOutputs {
  int64_t rows = 0, columns = 0;
  std::vector<float> outputs;
  std::vector<double> truth;
};

ValidationOutputs read_validation(const fs::path& path) {
  ValidationOutputs v;
  for (auto& t : pipelines::read_tensor_file(path.string())) {
    if (t.name == "outputs" && t.shape.size() == 2) {
      v.rows = t.shape[0];
      v.columns = t.shape[1];
      v.outputs.assign(t.values.begin(), t.values.end());
    } else if (t.name == "truth") {
      v.truth = std::move(t.values);
    }
  }
  if (v.rows == 0 || static_cast<int64_t>(v.truth.size()) != v.rows)
    throw ConfigError(path.string(), "not a validation output file (outputs and truth of the same rows)");
  return v;
}

// The plan's metric of validation outputs.
double score_outputs(const ValidationOutputs& v, const baseline::Plan& plan) {
  nlohmann::json m;
  if (plan.task == pipelines::TaskKind::kClassification) {
    std::vector<int64_t> labels(v.truth.begin(), v.truth.end());
    m = pipelines::classification_metrics(v.outputs.data(), v.rows, v.columns, labels.data());
  } else {
    std::vector<float> truth(v.truth.begin(), v.truth.end());
    m = pipelines::regression_metrics(v.outputs.data(), truth.data(), v.rows, 0.0, 1.0);
  }
  return m.at(plan.metric).get<double>();
}

template <typename ModelOf>
EnsembleChoice choose_ensemble(const std::vector<const scheduler::TrialRecord*>& ranked, const ModelOf& model_of,
                               const baseline::Plan& plan) {
  EnsembleChoice c;
  c.k = std::min(kEnsembleSize, ranked.size());
  if (c.k < 2) {
    c.reason = "fewer than 2 complete trials";
    c.summary = "Ensemble: not evaluated (" + c.reason + ")";
    return c;
  }
  std::vector<ValidationOutputs> outs;
  for (size_t i = 0; i < c.k; ++i) {
    const fs::path p = model_of(*ranked[i]) / "validation.pt";
    if (!fs::exists(p)) {
      c.reason = "trial " + std::to_string(ranked[i]->trial.number) + " has no validation outputs";
      c.summary = "Ensemble: not evaluated (" + c.reason + ")";
      return c;
    }
    outs.push_back(read_validation(p));
    if (outs.back().rows != outs[0].rows || outs.back().columns != outs[0].columns ||
        outs.back().truth != outs[0].truth) {
      c.reason = "trial " + std::to_string(ranked[i]->trial.number) + " was validated on other rows";
      c.summary = "Ensemble: not evaluated (" + c.reason + ")";
      return c;
    }
  }
  // Every prefix of the ranking from 2 to k members; the best-scoring one is the candidate.
  const bool maximize = plan.direction == search::Direction::kMaximize;
  c.single_score = score_outputs(outs[0], plan);
  ValidationOutputs sum = outs[0];
  size_t best_k = 0;
  for (size_t n = 2; n <= outs.size(); ++n) {
    for (size_t j = 0; j < sum.outputs.size(); ++j) sum.outputs[j] += outs[n - 1].outputs[j];
    ValidationOutputs mean = sum;
    for (auto& v : mean.outputs) v /= static_cast<float>(n);
    const double score = score_outputs(mean, plan);
    c.tried.push_back({n, score});
    if (!c.ensemble_score || (maximize ? score > *c.ensemble_score : score < *c.ensemble_score)) {
      c.ensemble_score = score;
      best_k = n;
    }
  }
  c.k = best_k;
  c.use = maximize ? *c.ensemble_score > *c.single_score : *c.ensemble_score < *c.single_score;
  c.reason = c.use ? "the mean of the top " + std::to_string(c.k) + " scores better than the best trial"
                   : "the best trial alone scores at least as well as the mean of the top " + std::to_string(c.k);
  c.summary = "Ensemble of the top " + std::to_string(c.k) + ": " + plan.metric + " = " +
              score_text(*c.ensemble_score) + " against " + score_text(*c.single_score) + " for the best trial: " +
              (c.use ? "using the ensemble" : "using the best trial");
  return c;
}

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
  if (a.connect) {
    if (a.workers != 1) throw ConfigError("--connect", "trains on `hypertune worker` processes; drop --workers");
    if (a.keys.has_value() != a.allow.has_value()) {
      throw ConfigError(a.keys ? "--allow" : "--keys",
                        "CURVE needs both the baseline's secret key (--keys) and the workers' public keys (--allow)");
    }
    if (!a.keys && !a.insecure && !scheduler::is_loopback_endpoint(*a.connect)) {
      throw ConfigError("--connect", "'" + *a.connect +
                                         "' is reachable from other machines, and without CURVE keys anyone could "
                                         "connect: give --keys and --allow (see `hypertune keygen`), or --insecure");
    }
  } else if (a.keys || a.allow || a.endpoint_file || a.insecure) {
    throw ConfigError(a.keys ? "--keys" : a.allow ? "--allow" : a.endpoint_file ? "--endpoint-file" : "--insecure",
                      "only applies with --connect");
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
  bool stopped_by_budget = false;
  {
    OpenedStudy s = open_study(sweep_path.string(), std::nullopt, std::nullopt);
    // The sweep's own timeout (on_timeout: stop) is the hard stop: trials still running at it
    // are cut, so refit and prediction keep their share of the budget.
    if (a.connect) {
      // Worker processes train the trials: this process serves the sweep at --connect.
      scheduler::DispatcherOptions dopts;
      dopts.bind = *a.connect;
      if (a.keys) {
        const auto pair = protocol::load_secret_key(*a.keys, "--keys");
        dopts.curve =
            scheduler::CurveServerOptions{pair.secret_z85, protocol::load_allow_list(*a.allow, "--allow")};
      }
      dopts.trial = s.config->trial;
      dopts.work_dir = s.config->config_dir.string();
      dopts.artifacts_dir = fs::absolute(s.artifacts_dir).lexically_normal().string();
      dopts.threads_per_trial = 1;
      std::unique_ptr<scheduler::Dispatcher> dispatcher;
      try {
        dispatcher = std::make_unique<scheduler::Dispatcher>(*s.study, *s.store, std::move(dopts));
      } catch (const ConfigError&) {
        throw;
      } catch (const Error& e) {
        throw ConfigError("--connect " + *a.connect, e.what());
      }
      if (a.endpoint_file) write_text(*a.endpoint_file, dispatcher->endpoint() + "\n");
      if (!a.quiet) {
        std::printf("Serving the sweep at %s%s; start workers with: hypertune worker --connect %s\n",
                    dispatcher->endpoint().c_str(), a.keys ? " (CURVE)" : "", dispatcher->endpoint().c_str());
        std::fflush(stdout);
      }
      (void)dispatcher->run();
    } else {
      LocalRunOptions ro;
      ro.slots = a.workers;
      ro.trial = s.config->trial;
      ro.work_dir = s.config->config_dir.string();
      ro.artifacts_dir = s.artifacts_dir;
      ro.threads_per_trial = 1;
      (void)run_in_process(*s.study, ro);
    }
    const auto p = s.study->progress();
    stopped_by_budget = s.study->past_deadline() || p.complete + p.pruned + p.failed < plan.max_trials;
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
  if (!a.quiet) {
    std::printf("Sweep: %zu trials (%lld complete, %lld pruned, %lld failed) in %.1f s; best trial #%lld: %s = %.6g\n",
                st.trials.size(), static_cast<long long>(complete), static_cast<long long>(pruned),
                static_cast<long long>(failed), elapsed(), static_cast<long long>(best->trial.number),
                plan.metric.c_str(), *best->trial.value);
  }

  // Top-k ensemble: the mean of the k best complete trials' validation outputs (the holdout, or
  // the out-of-fold predictions), scored like a trial; it replaces the single best only when it
  // scores better.
  const fs::path artifacts = fs::path(paths.storage + ".artifacts");
  // A complete trial records the run folder that holds its export (worker/run_dir.h).
  auto trial_model = [&](const scheduler::TrialRecord& t) {
    return fs::path(t.checkpoint ? *t.checkpoint : trial_dir(artifacts.string(), t.trial.number)) / "model";
  };
  const bool maximize = plan.direction == search::Direction::kMaximize;
  std::vector<const scheduler::TrialRecord*> ranked;
  for (const auto& t : st.trials) {
    if (t.trial.state == search::TrialState::kComplete && t.trial.value &&
        fs::exists(trial_model(t) / "validation.pt"))
      ranked.push_back(&t);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [&](const auto* x, const auto* y) {
    return maximize ? *x->trial.value > *y->trial.value : *x->trial.value < *y->trial.value;
  });
  if (ranked.empty() || ranked.front()->trial.number != best->trial.number) {
    ranked.insert(ranked.begin(), best);  // the best always leads (its validation outputs may be absent)
  }
  const auto chosen = choose_ensemble(ranked, trial_model, plan);
  std::vector<const scheduler::TrialRecord*> members = {best};
  if (chosen.use) members.assign(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(chosen.k));
  if (!a.quiet) std::printf("%s\n", chosen.summary.c_str());

  // Refit each chosen configuration on every training row (the training file doubles as the
  // validation file, so no row is held out), in rank order, each only when its trial's own time
  // says it fits before 93% of the budget. A configuration that is not refit keeps its trial's
  // model (trained on the 80% split, or the mean of its fold models).
  const double refit_deadline = 0.93 * opts.budget_seconds;
  // Rows a trial trained on, per row of the file: 0.8 (holdout) or folds-1 (k-fold).
  const double trained_share = plan.folds > 1 ? static_cast<double>(plan.folds - 1) : 1.0 - plan.split;
  nlohmann::json refit_members = nlohmann::json::array();
  std::vector<fs::path> member_models;
  for (const auto* m : members) {
    const auto params = params_json(st.space(), m->trial.params);
    const int64_t epochs = m->trial.last_report() ? m->trial.last_report()->first : plan.max_epochs;
    nlohmann::json r = {{"trial", m->trial.number}, {"done", false}, {"epochs", epochs}};
    const double seconds = static_cast<double>(m->finished_ms - m->started_ms) / 1000.0;
    const double estimate = seconds / trained_share * 1.2 + 0.5;
    fs::path src = trial_model(*m);
    if (images) {
      r["reason"] = "image sets keep the trial's model (trained on the 80% split)";
    } else if (elapsed() + estimate > refit_deadline) {
      r["reason"] = "not enough budget left: refit estimated at " + score_text(estimate) + " s";
    } else {
      TrialSpec req;
      nlohmann::json& pipeline = req.trial["pipeline"] = st.config->trial.at("pipeline");
      pipeline["data"].erase("folds");
      pipeline["data"].erase("split");
      pipeline["data"]["validation"] = paths.train;
      req.number = m->trial.number;
      req.params = params;
      req.metric = plan.metric;
      req.seed = m->trial.seed;
      req.max_steps = epochs;
      req.checkpoint_dir = (dir / ("refit-" + std::to_string(m->trial.number))).string();
      req.work_dir = dir.string();
      req.threads = 1;
      const Outcome result = pipelines::train(
          req, [](int64_t, const nlohmann::json&) { return Verdict{}; },
          [&] { return elapsed() > refit_deadline; });
      if (result.kind == OutcomeKind::kComplete) {
        src = pipelines::model_dir(req);
        r["done"] = true;
        r["reason"] = "retrained on every training row";
      } else {
        r["reason"] = result.kind == OutcomeKind::kFailed
                          ? "refit failed: " + result.error
                          : "refit stopped at the budget's refit deadline";
      }
    }
    if (!r["done"].get<bool>() && !images) {
      warn("trial " + std::to_string(m->trial.number) + ": " + r["reason"].get<std::string>() +
           "; keeping the trial's model");
    }
    refit_members.push_back(r);
    member_models.push_back(src);
  }
  if (members.size() == 1) {
    fs::copy(member_models[0], dir / "model", fs::copy_options::recursive);
  } else {
    nlohmann::json names = nlohmann::json::array(), numbers = nlohmann::json::array();
    fs::create_directories(dir / "model");
    for (size_t i = 0; i < members.size(); ++i) {
      const std::string name = "member-" + std::to_string(i + 1);
      fs::copy(member_models[i], dir / "model" / name, fs::copy_options::recursive);
      names.push_back(name);
      numbers.push_back(members[i]->trial.number);
    }
    const nlohmann::json manifest = {{"format", "hypertune-ensemble"},
                                     {"version", 1},
                                     {"combine", "mean"},
                                     {"source", "top-k"},
                                     {"members", names},
                                     {"trials", numbers}};
    write_text(dir / "model" / "model.json", manifest.dump(2) + "\n");
  }
  // Validation outputs served the choice above; a refit model's would be on its own training rows.
  std::vector<fs::path> validation_files;
  for (const auto& e : fs::recursive_directory_iterator(dir / "model")) {
    if (e.path().filename() == "validation.pt") validation_files.push_back(e.path());
  }
  for (const auto& p : validation_files) fs::remove(p);
  bool all_refit = true;
  for (const auto& r : refit_members) all_refit = all_refit && r["done"].get<bool>();
  nlohmann::json refit = {{"done", all_refit}, {"members", refit_members}};
  if (members.size() == 1) {
    refit["epochs"] = refit_members[0]["epochs"];
    refit["reason"] = refit_members[0]["reason"];
  }
  const double validation_score = chosen.use ? *chosen.ensemble_score : *best->trial.value;

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
  j["validation"] = {{"scheme", plan.folds > 1 ? "k-fold" : "holdout"},
                     {"reason", plan.validation_reason},
                     {"stratified", plan.task == pipelines::TaskKind::kClassification},
                     {"split_seed", opts.seed}};
  if (plan.folds > 1)
    j["validation"]["folds"] = plan.folds;
  else
    j["validation"]["fraction"] = plan.split;
  j["validation_score"] = validation_score;
  j["best_trial"] = best->trial.number;
  j["best_trial_score"] = *best->trial.value;
  j["best_params"] = best_params;
  j["model"] = chosen.use ? "ensemble" : "single";
  j["ensemble"] = chosen.to_json();
  if (chosen.use) {
    j["ensemble"]["trials"] = nlohmann::json::array();
    for (const auto* m : members) j["ensemble"]["trials"].push_back(m->trial.number);
  }
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
  if (a.connect)
    j["connect"] = *a.connect;
  else
    j["workers"] = a.workers;
  j["data"] = data_json;
  if (plan.id) j["id_column"] = *plan.id;
  if (!images) j["target"] = a.target;
  j["dropped_columns"] = plan.drop;
  if (!plan.classes.empty()) j["classes"] = plan.classes;
  j["versions"] = {{"hypertune", HYPERTUNE_VERSION}, {"compiler", __VERSION__}};
  std::error_code ec;
  fs::remove_all(paths.storage + ".artifacts", ec);
  for (const auto* m : members) fs::remove_all(dir / ("refit-" + std::to_string(m->trial.number)), ec);
  j["budget_used_seconds"] = elapsed();
  write_text(dir / "baseline.json", j.dump(2) + "\n");

  if (fs::exists(out)) fs::remove(out);  // an empty directory, checked above
  fs::rename(dir, out);
  partial.keep = true;
  if (!a.quiet) {
    std::printf("Validation %s: %.6g (%s, %s); wrote %s in %.1f s of %.0f s\n", plan.metric.c_str(),
                validation_score, chosen.use ? "ensemble" : "best trial",
                refit["done"].get<bool>() ? "refit on all rows" : "not all refit",
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
  cmd->add_option("--connect", a->connect,
                  "Serve the sweep at this ZeroMQ endpoint (tcp://*:5555; port * lets the OS pick) for "
                  "`hypertune worker --connect` processes instead of training in this process");
  cmd->add_option("--keys", a->keys, "With --connect: this side's CURVE secret key file (hypertune keygen)");
  cmd->add_option("--allow", a->allow, "With --connect: file of the workers' CURVE public keys, one per line");
  cmd->add_flag("--insecure", a->insecure, "With --connect: allow a non-loopback endpoint without CURVE keys");
  cmd->add_option("--endpoint-file", a->endpoint_file,
                  "With --connect: write the bound endpoint to this file once listening");
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
