#include "scheduler/config.h"

#include "base/text.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <tuple>

#include <yaml-cpp/yaml.h>

#include "scheduler/sha256.h"
#include "search/functions.h"

namespace hypertune::scheduler {

using schema::Field;
using schema::Json;
using schema::Location;
using schema::Type;

// ---------------------------------------------------------------------------------------------
// Errors

std::string ConfigIssue::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

namespace {

std::string join_issues(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (size_t i = 0; i < issues.size(); ++i) {
    if (i) out += '\n';
    out += issues[i].to_string();
  }
  return out;
}

}  // namespace

ConfigErrors::ConfigErrors(std::vector<ConfigIssue> issues)
    : ConfigError("", join_issues(issues)), issues_(std::move(issues)) {}

const char* to_string(OnTimeout o) noexcept {
  switch (o) {
    case OnTimeout::kFinish: return "finish";
    case OnTimeout::kStop: return "stop";
    case OnTimeout::kPause: return "pause";
  }
  return "?";
}

const char* to_string(TrialKind k) noexcept {
  switch (k) {
    case TrialKind::kFunction: return "function";
    case TrialKind::kCommand: return "command";
    case TrialKind::kPipeline: return "pipeline";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// The schema

namespace {

Field build_schema() {
  const search::TpeOptions tpe;
  const search::GridOptions grid;
  const search::BohbOptions bohb;
  const search::GpOptions gp;
  const search::MedianOptions median;
  const search::HalvingOptions halving;
  const std::vector<std::string> tpe_like = {"tpe", "bohb"};
  const std::vector<std::string> halving_like = {"asha", "successive_halving", "hyperband"};
  const std::vector<std::string> float_int = {"float", "int"};

  Field param = Field::section(
      "<name>",
      "One parameter of the search space. A bare list (`opt: [adam, sgd]`) is short for "
      "`{type: categorical, values: [...]}`, and `type` may be left out whenever `values` is given.",
      {
          Field::make("type", Type::kEnum, "Kind of parameter.")
              .one_of({"float", "int", "categorical"})
              .is_required()
              .with_default_note("required (`categorical` when `values` is given)")
              .known_elsewhere_as({"distribution", "parameterType"})
              .with_example("type: float"),
          Field::make("low", Type::kNumber, "Smallest value, inclusive (an integer for int).")
              .is_required()
              .only_for(float_int)
              .known_elsewhere_as({"min"})
              .with_example("low: 1e-5"),
          Field::make("high", Type::kNumber, "Largest value, inclusive; greater than `low`.")
              .is_required()
              .only_for(float_int)
              .known_elsewhere_as({"max"})
              .with_example("high: 0.1"),
          Field::make("log", Type::kBool, "Sample uniformly in log space (needs `low` > 0).")
              .with_default(false)
              .only_for(float_int)
              .with_example("log: true"),
          Field::make("step", Type::kNumber,
                      "Grid step: values are low, low+step, ..., high, so it must divide "
                      "high - low. An int parameter steps by 1 unless given. A float needs one "
                      "under the grid sampler.")
              .above(0)
              .only_for(float_int)
              .with_default_note("unset (int: `1`)")
              .known_elsewhere_as({"q"})
              .with_example("step: 0.05"),
          Field::make("values", Type::kScalarList,
                      "The choices, each a string, integer, float or boolean, kept with its type "
                      "(`1` and `\"1\"` differ); no duplicates.")
              .with_min_items(1)
              .is_required()
              .only_for({"categorical"})
              .known_elsewhere_as({"choices", "list"})
              .with_example("values: [adam, sgd, rmsprop]"),
          Field::make("when", Type::kMapOf,
                      "Condition: the parameter is active only when its parent (a categorical "
                      "parameter) takes one of the listed values, matched by type and value. One "
                      "parent per parameter; chain conditions by making the parent conditional.")
              .with_example("when: {optimizer: [sgd, rmsprop]}"),
      });
  param.fields.back().fields = {
      Field::make("<parent>", Type::kScalarOrList, "Value or values of the parent.")};
  param.variant_key = "type";
  param.infer_variant = {{"values", "categorical"}};
  param.sequence_shorthand_key = "values";

  Field sampler = Field::section(
      "sampler",
      "How new trials are proposed. A bare name (`sampler: random`) is short for `{type: NAME}`.",
      {
          Field::make("type", Type::kEnum,
                      "random: uniform draws. grid: every combination once (floats need `step`). "
                      "tpe: Tree-structured Parzen Estimator. bohb: TPE per budget, for Hyperband "
                      "or ASHA pruners. gp: Gaussian-process Bayesian optimisation (Matern-5/2, "
                      "log expected improvement), for few continuous or integer parameters and "
                      "expensive trials; no conditional parameters.")
              .one_of({"random", "grid", "tpe", "bohb", "gp"})
              .with_default(std::string("tpe"))
              .with_example("type: tpe"),
          Field::make("n_startup_trials", Type::kInt,
                      "Random trials before the model is used (gp: at least 1).")
              .at_least(0)
              .with_default(int64_t{tpe.n_startup_trials})
              .only_for({"tpe", "bohb", "gp"})
              .with_example("n_startup_trials: 20"),
          Field::make("n_candidates", Type::kInt,
                      "Random points ranked by log expected improvement per trial, before the "
                      "local searches.")
              .at_least(1)
              .with_default(int64_t{gp.n_candidates})
              .only_for({"gp"})
              .with_example("n_candidates: 1024"),
          Field::make("n_local_searches", Type::kInt,
                      "Local searches (L-BFGS-B over continuous parameters, one step at a time over "
                      "discrete ones) per trial: from the best trial and the best candidates.")
              .at_least(1)
              .with_default(int64_t{gp.n_local_searches})
              .only_for({"gp"})
              .with_example("n_local_searches: 10"),
          Field::make("max_observations", Type::kInt,
                      "Complete trials the Gaussian process fits at most; past them TPE proposes "
                      "the next trials. A fit costs O(n^3): about 30 ms per trial at 200 "
                      "observations on a 2-core machine.")
              .at_least(1)
              .with_default(int64_t{gp.max_observations})
              .only_for({"gp"})
              .with_example("max_observations: 500"),
          Field::make("deterministic", Type::kBool,
                      "The objective gives the same value for the same parameters: no noise term "
                      "is learned.")
              .with_default(gp.deterministic)
              .only_for({"gp"})
              .with_example("deterministic: true"),
          Field::make("n_ei_candidates", Type::kInt,
                      "Candidates drawn from l(x) and ranked by l(x)/g(x) per trial.")
              .at_least(1)
              .with_default(int64_t{tpe.n_ei_candidates})
              .only_for(tpe_like)
              .with_example("n_ei_candidates: 48"),
          Field::make("multivariate", Type::kBool,
                      "One shared kernel component across a group's parameters (joint model). Off by "
                      "default: univariate TPE searched better on 4 of 5 benchmark problems.")
              .with_default(tpe.multivariate)
              .only_for(tpe_like)
              .with_example("multivariate: true"),
          Field::make("group", Type::kBool,
                      "Separate joint models per group of co-active parameters (conditional "
                      "spaces); needs multivariate: true.")
              .with_default(tpe.group)
              .only_for(tpe_like)
              .with_example("group: true"),
          Field::make("constant_liar", Type::kBool,
                      "Running trials count as the worst observations, so parallel workers "
                      "spread out.")
              .with_default(tpe.constant_liar)
              .only_for(tpe_like)
              .with_example("constant_liar: false"),
          Field::make("prior_weight", Type::kNumber, "Weight of the prior component.")
              .above(0)
              .with_default(tpe.prior_weight)
              .only_for(tpe_like)
              .with_example("prior_weight: 0.5"),
          Field::make("consider_prior", Type::kBool, "Add the prior to the Parzen estimators.")
              .with_default(tpe.consider_prior)
              .only_for(tpe_like)
              .with_example("consider_prior: false"),
          Field::make("consider_magic_clip", Type::kBool,
                      "Lower-bound kernel bandwidths by range / min(100, 1 + n).")
              .with_default(tpe.consider_magic_clip)
              .only_for(tpe_like)
              .with_example("consider_magic_clip: false"),
          Field::make("consider_endpoints", Type::kBool,
                      "Let kernel bandwidths at the ends of the range reach the bounds.")
              .with_default(tpe.consider_endpoints)
              .only_for(tpe_like)
              .with_example("consider_endpoints: true"),
          Field::make("gamma_cap", Type::kInt,
                      "Most observations counted as good: gamma(n) = min(ceil(gamma_fraction * "
                      "n), gamma_cap).")
              .at_least(1)
              .with_default(int64_t{tpe.gamma_cap})
              .only_for(tpe_like)
              .with_example("gamma_cap: 10"),
          Field::make("gamma_fraction", Type::kNumber, "Share of observations counted as good.")
              .above(0)
              .at_most(1)
              .with_default(tpe.gamma_fraction)
              .only_for(tpe_like)
              .with_example("gamma_fraction: 0.15"),
          Field::make("shuffle", Type::kBool,
                      "Visit the grid in a seeded random order (false: lexicographic).")
              .with_default(grid.shuffle)
              .only_for({"grid"})
              .with_example("shuffle: false"),
          Field::make("min_points_in_model", Type::kInt,
                      "Observations a budget needs before its model is used.")
              .at_least(1)
              .only_for({"bohb"})
              .with_default_note("parameters + 1")
              .with_example("min_points_in_model: 8"),
          Field::make("random_fraction", Type::kNumber,
                      "Share of configurations drawn at random.")
              .at_least(0)
              .at_most(1)
              .with_default(bohb.random_fraction)
              .with_default_note("`1/3`")
              .only_for({"bohb"})
              .with_example("random_fraction: 0.2"),
      });
  sampler.variant_key = "type";
  sampler.aliases = {"method", "algorithm"};
  sampler.shorthand_key = "type";

  Field pruner = Field::section(
      "pruner",
      "Early stopping of poor trials from their per-step reports. A bare name (`pruner: median`) "
      "is short for `{type: NAME}`. Steps are the resource (epochs, iterations), counted from 1.",
      {
          Field::make("type", Type::kEnum,
                      "none: never prune. median: stop a trial worse than the median of earlier "
                      "trials at the same step. asha / successive_halving: rungs at min_resource * "
                      "reduction_factor^k, top 1/reduction_factor go on. hyperband: several "
                      "successive-halving brackets.")
              .one_of({"none", "median", "asha", "successive_halving", "hyperband"})
              .with_default(std::string("none"))
              .with_example("type: hyperband"),
          Field::make("percentile", Type::kNumber,
                      "Prune when worse than this percentile of completed trials at the step.")
              .at_least(0)
              .at_most(100)
              .with_default(median.percentile)
              .only_for({"median"})
              .with_example("percentile: 25"),
          Field::make("n_startup_trials", Type::kInt, "No pruning until this many trials completed.")
              .at_least(0)
              .with_default(int64_t{median.n_startup_trials})
              .only_for({"median"})
              .with_example("n_startup_trials: 10"),
          Field::make("n_warmup_steps", Type::kInt, "No pruning at steps up to this one.")
              .at_least(0)
              .with_default(int64_t{median.n_warmup_steps})
              .only_for({"median"})
              .with_example("n_warmup_steps: 3"),
          Field::make("interval_steps", Type::kInt, "Check every this many steps after warm-up.")
              .at_least(1)
              .with_default(int64_t{median.interval_steps})
              .only_for({"median"})
              .with_example("interval_steps: 2"),
          Field::make("n_min_trials", Type::kInt,
                      "Completed trials that must have reported the step before it is judged.")
              .at_least(1)
              .with_default(int64_t{median.n_min_trials})
              .only_for({"median"})
              .with_example("n_min_trials: 3"),
          Field::make("min_resource", Type::kInt, "Steps at the first rung.")
              .at_least(1)
              .with_default(int64_t{halving.min_resource})
              .only_for(halving_like)
              .with_example("min_resource: 1"),
          Field::make("max_resource", Type::kInt,
                      "Steps a trial runs at most (it also caps every trial's steps).")
              .at_least(1)
              .with_default(int64_t{halving.max_resource})
              .only_for(halving_like)
              .with_example("max_resource: 27"),
          Field::make("reduction_factor", Type::kInt,
                      "eta: rungs are eta times apart and keep 1/eta of the trials.")
              .at_least(2)
              .with_default(int64_t{halving.reduction_factor})
              .only_for(halving_like)
              .with_example("reduction_factor: 3"),
          Field::make("min_early_stopping_rate", Type::kInt, "Skip the first s rungs.")
              .at_least(0)
              .with_default(int64_t{halving.min_early_stopping_rate})
              .only_for({"asha", "successive_halving"})
              .with_example("min_early_stopping_rate: 1"),
          Field::make("mode", Type::kEnum,
                      "stopping: decide at each rung as reports arrive (Optuna, Ray). promotion: "
                      "pause at each rung and resume the best later (Li et al. 2020; needs "
                      "checkpoints for commands).")
              .one_of({"stopping", "promotion"})
              .with_default(std::string(halving.mode == search::HalvingMode::kStopping
                                            ? "stopping"
                                            : "promotion"))
              .only_for(halving_like)
              .with_example("mode: promotion"),
      });
  pruner.variant_key = "type";
  pruner.aliases = {"early_terminate", "earlyStopping", "scheduler"};
  pruner.shorthand_key = "type";

  Field function_key =
      Field::make("function", Type::kEnum,
                  "Built-in test objective; the space must define its inputs x1..xd (d fixed by "
                  "the function, or any d >= 2).")
          .one_of(search::test_function_names())
          .only_for({"function"})
          .with_example("function: branin");
  function_key.selects_variant = true;
  Field command_key = Field::make("command", Type::kStringList,
                                  "Program and arguments (no shell). `{name}` is replaced by the "
                                  "value of parameter `name`; `{{` and `}}` are literal braces. "
                                  "The program's side is docs/command-trials.md.")
                          .with_min_items(1)
                          .only_for({"command"})
                          .with_example("command: [python3, train.py, --lr, \"{lr}\"]");
  command_key.selects_variant = true;
  Field pipeline_key =
      Field::make("pipeline", Type::kAny,
                  "A LibTorch training pipeline (data, model, training), validated by the "
                  "pipelines module; see docs/pipelines.md.")
          .only_for({"pipeline"})
          .with_example("pipeline: {data: {train: train.csv, target: label}, model: {type: mlp}}");
  pipeline_key.selects_variant = true;

  Field trial = Field::section(
      "trial",
      "What one trial runs: a built-in test function, an external command, or a training "
      "pipeline.",
      {
          function_key,
          command_key,
          pipeline_key,
          Field::make("steps", Type::kInt,
                      "Fidelity steps of the function (reports at steps 1..N), when no pruner "
                      "sets max_resource.")
              .at_least(1)
              .with_default(int64_t{1})
              .only_for({"function"})
              .with_example("steps: 27"),
          Field::make("noise", Type::kNumber,
                      "Standard deviation of Gaussian noise added to each value (seeded per "
                      "trial).")
              .at_least(0)
              .with_default(0.0)
              .only_for({"function"})
              .with_example("noise: 0.1"),
          Field::make("steps", Type::kInt,
                      "Steps the program runs when no pruner sets max_resource (passed on to it).")
              .at_least(1)
              .only_for({"command"})
              .with_example("steps: 50"),
          Field::make("env", Type::kStringMap, "Extra environment variables for the program.")
              .only_for({"command"})
              .with_example("env: {OMP_NUM_THREADS: \"1\"}"),
          Field::make("timeout", Type::kDuration, "Wall time one trial may take; then it FAILs.")
              .above(0)
              .only_for({"command"})
              .with_example("timeout: 30m"),
          Field::make("grace_period", Type::kDuration,
                      "Time between SIGTERM and SIGKILL when a trial is stopped.")
              .at_least(0)
              .with_default(int64_t{10'000})
              .only_for({"command"})
              .with_example("grace_period: 30s"),
          Field::make("checkpoint", Type::kBool,
                      "The program can save and resume (needed to pause trials under a "
                      "promotion pruner).")
              .with_default(false)
              .only_for({"command"})
              .with_example("checkpoint: true"),
      });
  trial.variant_by_presence = true;
  trial.aliases = {"program", "trialTemplate"};
  trial.required = true;

  Field space = Field::make("space", Type::kMapOf,
                            "The search space: parameter name → parameter. Names are letters, "
                            "digits, `_` and `-`, starting with a letter or `_`.")
                    .is_required()
                    .with_min_items(1)
                    .known_elsewhere_as({"parameters", "search_space"})
                    .with_example("space: {lr: {type: float, low: 1e-5, high: 0.1, log: true}}");
  space.fields = {param};

  return Field::section(
      "",
      "A sweep file.",
      {
          Field::make("name", Type::kString, "Study name, stored with the results.")
              .with_default_note("file name without extension")
              .with_example("name: mnist-mlp"),
          Field::make("seed", Type::kInt, "Seed of every random choice of the sweep.")
              .at_least(0)
              .with_default(int64_t{0})
              .with_example("seed: 42"),
          Field::section(
              "objective", "The metric to optimize.",
              {
                  Field::make("metric", Type::kString,
                              "Name of the reported metric to optimize (functions report "
                              "`value`).")
                      .with_default(std::string("value"))
                      .known_elsewhere_as({"name", "objectiveMetricName"})
                      .with_example("metric: val_loss"),
                  Field::make("direction", Type::kEnum, "Whether smaller or larger is better.")
                      .one_of({"minimize", "maximize"})
                      .with_default(std::string("minimize"))
                      .known_elsewhere_as({"goal", "type"})
                      .with_example("direction: maximize"),
              })
              .known_elsewhere_as({"metric"}),
          Field::make("max_trials", Type::kInt, "Trials created in total (resumes included).")
              .at_least(1)
              .with_default(int64_t{100})
              .known_elsewhere_as({"run_cap", "maxTrialCount", "n_trials"})
              .with_example("max_trials: 200"),
          Field::make("timeout", Type::kDuration,
                      "Wall time of the sweep (of each run of it, when resumed); no trial starts "
                      "and none is promoted after it.")
              .above(0)
              .known_elsewhere_as({"time_budget_s"})
              .with_example("timeout: 1h30m"),
          Field::make("on_timeout", Type::kEnum,
                      "What happens to trials still running at the timeout. pause: they are "
                      "stopped and go back to the queue, and a resumed sweep runs them again "
                      "(from their checkpoint when they have one). stop: they are stopped and "
                      "FAIL. finish: they run to their end, however long that takes.")
              .one_of({"pause", "stop", "finish"})
              .with_default(std::string("pause"))
              .with_example("on_timeout: stop"),
          Field::make("max_failed", Type::kInt, "Stop creating trials after this many FAIL.")
              .at_least(0)
              .known_elsewhere_as({"maxFailedTrialCount"})
              .with_example("max_failed: 5"),
          Field::make("max_retries", Type::kInt,
                      "Times a trial is re-queued after its worker was lost before it FAILs.")
              .at_least(0)
              .with_default(int64_t{3})
              .with_example("max_retries: 1"),
          Field::make("storage", Type::kPath,
                      "SQLite file of the study, relative to the sweep file's directory.")
              .with_default_note("unset (the command line decides)")
              .with_example("storage: results/mnist.db"),
          space,
          Field::make("enqueue", Type::kAny,
                      "Configurations to run first, in this order, before the sampler proposes any: "
                      "a list of maps parameter → value. Each gives every parameter that is active "
                      "in it, and no inactive one; values are checked against the space. They count "
                      "towards `max_trials`, and the sampler learns from their results like any "
                      "others (known-good settings, a previous study's best, a library's defaults).")
              .known_elsewhere_as({"enqueue_trial", "points_to_evaluate", "initial_points"})
              .with_example("enqueue: [{lr: 0.001, layers: 2}, {lr: 0.01, layers: 3}]"),
          sampler,
          pruner,
          trial,
          Field::section("workers", "Resources each trial takes on a worker.",
                         {
                             Field::make("threads_per_trial", Type::kInt,
                                         "CPU threads a trial uses (slots = cores / this).")
                                 .at_least(1)
                                 .with_default(int64_t{1})
                                 .with_example("threads_per_trial: 4"),
                             Field::make("gpus_per_trial", Type::kInt,
                                         "CUDA devices each trial gets for itself: a worker runs at most "
                                         "(its --gpus devices / this) trials at once, and none without "
                                         "enough. Command trials see theirs in CUDA_VISIBLE_DEVICES, "
                                         "pipeline trials train on the first. 0: slot i shares device "
                                         "i mod n of --gpus.")
                                 .at_least(0)
                                 .with_default(int64_t{0})
                                 .with_example("gpus_per_trial: 1"),
                         }),
      });
}

}  // namespace

const schema::Field& sweep_schema() {
  static const Field root = build_schema();
  return root;
}

std::string config_reference_markdown() { return schema::to_markdown(sweep_schema()); }

// ---------------------------------------------------------------------------------------------
// SweepConfig

Location SweepConfig::location_of(const std::string& key_path) const {
  return schema::locate(locations, key_path);
}

std::string SweepConfig::where(const std::string& key_path) const {
  const Location at = location_of(key_path);
  std::string out = source_path;
  if (at.line > 0) out += ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
  if (!key_path.empty()) out += ": " + key_path;
  return out;
}

std::string SweepConfig::hash() const { return sha256_hex(source_text); }

// ---------------------------------------------------------------------------------------------
// Building a SweepConfig from the normalized document

namespace {

bool valid_param_name(const std::string& name) {
  if (name.empty()) return false;
  const auto first = static_cast<unsigned char>(name[0]);
  if (!(std::isalpha(first) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

const Json* member(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

template <class T>
std::optional<T> get(const Json& j, const char* key) {
  const Json* m = member(j, key);
  if (!m) return std::nullopt;
  try {
    return m->get<T>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

search::Choice to_choice(const Json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return v.get<double>();
  return v.get<std::string>();
}

std::string choice_text(const search::Choice& c) {
  return std::holds_alternative<std::string>(c) ? "`" + search::to_string(c) + "`"
                                                 : search::to_string(c);
}

// Index of `value` among `choices`: same type and value, or the same number written as an
// integer or a float (as SearchSpace::internal() matches).
std::optional<int64_t> choice_index(const std::vector<search::Choice>& choices,
                                    const search::Choice& value) {
  for (size_t k = 0; k < choices.size(); ++k) {
    if (choices[k] == value) return static_cast<int64_t>(k);
  }
  auto as_number = [](const search::Choice& c) -> std::optional<double> {
    if (const auto* i = std::get_if<int64_t>(&c)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&c)) return *d;
    return std::nullopt;
  };
  const auto v = as_number(value);
  if (!v) return std::nullopt;
  for (size_t k = 0; k < choices.size(); ++k) {
    if (as_number(choices[k]) == v) return static_cast<int64_t>(k);
  }
  return std::nullopt;
}

class Builder {
 public:
  Builder(std::string source_name, schema::Context& ctx) : source_(std::move(source_name)), ctx_(ctx) {}

  void issue(const std::string& path, std::string message) {
    ctx_.add(path, ctx_.locate(path), std::move(message));
  }

  // An integer key of an option struct whose field is an `int`.
  std::optional<int> get_int(const Json& j, const char* key, const std::string& section) {
    const auto v = get<int64_t>(j, key);
    if (!v) return std::nullopt;
    if (*v > std::numeric_limits<int>::max() || *v < std::numeric_limits<int>::min()) {
      issue(schema::child_path(section, key),
            "expected an integer of at most " + std::to_string(std::numeric_limits<int>::max()) +
                ", got " + std::to_string(*v));
      return std::nullopt;
    }
    return static_cast<int>(*v);
  }

  void build(const Json& doc, SweepConfig& cfg) {
    const std::string stem = std::filesystem::path(source_).stem().string();
    cfg.name = get<std::string>(doc, "name").value_or(stem.empty() ? "sweep" : stem);
    if (cfg.name.empty()) issue("name", "the study name must not be empty");
    cfg.seed = static_cast<uint64_t>(get<int64_t>(doc, "seed").value_or(0));
    if (const Json* objective = member(doc, "objective")) {
      cfg.metric = get<std::string>(*objective, "metric").value_or(cfg.metric);
      if (cfg.metric.empty()) issue("objective.metric", "the metric name must not be empty");
      if (get<std::string>(*objective, "direction") == "maximize") {
        cfg.direction = search::Direction::kMaximize;
      }
    }
    cfg.max_trials = get<int64_t>(doc, "max_trials").value_or(cfg.max_trials);
    if (auto ms = get<int64_t>(doc, "timeout")) cfg.timeout = std::chrono::milliseconds(*ms);
    if (const auto on = get<std::string>(doc, "on_timeout")) {
      cfg.on_timeout = *on == "stop" ? OnTimeout::kStop : *on == "finish" ? OnTimeout::kFinish : OnTimeout::kPause;
    }
    cfg.max_failed = get<int64_t>(doc, "max_failed");
    cfg.max_retries = get_int(doc, "max_retries", "").value_or(cfg.max_retries);
    if (auto storage = get<std::string>(doc, "storage")) {
      if (storage->empty()) {
        issue("storage", "expected a file path, got an empty string");
      } else {
        std::filesystem::path p(*storage);
        cfg.storage = (p.is_absolute() ? p : cfg.config_dir / p).lexically_normal();
      }
    }
    if (const Json* workers = member(doc, "workers")) {
      cfg.workers.threads_per_trial = get_int(*workers, "threads_per_trial", "workers").value_or(1);
      cfg.workers.gpus_per_trial = get_int(*workers, "gpus_per_trial", "workers").value_or(0);
    }
    if (const Json* space = member(doc, "space")) build_space(*space, cfg.space);
    if (const Json* pruner = member(doc, "pruner")) build_pruner(*pruner, cfg.pruner);
    cfg.pruner.median.direction = cfg.pruner.halving.direction = cfg.pruner.hyperband.direction =
        cfg.direction;
    if (const Json* sampler = member(doc, "sampler")) build_sampler(*sampler, cfg);
    if (const Json* trial = member(doc, "trial")) build_trial(*trial, cfg);
  }

  // `enqueue:` after the space is final (which parameters are active depends on its order).
  void build_enqueue(const Json& doc, SweepConfig& cfg) {
    const Json* list = member(doc, "enqueue");
    if (list == nullptr || list->is_null()) return;
    if (!list->is_array()) {
      issue("enqueue", std::string("expected a list of configurations (maps parameter → value), got ") +
                           list->type_name());
      return;
    }
    const auto& space = cfg.space;
    std::string names;
    for (const auto& p : space.params()) names += (names.empty() ? "" : ", ") + p.name;
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string path = "enqueue[" + std::to_string(i) + "]";
      const Json& item = (*list)[i];
      if (!item.is_object()) {
        issue(path, std::string("expected a map parameter → value, got ") + item.type_name());
        continue;
      }
      search::Params p(space.size());
      bool ok = true;
      for (auto it = item.begin(); it != item.end(); ++it) {
        const std::string at = path + "." + it.key();
        const auto idx = space.index_of(it.key());
        if (!idx) {
          issue(at, "names no parameter of the space (parameters: " + names + ")");
          ok = false;
          continue;
        }
        const Json& v = it.value();
        std::optional<double> internal;
        if (v.is_primitive() && !v.is_null()) internal = space.internal(*idx, to_choice(v));
        if (!internal) {
          const auto& d = space.params()[*idx].dist;
          std::string expected;
          if (d.kind == search::ParamKind::kCategorical) {
            for (const auto& c : d.choices) expected += (expected.empty() ? "" : ", ") + choice_text(c);
            expected = "one of " + expected;
          } else {
            auto num = [](double x) {
              std::ostringstream o;
              o << x;
              return o.str();
            };
            expected = std::string(d.kind == search::ParamKind::kInt ? "an integer" : "a number") + " in [" +
                       num(d.low) + ", " + num(d.high) + "]" + (d.step ? " on its step" : "");
          }
          issue(at, "expected " + expected + ", got " + v.dump());
          ok = false;
          continue;
        }
        p[*idx] = *internal;
      }
      if (!ok) continue;
      for (size_t k : space.topological_order()) {
        const auto& name = space.params()[k].name;
        const bool active = space.is_active(k, p);
        if (active && !p[k]) {
          issue(path, "gives no value for `" + name + "`, which is active in this configuration");
          ok = false;
        } else if (!active && p[k]) {
          issue(path + "." + name, "is inactive in this configuration (its condition on `" +
                                       space.params()[k].when->parent + "` does not hold): leave it out");
          ok = false;
        }
      }
      if (ok) cfg.enqueue.push_back(std::move(p));
    }
  }

 private:
  void build_space(const Json& space, search::SearchSpace& out) {
    // First every parameter on its own, then conditions (a parent may be declared after its child).
    struct Pending {
      std::string name;
      search::ParamSpec spec;
      const Json* when = nullptr;
    };
    std::vector<Pending> built;
    std::vector<std::string>& declared = declared_;
    std::map<std::string, search::ParamKind> declared_kind;
    for (const auto& [name, p] : space.items()) {
      declared.push_back(name);
      const std::string path = "space." + name;
      if (!valid_param_name(name)) {
        issue(path, "parameter names are letters, digits, `_` and `-`, starting with a letter or "
                    "`_`; got '" + name + "'");
        continue;
      }
      const auto type = get<std::string>(p, "type");
      if (!type) continue;  // reported by the schema
      if (*type == "categorical") {
        declared_kind[name] = search::ParamKind::kCategorical;
        const Json* values = member(p, "values");
        if (!values) continue;
        std::vector<search::Choice> choices;
        for (const auto& v : *values) choices.push_back(to_choice(v));
        built.push_back({name, {name, search::Distribution::Categorical(std::move(choices)), {}},
                         member(p, "when")});
        continue;
      }
      const bool is_int = *type == "int";
      declared_kind[name] = is_int ? search::ParamKind::kInt : search::ParamKind::kFloat;
      const Json* low = member(p, "low");
      const Json* high = member(p, "high");
      const Json* step = member(p, "step");
      const bool log = get<bool>(p, "log").value_or(false);
      if (!low || !high) continue;
      if (is_int) {
        bool integral = true;
        for (const auto& [key, v] : std::initializer_list<std::pair<const char*, const Json*>>{
                 {"low", low}, {"high", high}, {"step", step}}) {
          if (v && !v->is_number_integer()) {
            issue(path + "." + key, std::string("an int parameter needs an integer ") + key +
                                        ", got " + v->dump());
            integral = false;
          }
        }
        if (!integral) continue;
        built.push_back({name,
                         {name,
                          search::Distribution::Int(low->get<int64_t>(), high->get<int64_t>(), log,
                                                    step ? step->get<int64_t>() : 1),
                          {}},
                         member(p, "when")});
      } else {
        std::optional<double> s;
        if (step) s = step->get<double>();
        built.push_back({name,
                         {name, search::Distribution::Float(low->get<double>(), high->get<double>(),
                                                            log, s),
                          {}},
                         member(p, "when")});
      }
    }

    for (auto& b : built) {
      if (b.when) b.spec.when = resolve_condition(b.name, *b.when, built, declared, declared_kind);
    }
    for (auto& b : built) out.add(std::move(b.spec));

    const bool complete = built.size() == declared.size();
    for (const auto& is : out.validate()) {
      if (is.path.empty()) {
        if (complete && !declared.empty()) issue("space", is.message);
        continue;
      }
      issue("space." + is.path, is.message);
    }
  }

  template <class Built>
  std::optional<search::Condition> resolve_condition(
      const std::string& name, const Json& when, const Built& built,
      const std::vector<std::string>& declared,
      const std::map<std::string, search::ParamKind>& declared_kind) {
    const std::string path = "space." + name + ".when";
    if (when.size() != 1) {
      issue(path, "a parameter depends on exactly one parent, got " + std::to_string(when.size()) +
                      "; chain conditions by making the parent itself conditional");
      return std::nullopt;
    }
    const auto& [parent, values] = *when.items().begin();
    const std::string parent_path = path + "." + parent;
    if (std::find(declared.begin(), declared.end(), parent) == declared.end()) {
      const auto suggestion = schema::closest(parent, declared);
      issue(parent_path, "unknown parent parameter `" + parent + "`" +
                             (suggestion ? "; did you mean `" + *suggestion + "`?" : ""));
      return std::nullopt;
    }
    auto kind = declared_kind.find(parent);
    if (kind == declared_kind.end()) return std::nullopt;  // the parent itself is broken
    if (kind->second != search::ParamKind::kCategorical) {
      issue(parent_path, "parent `" + parent + "` is a " + search::to_string(kind->second) +
                             " parameter; only a categorical parameter can be a parent");
      return std::nullopt;
    }
    auto it = std::find_if(built.begin(), built.end(), [&](const auto& b) { return b.name == parent; });
    if (it == built.end()) return std::nullopt;
    const auto& choices = it->spec.dist.choices;
    search::Condition cond{parent, {}};
    bool ok = true;
    for (size_t i = 0; i < values.size(); ++i) {
      const search::Choice v = to_choice(values[i]);
      if (auto index = choice_index(choices, v)) {
        if (std::find(cond.values.begin(), cond.values.end(), *index) == cond.values.end()) {
          cond.values.push_back(*index);
        }
        continue;
      }
      std::string listed;
      for (size_t k = 0; k < choices.size(); ++k) listed += (k ? ", " : "") + choice_text(choices[k]);
      const std::string item = schema::item_path(parent_path, i);
      issue(ctx_.locations.count(item) ? item : parent_path,
            choice_text(v) + " is not a value of `" + parent + "` (its values: " + listed + ")");
      ok = false;
    }
    if (!ok) return std::nullopt;
    return cond;
  }

  void build_sampler(const Json& j, SweepConfig& cfg) {
    SamplerChoice& s = cfg.sampler;
    s.type = get<std::string>(j, "type").value_or(s.type);
    search::TpeOptions& tpe = s.type == "bohb" ? s.bohb.tpe : s.tpe;
    auto set_int = [&](const char* key, int& field) {
      if (auto v = get_int(j, key, "sampler")) field = *v;
    };
    auto set_bool = [&](const char* key, bool& field) {
      if (auto v = get<bool>(j, key)) field = *v;
    };
    auto set_double = [&](const char* key, double& field) {
      if (auto v = get<double>(j, key)) field = *v;
    };
    set_int("n_startup_trials", s.type == "gp" ? s.gp.n_startup_trials : tpe.n_startup_trials);
    set_int("n_candidates", s.gp.n_candidates);
    set_int("n_local_searches", s.gp.n_local_searches);
    set_int("max_observations", s.gp.max_observations);
    set_bool("deterministic", s.gp.deterministic);
    set_int("n_ei_candidates", tpe.n_ei_candidates);
    set_bool("multivariate", tpe.multivariate);
    set_bool("group", tpe.group);
    set_bool("constant_liar", tpe.constant_liar);
    set_double("prior_weight", tpe.prior_weight);
    set_bool("consider_prior", tpe.consider_prior);
    set_bool("consider_magic_clip", tpe.consider_magic_clip);
    set_bool("consider_endpoints", tpe.consider_endpoints);
    set_int("gamma_cap", tpe.gamma_cap);
    set_double("gamma_fraction", tpe.gamma_fraction);
    set_bool("shuffle", s.grid.shuffle);
    if (auto v = get_int(j, "min_points_in_model", "sampler")) s.bohb.min_points_in_model = *v;
    set_double("random_fraction", s.bohb.random_fraction);

    if (s.type == "grid") {
      for (const auto& p : cfg.space.params()) {
        if (p.dist.kind == search::ParamKind::kFloat && !p.dist.step) {
          issue("space." + p.name, "the grid sampler needs a `step` for float parameter `" +
                                       p.name + "` (or make it int or categorical)");
        }
      }
    }
    if (s.type == "gp") {
      for (const auto& p : cfg.space.params()) {
        if (p.when) {
          issue("sampler.type", "the gp sampler does not handle conditional parameters (`" +
                                    p.name + "` has `when:`); use the tpe sampler");
          break;
        }
      }
    }
    if (s.type == "bohb") {
      const std::string& pruner = cfg.pruner.type;
      if (pruner != "hyperband" && pruner != "asha" && pruner != "successive_halving") {
        issue("sampler.type", "the bohb sampler needs a hyperband, asha or successive_halving "
                              "pruner (its budgets), but the pruner is `" + pruner + "`");
      }
    }
  }

  void build_pruner(const Json& j, PrunerChoice& p) {
    p.type = get<std::string>(j, "type").value_or(p.type);
    if (auto v = get<double>(j, "percentile")) p.median.percentile = *v;
    auto set_int = [&](const char* key, int& field) {
      if (auto v = get_int(j, key, "pruner")) field = *v;
    };
    set_int("n_startup_trials", p.median.n_startup_trials);
    set_int("n_warmup_steps", p.median.n_warmup_steps);
    set_int("interval_steps", p.median.interval_steps);
    set_int("n_min_trials", p.median.n_min_trials);
    set_int("min_early_stopping_rate", p.halving.min_early_stopping_rate);
    const auto min_r = get<int64_t>(j, "min_resource");
    const auto max_r = get<int64_t>(j, "max_resource");
    const auto eta = get<int64_t>(j, "reduction_factor");
    const auto mode = get<std::string>(j, "mode");
    const auto halving_mode =
        mode == "promotion" ? search::HalvingMode::kPromotion : search::HalvingMode::kStopping;
    if (min_r) p.halving.min_resource = p.hyperband.min_resource = *min_r;
    if (max_r) p.halving.max_resource = p.hyperband.max_resource = *max_r;
    if (eta) p.halving.reduction_factor = p.hyperband.reduction_factor = *eta;
    if (mode) p.halving.mode = p.hyperband.mode = halving_mode;
    if (min_r && max_r && *min_r > *max_r) {
      issue("pruner.min_resource", "min_resource (" + std::to_string(*min_r) +
                                       ") must not exceed max_resource (" + std::to_string(*max_r) +
                                       ")");
    }
  }

  // The resource cap a pruner fixes, if any.
  static std::optional<int64_t> pruner_max_resource(const PrunerChoice& p) {
    if (p.type == "hyperband") return p.hyperband.max_resource;
    if (p.type == "asha" || p.type == "successive_halving") return p.halving.max_resource;
    return std::nullopt;
  }

  void build_trial(const Json& j, SweepConfig& cfg) {
    nlohmann::json out = nlohmann::json::parse(j.dump());
    const bool explicit_steps = ctx_.locations.count("trial.steps") > 0 && member(j, "steps");
    if (const Json* fn = member(j, "function")) {
      cfg.trial_kind = TrialKind::kFunction;
      check_function_inputs(fn->get<std::string>(), cfg.space);
    } else if (const Json* command = member(j, "command")) {
      cfg.trial_kind = TrialKind::kCommand;
      check_placeholders(*command, cfg.space);
      if (const Json* env = member(j, "env")) {
        for (const auto& [var, value] : env->items()) {
          if (var.empty() || var.find('=') != std::string::npos) {
            issue("trial.env." + var, "not a valid environment variable name");
          } else if (var.rfind("HYPERTUNE_", 0) == 0) {
            issue("trial.env." + var, "HYPERTUNE_* variables are set by the runner for every trial");
          }
        }
      }
      // The runners read durations as seconds (a number) or as text; seconds keep it exact.
      for (const char* key : {"timeout", "grace_period"}) {
        if (!out.contains(key)) continue;
        const int64_t ms = out[key].get<int64_t>();
        if (ms % 1000 == 0) {
          out[key] = ms / 1000;
        } else {
          out[key] = static_cast<double>(ms) / 1000.0;
        }
      }
    } else if (const Json* pipeline = member(j, "pipeline")) {
      cfg.trial_kind = TrialKind::kPipeline;
      if (!pipeline->is_object()) {
        issue("trial.pipeline", "expected a map describing the pipeline, got " +
                                    std::string(pipeline->is_array() ? "a list" : "a value"));
      }
    } else {
      return;  // no kind: reported by the schema
    }
    if (explicit_steps) {
      if (auto cap = pruner_max_resource(cfg.pruner); cap && *cap != out["steps"].get<int64_t>()) {
        issue("trial.steps", "steps (" + out["steps"].dump() + ") differs from the pruner's " +
                                 "max_resource (" + std::to_string(*cap) +
                                 "), which decides how many steps a trial runs; remove one");
      }
    }
    cfg.trial = std::move(out);
  }

  void check_function_inputs(const std::string& name, const search::SearchSpace& space) {
    const search::TestFunction* fn = search::find_test_function(name);
    if (!fn) return;  // reported by the schema
    // x<k> for k >= 1 without leading zeros: "x1".."x12", not "x01".
    auto input_index = [](const std::string& p) -> std::optional<int64_t> {
      if (p.size() < 2 || p[0] != 'x' || p[1] < '1' || p[1] > '9') return std::nullopt;
      return schema::parse_int(std::string_view(p).substr(1));
    };
    std::set<int64_t> inputs;
    for (const auto& p : declared_) {
      if (auto k = input_index(p)) inputs.insert(*k);
    }
    for (const auto& p : space.params()) {
      if (!input_index(p.name)) continue;
      if (p.dist.kind == search::ParamKind::kCategorical) {
        issue("space." + p.name, "`" + p.name + "` is an input of function `" + name +
                                     "`, so it must be a float or int parameter");
      }
      if (p.when) {
        issue("space." + p.name + ".when", "`" + p.name + "` is an input of function `" + name +
                                               "`, so it cannot be conditional");
      }
    }
    const int64_t defined = inputs.empty() ? 0 : *inputs.rbegin();
    const int64_t wanted = fn->dim > 0 ? fn->dim : std::max<int64_t>(defined, 2);
    std::string missing;
    for (int64_t k = 1; k <= wanted; ++k) {
      if (!inputs.count(k)) missing += (missing.empty() ? "" : ", ") + ("x" + std::to_string(k));
    }
    const std::string takes =
        fn->dim > 0 ? "takes " + std::to_string(fn->dim) + " inputs x1..x" + std::to_string(fn->dim)
                    : "takes inputs x1..xd with d >= 2";
    if (fn->dim > 0 && defined > fn->dim) {
      issue("trial.function", "function `" + name + "` " + takes + ", but the space defines x" +
                                  std::to_string(defined));
    } else if (!missing.empty()) {
      issue("trial.function",
            "function `" + name + "` " + takes + ", but the space lacks " + missing);
    }
  }

  // The runners' placeholder grammar: `{name}` is a parameter, `{{` and `}}` are literal braces,
  // any other brace is an error. Checked here so that a bad argument fails before any trial runs.
  void check_placeholders(const Json& argv, const search::SearchSpace& space) {
    const std::vector<std::string>& names = declared_;
    for (size_t i = 0; i < argv.size(); ++i) {
      const std::string arg = argv[i].get<std::string>();
      const std::string path = schema::item_path("trial.command", i);
      for (size_t pos = 0; pos < arg.size(); ++pos) {
        const char c = arg[pos];
        const bool doubled = pos + 1 < arg.size() && arg[pos + 1] == c;
        if (c == '}' && !doubled) {
          issue(path, "unmatched '}' in '" + arg + "' (write '}}' for a literal brace)");
          break;
        }
        if (c != '{' || doubled) {
          if (doubled) ++pos;
          continue;
        }
        const size_t close = arg.find('}', pos + 1);
        if (close == std::string::npos) {
          issue(path, "unclosed '{' in '" + arg + "' (write '{{' for a literal brace)");
          break;
        }
        const std::string name = arg.substr(pos + 1, close - pos - 1);
        if (std::find(names.begin(), names.end(), name) == names.end()) {
          const auto suggestion = schema::closest(name, names);
          issue(path, "placeholder `{" + name + "}` names no parameter of the space" +
                          (suggestion ? "; did you mean `{" + *suggestion + "}`?" : ""));
        } else if (const auto index = space.index_of(name); index && space.params()[*index].when) {
          // The runner fails a trial whose argument names an absent parameter.
          issue(path, "placeholder `{" + name + "}` names a conditional parameter, absent from "
                      "trials where its condition does not hold; read it from HYPERTUNE_PARAMS "
                      "instead");
        }
        pos = close;
      }
    }
  }

  std::string source_;
  schema::Context& ctx_;
  std::vector<std::string> declared_;  // every parameter name in the file, built or not
};

[[noreturn]] void throw_issues(const std::string& file, std::vector<schema::Issue> issues) {
  std::stable_sort(issues.begin(), issues.end(), [](const auto& a, const auto& b) {
    return std::tie(a.at.line, a.at.column) < std::tie(b.at.line, b.at.column);
  });
  std::vector<ConfigIssue> out;
  out.reserve(issues.size());
  for (auto& is : issues) {
    out.push_back({file, is.at.line, is.at.column, std::move(is.path), std::move(is.message)});
  }
  throw ConfigErrors(std::move(out));
}

}  // namespace

SweepConfig parse_config(const std::string& text, const std::string& source_name) {
  SweepConfig cfg;
  cfg.source_path = source_name;
  cfg.source_text = text;
  const std::filesystem::path source(source_name);
  std::filesystem::path dir = std::filesystem::absolute(
      source.has_parent_path() ? source.parent_path() : std::filesystem::current_path());
  dir = dir.lexically_normal();
  if (!dir.has_filename() && dir != dir.root_path()) dir = dir.parent_path();  // "a/./" -> "a"
  cfg.config_dir = dir;

  // Not text at all (a binary, a compressed file): say so instead of quoting its bytes.
  const auto location_of = [&](size_t offset) {
    Location at{1, 1};
    for (size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++at.line;
        at.column = 1;
      } else {
        ++at.column;
      }
    }
    return at;
  };
  if (const size_t bad = first_invalid_utf8(text); bad < text.size()) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[bad]));
    throw_issues(source_name, {{"", location_of(bad),
                                std::string("not a text file: byte ") + byte +
                                    " is not UTF-8 (a sweep config is YAML text)"}});
  }
  if (const size_t nul = text.find('\0'); nul != std::string::npos) {
    throw_issues(source_name, {{"", location_of(nul), "not a text file: it contains a NUL byte (a sweep config is YAML text)"}});
  }
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    const Location at = e.mark.is_null() ? Location{} : Location{e.mark.line + 1, e.mark.column + 1};
    // yaml-cpp reports a tab in the indentation as some other error: name the tab.
    int line = 1;
    for (size_t begin = 0; begin < text.size() && (e.mark.is_null() || line <= at.line); ++line) {
      size_t end = text.find('\n', begin);
      if (end == std::string::npos) end = text.size();
      const size_t indent_end = text.find_first_not_of(" \t", begin);
      const size_t tab = text.find('\t', begin);
      if (tab < end && tab < indent_end) {
        throw_issues(source_name, {{"", {line, static_cast<int>(tab - begin) + 1},
                                    "YAML syntax error: a tab in the indentation (YAML indents with spaces only)"}});
      }
      begin = end + 1;
    }
    throw_issues(source_name, {{"", at, "YAML syntax error: " + e.msg}});
  }
  schema::Context ctx;
  if (documents.empty() || documents[0].IsNull()) {
    throw_issues(source_name, {{"", {1, 1}, "the file is empty; a sweep needs at least `space` "
                                             "and `trial`"}});
  }
  if (documents.size() > 1) {
    const YAML::Mark m = documents[1].Mark();
    ctx.add("", m.is_null() ? Location{} : Location{m.line + 1, m.column + 1},
            "expected one YAML document, found " + std::to_string(documents.size()));
  }
  const auto doc = schema::check(documents[0], sweep_schema(), "", {1, 1}, ctx);
  if (doc) {
    // Absent sections still carry their defaults.
    Json filled = *doc;
    for (const auto& field : sweep_schema().fields) {
      if (field.type != Type::kSection || filled.contains(field.key) || field.required) continue;
      schema::Context scratch;
      if (auto defaults = schema::check(YAML::Node(YAML::NodeType::Map), field, field.key, {}, scratch)) {
        filled[field.key] = *defaults;
      }
    }
    Builder(source_name, ctx).build(filled, cfg);
  }
  if (!ctx.issues.empty()) throw_issues(source_name, std::move(ctx.issues));
  cfg.space.finalize();
  if (doc) {
    Builder(source_name, ctx).build_enqueue(*doc, cfg);
    if (!ctx.issues.empty()) throw_issues(source_name, std::move(ctx.issues));
  }
  cfg.locations = std::move(ctx.locations);
  return cfg;
}

SweepConfig load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigErrors({{path, 0, 0, "", "cannot read the sweep file: " +
                                             std::string(std::strerror(errno))}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw ConfigErrors({{path, 0, 0, "", "cannot read the sweep file"}});
  }
  return parse_config(text.str(), path);
}

std::unique_ptr<search::Sampler> make_sampler(const SweepConfig& config) {
  const auto& s = config.sampler;
  if (s.type == "random") return search::make_random_sampler(config.space, config.direction, s.random);
  if (s.type == "grid") {
    return search::make_grid_sampler(config.space, config.direction, config.seed, s.grid);
  }
  if (s.type == "tpe") return search::make_tpe_sampler(config.space, config.direction, s.tpe);
  if (s.type == "bohb") return search::make_bohb_sampler(config.space, config.direction, s.bohb);
  if (s.type == "gp") {
    try {
      return search::make_gp_sampler(config.space, config.direction, s.gp);
    } catch (const ConfigError& e) {
      throw ConfigError(config.where("sampler.type"), e.detail());
    }
  }
  throw ConfigError(config.where("sampler.type"), "unknown sampler type '" + s.type + "'");
}

std::unique_ptr<search::Pruner> make_pruner(const SweepConfig& config) {
  PrunerChoice p = config.pruner;
  // Pruners turn stored values into losses with the study's direction.
  p.median.direction = p.halving.direction = p.hyperband.direction = config.direction;
  if (p.type == "none") return search::make_nop_pruner();
  if (p.type == "median") return search::make_median_pruner(p.median);
  if (p.type == "asha" || p.type == "successive_halving") {
    return search::make_successive_halving(p.halving);
  }
  if (p.type == "hyperband") return search::make_hyperband(p.hyperband);
  throw ConfigError(config.where("pruner.type"), "unknown pruner type '" + p.type + "'");
}

}  // namespace hypertune::scheduler
