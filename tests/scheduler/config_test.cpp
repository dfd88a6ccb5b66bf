// Sweep config: schema validation with positions, normalization into SweepConfig, durations,
// suggestions, the generated reference in docs/config.md, and the config hash.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "scheduler/config.h"
#include "scheduler/sha256.h"
#include "base/rng.h"
#include "support/temp_dir.h"

using hypertune::ConfigError;
using hypertune::scheduler::ConfigErrors;
using hypertune::scheduler::ConfigIssue;
using hypertune::scheduler::SweepConfig;
using hypertune::scheduler::TrialKind;
using hypertune::scheduler::OnTimeout;
namespace schema = hypertune::scheduler::schema;
namespace search = hypertune::search;
using std::chrono::milliseconds;

namespace {

SweepConfig parse(const std::string& text, const std::string& name = "/sweeps/test.yaml") {
  return hypertune::scheduler::parse_config(text, name);
}

std::vector<ConfigIssue> issues_of(const std::string& text, const std::string& name = "cfg.yaml") {
  try {
    (void)parse(text, name);
  } catch (const ConfigErrors& e) {
    return e.issues();
  }
  FAIL("the config was accepted:\n" << text);
  return {};
}

// 1-based line and column of the first `token` on line `line` of `text`.
std::pair<int, int> pos_of(const std::string& text, int line, const std::string& token) {
  std::istringstream in(text);
  std::string l;
  for (int i = 1; std::getline(in, l); ++i) {
    if (i == line) {
      const auto col = l.find(token);
      REQUIRE(col != std::string::npos);
      return {line, static_cast<int>(col) + 1};
    }
  }
  FAIL("no line " << line);
  return {};
}

// 1-based line and column of the first `token` anywhere in `text`.
std::pair<int, int> find_pos(const std::string& text, const std::string& token) {
  const auto at = text.find(token);
  REQUIRE(at != std::string::npos);
  const auto line_start = text.rfind('\n', at);
  const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
  const int col = static_cast<int>(at - (line_start == std::string::npos ? 0 : line_start + 1)) + 1;
  return {line, col};
}

// The one issue at `path`; fails when there is none or several.
ConfigIssue issue_at(const std::vector<ConfigIssue>& issues, const std::string& path) {
  std::vector<ConfigIssue> found;
  for (const auto& i : issues) {
    if (i.path == path) found.push_back(i);
  }
  std::string all;
  for (const auto& i : issues) all += i.to_string() + "\n";
  INFO("issues:\n" << all);
  REQUIRE(found.size() == 1);
  return found[0];
}

void check_issue(const std::vector<ConfigIssue>& issues, const std::string& path,
                 std::pair<int, int> at, const std::string& message_part) {
  const ConfigIssue is = issue_at(issues, path);
  CHECK(is.file == "cfg.yaml");
  CHECK(is.line == at.first);
  CHECK(is.column == at.second);
  CHECK_THAT(is.message, Catch::Contains(message_part));
}

const std::string kBranin = R"(space:
  x1: {type: float, low: -5, high: 10}
  x2: {type: float, low: 0, high: 15}
trial:
  function: branin
)";

}  // namespace

