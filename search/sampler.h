#pragma once
// Samplers answer "what next?" from what they have been told about the study.
//
// Contract (Optuna's shape, made incremental):
//  * observe() is called with a trial's latest snapshot whenever its sampler-visible state changes:
//    when it finishes (COMPLETE/PRUNED/FAIL), pauses at a rung (PAUSED), or leaves a paused state
//    (RUNNING again). It replaces any earlier snapshot of the same trial number. On resume the study
//    replays every stored trial through observe() before the first sample().
//    Implementations keep incremental structures: one observe() costs at most O(n) memory moves,
//    never a re-sort or rescan of the whole history per sample().
//  * observe_report() passes each first intermediate value of a (trial, step) (BOHB uses it).
//  * sample() proposes a complete assignment for a new trial. `running` holds the trials currently
//    RUNNING or WAITING (for the constant liar); they are few.
//  * The result depends only on the observations, `running` and the request's seed: deterministic.
// Thread-safety: none; the study calls a sampler from one thread.
// Not here: storage, trial state transitions, pruning decisions.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "search/space.h"
#include "search/trial.h"

namespace hypertune::search {

struct SampleRequest {
  int64_t trial_number = 0;
  uint64_t seed = 0;                        // per-trial seed, derived from the study seed
  std::span<const FrozenTrial> running;     // in-flight trials, for the constant liar
  std::optional<int64_t> budget;            // resource the new trial starts with (BOHB)
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual void observe(const FrozenTrial& trial) = 0;
  virtual void observe_report(int64_t trial_number, int64_t step, double value) {}
  [[nodiscard]] virtual Params sample(const SampleRequest& request) = 0;
  // Grid sampler: no more distinct configurations to give. Others: never.
  [[nodiscard]] virtual bool exhausted() const { return false; }
};

struct RandomOptions {};

struct GridOptions {
  bool shuffle = true;  // visit the grid in a seeded random order (false: lexicographic)
};

struct TpeOptions {
  int n_startup_trials = 10;
  int n_ei_candidates = 24;
  bool multivariate = false;  // one shared kernel component across a group's parameters
  bool group = false;         // joint models per group of co-active parameters (needs multivariate)
  bool constant_liar = true;  // running trials count as the worst observations
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  bool consider_prior = true;
  int gamma_cap = 25;          // gamma(n) = min(ceil(gamma_fraction * n), gamma_cap)
  double gamma_fraction = 0.1;
};

struct BohbOptions {
  TpeOptions tpe;
  // A budget's model is used once it has at least this many observations (default d + 1).
  std::optional<int> min_points_in_model;
  double random_fraction = 1.0 / 3.0;  // share of configurations drawn at random (BOHB's rho)
};

struct GpOptions {
  int n_startup_trials = 10;   // random trials before the GP is used
  int n_candidates = 512;      // random points ranked by log-EI per ask
  int n_local_searches = 5;    // local searches: from the best observed point and the best candidates
  int max_observations = 300;  // past this many complete trials, TPE proposes (GP cost is cubic)
  bool deterministic = false;  // the objective has no noise: the noise variance stays at 1e-6
};

// Factories. Throw hypertune::ConfigError for options that cannot work with the space
// (e.g. grid over a float without step).
[[nodiscard]] std::unique_ptr<Sampler> make_random_sampler(const SearchSpace& space, Direction dir,
                                                           RandomOptions opts = {});
[[nodiscard]] std::unique_ptr<Sampler> make_grid_sampler(const SearchSpace& space, Direction dir,
                                                         uint64_t seed, GridOptions opts = {});
[[nodiscard]] std::unique_ptr<Sampler> make_tpe_sampler(const SearchSpace& space, Direction dir,
                                                        TpeOptions opts = {});
[[nodiscard]] std::unique_ptr<Sampler> make_bohb_sampler(const SearchSpace& space, Direction dir,
                                                         BohbOptions opts = {});

// Throws hypertune::ConfigError for a conditional space (`when:`), which the GP does not model.
[[nodiscard]] std::unique_ptr<Sampler> make_gp_sampler(const SearchSpace& space, Direction dir,
                                                       GpOptions opts = {});

// Draws one value of parameter i uniformly (log-uniformly when `log`) from its distribution.
[[nodiscard]] double sample_prior(const Distribution& d, class Rng& rng);

}  // namespace hypertune::search
