// `hypertune baseline --train train.csv --target COLUMN [--test test.csv] --out DIR`: the AutoML
// baseline. It plans a sweep over xgboost, MLP and linear models (cli/baseline_plan.h), writes it as
// DIR/sweep.yaml, runs it for the whole budget with the same executor as `hypertune run`, selects a
// weighted ensemble of the trials (search/ensemble_selection.h) when it generalises better than the
// best one, refits on every training row only with --refit, writes the model leaderboard and
// predicts the test file. Everything is written into a hidden sibling directory that is renamed
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
#include "base/rng.h"
#include "search/ensemble_selection.h"
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
  bool refit = false;
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
void write_trials_csv(const fs::path& path, const StoredStudy& st, const std::string& metric) {
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

void write_report_html(const fs::path& path, const StoredStudy& st, const std::vector<ReportTable>& tables) {
  write_text(path, render_report(ReportInput{st.record, st.space(), st.trials, st.config->sampler.type,
                                             st.config->pruner.type},
                                 {}, tables));
}

nlohmann::json file_info(const std::string& path) {
  return {{"path", fs::absolute(path).string()}, {"sha256", scheduler::sha256_hex(read_bytes(path))}};
}

#ifdef HYPERTUNE_WITH_PIPELINES

// Greedy ensemble selection (search/ensemble_selection.h) over the validation outputs of the best
// complete trials of every family: the candidates, best first, are the kEnsembleCandidates best
// trials plus the kPerFamily best of each family (so a family whose trials all rank below another's
// still takes part); kEnsembleIterations additions with replacement. The ensemble is used only
// when a 2-fold assessment of the validation rows (selection on one half, scored on the other,
// against picking the single best on the same half) says it generalises better.
constexpr size_t kEnsembleCandidates = 40;
constexpr size_t kPerFamily = 3;
constexpr int kEnsembleIterations = 25;
constexpr int kAssessFolds = 2;
constexpr size_t kSelectionMaxRows = 20000;  // larger validation sets select on a seeded sample

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

// The plan's metric of outputs (n x columns) against truth (n).
double score_of(const float* outputs, const double* truth, int64_t n, int64_t columns, const baseline::Plan& plan) {
  nlohmann::json m;
  if (plan.task == pipelines::TaskKind::kClassification) {
    std::vector<int64_t> labels(truth, truth + n);
    m = pipelines::classification_metrics(outputs, n, columns, labels.data());
  } else {
    std::vector<float> t(truth, truth + n);
    m = pipelines::regression_metrics(outputs, t.data(), n, 0.0, 1.0);
  }
  return m.at(plan.metric).get<double>();
}

double score_outputs(const ValidationOutputs& v, const baseline::Plan& plan) {
  return score_of(v.outputs.data(), v.truth.data(), v.rows, v.columns, plan);
}

struct EnsembleChoice {
  bool use = false;
  std::vector<const scheduler::TrialRecord*> candidates;  // best first
  std::vector<int> counts;                                 // per candidate: the model used
  std::vector<int> selected;                               // per candidate: what selection chose
  std::optional<double> ensemble_score, single_score;      // on every validation row
  std::optional<double> held_out_ensemble, held_out_single;
  size_t rows = 0;
  std::string reason, summary;
  [[nodiscard]] size_t selected_members() const {
    return static_cast<size_t>(std::count_if(selected.begin(), selected.end(), [](int c) { return c > 0; }));
  }
  nlohmann::json to_json() const {
    nlohmann::json j = {{"chosen", use ? "ensemble" : "single"},
                        {"method", "greedy selection with replacement (Caruana et al. 2004)"},
                        {"iterations", kEnsembleIterations},
                        {"candidates", candidates.size()},
                        {"members", selected_members()},
                        {"reason", reason}};
    auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    j["ensemble_score"] = opt(ensemble_score);
    j["single_score"] = opt(single_score);
    j["held_out"] = {{"folds", kAssessFolds}, {"ensemble", opt(held_out_ensemble)}, {"single", opt(held_out_single)}};
    j["weights"] = nlohmann::json::array();
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (i < selected.size() && selected[i] > 0)
        j["weights"].push_back({{"trial", candidates[i]->trial.number}, {"count", selected[i]}});
    }
    return j;
  }
};