TEST_CASE("a full config round-trips into SweepConfig", "[config]") {
  const std::string text = R"(# every key set to something other than its default
name: full-sweep
seed: 7
objective:
  metric: val_acc
  direction: maximize
max_trials: 40
timeout: 1h30m
max_failed: 4
max_retries: 1
storage: results/full.db
space:
  lr: {type: float, low: 1.0e-5, high: 0.1, log: true}
  layers: {type: int, low: 1, high: 9, step: 2}
  optimizer:
    type: categorical
    values: [adam, sgd, 3, 0.5, true, "7"]
  momentum: {type: float, low: 0.0, high: 0.9, step: 0.3, when: {optimizer: [sgd, 3]}}
  act: [relu, tanh]
sampler:
  type: tpe
  n_startup_trials: 5
  n_ei_candidates: 12
  multivariate: false
  group: false
  constant_liar: false
  prior_weight: 2.5
  consider_prior: false
  consider_magic_clip: false
  consider_endpoints: true
  gamma_cap: 9
  gamma_fraction: 0.2
pruner:
  type: asha
  min_resource: 2
  max_resource: 32
  reduction_factor: 2
  min_early_stopping_rate: 1
  mode: promotion
trial:
  command: [python3, train.py, "--lr={lr}", "--layers", "{layers}", "{{literal}}"]
  env: {OMP_NUM_THREADS: 2, MODE: fast}
  timeout: 90s
  grace_period: 2.5
  checkpoint: true
  steps: 32
workers:
  threads_per_trial: 4
  gpus_per_trial: 1
)";
  const SweepConfig cfg = parse(text, "/sweeps/full.yaml");
  CHECK(cfg.name == "full-sweep");
  CHECK(cfg.seed == 7);
  CHECK(cfg.metric == "val_acc");
  CHECK(cfg.direction == search::Direction::kMaximize);
  CHECK(cfg.max_trials == 40);
  REQUIRE(cfg.timeout);
  CHECK(*cfg.timeout == milliseconds(90 * 60 * 1000));
  CHECK(cfg.max_failed == 4);
  CHECK(cfg.max_retries == 1);
  REQUIRE(cfg.storage);
  CHECK(*cfg.storage == std::filesystem::path("/sweeps/results/full.db"));
  CHECK(cfg.config_dir == std::filesystem::path("/sweeps"));
  CHECK(cfg.source_path == "/sweeps/full.yaml");
  CHECK(cfg.source_text == text);
  CHECK(cfg.hash() == hypertune::scheduler::sha256_hex(text));

  // The space keeps the declaration order and every type as written.
  const auto& params = cfg.space.params();
  REQUIRE(params.size() == 5);
  CHECK(params[0].name == "lr");
  CHECK(params[0].dist.kind == search::ParamKind::kFloat);
  CHECK(params[0].dist.low == 1.0e-5);
  CHECK(params[0].dist.high == 0.1);
  CHECK(params[0].dist.log);
  CHECK_FALSE(params[0].dist.step);
  CHECK(params[1].dist.kind == search::ParamKind::kInt);
  CHECK(params[1].dist.low == 1);
  CHECK(params[1].dist.high == 9);
  CHECK(params[1].dist.step == 2.0);
  CHECK_FALSE(params[1].dist.log);
  REQUIRE(params[2].dist.kind == search::ParamKind::kCategorical);
  const std::vector<search::Choice> choices = {std::string("adam"), std::string("sgd"), int64_t{3},
                                               0.5, true, std::string("7")};
  REQUIRE(params[2].dist.choices.size() == choices.size());
  for (size_t i = 0; i < choices.size(); ++i) CHECK(params[2].dist.choices[i] == choices[i]);
  REQUIRE(params[3].when);
  CHECK(params[3].when->parent == "optimizer");
  CHECK(params[3].when->values == std::vector<int64_t>{1, 2});
  CHECK(params[3].dist.step == 0.3);
  CHECK(params[4].dist.kind == search::ParamKind::kCategorical);
  CHECK(params[4].dist.choices.size() == 2);
  // finalize() ran: parents come before children.
  CHECK(cfg.space.topological_order().size() == 5);
  CHECK(cfg.space.parent_of(3) == size_t{2});

  CHECK(cfg.sampler.type == "tpe");
  const auto& tpe = cfg.sampler.tpe;
  CHECK(tpe.n_startup_trials == 5);
  CHECK(tpe.n_ei_candidates == 12);
  CHECK_FALSE(tpe.multivariate);
  CHECK_FALSE(tpe.group);
  CHECK_FALSE(tpe.constant_liar);
  CHECK(tpe.prior_weight == 2.5);
  CHECK_FALSE(tpe.consider_prior);
  CHECK_FALSE(tpe.consider_magic_clip);
  CHECK(tpe.consider_endpoints);
  CHECK(tpe.gamma_cap == 9);
  CHECK(tpe.gamma_fraction == 0.2);

  CHECK(cfg.pruner.type == "asha");
  CHECK(cfg.pruner.halving.min_resource == 2);
  CHECK(cfg.pruner.halving.max_resource == 32);
  CHECK(cfg.pruner.halving.reduction_factor == 2);
  CHECK(cfg.pruner.halving.min_early_stopping_rate == 1);
  CHECK(cfg.pruner.halving.mode == search::HalvingMode::kPromotion);
  CHECK(cfg.pruner.halving.direction == search::Direction::kMaximize);

  CHECK(cfg.trial_kind == TrialKind::kCommand);
  const nlohmann::json expected_trial = {
      {"command", {"python3", "train.py", "--lr={lr}", "--layers", "{layers}", "{{literal}}"}},
      {"env", {{"OMP_NUM_THREADS", "2"}, {"MODE", "fast"}}},
      {"timeout", 90},
      {"grace_period", 2.5},
      {"checkpoint", true},
      {"steps", 32}};
  CHECK(cfg.trial == expected_trial);
  CHECK(cfg.workers.threads_per_trial == 4);
  CHECK(cfg.workers.gpus_per_trial == 1);

  // Every key path has its position.
  const auto low_at = cfg.location_of("space.lr.low");
  CHECK(std::pair(low_at.line, low_at.column) == find_pos(text, "1.0e-5"));
  const auto arg_at = cfg.location_of("trial.command[2]");
  CHECK(std::pair(arg_at.line, arg_at.column) == find_pos(text, "\"--lr"));
  const auto [mode_line, mode_col] = find_pos(text, "promotion");
  CHECK(cfg.where("pruner.mode") == "/sweeps/full.yaml:" + std::to_string(mode_line) + ":" +
                                        std::to_string(mode_col) + ": pruner.mode");
  CHECK(mode_line == 39);
}

TEST_CASE("defaults come from the schema and the option structs", "[config]") {
  const SweepConfig cfg = parse(kBranin, "some/dir/branin-sweep.yml");
  CHECK(cfg.name == "branin-sweep");
  CHECK(cfg.seed == 0);
  CHECK(cfg.metric == "value");
  CHECK(cfg.direction == search::Direction::kMinimize);
  CHECK(cfg.max_trials == 100);
  CHECK_FALSE(cfg.timeout);
  CHECK(cfg.on_timeout == OnTimeout::kPause);
  CHECK_FALSE(cfg.max_failed);
  CHECK(cfg.max_retries == 3);
  CHECK_FALSE(cfg.storage);
  CHECK(cfg.config_dir == (std::filesystem::current_path() / "some/dir").lexically_normal());
  CHECK(cfg.sampler.type == "tpe");
  const search::TpeOptions tpe;
  CHECK(cfg.sampler.tpe.n_startup_trials == tpe.n_startup_trials);
  CHECK(cfg.sampler.tpe.gamma_cap == tpe.gamma_cap);
  CHECK(cfg.pruner.type == "none");
  CHECK(cfg.trial_kind == TrialKind::kFunction);
  CHECK(cfg.trial == nlohmann::json{{"function", "branin"}, {"steps", 1}, {"noise", 0.0}});
  CHECK(cfg.workers.threads_per_trial == 1);
  CHECK(cfg.workers.gpus_per_trial == 0);

  // A name without a directory resolves against the working directory.
  CHECK(parse(kBranin, "plain.yaml").config_dir == std::filesystem::current_path());
}

