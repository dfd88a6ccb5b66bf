// The GP sampler: log-EI's numerics, the marginal likelihood's gradient, the posterior, and the
// sampler's contract (legal values, determinism, the kriging believer, the handover to TPE),
// with search quality against random search and TPE on fixed seeds.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/rng.h"
#include "search/functions.h"
#include "search/gp_model.h"
#include "search/sampler.h"
#include "search/space.h"
#include "search/trial.h"

using namespace hypertune::search;
using hypertune::derive_seed;
using hypertune::Rng;

namespace {

double direct_log_ei(double mean, double var, double best) {
  const double s = std::sqrt(var);
  const double z = (best - mean) / s;
  const double phi = std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
  const double Phi = 0.5 * std::erfc(-z / std::sqrt(2.0));
  return std::log(s * (phi + z * Phi));
}

Eigen::MatrixXd random_inputs(int n, const std::vector<bool>& categorical, uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd X(n, static_cast<Eigen::Index>(categorical.size()));
  for (int i = 0; i < n; ++i) {
    for (size_t j = 0; j < categorical.size(); ++j) {
      X(i, static_cast<Eigen::Index>(j)) =
          categorical[j] ? static_cast<double>(rng.below(3)) : rng.uniform();
    }
  }
  return X;
}

SearchSpace box_space(const TestFunction& fn, size_t d) {
  SearchSpace s;
  for (size_t i = 0; i < d; ++i) {
    const auto [lo, hi] = fn.domain(i);
    s.add({"x" + std::to_string(i + 1), Distribution::Float(lo, hi), std::nullopt});
  }
  s.finalize();
  return s;
}

// Every kind of parameter the GP takes (no conditions).
SearchSpace mixed_space() {
  SearchSpace s;
  s.add({"f", Distribution::Float(-2.0, 3.0), std::nullopt});
  s.add({"flog", Distribution::Float(1e-3, 10.0, true), std::nullopt});
  s.add({"fstep", Distribution::Float(0.0, 1.0, false, 0.25), std::nullopt});
  s.add({"i", Distribution::Int(-3, 3), std::nullopt});
  s.add({"ilog", Distribution::Int(1, 256, true), std::nullopt});
  s.add({"istep", Distribution::Int(0, 20, false, 5), std::nullopt});
  s.add({"cs", Distribution::Categorical({std::string("a"), std::string("b"), std::string("c")}),
         std::nullopt});
  s.add({"cb", Distribution::Categorical({true, false}), std::nullopt});
  s.finalize();
  return s;
}

double mixed_objective(const SearchSpace& s, const Params& p) {
  double f = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    const auto& d = s.params()[i].dist;
    const double span = d.kind == ParamKind::kCategorical ? 1.0 : d.high - d.low;
    f += std::pow((*p[i] - d.low) / span - 0.3, 2);
  }
  return f;
}

using Objective = std::function<double(const Params&)>;

// A sequential study; returns the best value after `trials`.
double best_after(Sampler& sampler, const Objective& f, int trials, uint64_t seed) {
  double best = INFINITY;
  for (int t = 0; t < trials; ++t) {
    SampleRequest req;
    req.trial_number = t;
    req.seed = derive_seed(seed, static_cast<uint64_t>(t));
    FrozenTrial trial;
    trial.number = t;
    trial.params = sampler.sample(req);
    trial.value = f(trial.params);
    trial.state = TrialState::kComplete;
    sampler.observe(trial);
    best = std::min(best, *trial.value);
  }
  return best;
}

Objective box(const TestFunction* fn) {
  return [fn](const Params& p) {
    std::vector<double> x;
    for (const auto& v : p) x.push_back(*v);
    return fn->f(x);
  };
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// 40 asks with running trials (each stays running for two asks), failures and prunings.
std::vector<Params> parallel_study(Sampler& sampler, const SearchSpace& space, uint64_t seed) {
  std::vector<Params> asked;
  std::vector<FrozenTrial> running;
  for (int64_t t = 0; t < 40; ++t) {
    SampleRequest req;
    req.trial_number = t;
    req.seed = derive_seed(seed, static_cast<uint64_t>(t));
    req.running = running;
    FrozenTrial trial;
    trial.number = t;
    trial.params = sampler.sample(req);
    trial.state = TrialState::kRunning;
    asked.push_back(trial.params);
    running.push_back(trial);
    if (running.size() > 2) {
      FrozenTrial done = running.front();
      running.erase(running.begin());
      if (done.number % 7 == 0) {
        done.state = TrialState::kFail;
      } else if (done.number % 5 == 0) {
        done.state = TrialState::kPruned;
        done.add_report(1, 1.0);
      } else {
        done.state = TrialState::kComplete;
        done.value = mixed_objective(space, done.params);
      }
      sampler.observe(done);
    }
  }
  return asked;
}

}  // namespace

