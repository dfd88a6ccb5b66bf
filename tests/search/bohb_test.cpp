// BOHB: one TPE model per budget, the largest budget with enough observations wins, a share of
// random configurations, reports matched to parameters whenever they become known.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "base/error.h"
#include "base/rng.h"
#include "base/decision.h"
#include "search/sampler.h"
#include "search/space.h"
#include "search/trial.h"

using namespace hypertune::search;
using hypertune::Decision;
using hypertune::derive_seed;
using hypertune::Rng;
using hypertune::Verdict;

namespace {

SearchSpace one_float() {
  SearchSpace s;
  s.add({"x", Distribution::Float(0.0, 1.0), std::nullopt});
  s.finalize();
  return s;
}

SampleRequest request(int64_t number, uint64_t seed) {
  SampleRequest r;
  r.trial_number = number;
  r.seed = seed;
  return r;
}

BohbOptions options(double random_fraction, int min_points) {
  BohbOptions o;
  o.random_fraction = random_fraction;
  o.min_points_in_model = min_points;
  return o;
}

double near_low(double x) { return std::abs(x - 0.1); }
double near_high(double x) { return std::abs(x - 0.9); }

// Share of proposals (seeds 0..n-1, at trial `number`) within 0.15 of `centre`.
double share_near(Sampler& s, int64_t number, double centre, int n = 60) {
  int hits = 0;
  for (int k = 0; k < n; ++k) {
    const Params p = s.sample(request(number + k, derive_seed(7, static_cast<uint64_t>(k))));
    hits += std::abs(*p[0] - centre) < 0.15;
  }
  return static_cast<double>(hits) / n;
}

}  // namespace

TEST_CASE("BOHB samples from the largest budget whose model has enough points", "[bohb]") {
  const SearchSpace space = one_float();
  // 30 trials on a grid over [0, 1]. At budget 1 the loss prefers x near 0.1; at budget 9 (where
  // only some trials got to) near 0.9. min_points_in_model = 8.
  const std::vector<int64_t> at_nine = {3, 7, 11, 15, 19, 23, 27, 25};
  auto feed = [&](Sampler& s, size_t n_nine) {
    for (int64_t t = 0; t < 30; ++t) {
      FrozenTrial ft;
      ft.number = t;
      ft.state = TrialState::kPruned;
      ft.params = {(static_cast<double>(t) + 0.5) / 30.0};
      ft.intermediate = {{1, near_low(*ft.params[0])}};
      const auto it = std::find(at_nine.begin(), at_nine.end(), t);
      if (it != at_nine.end() && static_cast<size_t>(it - at_nine.begin()) < n_nine) {
        ft.intermediate.emplace_back(9, near_high(*ft.params[0]));
      }
      s.observe(ft);
    }
  };
  SECTION("no model yet: random configurations over the whole range") {
    auto s = make_bohb_sampler(space, Direction::kMinimize, options(0.0, 8));
    CHECK(share_near(*s, 1000, 0.1) < 0.5);
  }
  SECTION("budget 9 one observation short: the budget 1 model rules") {
    auto s = make_bohb_sampler(space, Direction::kMinimize, options(0.0, 8));
    feed(*s, 7);
    CHECK(share_near(*s, 1000, 0.1) > 0.6);
    CHECK(share_near(*s, 1000, 0.9) < 0.2);
  }
  SECTION("with its eighth observation budget 9 takes over") {
    auto s = make_bohb_sampler(space, Direction::kMinimize, options(0.0, 8));
    feed(*s, 8);
    CHECK(share_near(*s, 1000, 0.9) > 0.6);
    CHECK(share_near(*s, 1000, 0.1) < 0.2);
  }
}

TEST_CASE("BOHB draws the random share of configurations from the seeded generator", "[bohb]") {
  const SearchSpace space = one_float();
  auto far_share = [&](double random_fraction) {
    auto s = make_bohb_sampler(space, Direction::kMinimize, options(random_fraction, 5));
    for (int64_t t = 0; t < 40; ++t) {
      FrozenTrial ft;
      ft.number = t;
      ft.state = TrialState::kComplete;
      ft.params = {(static_cast<double>(t) + 0.5) / 40.0};
      ft.value = near_low(*ft.params[0]);
      ft.intermediate = {{3, *ft.value}};
      s->observe(ft);
    }
    int far = 0;
    const int n = 300;
    for (int k = 0; k < n; ++k) {
      const Params p = s->sample(request(100 + k, derive_seed(21, static_cast<uint64_t>(k))));
      far += *p[0] > 0.4;  // the model almost never goes there; the prior does 60% of the time
    }
    return static_cast<double>(far) / n;
  };
  CHECK(far_share(0.0) < 0.05);
  // One third random, of which ~60% land above 0.4: ~0.2.
  const double third = far_share(1.0 / 3.0);
  CHECK(third > 0.12);
  CHECK(third < 0.3);
  CHECK(far_share(1.0) > 0.5);
}

