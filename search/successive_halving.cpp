// Successive halving in its two asynchronous forms (stopping and promotion), and the rung helpers
// Hyperband shares with it.
//
// Both forms keep their rung records a pure function of the reports received, so that restore()
// can rebuild them from stored intermediate values alone, whatever order the trials are replayed
// in; decisions then depend only on those records (and, for promotions, on stored rungs).

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.h"
#include "search/pruner.h"
#include "search/successive_halving_detail.h"

namespace hypertune::search {
namespace detail {

void validate_resources(int64_t min_resource, int64_t max_resource, int64_t reduction_factor) {
  if (min_resource < 1) {
    throw ConfigError("pruner.min_resource",
                      "must be an integer >= 1, got " + std::to_string(min_resource));
  }
  if (max_resource < min_resource) {
    throw ConfigError("pruner.max_resource", "must be >= min_resource (" +
                                                 std::to_string(min_resource) + "), got " +
                                                 std::to_string(max_resource));
  }
  if (reduction_factor < 2) {
    throw ConfigError("pruner.reduction_factor",
                      "must be an integer >= 2, got " + std::to_string(reduction_factor));
  }
}

std::vector<int64_t> halving_rung_steps(int64_t min_resource, int64_t max_resource, int64_t eta,
                                        int rate) {
  std::vector<int64_t> steps;
  int64_t step = min_resource;
  for (int k = 0; step < max_resource; ++k) {
    if (k >= rate) steps.push_back(step);
    // step * eta would pass max_resource (and might overflow): no later rung exists.
    if (step > max_resource / eta) break;
    step *= eta;
  }
  return steps;
}

std::vector<int64_t> bracket_rung_steps(int64_t max_resource, int64_t eta, int s) {
  // eta^s <= max_resource / min_resource for every bracket Hyperband builds, so no overflow.
  int64_t divisor = 1;
  for (int i = 0; i < s; ++i) divisor *= eta;
  std::vector<int64_t> steps;
  steps.reserve(static_cast<size_t>(s));
  for (int i = 0; i < s; ++i) {
    steps.push_back(max_resource / divisor);
    divisor /= eta;
  }
  return steps;
}

Crossings crossings(const FrozenTrial& trial, const std::vector<int64_t>& rung_steps,
                    Direction direction, size_t limit, bool one_rung_per_report) {
  Crossings c;
  const size_t n = std::min(limit, rung_steps.size());
  for (const auto& [step, value] : trial.intermediate) {
    while (c.losses.size() < n && step >= rung_steps[c.losses.size()]) {
      const double loss = to_loss(direction, value);
      if (std::isnan(loss)) {
        c.nan_stop = true;
        return c;
      }
      c.losses.push_back(loss);
      if (one_rung_per_report) break;
    }
    if (c.losses.size() == n) break;
  }
  return c;
}

int reached_rung(const FrozenTrial& trial, const std::vector<int64_t>& rung_steps) {
  const auto& reports = trial.intermediate;
  int proven = 0;
  size_t from = 0;
  for (size_t k = 0; k < rung_steps.size(); ++k) {
    size_t j = from;
    while (j < reports.size() && reports[j].first < rung_steps[k]) ++j;
    // No crossing, a NaN crossing (it pruned the trial), or nothing reported after it.
    if (j == reports.size() || std::isnan(reports[j].second) || j + 1 == reports.size()) break;
    proven = static_cast<int>(k) + 1;
    from = j + 1;
  }
  const int stored = std::clamp(trial.rung, 0, static_cast<int>(rung_steps.size()));
  return std::max(stored, proven);
}

StoppingRungs::StoppingRungs(std::vector<int64_t> rung_steps, int64_t eta)
    : steps_(std::move(rung_steps)), eta_(eta), rungs_(steps_.size()) {}

bool StoppingRungs::record(size_t rung, double loss) {
  rungs_[rung].add(loss);
  const std::vector<double>& values = rungs_[rung].view();
  // Optuna's rule: the value must not be worse than the (m / eta)-th best of the m values
  // recorded so far, counting its own once; the first eta - 1 arrivals compare with the best.
  const auto m = static_cast<int64_t>(values.size());
  const int64_t index = std::max<int64_t>(m / eta_ - 1, 0);
  return loss <= values[static_cast<size_t>(index)];
}

Decision StoppingRungs::report(int64_t trial, int64_t step, double loss) {
  if (ended_.contains(trial)) return Decision::kPrune;
  TrialRungs& t = trials_[trial];
  // One report may pass several rungs when steps are skipped: it is recorded at each of them
  // (so records stay a function of the reports alone) and must win every check.
  while (t.next_rung < steps_.size() && step >= steps_[t.next_rung]) {
    if (std::isnan(loss)) {
      t.pruned = true;
      t.next_rung = steps_.size();
      break;
    }
    if (!record(t.next_rung, loss)) t.pruned = true;
    ++t.next_rung;
  }
  return t.pruned ? Decision::kPrune : Decision::kContinue;
}

void StoppingRungs::finished(int64_t trial) {
  ended_.insert(trial);
  trials_.erase(trial);
}

void StoppingRungs::restore(const FrozenTrial& trial, Direction direction) {
  const Crossings c = crossings(trial, steps_, direction, steps_.size(), false);
  for (size_t k = 0; k < c.losses.size(); ++k) insert_sorted(rungs_[k], c.losses[k]);
  if (is_finished(trial.state)) {
    ended_.insert(trial.number);
    return;
  }
  TrialRungs& t = trials_[trial.number];
  t.next_rung = c.nan_stop ? steps_.size() : c.losses.size();
  t.pruned = c.nan_stop;
}

}  // namespace detail

namespace {

using detail::RungEntry;

// ASHA with promotions (Li et al. 2020): a trial pauses at each rung; promote() resumes, from the
// top rung down, the best paused trial that lies within the top floor(m / eta) of the m values
// recorded at its rung. Trials that end (fail, pruned on a NaN, completed) keep their rung
// records, and with them their places in the top sets, but are never promoted.
class AshaPromotion {
 public:
  AshaPromotion(std::vector<int64_t> rung_steps, int64_t eta, Direction direction)
      : steps_(std::move(rung_steps)), eta_(eta), direction_(direction), rungs_(steps_.size()) {}