TEST_CASE("log-EI agrees with the direct formula and stays finite far below the incumbent", "[gp]") {
  for (double z = -6.0; z <= 6.0; z += 0.25) {
    INFO("z = " << z);
    CHECK(gp::log_ei(0.0, 4.0, 2.0 * z) == Approx(direct_log_ei(0.0, 4.0, 2.0 * z)).epsilon(1e-9));
  }
  // Where the direct formula underflows to log(0), log-EI keeps decreasing smoothly.
  double previous = gp::log_ei(0.0, 1.0, -5.0);
  for (double z : {-10.0, -27.9, -28.1, -40.0, -1e3, -1e6}) {
    const double v = gp::log_ei(0.0, 1.0, z);
    INFO("z = " << z);
    CHECK(std::isfinite(v));
    CHECK(v < previous);
    previous = v;
  }
  // log h(z) ~ -z^2/2 - log(sqrt(2 pi)) - 2 log|z| for z -> -infinity.
  CHECK(gp::log_h(-1e4) == Approx(-0.5e8 - 0.5 * std::log(2 * M_PI) - 2 * std::log(1e4)).epsilon(1e-12));
  // Continuous where the evaluation switches method (z = -1 and z = -28).
  for (double z : {-1.0, -28.0}) {
    CHECK(gp::log_h(z - 1e-9) == Approx(gp::log_h(z + 1e-9)).epsilon(1e-7));
  }
  // The derivatives against central differences, at moderate and extreme z.
  for (double best : {0.5, -3.0, -20.0, -35.0}) {
    double dm = 0, dv = 0;
    const double mean = 0.3, var = 0.7, h = 1e-6;
    (void)gp::log_ei(mean, var, best, &dm, &dv);
    const double fm = (gp::log_ei(mean + h, var, best) - gp::log_ei(mean - h, var, best)) / (2 * h);
    const double fv = (gp::log_ei(mean, var + h, best) - gp::log_ei(mean, var - h, best)) / (2 * h);
    INFO("best = " << best);
    CHECK(dm == Approx(fm).epsilon(1e-4));
    CHECK(dv == Approx(fv).epsilon(1e-4));
  }
}