TEST_CASE("sampler and pruner sections: shorthands, variants and their options", "[config]") {
  SECTION("bare names") {
    const auto cfg = parse(kBranin + "sampler: random\npruner: median\n");
    CHECK(cfg.sampler.type == "random");
    CHECK(cfg.pruner.type == "median");
    CHECK(cfg.pruner.median.percentile == 50.0);
  }
  SECTION("grid with shuffle off over stepped floats") {
    const auto cfg = parse(R"(space:
  x1: {type: float, low: -5, high: 10, step: 2.5}
  x2: {type: int, low: 0, high: 15}
sampler: {type: grid, shuffle: false}
trial: {function: branin}
)");
    CHECK(cfg.sampler.type == "grid");
    CHECK_FALSE(cfg.sampler.grid.shuffle);
  }
  SECTION("bohb with hyperband") {
    const auto cfg = parse(kBranin + R"(sampler: {type: bohb, min_points_in_model: 4, random_fraction: 0.25, n_ei_candidates: 8}
pruner: {type: hyperband, min_resource: 1, max_resource: 27, reduction_factor: 3}
)");
    CHECK(cfg.sampler.type == "bohb");
    CHECK(cfg.sampler.bohb.min_points_in_model == 4);
    CHECK(cfg.sampler.bohb.random_fraction == 0.25);
    CHECK(cfg.sampler.bohb.tpe.n_ei_candidates == 8);
    CHECK(cfg.pruner.hyperband.max_resource == 27);
  }
  SECTION("gp options") {
    const auto cfg = parse(kBranin + R"(sampler: {type: gp, n_startup_trials: 5, n_candidates: 64, n_local_searches: 2, max_observations: 100, deterministic: true}
)");
    CHECK(cfg.sampler.type == "gp");
    CHECK(cfg.sampler.gp.n_startup_trials == 5);
    CHECK(cfg.sampler.tpe.n_startup_trials == search::TpeOptions{}.n_startup_trials);
    CHECK(cfg.sampler.gp.n_candidates == 64);
    CHECK(cfg.sampler.gp.n_local_searches == 2);
    CHECK(cfg.sampler.gp.max_observations == 100);
    CHECK(cfg.sampler.gp.deterministic);
    auto s = hypertune::scheduler::make_sampler(cfg);
    CHECK(cfg.space.is_valid(s->sample({0, 1, {}, std::nullopt})));
  }
  SECTION("median options") {
    const auto cfg = parse(kBranin + R"(pruner:
  type: median
  percentile: 25
  n_startup_trials: 3
  n_warmup_steps: 2
  interval_steps: 4
  n_min_trials: 5
)");
    CHECK(cfg.pruner.median.percentile == 25.0);
    CHECK(cfg.pruner.median.n_startup_trials == 3);
    CHECK(cfg.pruner.median.n_warmup_steps == 2);
    CHECK(cfg.pruner.median.interval_steps == 4);
    CHECK(cfg.pruner.median.n_min_trials == 5);
  }
}

TEST_CASE("make_sampler and make_pruner build what the config selects", "[config]") {
  const auto grid = parse(R"(space:
  x1: {type: int, low: 0, high: 2}
  x2: {values: [a, b]}
sampler: grid
trial: {command: [echo, "{x1}", "{x2}"]}
)");
  auto sampler = hypertune::scheduler::make_sampler(grid);
  std::set<std::pair<double, double>> seen;
  for (int64_t n = 0; n < 6; ++n) {
    const search::Params p = sampler->sample({n, hypertune::derive_seed(0, n), {}, std::nullopt});
    REQUIRE(grid.space.is_valid(p));
    seen.insert({*p[0], *p[1]});
    search::FrozenTrial t;
    t.number = n;
    t.state = search::TrialState::kComplete;
    t.params = p;
    t.value = 1.0;
    sampler->observe(t);
  }
  CHECK(seen.size() == 6);  // the whole grid, once each
  CHECK(sampler->exhausted());

  for (const char* type : {"random", "tpe"}) {
    const auto cfg = parse(kBranin + "sampler: " + type + "\n");  // outlives its sampler
    auto s = hypertune::scheduler::make_sampler(cfg);
    CHECK(cfg.space.is_valid(s->sample({0, 1, {}, std::nullopt})));
  }
  auto hb = hypertune::scheduler::make_pruner(
      parse(kBranin + "pruner: {type: hyperband, max_resource: 27}\n"));
  CHECK(hb->max_resource() == 27);
  auto none = hypertune::scheduler::make_pruner(parse(kBranin));
  CHECK_FALSE(none->max_resource());
}

TEST_CASE("unknown keys are rejected with the closest valid key", "[config]") {
  const std::string text = "max_trial: 5\n" + kBranin + "sampler: {type: tpe, n_startup_trails: 3}\n";
  const auto issues = issues_of(text);
  REQUIRE(issues.size() == 2);
  check_issue(issues, "max_trial", {1, 1}, "unknown key `max_trial`; did you mean `max_trials`?");
  check_issue(issues, "sampler.n_startup_trails", pos_of(text, 7, "n_startup_trails"),
              "did you mean `n_startup_trials`?");
  CHECK(issues[0].to_string() ==
        "cfg.yaml:1:1: max_trial: unknown key `max_trial`; did you mean `max_trials`?");

  // Nothing close: the valid keys are listed instead.
  const auto far = issues_of(kBranin + "workers: {cpus: 2}\n");
  check_issue(far, "workers.cpus", pos_of(kBranin + "workers: {cpus: 2}\n", 6, "cpus"),
              "unknown key `cpus`; expected one of threads_per_trial, gpus_per_trial");

  // A key of another variant says which variant it belongs to.
  const std::string variant = kBranin + "sampler: {type: tpe, shuffle: false}\n";
  check_issue(issues_of(variant), "sampler.shuffle", pos_of(variant, 6, "shuffle"),
              "key `shuffle` does not apply to type `tpe` (only to grid)");
}

TEST_CASE("keys spelt as other tools spell them get our name as the suggestion", "[config]") {
  const std::string text = R"(method: bayes
metric: {name: val_loss, goal: minimize}
run_cap: 20
parameters:
  lr: {distribution: uniform, min: 0.1, max: 1}
  opt: {type: categorical, choices: [a, b]}
early_terminate: {type: hyperband}
program: train.py
)";
  const auto issues = issues_of(text);
  check_issue(issues, "method", {1, 1}, "did you mean `sampler`?");
  check_issue(issues, "metric", {2, 1}, "did you mean `objective`?");
  check_issue(issues, "run_cap", {3, 1}, "did you mean `max_trials`?");
  check_issue(issues, "parameters", {4, 1}, "did you mean `space`?");
  check_issue(issues, "early_terminate", {7, 1}, "did you mean `pruner`?");
  check_issue(issues, "program", {8, 1}, "did you mean `trial`?");

  const std::string space = R"(space:
  lr: {distribution: uniform, min: 0.1, max: 1}
  opt: {type: categorical, choices: [a, b]}