template <typename ModelOf, typename FamilyOf>
EnsembleChoice choose_ensemble(const std::vector<const scheduler::TrialRecord*>& ranked, const ModelOf& model_of,
                               const FamilyOf& family_of, const baseline::Plan& plan, uint64_t seed) {
  EnsembleChoice c;
  auto not_evaluated = [&](std::string why) {
    c.reason = std::move(why);
    c.summary = "Ensemble: not evaluated (" + c.reason + ")";
    c.candidates.assign(ranked.begin(), ranked.begin() + std::min<std::ptrdiff_t>(1, std::ssize(ranked)));
    c.counts.assign(c.candidates.size(), 1);
    c.selected = c.counts;
    return c;
  };
  // Candidates: the best overall, then each family's best few, in rank order.
  std::map<std::string, size_t> per_family;
  std::vector<const scheduler::TrialRecord*> cands;
  for (size_t i = 0; i < ranked.size(); ++i) {
    const std::string fam = family_of(*ranked[i]);
    if (i < kEnsembleCandidates || per_family[fam] < kPerFamily) {
      cands.push_back(ranked[i]);
      ++per_family[fam];
    }
  }
  if (cands.size() < 2) return not_evaluated("fewer than 2 complete trials");
  std::vector<ValidationOutputs> outs;
  for (const auto* t : cands) {
    const fs::path p = model_of(*t) / "validation.pt";
    if (!fs::exists(p)) return not_evaluated("trial " + std::to_string(t->trial.number) + " has no validation outputs");
    outs.push_back(read_validation(p));
    if (outs.back().rows != outs[0].rows || outs.back().columns != outs[0].columns || outs.back().truth != outs[0].truth)
      return not_evaluated("trial " + std::to_string(t->trial.number) + " was validated on other rows");
  }
  c.candidates = cands;
  c.rows = static_cast<size_t>(outs[0].rows);
  // Large validation sets: selection sees a seeded sample of kSelectionMaxRows rows.
  std::vector<size_t> rows(c.rows);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  if (rows.size() > kSelectionMaxRows) {
    Rng rng(derive_seed(seed, 0xE45E));
    for (size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.next() % i]);
    rows.resize(kSelectionMaxRows);
    std::sort(rows.begin(), rows.end());
  }
  const size_t cols = static_cast<size_t>(outs[0].columns);
  std::vector<std::vector<float>> sampled(outs.size());
  std::vector<double> truth;
  for (size_t r : rows) truth.push_back(outs[0].truth[r]);
  for (size_t j = 0; j < outs.size(); ++j) {
    sampled[j].reserve(rows.size() * cols);
    for (size_t r : rows)
      sampled[j].insert(sampled[j].end(), outs[j].outputs.begin() + static_cast<std::ptrdiff_t>(r * cols),
                        outs[j].outputs.begin() + static_cast<std::ptrdiff_t>((r + 1) * cols));
  }
  search::EnsembleCandidates ec;
  ec.rows = rows.size();
  ec.cols = cols;
  for (const auto& o : sampled) ec.outputs.push_back(&o);
  const bool maximize = plan.direction == search::Direction::kMaximize;
  const search::SubsetLoss loss = [&](const std::vector<float>& combined, const std::vector<size_t>& subset) {
    std::vector<double> t(subset.size());
    for (size_t i = 0; i < subset.size(); ++i) t[i] = truth[subset[i]];
    const double v = score_of(combined.data(), t.data(), static_cast<int64_t>(subset.size()),
                              static_cast<int64_t>(cols), plan);
    return maximize ? -v : v;
  };
  const auto sel = search::select_ensemble(ec, loss, kEnsembleIterations);
  const auto check = search::assess_selection(ec, loss, kEnsembleIterations, kAssessFolds, derive_seed(seed, 0xA55E));
  c.counts = sel.counts;
  c.selected = sel.counts;
  auto metric = [&](double l) { return maximize ? -l : l; };
  c.held_out_ensemble = metric(check.ensemble_loss);
  c.held_out_single = metric(check.single_loss);
  // Scores on every validation row, for the record.
  search::EnsembleCandidates every_row;
  every_row.rows = c.rows;
  every_row.cols = cols;
  for (const auto& o : outs) every_row.outputs.push_back(&o.outputs);
  const std::vector<float> combined = search::combine_outputs(every_row, sel.weights());
  c.ensemble_score = score_of(combined.data(), outs[0].truth.data(), outs[0].rows, outs[0].columns, plan);
  c.single_score = score_outputs(outs[0], plan);
  const std::string members = std::to_string(c.selected_members()) + " of " + std::to_string(cands.size()) + " candidates";
  if (c.selected_members() < 2) {
    c.use = false;
    c.reason = "selection kept only the best trial";
  } else if (check.ensemble_loss < check.single_loss) {
    c.use = true;
    c.reason = "on held-out halves of the validation rows the selected ensemble (" + score_text(c.held_out_ensemble) +
               ") beats the best single trial (" + score_text(c.held_out_single) + ")";
  } else {
    c.use = false;
    c.reason = "on held-out halves of the validation rows the selected ensemble (" + score_text(c.held_out_ensemble) +
               ") does not beat the best single trial (" + score_text(c.held_out_single) + ")";
  }
  if (!c.use) {
    c.counts.assign(cands.size(), 0);
    c.counts[0] = 1;
  }
  c.summary = "Ensemble selection (" + members + "): " + plan.metric + " = " + score_text(c.ensemble_score) +
              " against " + score_text(c.single_score) + " for the best trial; " + c.reason + ": " +
              (c.use ? "using the ensemble" : "using the best trial");
  return c;
}

