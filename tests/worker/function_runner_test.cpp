#include "worker/function_runner.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "search/functions.h"
#include "base/rng.h"
#include "tests/support/temp_dir.h"
#include "tests/worker/helpers/scripted_context.h"

namespace {

using hypertune::test::ScriptedContext;
using hypertune::test::TempDir;
using hypertune::Decision;
using hypertune::worker::FunctionRunner;
using hypertune::worker::FunctionTrial;
using hypertune::Outcome;
using hypertune::TrialSpec;
using nlohmann::json;
using Kind = hypertune::OutcomeKind;

json params_of(const std::vector<double>& x) {
  json p = json::object();
  for (size_t i = 0; i < x.size(); ++i) p[std::string(1, 'x').append(std::to_string(i + 1))] = x[i];
  return p;
}

TrialSpec spec_for(const std::string& function, const std::vector<double>& x, int64_t steps,
                   double noise = 0.0) {
  TrialSpec spec;
  spec.number = 7;
  spec.seed = 1234;
  spec.params = params_of(x);
  spec.trial = {{"function", function}, {"steps", steps}};
  if (noise > 0) spec.trial["noise"] = noise;
  return spec;
}

const hypertune::search::TestFunction& fn(const std::string& name) {
  const auto* f = hypertune::search::find_test_function(name);
  REQUIRE(f != nullptr);
  return *f;
}

const std::vector<double> kBraninX = {2.5, 4.0};

}  // namespace

TEST_CASE("function trials with one step complete with f(x) for every test function", "[runner]") {
  FunctionRunner runner;
  hypertune::Rng rng(99);
  for (const auto& name : hypertune::search::test_function_names()) {
    const auto& f = fn(name);
    const size_t d = f.dim == 0 ? 4 : static_cast<size_t>(f.dim);
    std::vector<double> x;
    for (size_t i = 0; i < d; ++i) x.push_back(rng.uniform(f.domain(i).first, f.domain(i).second));
    auto spec = spec_for(name, x, 1);
    spec.metric = "loss";
    ScriptedContext ctx;
    const Outcome out = runner.run(spec, ctx);
    INFO(name << ": " << out.error);
    REQUIRE(out.kind == Kind::kComplete);
    CHECK(ctx.reports.empty());
    CHECK(out.metrics.size() == 1);
    CHECK(out.metrics.at("loss").get<double>() == f.f(x));
    CHECK(out.last_step == 1);
  }
}

TEST_CASE("function trials report the multi-fidelity curve, which converges to f(x)", "[runner]") {
  const auto& f = fn("branin");
  FunctionRunner runner;
  auto spec = spec_for("branin", kBraninX, 3);
  spec.max_steps = 400;  // the resource cap wins over trial.steps
  ScriptedContext ctx;
  const Outcome out = runner.run(spec, ctx);
  REQUIRE(out.kind == Kind::kComplete);
  REQUIRE(ctx.reports.size() == 400);
  for (size_t i = 0; i < ctx.reports.size(); ++i) {
    const auto& [step, metrics] = ctx.reports[i];
    REQUIRE(step == static_cast<int64_t>(i + 1));
    CHECK(metrics.at("step").get<int64_t>() == step);
    CHECK(metrics.at("value").get<double>() ==
          hypertune::search::multi_fidelity_value(f, kBraninX, step));
  }
  const double truth = f.f(kBraninX);
  const double gap1 = ctx.reports.front().second.at("value").get<double>() - truth;
  const double gap400 = ctx.reports.back().second.at("value").get<double>() - truth;
  // The bias shrinks like 1/sqrt(step): 20 times smaller at step 400 than at step 1.
  CHECK(gap1 > 1.0);
  CHECK(gap400 == Approx(gap1 / 20.0).epsilon(1e-9));
  CHECK(out.metrics.at("value").get<double>() ==
        ctx.reports.back().second.at("value").get<double>());
  CHECK(out.last_step == 400);
}