trial: {command: [run]}
)";
  const auto inner = issues_of(space);
  check_issue(inner, "space.lr.distribution", pos_of(space, 2, "distribution"),
              "did you mean `type`?");
  check_issue(inner, "space.lr.min", pos_of(space, 2, "min"), "did you mean `low`?");
  check_issue(inner, "space.lr.max", pos_of(space, 2, "max"), "did you mean `high`?");
  check_issue(inner, "space.opt.choices", pos_of(space, 3, "choices"), "did you mean `values`?");
}

TEST_CASE("wrong types say what was expected", "[config]") {
  const std::string text = R"(max_trials: abc
seed: -1
timeout: soon
on_timeout: later
space:
  x1: {type: float, low: -5, high: 10, log: yes}
  x2: {type: floot, low: 0, high: 15}
objective: {direction: maximise}
trial:
  function: branin
  steps: 2.5
)";
  const auto issues = issues_of(text);
  check_issue(issues, "max_trials", pos_of(text, 1, "abc"), "expected an integer >= 1, got 'abc'");
  check_issue(issues, "seed", pos_of(text, 2, "-1"), "expected an integer >= 0, got '-1'");
  check_issue(issues, "timeout", pos_of(text, 3, "soon"), "expected a duration");
  check_issue(issues, "on_timeout", pos_of(text, 4, "later"), "expected one of pause, stop, finish, got 'later'");
  check_issue(issues, "space.x1.log", pos_of(text, 6, "yes"), "expected true or false, got 'yes'");
  check_issue(issues, "space.x2.type", pos_of(text, 7, "floot"),
              "expected one of float, int, categorical, got 'floot'; did you mean `float`?");
  check_issue(issues, "objective.direction", pos_of(text, 8, "maximise"),
              "did you mean `maximize`?");
  check_issue(issues, "trial.steps", pos_of(text, 11, "2.5"), "expected an integer >= 1, got '2.5'");
  CHECK(issues.size() == 8);
}

TEST_CASE("search space rules are reported at the YAML line of the offending key", "[config]") {
  SECTION("low >= high") {
    const std::string text = "space:\n  lr: {type: float, low: 1, high: 0.5}\ntrial: {command: [a]}\n";
    check_issue(issues_of(text), "space.lr.low", pos_of(text, 2, "1,"), "must be less than high");
  }
  SECTION("log with low <= 0") {
    const std::string text =
        "space:\n  lr: {type: float, low: 0, high: 1, log: true}\ntrial: {command: [a]}\n";
    check_issue(issues_of(text), "space.lr.low", pos_of(text, 2, "0,"), "log: true needs low > 0");
  }
  SECTION("step that does not divide the range") {
    const std::string text =
        "space:\n  lr: {type: float, low: 0, high: 1, step: 0.3}\ntrial: {command: [a]}\n";
    check_issue(issues_of(text), "space.lr.step", pos_of(text, 2, "0.3"), "does not divide");
  }
  SECTION("int parameter with a fractional bound") {
    const std::string text = "space:\n  n: {type: int, low: 0.5, high: 4}\ntrial: {command: [a]}\n";
    check_issue(issues_of(text), "space.n.low", pos_of(text, 2, "0.5"),
                "an int parameter needs an integer low, got 0.5");
  }
  SECTION("duplicate categorical values") {
    const std::string text = "space:\n  opt:\n    values: [adam, sgd, adam]\ntrial: {command: [a]}\n";
    check_issue(issues_of(text), "space.opt.values", pos_of(text, 3, "["),
                "value 'adam' appears twice");
  }
  SECTION("a range wider than a double holds") {
    const std::string text = "space:\n  x: {type: float, low: -1.0e308, high: 1.0e308}\ntrial: {command: [a]}\n";
    check_issue(issues_of(text), "space.x.high", pos_of(text, 2, "1.0e308}"), "high - low overflows");
  }
  SECTION("duplicates among many categorical values, by type and value") {
    std::string values;
    for (int i = 0; i < 200000; ++i) values += (i ? ", " : "") + std::to_string(i);
    // 7 is an int twice; '7' (a string) and 7.0 (a float) are other values; 0.0 and -0.0 are equal.
    const std::string text = "space:\n  c:\n    values: [" + values + ", '7', 7.0, 0.0, -0.0, 7]\ntrial: {command: [a]}\n";
    const auto issues = issues_of(text);
    REQUIRE(issues.size() == 2);
    for (const auto& is : issues) CHECK(is.path == "space.c.values");
    const std::string both = issues[0].message + " | " + issues[1].message;
    CHECK_THAT(both, Catch::Contains("value '7' appears twice (positions 8 and 200005)") &&
                         Catch::Contains("value '-0' appears twice (positions 200003 and 200004)"));
  }
  SECTION("unknown `when` parent") {
    const std::string text = R"(space:
  optimizer: [adam, sgd]
  momentum: {type: float, low: 0, high: 1, when: {optimiser: sgd}}
trial: {command: [a]}
)";
    check_issue(issues_of(text), "space.momentum.when.optimiser", pos_of(text, 3, "sgd}"),
                "unknown parent parameter `optimiser`; did you mean `optimizer`?");
  }
  SECTION("`when` values are matched by type and value") {
    const std::string text = R"(space:
  p: [1, 2, "3"]
  a: {type: float, low: 0, high: 1, when: {p: 3}}
  b: {type: float, low: 0, high: 1, when: {p: [1.0, "3"]}}
trial: {command: [a]}
)";
    const auto issues = issues_of(text);
    REQUIRE(issues.size() == 1);
    check_issue(issues, "space.a.when.p", pos_of(text, 3, "3}"),
                "3 is not a value of `p` (its values: 1, 2, `3`)");
  }
  SECTION("a float parent") {
    const std::string text = R"(space:
  lr: {type: float, low: 0.1, high: 1}
  m: {type: float, low: 0, high: 1, when: {lr: 0.5}}
trial: {command: [a]}
)";
    check_issue(issues_of(text), "space.m.when.lr", pos_of(text, 3, "0.5"),
                "only a categorical parameter can be a parent");
  }
  SECTION("cycle") {
    const std::string text = R"(space:
  a: {values: [1, 2], when: {b: 1}}
  b: {values: [1, 2], when: {a: 2}}
trial: {command: [a]}
)";
    const auto issues = issues_of(text);
    check_issue(issues, "space.a.when", pos_of(text, 2, "{b"), "cycle");
    check_issue(issues, "space.b.when", pos_of(text, 3, "{a"), "cycle");
  }
  SECTION("bad parameter name") {
    const std::string text = "space:\n  2lr: {type: float, low: 0.1, high: 1}\ntrial: {command: [a]}\n";
    check_issue(issues_of(text), "space.2lr", pos_of(text, 2, "{"), "parameter names are letters");
  }
  SECTION("empty space") {
    const std::string text = "space: {}\ntrial: {command: [a]}\n";
    check_issue(issues_of(text), "space", pos_of(text, 1, "{"), "expected at least 1 entry");
  }
}