// Copies member model directories into `dest` as a weighted ensemble (pipelines/predict.h).
void write_ensemble(const fs::path& dest, const std::vector<fs::path>& member_dirs, const std::vector<int>& counts,
                    const std::vector<int64_t>& trials) {
  nlohmann::json names = nlohmann::json::array();
  fs::create_directories(dest);
  for (size_t i = 0; i < member_dirs.size(); ++i) {
    const std::string name = "member-" + std::to_string(i + 1);
    fs::copy(member_dirs[i], dest / name, fs::copy_options::recursive);
    names.push_back(name);
  }
  const nlohmann::json manifest = {{"format", "hypertune-ensemble"},
                                   {"version", 1},
                                   {"combine", "mean"},
                                   {"source", "ensemble-selection"},
                                   {"members", names},
                                   {"weights", counts},
                                   {"trials", trials}};
  write_text(dest / "model.json", manifest.dump(2) + "\n");
}

void remove_validation_outputs(const fs::path& model) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(model))
    if (e.path().filename() == "validation.pt") files.push_back(e.path());
  for (const auto& p : files) fs::remove(p);
}

uintmax_t size_on_disk(const fs::path& dir) {
  uintmax_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

// Total-gain importance of an xgboost export (a model, or the mean over a k-fold trial's fold
// models) as shares summing to 1, keyed by preprocessed feature name (model.json's
// preprocessing.feature_names), largest first. Total, not average, gain: a feature split on once
// with a large gain is not the most important one.
std::vector<std::pair<std::string, double>> xgboost_importance(const fs::path& model) {
  std::vector<fs::path> dirs;
  if (fs::exists(model / "fold-0"))
    for (int i = 0; fs::exists(model / ("fold-" + std::to_string(i))); ++i) dirs.push_back(model / ("fold-" + std::to_string(i)));
  else
    dirs.push_back(model);
  std::map<std::string, double> sum;
  for (const auto& d : dirs) {
    const auto m = nlohmann::json::parse(read_bytes((d / "model.json").string()));
    const auto metrics = nlohmann::json::parse(read_bytes((d / "metrics.json").string()));
    const auto& names = m.at("preprocessing").at("feature_names");
    const nlohmann::json gains = metrics.value("importance_total_gain", nlohmann::json::object());
    for (const auto& [key, gain] : gains.items()) {
      if (!gain.is_number()) continue;  // written as null when XGBoost gave no finite gain
      // XGBoost names features f0, f1, ... in input order.
      const size_t i = key.size() > 1 && key[0] == 'f' ? std::stoul(key.substr(1)) : names.size();
      const std::string name = i < names.size() ? names[i].get<std::string>() : key;
      sum[name] += gain.get<double>() / static_cast<double>(dirs.size());
    }
  }
  double total = 0.0;
  for (const auto& [name, g] : sum) total += g;
  if (total > 0.0)
    for (auto& [name, g] : sum) g /= total;
  std::vector<std::pair<std::string, double>> out(sum.begin(), sum.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

// Timed predictions of `input` (CSV of `rows` rows), in ms per 1000 rows: the median of 3, or the
// one run when it took over 250 ms (the budget's reserve pays for these).
std::optional<double> predict_ms_per_1000(const pipelines::Predictor& predictor, const std::string& input,
                                          int64_t rows) {
  if (rows <= 0) return std::nullopt;
  std::vector<double> ms;
  for (int i = 0; i < 3; ++i) {
    const auto t = Clock::now();
    (void)predictor.predict_input(input);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    if (ms.front() > 250.0) break;
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2] * 1000.0 / static_cast<double>(rows);
}

// Keeps the id column and `prediction` (and the class probabilities when asked) of predict()'s
// output, in the same order.
void write_predictions(const pipelines::Predictor& predictor, const std::string& input, const fs::path& raw,
                       const fs::path& out, bool probabilities) {
  predictor.predict_file(input, raw.string());
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
  opts.refit = a.refit;
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

  // The sweep's timeout counts from its start: what planning and reading took comes off it, so
  // the command ends the reserve's length before the budget.
  if (!opts.refit) plan.sweep_seconds = std::max(0.5, opts.budget_seconds - plan.reserve_seconds - elapsed());
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
      // A progress line about every tenth of the sweep (at least 5 s apart): trials so far, the
      // best score, and the search time that remains.
      const double every = std::max(5.0, plan.sweep_seconds / 10.0);
      auto next_line = std::make_shared<double>(every);
      if (!a.quiet) {
        ro.on_tick = [&, next_line, every](const scheduler::Progress& p) {
          const double now = elapsed();
          if (now < *next_line) return;
          *next_line = now + every;
          std::printf("[%5.0f s] %lld trials (%lld complete, %lld pruned, %lld running), best %s %s; %.0f s of search "
                      "left\n",
                      now, static_cast<long long>(p.created), static_cast<long long>(p.complete),
                      static_cast<long long>(p.pruned), static_cast<long long>(p.running), plan.metric.c_str(),
                      p.best_value ? score_text(p.best_value).c_str() : "-",
                      std::max(0.0, plan.sweep_seconds - now));
          std::fflush(stdout);
        };
      }
      (void)run_in_process(*s.study, ro);
    }
    const auto p = s.study->progress();
    stopped_by_budget = s.study->past_deadline() || p.complete + p.pruned + p.failed < plan.max_trials;
  }
  const StoredStudy st = load_stored_study(paths.storage);
  const auto* best = st.best();
  int64_t complete = 0, pruned = 0, failed = 0, cut = 0;
  for (const auto& t : st.trials) {
    complete += t.trial.state == search::TrialState::kComplete;
    pruned += t.trial.state == search::TrialState::kPruned;
    failed += t.trial.state == search::TrialState::kFail;
    // Trials still running at the sweep's timeout are stopped and FAIL (on_timeout: stop).
    cut += t.trial.state == search::TrialState::kFail && t.fail_reason.find("sweep's timeout") != std::string::npos;
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
    std::printf("Sweep: %zu trials (%lld complete, %lld pruned, %lld cut at the deadline, %lld failed) in %.1f s; "
                "best trial #%lld: %s = %.6g\n",
                st.trials.size(), static_cast<long long>(complete), static_cast<long long>(pruned),
                static_cast<long long>(cut), static_cast<long long>(failed - cut), elapsed(), static_cast<long long>(best->trial.number),
                plan.metric.c_str(), *best->trial.value);
  }

  // Ensemble selection over every family's best trials (their validation outputs: the holdout
  // rows, or the out-of-fold outputs of every row).
  const fs::path artifacts = fs::path(paths.storage + ".artifacts");
  // A complete trial records the run folder that holds its export (worker/run_dir.h).
  auto trial_model = [&](const scheduler::TrialRecord& t) {
    return fs::path(t.checkpoint ? *t.checkpoint : trial_dir(artifacts.string(), t.trial.number)) / "model";
  };
  auto family_of = [&](const scheduler::TrialRecord& t) -> std::string {
    if (images) return "cnn";
    const auto p = params_json(st.space(), t.trial.params);
    return p.contains("family") ? json_scalar_text(p["family"]) : "mlp";
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
  const auto chosen = choose_ensemble(ranked, trial_model, family_of, plan, opts.seed);
  std::vector<const scheduler::TrialRecord*> members;
  std::vector<int> member_counts;
  for (size_t i = 0; i < chosen.candidates.size(); ++i) {
    if (chosen.counts[i] > 0) {
      members.push_back(chosen.candidates[i]);
      member_counts.push_back(chosen.counts[i]);
    }
  }
  if (!a.quiet) std::printf("%s\n", chosen.summary.c_str());

  // --refit: retrain each chosen configuration on every training row (the training file doubles
  // as the validation file, so no row is held out), in rank order, each only when its trial's own
  // time says it fits before 93% of the budget. Without it (and for any that is not refit), a
  // member keeps its trial's model: trained on the 80% split, or the mean of its fold models.
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
    if (!a.refit) {
      r["reason"] = plan.folds > 1 ? "not refit (--refit not given): the mean of the trial's fold models"
                                   : "not refit (--refit not given): the trial's model, trained on the 80% split";
    } else if (images) {
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
    if (a.refit && !r["done"].get<bool>() && !images) {
      warn("trial " + std::to_string(m->trial.number) + ": " + r["reason"].get<std::string>() +
           "; keeping the trial's model");
    }
    refit_members.push_back(r);
    member_models.push_back(src);
  }
  std::vector<int64_t> member_trials;
  for (const auto* m : members) member_trials.push_back(m->trial.number);
  if (members.size() == 1) {
    fs::copy(member_models[0], dir / "model", fs::copy_options::recursive);
  } else {
    write_ensemble(dir / "model", member_models, member_counts, member_trials);
  }
  // Validation outputs served the choice above; a refit model's would be on its own training rows.
  remove_validation_outputs(dir / "model");
  bool all_refit = true;
  for (const auto& r : refit_members) all_refit = all_refit && r["done"].get<bool>();
  nlohmann::json refit = {{"asked", a.refit}, {"done", all_refit}, {"members", refit_members}};
  if (members.size() == 1) {
    refit["epochs"] = refit_members[0]["epochs"];
    refit["reason"] = refit_members[0]["reason"];
  }
  const double validation_score = chosen.use ? *chosen.ensemble_score : *best->trial.value;

  // The model written to model/, loaded once for the predictions and the leaderboard's timing
  // (an ensemble of boosters can take seconds to load).
  std::optional<pipelines::Predictor> final_predictor;
  auto final_model = [&]() -> const pipelines::Predictor& {
    if (!final_predictor) final_predictor.emplace(pipelines::Predictor::load((dir / "model").string()));
    return *final_predictor;
  };
  if (predict_input) {
    write_predictions(final_model(), *predict_input, dir / "predictions.raw.csv", dir / "predictions.csv",
                      plan.metric == "roc_auc");
  }

  // The model leaderboard: each family's best trial, the selected ensemble, which one is used.
  std::optional<std::string> timing_input;
  int64_t timing_rows = 0;
  if (!images) {
    const auto table = pipelines::read_csv(predict_input ? *predict_input : paths.train);
    std::vector<size_t> keep;
    for (size_t c = 0; c < table.header.size(); ++c)
      if (table.header[c] != a.target) keep.push_back(c);
    std::vector<std::string> header;
    for (size_t c : keep) header.push_back(table.header[c]);
    std::vector<std::vector<std::string>> rows;
    for (size_t r = 0; r < table.rows.size() && r < 1000; ++r) {
      std::vector<std::string> row;
      for (size_t c : keep) row.push_back(table.rows[r][c]);
      rows.push_back(std::move(row));
    }
    timing_rows = static_cast<int64_t>(rows.size());
    timing_input = (dir / "timing_input.csv").string();
    pipelines::write_csv(*timing_input, header, rows);
  }
  struct BoardRow {
    std::string model, family;
    std::vector<int64_t> trials;
    std::optional<double> score;
    double fit_seconds = 0.0;
    std::optional<double> predict_ms;
    uintmax_t bytes = 0;
    bool chosen = false;
  };
  std::vector<BoardRow> board;
  auto fit_seconds = [](const scheduler::TrialRecord& t) {
    return static_cast<double>(std::max<int64_t>(0, t.finished_ms - t.started_ms)) / 1000.0;
  };
  auto timed = [&](const fs::path& model) -> std::optional<double> {
    if (!timing_input) return std::nullopt;
    try {
      if (model == dir / "model") return predict_ms_per_1000(final_model(), *timing_input, timing_rows);
      return predict_ms_per_1000(pipelines::Predictor::load(model.string()), *timing_input, timing_rows);
    } catch (const std::exception& e) {
      warn("timing the predictions of " + model.string() + ": " + e.what());
      return std::nullopt;
    }
  };
  std::set<std::string> seen_families;
  for (const auto* t : ranked) {
    const std::string fam = family_of(*t);
    if (!seen_families.insert(fam).second) continue;
    BoardRow r;
    r.model = "best " + fam;
    r.family = fam;
    r.trials = {t->trial.number};
    r.score = t->trial.value;
    r.fit_seconds = fit_seconds(*t);
    const fs::path m = trial_model(*t);
    r.chosen = !chosen.use && t == best;
    if (fs::exists(m)) {
      r.predict_ms = timed(r.chosen ? dir / "model" : m);  // the chosen one is model/'s copy
      r.bytes = size_on_disk(m);
    }
    board.push_back(r);
  }
  if (chosen.selected_members() >= 2) {
    // The selected ensemble, used or not (the assessment decides): timed from its own directory.
    BoardRow r;
    r.model = "ensemble";
    std::vector<fs::path> dirs;
    std::vector<int> counts;
    std::set<std::string> fams;
    for (size_t i = 0; i < chosen.candidates.size(); ++i) {
      if (chosen.selected[i] == 0) continue;
      r.trials.push_back(chosen.candidates[i]->trial.number);
      r.fit_seconds += fit_seconds(*chosen.candidates[i]);
      fams.insert(family_of(*chosen.candidates[i]));
      dirs.push_back(trial_model(*chosen.candidates[i]));
      counts.push_back(chosen.selected[i]);
    }
    for (const auto& f : fams) r.family += (r.family.empty() ? "" : "+") + f;
    r.score = chosen.ensemble_score;
    r.chosen = chosen.use;
    fs::path where = dir / "model";
    if (!chosen.use) {
      where = dir / "ensemble-unused";
      write_ensemble(where, dirs, counts, r.trials);
    }
    r.predict_ms = timed(where);
    r.bytes = size_on_disk(where);
    if (!chosen.use) fs::remove_all(where);
    board.push_back(r);
  }
  if (timing_input) fs::remove(*timing_input);
  std::vector<std::vector<std::string>> board_rows;
  {
    std::vector<std::vector<std::string>>& rows = board_rows;
    for (const auto& r : board) {
      std::string trials;
      for (auto n : r.trials) trials += (trials.empty() ? "" : " ") + std::to_string(n);
      char fit[32], pred[32];
      std::snprintf(fit, sizeof fit, "%.3f", r.fit_seconds);
      if (r.predict_ms) std::snprintf(pred, sizeof pred, "%.3f", *r.predict_ms); else pred[0] = '\0';
      rows.push_back({r.model, r.family, trials, score_text(r.score), fit, pred, std::to_string(r.bytes),
                      r.chosen ? "yes" : "no"});
    }
    pipelines::write_csv((dir / "leaderboard.csv").string(),
                         {"model", "family", "trials", plan.metric, "fit_seconds", "predict_ms_per_1000_rows",
                          "size_bytes", "chosen"},
                         rows);
    if (!a.quiet) {
      std::printf("Leaderboard (validation %s; fit seconds; predict ms per 1000 rows; size):\n", plan.metric.c_str());
      for (const auto& r : rows)
        std::printf("  %-18s %-28s %12s %9s s %9s ms %10s B%s\n", r[0].c_str(), r[1].c_str(), r[3].c_str(),
                    r[4].c_str(), r[5].empty() ? "-" : r[5].c_str(), r[6].c_str(), r[7] == "yes" ? "  <- chosen" : "");
    }
  }
  if (predict_input && !images) fs::remove(*predict_input);
  write_trials_csv(dir / "trials.csv", st, plan.metric);
  // Feature importance (gain) of the best xgboost trial, when there is one.
  nlohmann::json importance_json = nullptr;
  std::vector<ReportTable> tables;
  {
    ReportTable t;
    t.id = "model-leaderboard";
    t.title = "Models";
    t.note = "Each family's best trial and the selected ensemble, scored on the validation rows (" + plan.metric +
             "); predict time from CSV, median of 3; the chosen model is the one written to model/.";
    t.header = {"model", "family", "trials", plan.metric, "fit s", "predict ms / 1000 rows", "size (bytes)", "chosen"};
    t.rows = board_rows;
    tables.push_back(std::move(t));
  }
  for (const auto* t : ranked) {
    if (family_of(*t) != "xgboost") continue;
    try {
      const auto gains = xgboost_importance(trial_model(*t));
      importance_json = {{"trial", t->trial.number}, {"gain", nlohmann::json::array()}};
      ReportTable rt;
      rt.id = "feature-importance";
      rt.title = "Feature importance (gain) of the best xgboost trial, #" + std::to_string(t->trial.number);
      rt.note = "Share of the total loss reduction of the splits on each preprocessed feature (one-hot levels and "
                "missing indicators apart; XGBoost's total_gain), the mean over fold models; the 30 largest.";
      rt.header = {"feature", "share of total gain"};
      for (const auto& [name, gain] : gains) {
        importance_json["gain"].push_back({{"feature", name}, {"gain", gain}});
        if (rt.rows.size() < 30) rt.rows.push_back({name, score_text(gain)});
      }
      tables.push_back(std::move(rt));
    } catch (const std::exception& e) {
      warn("feature importance of trial " + std::to_string(t->trial.number) + ": " + e.what());
    }
    break;
  }
  write_report_html(dir / "report.html", st, tables);

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
  if (chosen.use) j["ensemble"]["trials"] = member_trials;
  j["leaderboard"] = nlohmann::json::array();
  for (const auto& r : board) {
    j["leaderboard"].push_back({{"model", r.model},
                                {"family", r.family},
                                {"trials", r.trials},
                                {"score", r.score ? nlohmann::json(*r.score) : nlohmann::json(nullptr)},
                                {"fit_seconds", r.fit_seconds},
                                {"predict_ms_per_1000_rows",
                                 r.predict_ms ? nlohmann::json(*r.predict_ms) : nlohmann::json(nullptr)},
                                {"size_bytes", r.bytes},
                                {"chosen", r.chosen}});
  }
  j["feature_importance"] = importance_json;
  j["refit"] = refit;
  std::map<std::string, int64_t> by_family;
  for (const auto& t : st.trials) ++by_family[family_of(t)];
  j["trials"] = {{"budget", opts.max_trials ? nlohmann::json(*opts.max_trials) : nlohmann::json(nullptr)},
                 {"total", st.trials.size()},
                 {"complete", complete},
                 {"pruned", pruned},
                 {"failed", failed - cut},
                 {"cut_at_deadline", cut},
                 {"by_family", by_family}};
  // A time budget is not reproducible (the trial count depends on the machine); this count is.
  j["replay"] = {{"trials", st.trials.size()}, {"workers", a.connect ? nlohmann::json(nullptr) : nlohmann::json(a.workers)}};
  j["max_epochs"] = plan.max_epochs;
  j["stopped_by_budget"] = stopped_by_budget;
  j["budget_seconds"] = opts.budget_seconds;
  j["sweep_seconds"] = plan.sweep_seconds;
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
    std::printf("Validation %s: %.6g (%s%s); %zu trials (replay with --trials %zu --workers %d); wrote %s in %.1f s of %.0f s\n",
                plan.metric.c_str(), validation_score,
                (chosen.use ? "ensemble of " + std::to_string(members.size()) : std::string("best trial")).c_str(),
                a.refit ? (refit["done"].get<bool>() ? ", refit on all rows" : ", not all refit") : "",
                st.trials.size(), st.trials.size(), a.connect ? 1 : a.workers, out.string().c_str(), elapsed(),
                opts.budget_seconds);
  }
}

#endif  // HYPERTUNE_WITH_PIPELINES

}  // namespace

void add_baseline_command(CLI::App& app) {
  auto a = std::make_shared<BaselineArgs>();
  auto* cmd = app.add_subcommand(
      "baseline", "AutoML baseline: search gradient-boosted trees, MLPs and linear models on a CSV (or CNNs on an "
                  "IDX image set) for the whole budget, ensemble them, predict the test file (docs/baseline.md)");
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
  cmd->add_option("--trials,--max-trials", a->max_trials,
                  "A budget in trials: the same seed, data and --workers 1 give the same model (default: "
                  "trials until the time budget)");
  cmd->add_flag("--refit", a->refit, "Retrain the chosen models on every training row while the budget allows");
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
