// Every sampler through the same checks on a mixed space: float / log / step, int / log / step,
// categorical strings, numbers and bools, a conditional child and grandchild. Proposals must be
// legal values with exactly the active parameters present; the same seed must give the same
// sequence and another seed another one. The study around them is a real one in miniature:
// complete, pruned, paused and failed trials, and trials still running while others are asked.

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
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

Choice str(const char* s) { return std::string(s); }

// `finite`: the variant a grid can enumerate (every float stepped, no log float; ~100k points).
SearchSpace mixed_space(bool finite) {
  SearchSpace s;
  s.add({"f", finite ? Distribution::Float(-2.0, 3.0, false, 2.5) : Distribution::Float(-2.0, 3.0),
         std::nullopt});
  s.add({"flog", finite ? Distribution::Int(1, 4, true) : Distribution::Float(1e-3, 10.0, true),
         std::nullopt});
  s.add({"fstep", Distribution::Float(0.0, 1.0, false, finite ? 0.5 : 0.25), std::nullopt});
  s.add({"i", finite ? Distribution::Int(-1, 1) : Distribution::Int(-3, 3), std::nullopt});
  s.add({"ilog", Distribution::Int(1, finite ? 4 : 256, true), std::nullopt});
  s.add({"istep", Distribution::Int(0, finite ? 10 : 20, false, 5), std::nullopt});
  s.add({"cs", Distribution::Categorical({str("a"), str("b"), str("c")}), std::nullopt});
  s.add({"cn", Distribution::Categorical({int64_t{1}, 2.5, int64_t{-3}}), std::nullopt});
  s.add({"cb", Distribution::Categorical({true, false}), std::nullopt});
  // Child of cs in {a, b}; grandchild of cs through child == "y".
  s.add({"child", Distribution::Categorical({str("x"), str("y")}), Condition{"cs", {0, 1}}});
  s.add({"grandchild",
         finite ? Distribution::Float(0.0, 1.0, false, 0.5) : Distribution::Float(0.1, 1.0, true),
         Condition{"child", {1}}});
  s.add({"only_c", Distribution::Int(0, 4), Condition{"cs", {2}}});
  s.finalize();
  return s;
}

double objective(const SearchSpace& s, const Params& p) {
  double f = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (!p[i]) continue;
    const auto& d = s.params()[i].dist;
    const double span = d.kind == ParamKind::kCategorical ? 1.0 : d.high - d.low;
    f += std::pow((*p[i] - d.low) / span - 0.3, 2);
  }
  return f;
}

struct Named {
  std::string name;
  bool finite_only = false;  // needs the finite space
  std::function<std::unique_ptr<Sampler>(const SearchSpace&, uint64_t study_seed)> make;
};

std::vector<Named> samplers() {
  std::vector<Named> v;
  v.push_back({"random", false, [](const SearchSpace& s, uint64_t) {
                 return make_random_sampler(s, Direction::kMinimize);
               }});
  v.push_back({"grid", true, [](const SearchSpace& s, uint64_t seed) {
                 return make_grid_sampler(s, Direction::kMinimize, seed);
               }});
  v.push_back({"tpe univariate", false, [](const SearchSpace& s, uint64_t) {
                 TpeOptions o;
                 o.multivariate = false;
                 o.group = false;
                 return make_tpe_sampler(s, Direction::kMinimize, o);
               }});
  v.push_back({"tpe multivariate", false, [](const SearchSpace& s, uint64_t) {
                 TpeOptions o;
                 o.group = false;
                 return make_tpe_sampler(s, Direction::kMinimize, o);
               }});
  v.push_back({"tpe multivariate + group", false, [](const SearchSpace& s, uint64_t) {
                 return make_tpe_sampler(s, Direction::kMinimize);
               }});
  v.push_back({"bohb", false, [](const SearchSpace& s, uint64_t) {
                 BohbOptions o;
                 o.min_points_in_model = 6;
                 return make_bohb_sampler(s, Direction::kMinimize, o);
               }});
  return v;
}

// A small study: 60 asks; every fourth trial is pruned after reports (BOHB learns from them),
// every seventh fails, every ninth pauses; each trial stays running for the next two asks.
std::vector<Params> run_study(Sampler& sampler, const SearchSpace& space, uint64_t seed) {
  std::vector<Params> asked;
  std::vector<FrozenTrial> running;
  for (int64_t t = 0; t < 60 && !sampler.exhausted(); ++t) {
    SampleRequest req;
    req.trial_number = t;
    req.seed = derive_seed(seed, static_cast<uint64_t>(t));
    req.running = running;
    req.budget = 1;
    FrozenTrial trial;
    trial.number = t;
    trial.params = sampler.sample(req);
    trial.state = TrialState::kRunning;
    asked.push_back(trial.params);
    running.push_back(trial);
    if (running.size() > 2) {
      FrozenTrial done = running.front();
      running.erase(running.begin());
      const double y = objective(space, done.params);
      for (int64_t step = 1; step <= 3; ++step) {
        const double v = y + 1.0 / static_cast<double>(step);
        done.add_report(step, v);
        sampler.observe_report(done.number, step, v);
      }
      if (done.number % 7 == 0) {
        done.state = TrialState::kFail;
      } else if (done.number % 4 == 0) {
        done.state = TrialState::kPruned;
      } else if (done.number % 9 == 0) {
        done.state = TrialState::kPaused;
      } else {
        done.state = TrialState::kComplete;
        done.value = y;
      }
      sampler.observe(done);
    }
  }
  return asked;
}

}  // namespace

TEST_CASE("every sampler proposes legal values for exactly the active parameters", "[sampler]") {
  for (const auto& s : samplers()) {
    for (const bool finite : {false, true}) {
      if (s.finite_only && !finite) continue;
      DYNAMIC_SECTION(s.name << (finite ? ", finite space" : ", continuous space")) {
        const SearchSpace space = mixed_space(finite);
        auto sampler = s.make(space, 42);
        const auto asked = run_study(*sampler, space, 42);
        REQUIRE(asked.size() == 60);
        std::vector<int> active_count(space.size(), 0);
        for (size_t k = 0; k < asked.size(); ++k) {
          const Params& p = asked[k];
          INFO("trial " << k);
          REQUIRE(p.size() == space.size());
          CHECK(space.is_valid(p));
          for (size_t i = 0; i < space.size(); ++i) {
            INFO("parameter " << space.params()[i].name);
            CHECK(p[i].has_value() == space.is_active(i, p));
            if (p[i]) {
              CHECK(space.params()[i].dist.contains(*p[i]));
              ++active_count[i];
            }
          }
        }
        // Every parameter, the grandchild included, was active at some point.
        for (size_t i = 0; i < space.size(); ++i) {
          INFO("parameter " << space.params()[i].name);
          CHECK(active_count[i] > 0);
        }
      }
    }
  }
}

TEST_CASE("every sampler repeats itself for a seed and differs across seeds", "[sampler]") {
  for (const auto& s : samplers()) {
    DYNAMIC_SECTION(s.name) {
      const SearchSpace space = mixed_space(s.finite_only);
      auto first = s.make(space, 7);
      auto again = s.make(space, 7);
      auto other = s.make(space, 8);
      const auto a = run_study(*first, space, 7);
      CHECK(run_study(*again, space, 7) == a);
      CHECK(run_study(*other, space, 8) != a);
    }
  }
}

TEST_CASE("the grid sampler refuses a space it cannot enumerate", "[sampler]") {
  CHECK_THROWS_AS(make_grid_sampler(mixed_space(false), Direction::kMinimize, 1),
                  hypertune::ConfigError);
}