TEST_CASE("cross-section rules", "[config]") {
  SECTION("grid over a float without step names the parameter") {
    const std::string text = kBranin + "sampler: grid\n";
    const auto issues = issues_of(text);
    REQUIRE(issues.size() == 2);
    check_issue(issues, "space.x1", pos_of(text, 2, "{"),
                "the grid sampler needs a `step` for float parameter `x1`");
    check_issue(issues, "space.x2", pos_of(text, 3, "{"), "float parameter `x2`");
  }
  SECTION("function whose dimension does not match the space") {
    const std::string text = R"(space:
  x1: {type: float, low: -5, high: 10}
  x2: {type: float, low: 0, high: 15}
  x3: {type: float, low: 0, high: 15}
trial:
  function: branin
)";
    check_issue(issues_of(text), "trial.function", pos_of(text, 6, "branin"),
                "function `branin` takes 2 inputs x1..x2, but the space defines x3");
    const std::string lacking = "space:\n  x1: {type: float, low: 0, high: 1}\ntrial: {function: hartmann3}\n";
    check_issue(issues_of(lacking), "trial.function", pos_of(lacking, 3, "hartmann3"),
                "lacks x2, x3");
    const std::string any_dim = "space:\n  x1: {type: float, low: 0, high: 1}\ntrial: {function: rosenbrock}\n";
    check_issue(issues_of(any_dim), "trial.function", pos_of(any_dim, 3, "rosenbrock"),
                "takes inputs x1..xd with d >= 2, but the space lacks x2");
    CHECK(parse("space:\n  x1: {type: float, low: 0, high: 3}\n  x2: {type: int, low: 0, high: 3}\n"
                "  x3: {type: int, low: 0, high: 3}\ntrial: {function: rosenbrock}\n")
              .space.size() == 3);
    const std::string categorical = "space:\n  x1: [0, 1]\n  x2: [0, 1]\ntrial: {function: branin}\n";
    check_issue(issues_of(categorical), "space.x1", pos_of(categorical, 2, "["),
                "must be a float or int parameter");
  }
  SECTION("unknown function") {
    const std::string text = "space:\n  x1: [0, 1]\ntrial: {function: branim}\n";
    check_issue(issues_of(text), "trial.function", pos_of(text, 3, "branim"),
                "did you mean `branin`?");
  }
  SECTION("two trial kinds") {
    const std::string text = kBranin + "  command: [python3, train.py]\n";
    check_issue(issues_of(text), "trial.command", pos_of(text, 6, "command"),
                "`command` cannot be combined with `function`");
  }
  SECTION("no trial kind") {
    const std::string text = "space:\n  x: [1, 2]\ntrial:\n  steps: 3\n";
    check_issue(issues_of(text), "trial", pos_of(text, 4, "steps"),
                "expected exactly one of `function`, `command`, `pipeline`");
  }
  SECTION("missing trial") {
    const std::string text = "space:\n  x: [1, 2]\n";
    check_issue(issues_of(text), "trial", {1, 1}, "missing required key `trial`");
  }
  SECTION("a command key under a function trial") {
    const std::string text = kBranin + "  env: {A: b}\n";
    check_issue(issues_of(text), "trial.env", pos_of(text, 6, "env"),
                "key `env` does not apply to `function` (only to command)");
  }
  SECTION("bohb needs a multi-fidelity pruner") {
    const std::string text = kBranin + "sampler: bohb\npruner: median\n";
    check_issue(issues_of(text), "sampler.type", pos_of(text, 6, "bohb"),
                "needs a hyperband, asha or successive_halving pruner");
  }
  SECTION("gp refuses conditional parameters, and TPE keys") {
    const std::string text =
        "space:\n  opt: [adam, sgd]\n  momentum: {type: float, low: 0, high: 1, when: {opt: sgd}}\n"
        "sampler: gp\ntrial: {function: branin}\n";
    check_issue(issues_of(text), "sampler.type", pos_of(text, 4, "gp"),
                "the gp sampler does not handle conditional parameters (`momentum` has `when:`)");
    const std::string tpe_key = kBranin + "sampler: {type: gp, n_ei_candidates: 8}\n";
    check_issue(issues_of(tpe_key), "sampler.n_ei_candidates", pos_of(tpe_key, 6, "n_ei"),
                "does not apply to type `gp` (only to tpe, bohb)");
  }
  SECTION("command placeholders name parameters") {
    const std::string text =
        "space:\n  lr: [0.1, 0.2]\ntrial:\n  command: [run, \"--lr={lrr}\", \"{\", \"a}\", \"{{ok}}\"]\n";
    const auto issues = issues_of(text);
    REQUIRE(issues.size() == 3);
    check_issue(issues, "trial.command[1]", pos_of(text, 4, "\"--lr"),
                "placeholder `{lrr}` names no parameter of the space; did you mean `{lr}`?");
    check_issue(issues, "trial.command[2]", pos_of(text, 4, "\"{\""), "unclosed '{'");
    check_issue(issues, "trial.command[3]", pos_of(text, 4, "\"a}\""), "unmatched '}'");
  }
  SECTION("a command cannot name a conditional parameter") {
    const std::string text = R"(space:
  opt: [adam, sgd]
  momentum: {type: float, low: 0, high: 1, when: {opt: sgd}}
trial:
  command: [run, "--opt={opt}", "--momentum={momentum}"]
)";
    const auto issues = issues_of(text);
    REQUIRE(issues.size() == 1);
    check_issue(issues, "trial.command[2]", pos_of(text, 5, "\"--momentum"),
                "names a conditional parameter");
  }
  SECTION("reserved environment variables") {
    const std::string text = "space:\n  lr: [0.1]\ntrial:\n  command: [run]\n  env: {HYPERTUNE_TRIAL: 3}\n";
    check_issue(issues_of(text), "trial.env.HYPERTUNE_TRIAL", pos_of(text, 5, "3"), "set by the runner");
  }
  SECTION("resources") {
    const std::string text = kBranin + "pruner: {type: hyperband, min_resource: 30, max_resource: 27}\n";
    check_issue(issues_of(text), "pruner.min_resource", pos_of(text, 6, "30"),
                "min_resource (30) must not exceed max_resource (27)");
    const std::string steps = kBranin + "  steps: 10\npruner: {type: hyperband, max_resource: 27}\n";
    check_issue(issues_of(steps), "trial.steps", pos_of(steps, 6, "10"),
                "differs from the pruner's max_resource (27)");
  }
  SECTION("integers that do not fit the option structs") {
    const std::string text = kBranin + "workers: {threads_per_trial: 4294967296}\n";
    check_issue(issues_of(text), "workers.threads_per_trial", pos_of(text, 6, "4294967296"),
                "expected an integer of at most 2147483647");
  }
  SECTION("keys given twice") {
    const std::string text = "seed: 1\n" + kBranin + "seed: 2\n";
    check_issue(issues_of(text), "seed", {7, 1}, "key `seed` is given twice (first at line 1)");
  }
}