TEST_CASE("function trial noise is Gaussian, seeded by trial and step", "[runner]") {
  const auto& f = fn("hartmann3");
  const std::vector<double> x = {0.2, 0.5, 0.8};
  FunctionRunner runner;
  const double sigma = 0.5;
  const int64_t n = 2000;

  auto run_with_seed = [&](uint64_t seed) {
    auto spec = spec_for("hartmann3", x, n, sigma);
    spec.seed = seed;
    ScriptedContext ctx;
    REQUIRE(runner.run(spec, ctx).kind == Kind::kComplete);
    std::vector<double> residuals;
    for (const auto& [step, m] : ctx.reports) {
      residuals.push_back(m.at("value").get<double>() -
                          hypertune::search::multi_fidelity_value(f, x, step));
    }
    return residuals;
  };
  const auto a = run_with_seed(5);
  const auto b = run_with_seed(5);
  const auto c = run_with_seed(6);
  CHECK(a == b);
  CHECK(a != c);
  double mean = 0.0, sq = 0.0;
  for (double r : a) mean += r;
  mean /= static_cast<double>(n);
  for (double r : a) sq += (r - mean) * (r - mean);
  const double sd = std::sqrt(sq / static_cast<double>(n - 1));
  CHECK(std::abs(mean) < 4.0 * sigma / std::sqrt(static_cast<double>(n)));
  CHECK(sd == Approx(sigma).epsilon(0.08));
  // Gaussian, not merely of the right spread: about 68.3% fall within one sigma (uniform: 57.7%).
  const auto within =
      std::count_if(a.begin(), a.end(), [&](double r) { return std::abs(r) < sigma; });
  CHECK(static_cast<double>(within) / static_cast<double>(n) == Approx(0.6827).margin(0.04));
}

