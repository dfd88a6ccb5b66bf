#pragma once
// Internals shared by successive halving (search/successive_halving.cpp) and Hyperband
// (search/hyperband.cpp). Not part of the public API: include search/pruner.h instead.
//
// Rungs are given as explicit, strictly increasing step lists, all below max_resource: plain
// successive halving puts them at min_resource * eta^(k + min_early_stopping_rate); a Hyperband
// bracket s puts them at max_resource / eta^(s - i). Reaching max_resource is never a rung: the
// trial completes there.
// Thread-safety: none. Not here: bracket assignment, I/O.

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "search/pruner.h"
#include "search/trial.h"

namespace hypertune::search::detail {

// Throws ConfigError("pruner.<key>", ...) unless 1 <= min_resource <= max_resource and
// reduction_factor >= 2.
void validate_resources(int64_t min_resource, int64_t max_resource, int64_t reduction_factor);

// min_resource * eta^(k + rate) for k = 0, 1, ... while the step stays below max_resource.
// Empty when min_resource * eta^rate >= max_resource. Overflow-safe.
[[nodiscard]] std::vector<int64_t> halving_rung_steps(int64_t min_resource, int64_t max_resource,
                                                      int64_t eta, int rate);

// Hyperband bracket s: max_resource / eta^(s - i) for i = 0 .. s-1 (integer division), so every
// bracket has exactly s rungs below max_resource and its last rung is max_resource / eta.
[[nodiscard]] std::vector<int64_t> bracket_rung_steps(int64_t max_resource, int64_t eta, int s);

// Where a stored trial crossed each rung: the loss of its first report at or beyond the rung
// step. Stops before the first crossing whose value is NaN (such a report prunes the trial and
// records nothing) and after `limit` rungs. `nan_stop` tells whether a NaN crossing was met.
// one_rung_per_report: a report crosses at most one rung (promotion mode, where the trial pauses
// at the first rung it reaches); otherwise a report past several rung steps crosses them all.
struct Crossings {
  std::vector<double> losses;  // losses[k]: the value recorded at rung k
  bool nan_stop = false;
};
[[nodiscard]] Crossings crossings(const FrozenTrial& trial, const std::vector<int64_t>& rung_steps,
                                  Direction direction, size_t limit, bool one_rung_per_report);

// The rung a stored promotion-mode trial has reached: the stored rung, or more when its reports
// prove later promotions (a report after the step where it crossed rung k means it went past
// its pause point there, which only a promotion allows). At most rung_steps.size().
[[nodiscard]] int reached_rung(const FrozenTrial& trial, const std::vector<int64_t>& rung_steps);

// Inserts `v` into the ascending vector `sorted`, after any equal elements (never NaN).
template <typename T>
void insert_sorted(std::vector<T>& sorted, const T& v);

// An ascending vector whose insertions are put in place when it is next read: add() appends,
// view() sorts what was appended since the last read (stably) and merges it in (stably), so the
// result is exactly that of inserting each value after its equals in arrival order. One add()
// between reads costs one O(n) insertion as before; replaying n stored trials at a restart
// costs one O(n log n) sort instead of n insertions (O(n^2): 40 s at 100,000 trials).
template <typename T>
class SortedValues {
 public:
  void add(const T& v) { data_.push_back(v); }
  [[nodiscard]] const std::vector<T>& view() const;
  [[nodiscard]] size_t size() const noexcept { return data_.size(); }
  [[nodiscard]] bool empty() const noexcept { return data_.empty(); }

 private:
  mutable std::vector<T> data_;
  mutable size_t sorted_ = 0;  // data_[0, sorted_) is in order
};
template <typename T>
void insert_sorted(SortedValues<T>& sorted, const T& v) {
  sorted.add(v);
}

// A recorded rung value, ordered by loss, ties to the smaller trial number.
struct RungEntry {
  double loss = 0.0;
  int64_t trial = 0;
  friend bool operator<(const RungEntry& a, const RungEntry& b) noexcept {
    return a.loss != b.loss ? a.loss < b.loss : a.trial < b.trial;
  }
};

// Stopping-mode successive halving (Optuna's SuccessiveHalvingPruner, Ray's async HyperBand)
// over one list of rung steps. A report that reaches rung k records its value there; the trial
// goes on only if the value is within the best max(floor(m / eta), 1) of the m values recorded
// at rung k so far (its own included; ties pass). Records are a pure function of the reports
// received, so restore() rebuilds them exactly from the stored intermediate values.
class StoppingRungs {
 public:
  StoppingRungs(std::vector<int64_t> rung_steps, int64_t eta);

  [[nodiscard]] Decision report(int64_t trial, int64_t step, double loss);
  void finished(int64_t trial);
  void restore(const FrozenTrial& trial, Direction direction);

  [[nodiscard]] const std::vector<int64_t>& rung_steps() const noexcept { return steps_; }
  // Values recorded at rung k, ascending (tests and diagnostics).
  [[nodiscard]] const std::vector<double>& rung_values(size_t k) const { return rungs_.at(k).view(); }

 private:
  struct TrialRungs {
    size_t next_rung = 0;  // the first rung not yet reached
    bool pruned = false;   // a rung check failed, or a NaN reached a rung
  };
  // Records `loss` at `rung` and says whether it is promotable there.
  bool record(size_t rung, double loss);

  std::vector<int64_t> steps_;
  int64_t eta_;
  std::vector<SortedValues<double>> rungs_;
  std::unordered_map<int64_t, TrialRungs> trials_;
  std::unordered_set<int64_t> ended_;
};

template <typename T>
void insert_sorted(std::vector<T>& sorted, const T& v) {
  sorted.insert(std::upper_bound(sorted.begin(), sorted.end(), v), v);
}

template <typename T>
const std::vector<T>& SortedValues<T>::view() const {
  if (sorted_ + 1 == data_.size()) {  // one new value: insert it after its equals
    const T v = data_.back();
    data_.pop_back();
    insert_sorted(data_, v);
  } else if (sorted_ < data_.size()) {
    const auto mid = data_.begin() + static_cast<std::ptrdiff_t>(sorted_);
    std::stable_sort(mid, data_.end());
    std::inplace_merge(data_.begin(), mid, data_.end());
  }
  sorted_ = data_.size();
  return data_;
}

}  // namespace hypertune::search::detail