  [[nodiscard]] std::optional<int64_t> pause_at(int rung) const {
    if (rung < n_rungs()) return steps_[static_cast<size_t>(rung)];
    return std::nullopt;
  }

  void admit(int64_t trial) { trials_.try_emplace(trial); }

  Verdict report(int64_t trial, int64_t step, double loss) {
    TrialInfo& t = trials_[trial];
    if (t.ended) return {Decision::kPrune, std::nullopt};
    if (t.rung >= n_rungs()) return {};
    if (t.recorded) return {Decision::kPause, std::nullopt};
    const auto k = static_cast<size_t>(t.rung);
    if (step < steps_[k]) return {};
    if (std::isnan(loss)) {
      t.ended = true;
      return {Decision::kPrune, std::nullopt};
    }
    const RungEntry e{loss, trial};
    detail::insert_sorted(rungs_[k].sorted, e);
    rungs_[k].waiting.insert(e);
    t.recorded = true;
    t.loss = loss;
    // Already in the top set: go on without a checkpoint round trip. Not into the final
    // stretch, which a Verdict cannot express (it can only move a pause point, not clear it).
    if (t.rung + 1 < n_rungs() && in_top(k, e)) {
      advance(k, e);
      return {Decision::kContinue, steps_[k + 1]};
    }
    return {Decision::kPause, std::nullopt};
  }

  void finished(int64_t trial) {
    TrialInfo& t = trials_[trial];
    if (t.ended) return;
    t.ended = true;
    if (t.recorded) rungs_[static_cast<size_t>(t.rung)].waiting.erase(RungEntry{t.loss, trial});
  }

  std::optional<Promotion> promote() {
    for (size_t k = rungs_.size(); k-- > 0;) {
      const Rung& r = rungs_[k];
      if (r.waiting.empty()) continue;
      // The best waiting entry has the smallest rank of all waiting ones.
      const RungEntry best = *r.waiting.begin();
      if (!in_top(k, best)) continue;
      advance(k, best);
      const int next = static_cast<int>(k) + 1;
      return Promotion{best.trial, next, pause_at(next)};
    }
    return std::nullopt;
  }

