#pragma once
// Parameter importance for `hypertune report`: which parameters explain the objective's variance.
//
// Method (docs/report.md has the derivation): a first-order variance decomposition. Over the
// COMPLETE trials with a finite value, each parameter splits the trials that set it into groups:
//   categorical      one group per choice,
//   int / float      one group per distinct value when there are at most `max_bins` of them,
//                    else about sqrt(n) (at most `max_bins`) equal-count bins of the sorted values
//                    (ties stay in one bin; bins by rank need no special case for log scales).
// The share of the objective's variance explained by the group means is the epsilon-squared
// estimate, (SS_between - (k - 1) * MS_within) / SS_total, clipped to [0, 1]: unlike the raw ratio
// SS_between / SS_total it is about 0 for a parameter that does not matter, however many bins it
// has. A conditional parameter is judged among the trials that set it, around their own mean,
// but its share is of the variance over all trials: whether it is set at all is its parent's
// doing, and the parent gets that credit. Importances are these shares normalised to sum to 1
// (all 0 when no share is positive).
//
// Deterministic (no sampling) and linear-logarithmic in the number of trials.
// Not here: interactions (a parameter that matters only jointly with another gets little),
// corrections for the sampler's bias (TPE concentrates trials where it believes the optimum is),
// anything else than the final objective value (intermediate values are ignored).
// Thread-safety: a pure function.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "search/space.h"
#include "search/trial.h"

namespace hypertune::cli {

struct ParamImportance {
  size_t index = 0;  // position in SearchSpace::params()
  std::string name;
  double explained = 0.0;     // adjusted share of the objective's variance, in [0, 1]
  double importance = 0.0;    // explained / (sum of explained over all parameters); 0 if that is 0
  int64_t active_trials = 0;  // trials used that set this parameter
  int groups = 0;             // non-empty groups (bins, choices, "inactive")
};

struct Importance {
  int64_t trials = 0;                   // COMPLETE trials with a finite value used
  double variance = 0.0;                // population variance of their values
  std::vector<ParamImportance> params;  // every parameter, most important first (ties: space order)
};

struct ImportanceOptions {
  int max_bins = 10;       // >= 2
  int64_t min_trials = 4;  // fewer usable trials: no estimate
};

// nullopt when fewer than `min_trials` usable trials exist, or when their values are all equal
// (there is no variance to explain). Trials whose params do not match the space's size are
// skipped like incomplete ones. Throws ConfigError when max_bins < 2.
[[nodiscard]] std::optional<Importance> parameter_importance(const search::SearchSpace& space,
                                                             std::span<const search::FrozenTrial> trials,
                                                             const ImportanceOptions& options = {});

}  // namespace hypertune::cli