TEST_CASE("the log posterior's gradient matches finite differences", "[gp]") {
  const std::vector<bool> categorical = {false, false, true};
  const Eigen::MatrixXd X = random_inputs(25, categorical, 3);
  Eigen::VectorXd y(25);
  for (int i = 0; i < 25; ++i) y[i] = std::sin(6 * X(i, 0)) + X(i, 1) * X(i, 2);
  y = (y.array() - y.mean()) / std::sqrt((y.array() - y.mean()).square().mean());
  gp::Model model(categorical);
  (void)model.fit(X, y, gp::Hyper::initial(3), false, 0);  // sets the data; the fit is not used
  Eigen::VectorXd theta(5);
  theta << 0.4, -0.7, 0.2, 0.3, std::log(0.05);
  Eigen::VectorXd grad;
  const double v = model.log_posterior(theta, &grad);
  REQUIRE(std::isfinite(v));
  for (int k = 0; k < 5; ++k) {
    const double h = 1e-5;
    Eigen::VectorXd a = theta, b = theta;
    a[k] += h;
    b[k] -= h;
    const double numeric = (model.log_posterior(a, nullptr) - model.log_posterior(b, nullptr)) / (2 * h);
    INFO("theta[" << k << "]");
    CHECK(grad[k] == Approx(numeric).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("the fitted posterior interpolates noiseless data and learns the noise of noisy data",
          "[gp]") {
  const std::vector<bool> categorical = {false, false};
  const Eigen::MatrixXd X = random_inputs(30, categorical, 11);
  Eigen::VectorXd smooth(30), noisy(30);
  Rng rng(5);
  for (int i = 0; i < 30; ++i) {
    smooth[i] = std::sin(4 * X(i, 0)) + std::cos(3 * X(i, 1));
    noisy[i] = smooth[i] + 0.8 * (rng.uniform() - 0.5) * std::sqrt(12.0);  // sd 0.8
  }
  auto standardise = [](Eigen::VectorXd v) {
    return Eigen::VectorXd((v.array() - v.mean()) / std::sqrt((v.array() - v.mean()).square().mean()));
  };
  gp::Model exact(categorical);
  exact.fit(X, standardise(smooth), gp::Hyper::initial(2), true, 200);
  Eigen::VectorXd mean, var;
  exact.predict(X, mean, var);
  CHECK((mean - standardise(smooth)).cwiseAbs().maxCoeff() < 1e-2);
  CHECK(var.maxCoeff() < 1e-3);
  // Far outside the data the variance returns to the kernel's.
  Eigen::MatrixXd far(1, 2);
  far << 5.0, 5.0;
  exact.predict(far, mean, var);
  CHECK(var[0] == Approx(std::exp(exact.hyper().theta[2])).epsilon(1e-3));

  gp::Model learned(categorical);
  learned.fit(X, standardise(noisy), gp::Hyper::initial(2), false, 200);
  gp::Model on_smooth(categorical);
  on_smooth.fit(X, standardise(smooth), gp::Hyper::initial(2), false, 200);
  INFO("noise on noisy data " << learned.hyper().noise() << ", on smooth data "
                              << on_smooth.hyper().noise());
  CHECK(learned.hyper().noise() > 0.1);
  CHECK(on_smooth.hyper().noise() < 0.01);
}

TEST_CASE("the posterior's input gradients match finite differences", "[gp]") {
  const std::vector<bool> categorical = {false, true, false};
  const Eigen::MatrixXd X = random_inputs(20, categorical, 8);
  Eigen::VectorXd y(20);
  for (int i = 0; i < 20; ++i) y[i] = X(i, 0) * X(i, 0) - X(i, 2) + 0.3 * X(i, 1);
  gp::Model model(categorical);
  model.fit(X, y, gp::Hyper::initial(3), false, 100);
  Eigen::VectorXd x(3);
  x << 0.37, 1.0, 0.61;
  double mean = 0, var = 0;
  Eigen::VectorXd dm, dv;
  model.predict_grad(x, mean, var, dm, dv);
  Eigen::VectorXd bm, bv;
  model.predict(x.transpose(), bm, bv);
  CHECK(mean == Approx(bm[0]).epsilon(1e-10));
  CHECK(var == Approx(bv[0]).epsilon(1e-8));
  CHECK(dm[1] == 0.0);
  for (int j : {0, 2}) {
    const double h = 1e-6;
    Eigen::VectorXd a = x, b = x;
    a[j] += h;
    b[j] -= h;
    Eigen::VectorXd ma, va, mb, vb;
    model.predict(a.transpose(), ma, va);
    model.predict(b.transpose(), mb, vb);
    INFO("input " << j);
    CHECK(dm[j] == Approx((ma[0] - mb[0]) / (2 * h)).epsilon(1e-4).margin(1e-7));
    CHECK(dv[j] == Approx((va[0] - vb[0]) / (2 * h)).epsilon(1e-4).margin(1e-7));
  }
}

TEST_CASE("the GP sampler proposes legal values, repeats itself for a seed, and differs across seeds",
          "[gp][sampler]") {
  const SearchSpace space = mixed_space();
  GpOptions o;
  o.n_startup_trials = 8;
  auto first = make_gp_sampler(space, Direction::kMinimize, o);
  const auto asked = parallel_study(*first, space, 7);
  REQUIRE(asked.size() == 40);
  for (size_t k = 0; k < asked.size(); ++k) {
    INFO("trial " << k);
    CHECK(space.is_valid(asked[k]));
  }
  auto again = make_gp_sampler(space, Direction::kMinimize, o);
  CHECK(parallel_study(*again, space, 7) == asked);
  auto other = make_gp_sampler(space, Direction::kMinimize, o);
  CHECK(parallel_study(*other, space, 8) != asked);
  // After the startup trials the model moves towards the optimum (every axis at 0.3 of its
  // range): the last ten proposals score better than the ten random ones.
  std::vector<double> random_part, model_part;
  for (size_t k = 0; k < 8; ++k) random_part.push_back(mixed_objective(space, asked[k]));
  for (size_t k = 30; k < 40; ++k) model_part.push_back(mixed_objective(space, asked[k]));
  CHECK(median(model_part) < 0.5 * median(random_part));
}

TEST_CASE("the GP sampler refuses conditional spaces with the parameter named", "[gp][sampler]") {
  SearchSpace s;
  s.add({"opt", Distribution::Categorical({std::string("adam"), std::string("sgd")}), std::nullopt});
  s.add({"momentum", Distribution::Float(0.0, 0.99), Condition{"opt", {1}}});
  s.finalize();
  try {
    (void)make_gp_sampler(s, Direction::kMinimize);
    FAIL("no error");
  } catch (const hypertune::ConfigError& e) {
    CHECK(std::string(e.what()).find("`momentum` has `when:`") != std::string::npos);
  }
}

TEST_CASE("running trials push the GP's next proposal away (kriging believer)", "[gp][sampler]") {
  const TestFunction* branin = find_test_function("branin");
  const SearchSpace space = box_space(*branin, 2);
  auto gp = make_gp_sampler(space, Direction::kMinimize);
  (void)best_after(*gp, box(branin), 20, 3);
  SampleRequest req;
  req.trial_number = 20;
  req.seed = 99;
  const Params alone = gp->sample(req);
  FrozenTrial pending;
  pending.number = 20;
  pending.state = TrialState::kRunning;
  pending.params = alone;
  std::vector<FrozenTrial> running = {pending};
  req.trial_number = 21;
  req.running = running;
  const Params beside = gp->sample(req);
  const double dx = (*alone[0] - *beside[0]) / 15.0, dy = (*alone[1] - *beside[1]) / 15.0;
  INFO("alone (" << *alone[0] << ", " << *alone[1] << "), beside (" << *beside[0] << ", "
                 << *beside[1] << ")");
  CHECK(std::sqrt(dx * dx + dy * dy) > 0.01);
}

TEST_CASE("past max_observations the GP sampler proposes what TPE proposes", "[gp][sampler]") {
  const TestFunction* branin = find_test_function("branin");
  const SearchSpace space = box_space(*branin, 2);
  GpOptions o;
  o.max_observations = 12;
  auto gp = make_gp_sampler(space, Direction::kMinimize, o);
  auto tpe = make_tpe_sampler(space, Direction::kMinimize);
  const Objective f = box(branin);
  for (int t = 0; t < 18; ++t) {
    SampleRequest req;
    req.trial_number = t;
    req.seed = derive_seed(4, static_cast<uint64_t>(t));
    FrozenTrial trial;
    trial.number = t;
    trial.params = gp->sample(req);
    const Params from_tpe = tpe->sample(req);
    INFO("trial " << t);
    if (t > 12) CHECK(trial.params == from_tpe);    // 13+ complete trials: TPE's turn
    if (t >= 10 && t <= 12) CHECK(trial.params != from_tpe);  // the GP's own proposals
    trial.value = f(trial.params);
    trial.state = TrialState::kComplete;
    gp->observe(trial);
    tpe->observe(trial);
  }
}

TEST_CASE("the GP sampler beats random search and TPE on smooth low-dimensional problems",
          "[gp][quality]") {
  struct Case {
    const char* name;
    size_t dims;
    int trials;
  };
  for (const Case c : {Case{"branin", 2, 30}, Case{"hartmann6", 6, 50}}) {
    const TestFunction* fn = find_test_function(c.name);
    REQUIRE(fn);
    const SearchSpace space = box_space(*fn, c.dims);
    std::vector<double> gp_regret, random_regret, tpe_regret;
    for (uint64_t seed = 0; seed < 5; ++seed) {
      auto gp = make_gp_sampler(space, Direction::kMinimize);
      auto random = make_random_sampler(space, Direction::kMinimize);
      auto tpe = make_tpe_sampler(space, Direction::kMinimize);
      const double opt = fn->optimum_for(c.dims);
      gp_regret.push_back(best_after(*gp, box(fn), c.trials, seed) - opt);
      random_regret.push_back(best_after(*random, box(fn), c.trials, seed) - opt);
      tpe_regret.push_back(best_after(*tpe, box(fn), c.trials, seed) - opt);
    }
    INFO(c.name << " after " << c.trials << " trials, median regret: gp " << median(gp_regret)
                << ", tpe " << median(tpe_regret) << ", random " << median(random_regret));
    CHECK(median(gp_regret) < 0.2 * median(random_regret));
    CHECK(median(gp_regret) < median(tpe_regret));
  }
}

TEST_CASE("the GP sampler maximises when the direction says so", "[gp][sampler]") {
  SearchSpace s;
  s.add({"x", Distribution::Float(0.0, 1.0), std::nullopt});
  s.finalize();
  auto gp = make_gp_sampler(s, Direction::kMaximize);
  const Objective bump = [](const Params& p) { return -std::pow(*p[0] - 0.8, 2); };
  double best = -INFINITY;
  for (int t = 0; t < 20; ++t) {
    SampleRequest req;
    req.trial_number = t;
    req.seed = derive_seed(1, static_cast<uint64_t>(t));
    FrozenTrial trial;
    trial.number = t;
    trial.params = gp->sample(req);
    trial.value = bump(trial.params);
    trial.state = TrialState::kComplete;
    gp->observe(trial);
    best = std::max(best, *trial.value);
  }
  CHECK(best > -1e-4);
}