TEST_CASE("YAML syntax errors carry their line and column", "[config]") {
  const std::string text = "space:\n  x1: {type: float, low: 0, high: 1\ntrial: {function: branin}\n";
  const auto issues = issues_of(text);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].file == "cfg.yaml");
  CHECK(issues[0].line == 3);
  CHECK(issues[0].column >= 1);
  CHECK(issues[0].path.empty());
  CHECK_THAT(issues[0].message, Catch::StartsWith("YAML syntax error: "));

  // A tab in the indentation is named as such, where it is.
  const auto tab = issues_of("space:\n  x1: {type: float, low: 0, high: 1}\n\tx2: {type: float, low: 0, high: 1}\ntrial: {function: branin}\n");
  REQUIRE(tab.size() == 1);
  CHECK(tab[0].line == 3);
  CHECK(tab[0].column == 1);
  CHECK_THAT(tab[0].message, Catch::Contains("a tab in the indentation"));
  // Binary input is refused without quoting its bytes.
  const auto binary = issues_of(std::string("name: a\nspace: \x7f\x45\x4c\x46\xff\x01\n", 22));
  REQUIRE(binary.size() == 1);
  CHECK(binary[0].line == 2);
  CHECK(binary[0].message == "not a text file: byte 0xff is not UTF-8 (a sweep config is YAML text)");
  CHECK(issues_of(std::string("a: 1\n\0\n", 7))[0].message.find("NUL byte") != std::string::npos);

  const auto not_a_map = issues_of("- a\n- b\n");
  REQUIRE(not_a_map.size() == 1);
  CHECK(not_a_map[0].message == "expected a map, got a list");
  CHECK(issues_of("")[0].message.find("empty") != std::string::npos);
}

TEST_CASE("several errors in one file are all reported, in file order", "[config]") {
  const std::string text = R"(name: many
max_trials: 0
space:
  lr: {type: float, low: 1, high: 0.1}
  opt: {values: [a, a]}
  x: {type: int, low: 0, high: 3, colour: red}
sampler: {type: tpe, gamma_cap: 0}
trial:
  command: [run, "{nope}"]
)";
  try {
    (void)parse(text, "cfg.yaml");
    FAIL("accepted");
  } catch (const ConfigErrors& e) {
    const auto& issues = e.issues();
    REQUIRE(issues.size() == 6);
    const std::vector<std::string> paths = {"max_trials", "space.lr.low", "space.opt.values",
                                            "space.x.colour", "sampler.gamma_cap",
                                            "trial.command[1]"};
    for (size_t i = 0; i < paths.size(); ++i) CHECK(issues[i].path == paths[i]);
    for (size_t i = 1; i < issues.size(); ++i) CHECK(issues[i - 1].line <= issues[i].line);
    // what(): one line per problem, FILE:LINE:COL: KEY.PATH: message
    std::istringstream lines(e.what());
    std::string line;
    size_t n = 0;
    while (std::getline(lines, line)) {
      CHECK(line == issues[n].to_string());
      CHECK_THAT(line, Catch::StartsWith("cfg.yaml:" + std::to_string(issues[n].line) + ":" +
                                         std::to_string(issues[n].column) + ": " + issues[n].path +
                                         ": "));
      ++n;
    }
    CHECK(n == issues.size());
    // Caught as the project's configuration error too.
    const ConfigError& base = e;
    CHECK(std::string(base.what()) == e.what());
  }
}

