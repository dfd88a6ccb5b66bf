// Percentile (median) pruning as in Optuna's PercentilePruner, kept incrementally: the values of
// completed trials live in one sorted array per step, filled once in finished(), so a report
// costs two hash lookups and one index into that array, never a pass over the history.

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/error.h"
#include "search/pruner.h"
#include "search/successive_halving_detail.h"

namespace hypertune::search {
namespace {

// numpy's default ("linear") percentile of an ascending, NaN-free, non-empty array, with its
// two-sided interpolation so results agree with Optuna to the last bit.
double percentile_of(const std::vector<double>& sorted, double q) {
  const double index = static_cast<double>(sorted.size() - 1) * (q / 100.0);
  const auto lo = static_cast<size_t>(std::floor(index));
  if (lo + 1 >= sorted.size()) return sorted.back();
  const double t = index - static_cast<double>(lo);
  const double a = sorted[lo];
  const double b = sorted[lo + 1];
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

class MedianPruner final : public Pruner {
 public:
  explicit MedianPruner(MedianOptions opts) : opts_(opts) {
    if (!(opts.percentile >= 0.0 && opts.percentile <= 100.0)) {
      throw ConfigError("pruner.percentile",
                        "must be between 0 and 100, got " + std::to_string(opts.percentile));
    }
    if (opts.n_startup_trials < 0) {
      throw ConfigError("pruner.n_startup_trials",
                        "must be >= 0, got " + std::to_string(opts.n_startup_trials));
    }
    if (opts.n_warmup_steps < 0) {
      throw ConfigError("pruner.n_warmup_steps",
                        "must be >= 0, got " + std::to_string(opts.n_warmup_steps));
    }
    if (opts.interval_steps < 1) {
      throw ConfigError("pruner.interval_steps",
                        "must be >= 1, got " + std::to_string(opts.interval_steps));
    }
    if (opts.n_min_trials < 1) {
      throw ConfigError("pruner.n_min_trials",
                        "must be >= 1, got " + std::to_string(opts.n_min_trials));
    }
  }

  Admission admit(int64_t) override { return {}; }

  Verdict report(int64_t trial, int64_t step, double loss) override {
    if (ended_.contains(trial)) return {Decision::kPrune, std::nullopt};
    Progress& p = running_[trial];
    const int64_t previous = p.last_step;
    if (step > p.last_step) p.last_step = step;
    if (!std::isnan(loss) && (!p.best || loss < *p.best)) p.best = loss;

    if (n_complete_ == 0 || n_complete_ < opts_.n_startup_trials) return {};
    if (!is_check_step(step, previous)) return {};
    // Every value so far was NaN: nothing says this trial is any good.
    if (!p.best) return {Decision::kPrune, std::nullopt};

    const auto it = by_step_.find(step);
    if (it == by_step_.end() || it->second.reporters < opts_.n_min_trials) return {};
    if (it->second.sorted.empty()) return {};
    const double threshold = percentile_of(it->second.sorted.view(), opts_.percentile);
    return {*p.best > threshold ? Decision::kPrune : Decision::kContinue, std::nullopt};
  }

  void finished(const FrozenTrial& trial) override {
    if (!ended_.insert(trial.number).second) return;
    running_.erase(trial.number);
    if (trial.state != TrialState::kComplete) return;
    ++n_complete_;
    for (const auto& [step, value] : trial.intermediate) {
      StepValues& s = by_step_[step];
      ++s.reporters;
      if (!std::isnan(value)) detail::insert_sorted(s.sorted, to_loss(opts_.direction, value));
    }
  }

  void restore(const FrozenTrial& trial) override {
    if (is_finished(trial.state)) {
      finished(trial);
      return;
    }
    Progress& p = running_[trial.number];
    for (const auto& [step, value] : trial.intermediate) {
      if (step > p.last_step) p.last_step = step;
      const double loss = to_loss(opts_.direction, value);
      if (!std::isnan(loss) && (!p.best || loss < *p.best)) p.best = loss;
    }
  }

 private:
  struct Progress {
    std::optional<double> best;  // best non-NaN loss so far
    int64_t last_step = 0;       // largest step reported (0: none; steps count from 1)
  };
  struct StepValues {
    detail::SortedValues<double> sorted;  // non-NaN losses of completed trials at this step, ascending
    int64_t reporters = 0;       // completed trials that reported this step (NaN included)
  };

  // Checks fall on steps warmup + k * interval (k >= 1). A check whose step was not reported
  // happens at the trial's first report after it, as in Optuna.
  [[nodiscard]] bool is_check_step(int64_t step, int64_t previous) const {
    const int64_t warmup = opts_.n_warmup_steps;
    if (step <= warmup) return false;
    const int64_t k = (step - warmup) / opts_.interval_steps;
    if (k == 0) return false;
    const int64_t check_point = warmup + k * opts_.interval_steps;
    return previous < check_point;
  }

  MedianOptions opts_;
  std::unordered_map<int64_t, Progress> running_;
  std::unordered_set<int64_t> ended_;
  std::unordered_map<int64_t, StepValues> by_step_;
  int64_t n_complete_ = 0;
};

}  // namespace

std::unique_ptr<Pruner> make_median_pruner(MedianOptions opts) {
  return std::make_unique<MedianPruner>(opts);
}

}  // namespace hypertune::search
