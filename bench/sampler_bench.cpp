// Sampler benchmark: ask+tell time per trial of TPE at growing study sizes, and search quality
// (median best value after 50/100/200 trials over seeds) of TPE and random search.
//
// Prints one JSON object per line; scripts/bench/optuna_sampler.py prints the same keys for
// Optuna 3.1 and scripts/bench/sampler.sh puts both side by side. The 7-parameter timing space,
// the mixed conditional problem and the box problems are defined identically on both sides.
//
//   hypertune_sampler_bench [--quick] [--timing | --quality] [--sizes 100,1000,10000] [--asks N]
//                           [--modes univariate,multivariate] [--seeds N] [--seed-start S]
//                           [--budgets 50,100,200] [--samplers tpe-univariate,tpe-multivariate,random,gp]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/decision.h"
#include "search/functions.h"
#include "base/rng.h"
#include "search/sampler.h"
#include "search/space.h"
#include "search/trial.h"

namespace {

using namespace hypertune::search;
using hypertune::Decision;
using hypertune::derive_seed;
using hypertune::Rng;
using hypertune::Verdict;

// ---------------------------------------------------------------------------------------------
// Problems

struct Problem {
  std::string name;
  SearchSpace space;
  std::function<double(const SearchSpace&, const Params&)> objective;
  double optimum = 0.0;
};

double value(const SearchSpace& s, const Params& p, const char* name) {
  return *p[*s.index_of(name)];
}

Choice str(const char* s) { return std::string(s); }

// 3 floats (one log), 2 ints (one log), a stepped float and a categorical of 3.
Problem timing_problem() {
  Problem pb;
  pb.name = "timing7";
  auto& s = pb.space;
  s.add({"x1", Distribution::Float(-5.0, 5.0), std::nullopt});
  s.add({"x2", Distribution::Float(1e-4, 1.0, true), std::nullopt});
  s.add({"x3", Distribution::Float(0.0, 10.0), std::nullopt});
  s.add({"i1", Distribution::Int(0, 20), std::nullopt});
  s.add({"i2", Distribution::Int(1, 1024, true), std::nullopt});
  s.add({"s1", Distribution::Float(0.0, 1.0, false, 0.05), std::nullopt});
  s.add({"c", Distribution::Categorical({str("a"), str("b"), str("c")}), std::nullopt});
  s.finalize();
  pb.objective = [](const SearchSpace& s, const Params& p) {
    auto v = [&](const char* n) { return value(s, p, n); };
    return std::pow(v("x1") - 1.0, 2) + std::pow(std::log10(v("x2")) + 2.0, 2) +
           0.1 * std::pow(v("x3") - 3.0, 2) + 0.05 * std::pow(v("i1") - 7, 2) +
           0.5 * std::pow(std::log2(v("i2")) - 5.0, 2) + 4.0 * std::pow(v("s1") - 0.35, 2) +
           (v("c") == 1.0 ? 0.0 : 1.0);
  };
  return pb;
}

Problem box_problem(const std::string& label, const char* fn_name, size_t dim) {
  const TestFunction* fn = find_test_function(fn_name);
  if (!fn) {
    std::fprintf(stderr, "sampler_bench: test function '%s' is missing\n", fn_name);
    std::exit(2);
  }
  Problem pb;
  pb.name = label;
  for (size_t i = 0; i < dim; ++i) {
    const auto [lo, hi] = fn->domain(i);
    std::string name = "x";  // (not "x" + ...: GCC 12 warns falsely about that at -O3)
    name += std::to_string(i);
    pb.space.add({name, Distribution::Float(lo, hi), std::nullopt});
  }
  pb.space.finalize();
  pb.optimum = fn->optimum_for(dim);
  pb.objective = [fn](const SearchSpace&, const Params& p) {
    std::vector<double> x;
    for (const auto& v : p) x.push_back(*v);
    return fn->f(x);
  };
  return pb;
}

// Conditional space: an optimiser choice with children, a grandchild, log / int / step axes.
Problem mixed_problem() {
  Problem pb;
  pb.name = "mixed";
  auto& s = pb.space;
  s.add({"opt", Distribution::Categorical({str("sgd"), str("adam"), str("none")}), std::nullopt});
  s.add({"lr", Distribution::Float(1e-5, 1.0, true), Condition{"opt", {0, 1}}});
  s.add({"momentum", Distribution::Float(0.0, 0.99), Condition{"opt", {0}}});
  s.add({"sched", Distribution::Categorical({str("const"), str("cosine")}), Condition{"opt", {1}}});
  s.add({"warmup", Distribution::Int(0, 10), Condition{"sched", {1}}});
  s.add({"layers", Distribution::Int(1, 8), std::nullopt});
  s.add({"width", Distribution::Int(16, 1024, true), std::nullopt});
  s.add({"dropout", Distribution::Float(0.0, 0.5, false, 0.05), std::nullopt});
  s.finalize();
  pb.objective = [](const SearchSpace& s, const Params& p) {
    auto v = [&](const char* n) { return value(s, p, n); };
    double f = 0.1 * std::pow(v("layers") - 3, 2) + 0.05 * std::pow(std::log2(v("width")) - 7, 2) +
               4.0 * std::pow(v("dropout") - 0.2, 2);
    const int opt = static_cast<int>(v("opt"));
    if (opt == 0) {
      f += 0.5 * std::pow(std::log10(v("lr")) + 2, 2) + 2.0 * std::pow(v("momentum") - 0.9, 2);
    } else if (opt == 1) {
      f += 0.5 * std::pow(std::log10(v("lr")) + 3.5, 2);
      f += static_cast<int>(v("sched")) == 1 ? 0.02 * std::pow(v("warmup") - 4, 2) : 0.3;
    } else {
      f += 1.5;
    }
    return f;
  };
  return pb;
}

// ---------------------------------------------------------------------------------------------
// Samplers and the study loop

std::unique_ptr<Sampler> make(const std::string& name, const SearchSpace& space) {
  if (name == "random") return make_random_sampler(space, Direction::kMinimize);
  if (name == "gp") return make_gp_sampler(space, Direction::kMinimize);
  TpeOptions o;
  o.multivariate = name == "tpe-multivariate";
  o.group = o.multivariate;
  return make_tpe_sampler(space, Direction::kMinimize, o);
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Clock {
  double wall, cpu;
  static Clock now() { return {wall_seconds(), cpu_seconds()}; }
};

// Sequential study; calls on_trial(t, best) after each tell.
template <typename F>
void run_study(Sampler& sampler, const Problem& pb, int trials, uint64_t seed, F&& on_trial) {
  double best = INFINITY;
  for (int t = 0; t < trials; ++t) {
    SampleRequest req;
    req.trial_number = t;
    req.seed = derive_seed(seed, static_cast<uint64_t>(t));
    FrozenTrial trial;
    trial.number = t;
    trial.params = sampler.sample(req);
    trial.value = pb.objective(pb.space, trial.params);
    trial.state = TrialState::kComplete;
    sampler.observe(trial);
    best = std::min(best, *trial.value);
    on_trial(t, best);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Cost of one ask+tell AT a study size: the TPE sampler first observes n finished trials (random
// points of the space with their objective values, seed 1), then the next `asks` trials are asked,
// evaluated and told one by one, each timed. scripts/bench/optuna_sampler.py does the same with
// Optuna (a study filled with `add_trials`), so both sides are timed at the same history size
// without running whole 10,000-trial studies.
void timing(const std::vector<int>& sizes, const std::vector<std::string>& modes, int asks) {
  const Problem pb = timing_problem();
  for (const std::string& mode_name : modes) {
    for (int n : sizes) {
      auto sampler = make(mode_name == "gp" ? "gp" : "tpe-" + mode_name, pb.space);
      auto filler = make("random", pb.space);
      const Clock fill_start = Clock::now();
      for (int t = 0; t < n; ++t) {
        SampleRequest req;
        req.trial_number = t;
        req.seed = derive_seed(1, static_cast<uint64_t>(t));
        FrozenTrial trial;
        trial.number = t;
        trial.params = filler->sample(req);
        trial.value = pb.objective(pb.space, trial.params);
        trial.state = TrialState::kComplete;
        sampler->observe(trial);
      }
      const Clock fill_end = Clock::now();
      std::vector<double> wall_ms, cpu_ms;
      for (int k = 0; k < asks; ++k) {
        const int t = n + k;
        const Clock a = Clock::now();
        SampleRequest req;
        req.trial_number = t;
        req.seed = derive_seed(2, static_cast<uint64_t>(t));
        FrozenTrial trial;
        trial.number = t;
        trial.params = sampler->sample(req);
        trial.value = pb.objective(pb.space, trial.params);
        trial.state = TrialState::kComplete;
        sampler->observe(trial);
        const Clock b = Clock::now();
        wall_ms.push_back(1e3 * (b.wall - a.wall));
        cpu_ms.push_back(1e3 * (b.cpu - a.cpu));
      }
      double wall_sum = 0, cpu_sum = 0;
      for (size_t k = 0; k < wall_ms.size(); ++k) wall_sum += wall_ms[k], cpu_sum += cpu_ms[k];
      std::printf(
          "{\"kind\": \"timing_at_size\", \"impl\": \"hypertune\", \"sampler\": \"%s\", "
          "\"mode\": \"%s\", \"n_trials\": %d, \"asks\": %d, \"fill_seconds\": %.6f, "
          "\"ms_per_trial\": %.6f, \"cpu_ms_per_trial\": %.6f, \"median_ms_per_ask\": %.6f}\n",
          mode_name == "gp" ? "gp" : "tpe", mode_name.c_str(), n, asks, fill_end.wall - fill_start.wall, wall_sum / asks,
          cpu_sum / asks, median(wall_ms));
      std::fflush(stdout);
    }
  }
}

// Best value after each budget, one JSON line per (problem, sampler, seed, budget); the script
// computes medians and quartiles. Seeds seed_start .. seed_start + seeds - 1.
void quality(const std::vector<int>& budgets, int seed_start, int seeds,
             const std::vector<std::string>& samplers) {
  std::vector<Problem> problems;
  problems.push_back(box_problem("branin", "branin", 2));
  problems.push_back(box_problem("hartmann3", "hartmann3", 3));
  problems.push_back(box_problem("hartmann6", "hartmann6", 6));
  problems.push_back(box_problem("rosenbrock-4d", "rosenbrock", 4));
  problems.push_back(box_problem("ackley-5d", "ackley", 5));
  problems.push_back(box_problem("styblinski_tang-4d", "styblinski_tang", 4));
  problems.push_back(mixed_problem());
  const int top = *std::max_element(budgets.begin(), budgets.end());
  for (const auto& pb : problems) {
    for (const std::string& sampler_name : samplers) {
      const char* name = sampler_name.c_str();
      if (sampler_name == "gp" && pb.name == "mixed") continue;  // conditional: gp refuses it
      for (int seed = seed_start; seed < seed_start + seeds; ++seed) {
        auto sampler = make(name, pb.space);
        run_study(*sampler, pb, top, static_cast<uint64_t>(seed), [&](int t, double best) {
          if (std::find(budgets.begin(), budgets.end(), t + 1) == budgets.end()) return;
          std::printf(
              "{\"kind\": \"quality\", \"impl\": \"hypertune\", \"sampler\": \"%s\", "
              "\"problem\": \"%s\", \"seed\": %d, \"budget\": %d, \"best\": %.10g, "
              "\"regret\": %.10g}\n",
              name, pb.name.c_str(), seed, t + 1, best, best - pb.optimum);
        });
        std::fflush(stdout);
      }
    }
  }
}

std::optional<std::vector<int>> int_list(std::string_view text) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item(text.substr(pos, comma - pos));
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v <= 0) return std::nullopt;
    out.push_back(static_cast<int>(v));
    pos = comma + 1;
  }
  return out;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "sampler_bench: %s\nusage: hypertune_sampler_bench [--quick] [--timing | --quality] "
               "[--sizes 100,1000,10000] [--asks N] [--modes univariate,multivariate] "
               "[--seeds N] [--seed-start S] [--budgets 50,100,200]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, only_timing = false, only_quality = false;
  std::optional<std::vector<int>> sizes, budgets;
  std::optional<int> seeds, asks;
  int seed_start = 0;
  std::vector<std::string> modes = {"univariate", "multivariate"};
  std::vector<std::string> samplers = {"tpe-univariate", "tpe-multivariate", "random"};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto next = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string_view(argv[++i]);
    };
    auto one_int = [&](std::optional<int>& into, bool allow_zero) -> bool {
      const auto v = next();
      if (v && allow_zero && *v == "0") {
        into = 0;
        return true;
      }
      const auto list = v ? int_list(*v) : std::nullopt;
      if (!list || list->size() != 1) return false;
      into = list->front();
      return true;
    };
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--timing") {
      only_timing = true;
    } else if (arg == "--quality") {
      only_quality = true;
    } else if (arg == "--sizes" || arg == "--budgets") {
      const auto v = next();
      const auto list = v ? int_list(*v) : std::nullopt;
      if (!list) return usage((std::string(arg) + " needs a list of positive integers").c_str());
      (arg == "--sizes" ? sizes : budgets) = list;
    } else if (arg == "--modes") {
      const auto v = next();
      if (!v) return usage("--modes takes a list of univariate, multivariate, gp");
      modes.clear();
      size_t pos = 0;
      while (pos <= v->size()) {
        const size_t comma = std::min(v->find(',', pos), v->size());
        const std::string m(v->substr(pos, comma - pos));
        if (m != "univariate" && m != "multivariate" && m != "gp") {
          return usage("--modes takes a list of univariate, multivariate, gp");
        }
        modes.push_back(m);
        pos = comma + 1;
      }
    } else if (arg == "--samplers") {
      const auto v = next();
      if (!v) return usage("--samplers takes a list of tpe-univariate, tpe-multivariate, random, gp");
      samplers.clear();
      size_t pos = 0;
      while (pos <= v->size()) {
        const size_t comma = std::min(v->find(',', pos), v->size());
        const std::string m(v->substr(pos, comma - pos));
        if (m != "tpe-univariate" && m != "tpe-multivariate" && m != "random" && m != "gp") {
          return usage("--samplers takes a list of tpe-univariate, tpe-multivariate, random, gp");
        }
        samplers.push_back(m);
        pos = comma + 1;
      }
    } else if (arg == "--seeds") {
      if (!one_int(seeds, false)) return usage("--seeds needs one positive integer");
    } else if (arg == "--asks") {
      if (!one_int(asks, false)) return usage("--asks needs one positive integer");
    } else if (arg == "--seed-start") {
      std::optional<int> v;
      if (!one_int(v, true)) return usage("--seed-start needs one integer >= 0");
      seed_start = *v;
    } else {
      return usage(("unknown argument '" + std::string(arg) + "'").c_str());
    }
  }
  const bool both = !only_timing && !only_quality;
  if (only_timing || both) {
    timing(sizes.value_or(quick ? std::vector<int>{100, 1000} : std::vector<int>{100, 1000, 10000}),
           modes, asks.value_or(20));
  }
  if (only_quality || both) {
    quality(budgets.value_or(std::vector<int>{50, 100, 200}), seed_start,
            seeds.value_or(quick ? 3 : 20), samplers);
  }
  return 0;
}