TEST_CASE("the pipeline section is kept verbatim with positions for every key", "[config]") {
  const std::string text = R"(space:
  lr: {type: float, low: 0.001, high: 0.1, log: true}
trial:
  pipeline:
    data: {train: data/train.csv, target: label}
    model:
      layers:
        - {units: 64, activation: relu}
        - {units: 32, dropout: 0.5, "on": true}
)";
  const auto cfg = parse(text, "/work/p.yaml");
  CHECK(cfg.trial_kind == TrialKind::kPipeline);
  const auto& p = cfg.trial.at("pipeline");
  CHECK(p.at("data").at("train") == "data/train.csv");
  CHECK(p.at("model").at("layers").at(1).at("units") == 32);
  CHECK(p.at("model").at("layers").at(1).at("dropout") == 0.5);
  CHECK(p.at("model").at("layers").at(1).at("on") == true);
  const auto [line, col] = pos_of(text, 9, "0.5");
  CHECK(cfg.where("trial.pipeline.model.layers[1].dropout") ==
        "/work/p.yaml:" + std::to_string(line) + ":" + std::to_string(col) +
            ": trial.pipeline.model.layers[1].dropout");
  // A path below a known key falls back to the nearest one with a position.
  CHECK(cfg.location_of("trial.pipeline.model.layers[1].missing").line == 9);
  CHECK(cfg.location_of("trial.pipeline.data.target").column == pos_of(text, 5, "label").second);
}