TEST_CASE("BOHB learns from reports whenever the parameters become known", "[bohb]") {
  const SearchSpace space = one_float();
  Rng rng(5);
  std::vector<FrozenTrial> trials;
  for (int t = 0; t < 20; ++t) {
    FrozenTrial ft;
    ft.number = t;
    ft.state = TrialState::kPruned;
    ft.params = {rng.uniform()};
    ft.intermediate = {{1, near_low(*ft.params[0])}, {3, near_low(*ft.params[0]) * 0.5}};
    trials.push_back(ft);
  }
  auto proposals = [&](Sampler& s) {
    std::vector<Params> out;
    for (int k = 0; k < 20; ++k) out.push_back(s.sample(request(100 + k, derive_seed(3, k))));
    return out;
  };
  // Reference: the study replays stored trials through observe() (a resume).
  auto replayed = make_bohb_sampler(space, Direction::kMinimize, options(0.0, 5));
  for (const auto& t : trials) replayed->observe(t);

  SECTION("reports that arrive before the parameters wait for them") {
    auto s = make_bohb_sampler(space, Direction::kMinimize, options(0.0, 5));
    for (const auto& t : trials) {
      for (const auto& [step, value] : t.intermediate) s->observe_report(t.number, step, value);
    }
    for (const auto& t : trials) s->observe(t);
    CHECK(proposals(*s) == proposals(*replayed));
  }
  SECTION("parameters also come from the running trials of a request") {
    auto s = make_bohb_sampler(space, Direction::kMinimize, options(0.0, 5));
    for (const auto& t : trials) {
      for (const auto& [step, value] : t.intermediate) s->observe_report(t.number, step, value);
    }
    std::vector<FrozenTrial> running = trials;
    for (auto& t : running) t.state = TrialState::kRunning;
    SampleRequest req = request(99, 1);
    req.running = running;
    (void)s->sample(req);
    CHECK(proposals(*s) == proposals(*replayed));
  }
  SECTION("parameters also come from the sampler's own proposals") {
    auto s = make_bohb_sampler(space, Direction::kMinimize, options(0.0, 5));
    std::vector<FrozenTrial> sampled;
    for (int t = 0; t < 20; ++t) {
      FrozenTrial ft;
      ft.number = t;
      ft.state = TrialState::kPruned;
      ft.params = s->sample(request(t, derive_seed(8, static_cast<uint64_t>(t))));
      ft.intermediate = {{1, near_low(*ft.params[0])}, {3, near_high(*ft.params[0])}};
      for (const auto& [step, value] : ft.intermediate) s->observe_report(t, step, value);
      sampled.push_back(ft);
    }
    auto again = make_bohb_sampler(space, Direction::kMinimize, options(0.0, 5));
    for (const auto& t : sampled) again->observe(t);
    CHECK(proposals(*s) == proposals(*again));
  }
  SECTION("the first report of a (trial, step) wins") {
    auto s = make_bohb_sampler(space, Direction::kMinimize, options(0.0, 5));
    for (const auto& t : trials) s->observe(t);
    for (const auto& t : trials) s->observe_report(t.number, 3, 1e9);
    CHECK(proposals(*s) == proposals(*replayed));
  }
}

TEST_CASE("BOHB options are checked", "[bohb]") {
  const SearchSpace space = one_float();
  CHECK_THROWS_WITH(make_bohb_sampler(space, Direction::kMinimize, options(1.5, 3)),
                    Catch::Contains("sampler.bohb.random_fraction") && Catch::Contains("1.5"));
  CHECK_THROWS_WITH(make_bohb_sampler(space, Direction::kMinimize, options(0.3, 0)),
                    Catch::Contains("min_points_in_model"));
  BohbOptions o;
  o.tpe.n_ei_candidates = -1;
  CHECK_THROWS_WITH(make_bohb_sampler(space, Direction::kMinimize, o),
                    Catch::Contains("sampler.bohb.tpe.n_ei_candidates"));
}