TEST_CASE("a pruned function trial stops at the verdict", "[runner]") {
  FunctionRunner runner;
  ScriptedContext ctx;
  ctx.on(3, Decision::kPrune);
  const Outcome out = runner.run(spec_for("branin", kBraninX, 10), ctx);
  CHECK(out.kind == Kind::kPruned);
  CHECK(out.last_step == 3);
  CHECK(ctx.steps() == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("a paused function trial checkpoints its step and resumes after it", "[runner]") {
  TempDir dir("ht-fn-pause");
  FunctionRunner runner;
  const double noise = 0.3;

  ScriptedContext straight;
  const auto full = runner.run(spec_for("branin", kBraninX, 8, noise), straight);
  REQUIRE(full.kind == Kind::kComplete);

  auto spec = spec_for("branin", kBraninX, 8, noise);
  spec.checkpoint_dir = dir.file("trial-7");
  ScriptedContext first;
  first.on(4, Decision::kPause);
  const auto paused = runner.run(spec, first);
  REQUIRE(paused.kind == Kind::kPaused);
  CHECK(paused.last_step == 4);
  CHECK(first.steps() == std::vector<int64_t>{1, 2, 3, 4});
  REQUIRE(paused.checkpoint);
  CHECK(std::filesystem::path(*paused.checkpoint).parent_path() == spec.checkpoint_dir);
  std::ifstream in(*paused.checkpoint);
  const json saved = json::parse(in);
  CHECK(saved.at("step").get<int64_t>() == 4);
  CHECK(saved.at("function").get<std::string>() == "branin");

  spec.checkpoint = paused.checkpoint;
  spec.start_step = 4;
  ScriptedContext second;
  const auto done = runner.run(spec, second);
  REQUIRE(done.kind == Kind::kComplete);
  CHECK(second.steps() == std::vector<int64_t>{5, 6, 7, 8});
  // Same values as the run that never paused: the noise is a function of (seed, step).
  for (size_t i = 0; i < 4; ++i) {
    CHECK(second.reports[i].second == straight.reports[i + 4].second);
    CHECK(first.reports[i].second == straight.reports[i].second);
  }
  CHECK(done.metrics == full.metrics);
  CHECK(done.last_step == 8);
}

TEST_CASE("function trials pause at pause_at, or later when a verdict moves it", "[runner]") {
  TempDir dir("ht-fn-pause-at");
  FunctionRunner runner;
  auto spec = spec_for("branin", kBraninX, 20);
  spec.checkpoint_dir = dir.path().string();
  spec.pause_at = 2;

  ScriptedContext plain;
  const auto at_rung = runner.run(spec, plain);
  CHECK(at_rung.kind == Kind::kPaused);
  CHECK(at_rung.last_step == 2);

  ScriptedContext promoted;  // passed its rung at once: go on to the next one
  promoted.on(2, hypertune::Verdict{Decision::kContinue, 6});
  const auto later = runner.run(spec, promoted);
  CHECK(later.kind == Kind::kPaused);
  CHECK(later.last_step == 6);
  CHECK(promoted.steps().size() == 6);
}

TEST_CASE("function trials check the checkpoint they resume from", "[runner]") {
  TempDir dir("ht-fn-bad-ckpt");
  FunctionRunner runner;
  auto spec = spec_for("branin", kBraninX, 10);
  spec.checkpoint_dir = dir.path().string();
  ScriptedContext ctx;
  ctx.on(3, Decision::kPause);
  const auto paused = runner.run(spec, ctx);
  REQUIRE(paused.kind == Kind::kPaused);
  spec.checkpoint = paused.checkpoint;

  // Resumed, then stopped at step 5 by a worker shutdown: the scheduler resumes after the last
  // report, with the checkpoint of the pause.
  spec.start_step = 5;
  ScriptedContext again;
  CHECK(runner.run(spec, again).kind == Kind::kComplete);
  CHECK(again.steps() == std::vector<int64_t>{6, 7, 8, 9, 10});

  spec.start_step = 2;
  ScriptedContext early;
  const auto future = runner.run(spec, early);
  CHECK(future.kind == Kind::kFailed);
  CHECK_THAT(future.error, Catch::Contains("records step 3") &&
                               Catch::Contains("later than the step the trial resumes after (2)"));
  CHECK(early.reports.empty());

  auto other = spec_for("hartmann3", {0.1, 0.2, 0.3}, 10);
  other.checkpoint = paused.checkpoint;
  other.start_step = 3;
  CHECK_THAT(runner.run(other, early).error, Catch::Contains("belongs to function 'branin'"));

  spec.checkpoint = dir.file("missing.json");
  CHECK_THAT(runner.run(spec, early).error, Catch::Contains("missing.json"));
}

TEST_CASE("function trials cannot pause without a checkpoint directory", "[runner]") {
  FunctionRunner runner;
  auto no_dir = spec_for("branin", kBraninX, 10);
  ScriptedContext pause;
  pause.on(1, Decision::kPause);
  const auto failed = runner.run(no_dir, pause);
  CHECK(failed.kind == Kind::kFailed);
  CHECK_THAT(failed.error, Catch::Contains("no checkpoint directory"));
}

TEST_CASE("function trials stop between steps when the worker shuts down", "[runner]") {
  FunctionRunner runner;
  ScriptedContext ctx;
  ctx.stop_after(3);
  const auto out = runner.run(spec_for("branin", kBraninX, 50), ctx);
  CHECK(out.kind == Kind::kFailed);
  CHECK(out.error == "stopped: worker shutting down");
  CHECK(out.last_step == 3);
  CHECK(ctx.reports.size() == 3);
}

TEST_CASE("function trials fail with the reason for bad sections and parameters", "[runner]") {
  FunctionRunner runner;
  auto failure = [&](TrialSpec spec) {
    ScriptedContext ctx;
    const auto out = runner.run(spec, ctx);
    CHECK(out.kind == Kind::kFailed);
    CHECK(ctx.reports.empty());
    return out.error;
  };

  CHECK_THAT(failure(spec_for("brannin", kBraninX, 1)), Catch::Contains("trial.function") &&
                                                            Catch::Contains("'brannin'") &&
                                                            Catch::Contains("branin"));
  CHECK_THAT(failure(spec_for("branin", {1, 2, 3}, 1)),
             Catch::Contains("branin takes 2 parameters"));
  CHECK_THAT(failure(spec_for("rosenbrock", {1}, 1)), Catch::Contains("2 or more"));

  auto gap = spec_for("rosenbrock", {1, 2}, 1);
  gap.params = {{"x1", 1.0}, {"x3", 2.0}};
  CHECK_THAT(failure(gap), Catch::Contains("without gaps") && Catch::Contains("x1, x3"));

  auto foreign = spec_for("branin", kBraninX, 1);
  foreign.params["lr"] = 0.1;
  CHECK_THAT(failure(foreign), Catch::Contains("params.lr"));

  auto text = spec_for("branin", kBraninX, 1);
  text.params["x2"] = "4";
  CHECK_THAT(failure(text), Catch::Contains("params.x2") && Catch::Contains("expected a number"));

  auto typo = spec_for("branin", kBraninX, 1);
  typo.trial["stpes"] = 3;
  CHECK_THAT(failure(typo), Catch::Contains("trial.stpes") && Catch::Contains("steps"));

  auto bad_steps = spec_for("branin", kBraninX, 1);
  bad_steps.trial["steps"] = 0;
  CHECK_THAT(failure(bad_steps), Catch::Contains("trial.steps"));

  auto bad_noise = spec_for("branin", kBraninX, 1);
  bad_noise.trial["noise"] = -1;
  CHECK_THAT(failure(bad_noise), Catch::Contains("trial.noise"));

  CHECK_THROWS_AS(FunctionTrial::parse(json{{"steps", 3}}), hypertune::ConfigError);
}