TEST_CASE("durations", "[config]") {
  using schema::parse_duration;
  CHECK(parse_duration("90") == milliseconds(90'000));
  CHECK(parse_duration("1.5") == milliseconds(1'500));
  CHECK(parse_duration("90s") == milliseconds(90'000));
  CHECK(parse_duration("10m") == milliseconds(600'000));
  CHECK(parse_duration("1h30m") == milliseconds(5'400'000));
  CHECK(parse_duration("1h 30m 15s") == milliseconds(5'415'000));
  CHECK(parse_duration("250ms") == milliseconds(250));
  CHECK(parse_duration("1.5h") == milliseconds(5'400'000));
  CHECK(parse_duration("2d") == milliseconds(172'800'000));
  CHECK(parse_duration("1m500ms") == milliseconds(60'500));
  CHECK(parse_duration(" 0 ") == milliseconds(0));
  for (const char* bad : {"", "abc", "-5", "-5s", "30m1h", "1h1h", "5x", "h", "1.5.2s", "1e400"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
  CHECK(schema::format_duration(milliseconds(5'415'000)) == "1h30m15s");
  CHECK(schema::format_duration(milliseconds(250)) == "250ms");

  const auto cfg = parse(kBranin + "timeout: 2h\non_timeout: finish\n");
  CHECK(cfg.timeout == milliseconds(7'200'000));
  CHECK(cfg.on_timeout == OnTimeout::kFinish);
  const std::string zero = kBranin + "timeout: 0\n";
  check_issue(issues_of(zero), "timeout", pos_of(zero, 6, "0"), "expected a duration");
}

TEST_CASE("Damerau-Levenshtein distance and suggestions", "[config]") {
  using schema::edit_distance;
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("max_trails", "max_trials") == 1);  // one transposition
  // Unrestricted: a transposition followed by an insertion between the swapped letters.
  CHECK(edit_distance("ca", "abc") == 2);
  CHECK(schema::closest("Max_Trials", {"seed", "max_trials"}) == std::string("max_trials"));
  CHECK_FALSE(schema::closest("optimizer", {"seed", "name", "space"}));
  CHECK_FALSE(schema::closest("x", {"y"}));
}

TEST_CASE("scalar syntax", "[config]") {
  CHECK(schema::parse_int("42") == 42);
  CHECK(schema::parse_int("-9223372036854775808") == INT64_MIN);
  CHECK_FALSE(schema::parse_int("9223372036854775808"));
  CHECK(schema::parse_int("0x1F") == 31);
  CHECK_FALSE(schema::parse_int("1.0"));
  CHECK(schema::parse_number("1e-5") == 1e-5);
  CHECK(schema::parse_number("-.5") == -0.5);
  CHECK_FALSE(schema::parse_number(".inf"));
  CHECK_FALSE(schema::parse_number("nan"));
  CHECK_FALSE(schema::parse_number("1e"));
  CHECK(schema::parse_bool("True") == true);
  CHECK_FALSE(schema::parse_bool("yes"));
}

TEST_CASE("load_config reads files and names unreadable ones", "[config]") {
  hypertune::test::TempDir dir("config");
  const std::string path = dir.file("sweep.yaml");
  std::ofstream(path) << kBranin << "storage: out.db\n";
  const auto cfg = hypertune::scheduler::load_config(path);
  CHECK(cfg.name == "sweep");
  CHECK(cfg.storage == dir.path() / "out.db");
  CHECK(cfg.source_path == path);

  try {
    (void)hypertune::scheduler::load_config(dir.file("missing.yaml"));
    FAIL("accepted");
  } catch (const ConfigErrors& e) {
    REQUIRE(e.issues().size() == 1);
    CHECK_THAT(e.what(), Catch::StartsWith(dir.file("missing.yaml") + ": cannot read the sweep file"));
  }
}

TEST_CASE("every config in configs/ is valid", "[config]") {
  const std::filesystem::path configs = std::filesystem::path(HYPERTUNE_SOURCE_DIR) / "configs";
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path());
    CHECK_NOTHROW((void)hypertune::scheduler::load_config(entry.path().string()));
    ++n;
  }
  CHECK(n >= 1);
}

TEST_CASE("docs/config.md embeds the reference generated from the schema", "[config]") {
  const std::filesystem::path doc_path = std::filesystem::path(HYPERTUNE_SOURCE_DIR) / "docs/config.md";
  std::ifstream in(doc_path);
  REQUIRE(in);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string doc = buf.str();
  const std::string begin = "<!-- BEGIN GENERATED: hypertune config reference -->\n";
  const std::string end = "<!-- END GENERATED -->";
  const auto b = doc.find(begin);
  const auto e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  const std::string embedded = doc.substr(b + begin.size(), e - b - begin.size());
  const std::string generated = hypertune::scheduler::config_reference_markdown();
  if (embedded != generated && std::getenv("HYPERTUNE_UPDATE_DOCS")) {
    doc.replace(b + begin.size(), e - b - begin.size(), generated);
    std::ofstream(doc_path) << doc;
    WARN("rewrote " << doc_path);
  } else {
    INFO("docs/config.md is out of date: run this test with HYPERTUNE_UPDATE_DOCS=1 to regenerate");
    CHECK(embedded == generated);
  }

  // Every key of the schema is documented with a description and an example.
  const auto& root = hypertune::scheduler::sweep_schema();
  const auto paths = schema::key_paths(root);
  CHECK(paths.size() > 50);
  for (const auto& path : paths) {
    const auto dot = path.rfind('.');
    const std::string section = dot == std::string::npos ? "" : path.substr(0, dot);
    const std::string key = dot == std::string::npos ? path : path.substr(dot + 1);
    INFO(path);
    if (!section.empty()) CHECK(doc.find("### `" + section + "`") != std::string::npos);
    CHECK(doc.find("| `" + key + "` |") != std::string::npos);
  }
  std::function<void(const schema::Field&)> described = [&](const schema::Field& f) {
    for (const auto& field : f.fields) {
      INFO(field.key);
      CHECK_FALSE(field.description.empty());
      if (field.type != schema::Type::kSection && field.key.front() != '<') {
        CHECK_FALSE(field.example.empty());
      }
      described(field);
    }
  };
  described(root);

  // The complete examples in the doc are valid sweeps.
  int examples = 0;
  for (size_t pos = doc.find("```yaml\n# example:"); pos != std::string::npos;
       pos = doc.find("```yaml\n# example:", pos + 1)) {
    const size_t start = pos + 8;
    const size_t stop = doc.find("```", start);
    REQUIRE(stop != std::string::npos);
    const std::string yaml = doc.substr(start, stop - start);
    INFO(yaml);
    CHECK_NOTHROW((void)parse(yaml, "/docs/example.yaml"));
    ++examples;
  }
  CHECK(examples >= 3);

  // The error listing shown in the doc is what the code prints for its example.
  const size_t bad = doc.find("```yaml\n# bad.yaml\n");
  REQUIRE(bad != std::string::npos);
  const size_t bad_end = doc.find("```", bad + 8);
  const size_t listing = doc.find("```text\n", bad_end + 3);
  REQUIRE(listing != std::string::npos);
  const size_t listing_end = doc.find("```", listing + 8);
  const std::string expected = doc.substr(listing + 8, listing_end - listing - 8);
  try {
    (void)parse(doc.substr(bad + 8, bad_end - bad - 8), "bad.yaml");
    FAIL("the documented bad example was accepted");
  } catch (const ConfigErrors& e) {
    CHECK(std::string(e.what()) + "\n" == expected);
  }
}

TEST_CASE("sha256 matches the FIPS 180-4 test vectors", "[config][sha256]") {
  using hypertune::scheduler::sha256_hex;
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Fed in pieces that straddle block boundaries, the digest is the same.
  hypertune::scheduler::Sha256 h;
  const std::string text(300, 'q');
  for (size_t i = 0; i < text.size(); i += 37) h.update(std::string_view(text).substr(i, 37));
  const auto digest = h.digest();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t byte : digest) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0xF]);
  }
  CHECK(hex == sha256_hex(text));
}

TEST_CASE("enqueue: configurations checked against the space, inactive parameters refused", "[config]") {
  const std::string head = R"(name: q
space:
  opt: [adam, sgd]
  lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
  momentum: {type: float, low: 0.0, high: 0.99, when: {opt: sgd}}
  layers: {type: int, low: 1, high: 4}
trial: {command: [train, "{lr}"]}
)";
  const auto cfg = parse(head + "enqueue:\n  - {opt: sgd, lr: 0.01, momentum: 0.9, layers: 2}\n"
                                "  - {opt: adam, lr: 0.001, layers: 3}\n");
  REQUIRE(cfg.enqueue.size() == 2);
  const auto& sp = cfg.space;
  const auto& first = cfg.enqueue[0];
  CHECK(sp.external(*sp.index_of("opt"), *first[*sp.index_of("opt")]) == search::Choice{std::string("sgd")});
  CHECK(*first[*sp.index_of("momentum")] == Approx(0.9));
  CHECK_FALSE(cfg.enqueue[1][*sp.index_of("momentum")].has_value());
  CHECK(*cfg.enqueue[1][*sp.index_of("layers")] == 3.0);

  // Every problem, each at its item and key, with what was expected.
  const std::string bad = head + "enqueue:\n"
                                 "  - {opt: adam, lr: 0.001, layers: 2, momentum: 0.5}\n"  // inactive
                                 "  - {opt: sgd, lr: 0.01, layers: 2}\n"                   // momentum missing
                                 "  - {opt: rmsprop, lr: 1.0, layers: 9, depth: 3}\n"      // values, unknown name
                                 "  - 3\n";
  std::string text;
  for (const auto& i : issues_of(bad)) text += i.to_string() + "\n";
  CHECK_THAT(text, Catch::Contains("enqueue[0].momentum: is inactive in this configuration"));
  CHECK_THAT(text, Catch::Contains("enqueue[1]: gives no value for `momentum`"));
  CHECK_THAT(text, Catch::Contains("enqueue[2].opt: expected one of `adam`, `sgd`, got \"rmsprop\""));
  CHECK_THAT(text, Catch::Contains("enqueue[2].lr: expected a number in [0.0001, 0.1], got 1.0"));
  CHECK_THAT(text, Catch::Contains("enqueue[2].layers: expected an integer in [1, 4]"));
  CHECK_THAT(text, Catch::Contains("enqueue[2].depth: names no parameter of the space"));
  CHECK_THAT(text, Catch::Contains("enqueue[3]: expected a map"));
  CHECK_THAT(text, Catch::Contains("cfg.yaml:"));
  CHECK_THAT(issues_of(head + "enqueue: {opt: adam}\n")[0].to_string(), Catch::Contains("expected a list"));
}
