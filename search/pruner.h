#pragma once
// Pruners and trial schedulers answer "stop this trial?" (and, for promotion schedulers,
// "which paused trial goes on?"). Hyperband is a set of successive-halving brackets, not a
// separate engine.
//
// Contract:
//  * admit() is called once when a new trial is created; it picks the trial's bracket and, for
//    promotion schedulers, the step at which the trial must pause (its first rung).
//  * report() is called with the FIRST value of each (trial, step) only, as a loss (smaller is
//    better: to_loss() already applied). It returns the verdict for that trial right now.
//  * finished() is called once when a trial becomes COMPLETE, PRUNED or FAIL.
//  * promote() is asked whenever a slot is free, before a new trial is sampled: a PAUSED trial to
//    resume at its next rung, or nothing.
//  * restore() replays stored trials (number order) after a restart, instead of admit/report:
//    rung memberships, promotions and bracket counters are rebuilt from the snapshots alone.
//  * Steps are the resource (epochs, iterations), counted from 1.
//  * FrozenTrial snapshots (finished, restore) hold values as reported; the options' `direction`
//    (the study's) turns them into losses.
// Thread-safety: none; the study calls a pruner from one thread.
// Not here: storage, checkpoints (the worker saves them when told to pause), sampling.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "base/decision.h"
#include "search/trial.h"

namespace hypertune::search {

struct Admission {
  int bracket = 0;
  int rung = 0;
  std::optional<int64_t> pause_at;   // must pause after reporting this step (promotion schedulers)
  std::optional<int64_t> max_steps;  // resource cap for this trial (Hyperband: max_resource)
};

struct Promotion {
  int64_t trial_number = 0;
  int rung = 0;                      // the rung it is promoted to
  std::optional<int64_t> pause_at;   // its next pause; nullopt: train to max_steps
};

class Pruner {
 public:
  virtual ~Pruner() = default;
  [[nodiscard]] virtual Admission admit(int64_t trial_number) = 0;
  [[nodiscard]] virtual Verdict report(int64_t trial_number, int64_t step, double loss) = 0;
  virtual void finished(const FrozenTrial& trial) = 0;
  [[nodiscard]] virtual std::optional<Promotion> promote() { return std::nullopt; }
  virtual void restore(const FrozenTrial& trial) = 0;
  // The largest step any trial runs to, when the pruner fixes it (Hyperband/ASHA max_resource).
  [[nodiscard]] virtual std::optional<int64_t> max_resource() const { return std::nullopt; }
};

// Never prunes.
[[nodiscard]] std::unique_ptr<Pruner> make_nop_pruner();

struct MedianOptions {
  double percentile = 50.0;   // prune when worse than this percentile of completed trials
  int n_startup_trials = 5;   // no pruning until this many trials have completed
  int n_warmup_steps = 0;     // no pruning at steps <= this
  int interval_steps = 1;     // check every this many steps after warm-up
  int n_min_trials = 1;       // completed trials that must have reported the step
  Direction direction = Direction::kMinimize;  // turns FrozenTrial values into losses
};
[[nodiscard]] std::unique_ptr<Pruner> make_median_pruner(MedianOptions opts = {});

enum class HalvingMode {
  kStopping,   // ASHA as in Optuna / Ray: decide at each rung as reports arrive, stop or go on
  kPromotion,  // ASHA as in Li et al. 2020: pause at each rung; promote the top 1/eta later
};

struct HalvingOptions {
  int64_t min_resource = 1;
  int64_t max_resource = 81;
  int64_t reduction_factor = 3;
  int min_early_stopping_rate = 0;  // skip the first s rungs
  HalvingMode mode = HalvingMode::kStopping;
  Direction direction = Direction::kMinimize;  // turns FrozenTrial values into losses
};
[[nodiscard]] std::unique_ptr<Pruner> make_successive_halving(HalvingOptions opts);

struct HyperbandOptions {
  int64_t min_resource = 1;
  int64_t max_resource = 81;
  int64_t reduction_factor = 3;
  HalvingMode mode = HalvingMode::kStopping;
  Direction direction = Direction::kMinimize;  // turns FrozenTrial values into losses
};

// One bracket of Hyperband (Li et al. 2017): n configurations starting with resource r.
struct Bracket {
  int s = 0;          // bracket index: s_max for the most exploratory, 0 for full training
  int64_t n = 0;      // configurations started in the bracket
  int64_t r = 0;      // resource each starts with
};
// The brackets for (min, max, eta), computed with integer arithmetic, most exploratory first.
// min 1, max 81, eta 3 -> (81,1) (34,3) (15,9) (8,27) (5,81).
[[nodiscard]] std::vector<Bracket> hyperband_brackets(int64_t min_resource, int64_t max_resource,
                                                      int64_t eta);
// floor(log_eta(x)) for integers x >= 1, eta >= 2, exactly (243 with eta 3 gives 5).
[[nodiscard]] int ilog(int64_t x, int64_t eta) noexcept;

[[nodiscard]] std::unique_ptr<Pruner> make_hyperband(HyperbandOptions opts);

}  // namespace hypertune::search