  void restore(const FrozenTrial& trial) {
    const int reached = detail::reached_rung(trial, steps_);
    const detail::Crossings c =
        detail::crossings(trial, steps_, direction_, static_cast<size_t>(reached) + 1, true);
    TrialInfo& t = trials_[trial.number];
    t.rung = reached;
    for (size_t k = 0; k < c.losses.size(); ++k) {
      detail::insert_sorted(rungs_[k].sorted, RungEntry{c.losses[k], trial.number});
    }
    t.ended = is_finished(trial.state) || c.nan_stop;
    if (c.losses.size() > static_cast<size_t>(reached)) {
      t.recorded = true;
      t.loss = c.losses[static_cast<size_t>(reached)];
      if (!t.ended) rungs_[static_cast<size_t>(reached)].waiting.insert({t.loss, trial.number});
    }
  }

  [[nodiscard]] int n_rungs() const noexcept { return static_cast<int>(steps_.size()); }

 private:
  struct TrialInfo {
    int rung = 0;           // the rung it pauses at next (n_rungs(): trains to the end)
    bool recorded = false;  // reached that rung and waits there
    bool ended = false;
    double loss = 0.0;  // its value at that rung, when recorded
  };
  struct Rung {
    detail::SortedValues<RungEntry> sorted;  // every value recorded here, ascending
    std::set<RungEntry> waiting;    // recorded, not promoted, not ended
  };

  [[nodiscard]] bool in_top(size_t k, const RungEntry& e) const {
    const auto& sorted = rungs_[k].sorted.view();
    const auto rank = std::lower_bound(sorted.begin(), sorted.end(), e) - sorted.begin();
    return rank < static_cast<int64_t>(sorted.size()) / eta_;
  }

  void advance(size_t k, const RungEntry& e) {
    rungs_[k].waiting.erase(e);
    TrialInfo& t = trials_[e.trial];
    t.rung = static_cast<int>(k) + 1;
    t.recorded = false;
  }

  std::vector<int64_t> steps_;
  int64_t eta_;
  Direction direction_;
  std::vector<Rung> rungs_;
  std::unordered_map<int64_t, TrialInfo> trials_;
};

class SuccessiveHalving final : public Pruner {
 public:
  explicit SuccessiveHalving(HalvingOptions opts) : opts_(opts) {
    detail::validate_resources(opts.min_resource, opts.max_resource, opts.reduction_factor);
    if (opts.min_early_stopping_rate < 0) {
      throw ConfigError("pruner.min_early_stopping_rate",
                        "must be >= 0, got " + std::to_string(opts.min_early_stopping_rate));
    }
    auto steps = detail::halving_rung_steps(opts.min_resource, opts.max_resource,
                                            opts.reduction_factor, opts.min_early_stopping_rate);
    if (opts.mode == HalvingMode::kStopping) {
      stopping_.emplace(std::move(steps), opts.reduction_factor);
    } else {
      promotion_.emplace(std::move(steps), opts.reduction_factor, opts.direction);
    }
  }

  Admission admit(int64_t trial) override {
    Admission a;
    a.max_steps = opts_.max_resource;
    if (promotion_) {
      promotion_->admit(trial);
      a.pause_at = promotion_->pause_at(0);
    }
    return a;
  }

  Verdict report(int64_t trial, int64_t step, double loss) override {
    if (promotion_) return promotion_->report(trial, step, loss);
    return {stopping_->report(trial, step, loss), std::nullopt};
  }

  void finished(const FrozenTrial& trial) override {
    if (promotion_) {
      promotion_->finished(trial.number);
    } else {
      stopping_->finished(trial.number);
    }
  }

  std::optional<Promotion> promote() override {
    if (promotion_) return promotion_->promote();
    return std::nullopt;
  }

  void restore(const FrozenTrial& trial) override {
    if (promotion_) {
      promotion_->restore(trial);
    } else {
      stopping_->restore(trial, opts_.direction);
    }
  }

  std::optional<int64_t> max_resource() const override { return opts_.max_resource; }

 private:
  HalvingOptions opts_;
  std::optional<detail::StoppingRungs> stopping_;
  std::optional<AshaPromotion> promotion_;
};

}  // namespace

std::unique_ptr<Pruner> make_successive_halving(HalvingOptions opts) {
  return std::make_unique<SuccessiveHalving>(opts);
}

}  // namespace hypertune::search
