// Hyperband (Li et al. 2017) as a set of successive-halving brackets.
//
// Stopping mode: each bracket is an asynchronous stopping-mode successive halving; new trials are
// spread over the brackets in proportion to their n. Promotion mode: each bracket runs classic
// synchronous successive halving, one bracket instance after the other, iteration after
// iteration. Bracket arithmetic is integer-only: log(243) / log(3) is 4.999... in floating point.

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/error.h"
#include "search/pruner.h"
#include "search/successive_halving_detail.h"

namespace hypertune::search {

int ilog(int64_t x, int64_t eta) noexcept {
  if (x < 1 || eta < 2) return 0;
  int k = 0;
  // p * eta <= x  <=>  p <= x / eta for integers, and the division cannot overflow.
  for (int64_t p = 1; p <= x / eta; p *= eta) ++k;
  return k;
}

std::vector<Bracket> hyperband_brackets(int64_t min_resource, int64_t max_resource, int64_t eta) {
  detail::validate_resources(min_resource, max_resource, eta);
  const int s_max = ilog(max_resource / min_resource, eta);
  std::vector<Bracket> brackets;
  brackets.reserve(static_cast<size_t>(s_max) + 1);
  for (int s = s_max; s >= 0; --s) {
    int64_t power = 1;  // eta^s <= max / min: fits
    for (int i = 0; i < s; ++i) power *= eta;
    // (s_max + 1) * eta^s may pass 2^63 for huge ranges; the quotient fits (it is <= eta^s_max).
    const __int128_t total = static_cast<__int128_t>(s_max + 1) * power;
    const __int128_t n = (total + s) / (s + 1);
    brackets.push_back(Bracket{s, static_cast<int64_t>(n), max_resource / power});
  }
  return brackets;
}

namespace {

using detail::RungEntry;

std::string describe(const HyperbandOptions& o) {
  return "hyperband(min_resource " + std::to_string(o.min_resource) + ", max_resource " +
         std::to_string(o.max_resource) + ", reduction_factor " +
         std::to_string(o.reduction_factor) + ")";
}

// Position (0 = most exploratory) of bracket s, or a ConfigError for a stored trial whose bracket
// this configuration does not have.
size_t position_of(const FrozenTrial& trial, const std::vector<Bracket>& brackets,
                   const HyperbandOptions& opts) {
  const int s_max = brackets.front().s;
  if (trial.bracket < 0 || trial.bracket > s_max) {
    throw ConfigError("trial " + std::to_string(trial.number),
                      "stored in Hyperband bracket " + std::to_string(trial.bracket) + ", but " +
                          describe(opts) + " has brackets 0.." + std::to_string(s_max) +
                          "; the study was run with other pruner settings");
  }
  return static_cast<size_t>(s_max - trial.bracket);
}

class HyperbandStopping final : public Pruner {
 public:
  explicit HyperbandStopping(HyperbandOptions opts)
      : opts_(opts),
        brackets_(hyperband_brackets(opts.min_resource, opts.max_resource, opts.reduction_factor)),
        assigned_(brackets_.size(), 0) {
    rungs_.reserve(brackets_.size());
    for (const Bracket& b : brackets_) {
      rungs_.emplace_back(detail::bracket_rung_steps(opts.max_resource, opts.reduction_factor, b.s),
                          opts.reduction_factor);
    }
  }

  Admission admit(int64_t trial) override {
    // Deficit round robin: the bracket furthest below its share n / sum(n); ties go to the
    // most exploratory one (the lower position).
    size_t pick = 0;
    for (size_t p = 1; p < brackets_.size(); ++p) {
      const __int128_t lhs = static_cast<__int128_t>(assigned_[p]) * brackets_[pick].n;
      const __int128_t rhs = static_cast<__int128_t>(assigned_[pick]) * brackets_[p].n;
      if (lhs < rhs) pick = p;
    }
    ++assigned_[pick];
    position_[trial] = pick;
    Admission a;
    a.bracket = brackets_[pick].s;
    a.max_steps = opts_.max_resource;
    return a;
  }

  Verdict report(int64_t trial, int64_t step, double loss) override {
    return {rungs_[position(trial)].report(trial, step, loss), std::nullopt};
  }

  void finished(const FrozenTrial& trial) override {
    const auto it = position_.find(trial.number);
    if (it != position_.end()) rungs_[it->second].finished(trial.number);
  }

  void restore(const FrozenTrial& trial) override {
    const size_t p = position_of(trial, brackets_, opts_);
    ++assigned_[p];
    position_[trial.number] = p;
    rungs_[p].restore(trial, opts_.direction);
  }

  std::optional<int64_t> max_resource() const override { return opts_.max_resource; }

 private:
  size_t position(int64_t trial) const {
    const auto it = position_.find(trial);
    if (it == position_.end()) {
      throw Error("hyperband: report for trial " + std::to_string(trial) +
                  ", which was never admitted or restored");
    }
    return it->second;
  }

  HyperbandOptions opts_;
  std::vector<Bracket> brackets_;
  std::vector<int64_t> assigned_;
  std::vector<detail::StoppingRungs> rungs_;
  std::unordered_map<int64_t, size_t> position_;
};

// Synchronous successive halving per bracket instance. An iteration holds one instance per
// bracket; instance (iteration i, position p) takes exactly n_p new trials, admitted in trial
// number order, then the next instance takes the following ones. Rung k of an instance is
// resolved once each of its members has recorded there or ended; the best floor(m_k / eta) of its
// recorded values then form rung k + 1 (those that ended keep their slots but do not go on).
class HyperbandSync final : public Pruner {
 public:
  explicit HyperbandSync(HyperbandOptions opts)
      : opts_(opts),
        brackets_(hyperband_brackets(opts.min_resource, opts.max_resource, opts.reduction_factor)) {
    steps_.reserve(brackets_.size());
    for (const Bracket& b : brackets_) {
      steps_.push_back(detail::bracket_rung_steps(opts.max_resource, opts.reduction_factor, b.s));
    }
  }

  Admission admit(int64_t trial) override {
    const size_t idx = enroll(trial);
    const Instance& in = instances_[idx];
    TrialInfo& t = info_[trial];
    t.instance = idx;
    Admission a;
    a.bracket = in.s;
    a.pause_at = pause_at(in, 0);
    a.max_steps = opts_.max_resource;
    return a;
  }

  Verdict report(int64_t trial, int64_t step, double loss) override {
    TrialInfo& t = lookup(trial);
    if (t.ended) return {Decision::kPrune, std::nullopt};
    if (t.pending) return {Decision::kPause, std::nullopt};
    Instance& in = instances_[t.instance];
    if (t.rung >= in.s) return {};
    if (t.recorded) return {Decision::kPause, std::nullopt};
    const auto k = static_cast<size_t>(t.rung);
    if (step < steps_[in.position][k]) return {};
    if (std::isnan(loss)) {
      end(trial, t);
      return {Decision::kPrune, std::nullopt};
    }
    t.recorded = true;
    t.loss = loss;
    detail::insert_sorted(in.rungs[k].sorted, RungEntry{loss, trial});
    ++in.rungs[k].resolved;
    cascade(t.instance);
    // This report completed the rung and won a place in the next one: go on at once (not into
    // the final stretch, which a Verdict cannot express).
    if (t.pending && t.rung < in.s) {
      pending_.erase(pending_key(t, trial));
      t.pending = false;
      return {Decision::kContinue, pause_at(in, t.rung)};
    }
    return {Decision::kPause, std::nullopt};
  }

  void finished(const FrozenTrial& trial) override {
    const auto it = info_.find(trial.number);
    if (it != info_.end()) end(trial.number, it->second);
  }

  std::optional<Promotion> promote() override {
    if (pending_.empty()) return std::nullopt;
    const PendingKey key = *pending_.begin();
    pending_.erase(pending_.begin());
    TrialInfo& t = info_.at(key.trial);
    t.pending = false;
    return Promotion{key.trial, t.rung, pause_at(instances_[t.instance], t.rung)};
  }

  void restore(const FrozenTrial& trial) override {
    const size_t idx = enroll(trial.number);
    Instance& in = instances_[idx];
    if (trial.bracket != in.s) {
      throw ConfigError("trial " + std::to_string(trial.number),
                        "stored in Hyperband bracket " + std::to_string(trial.bracket) + ", but " +
                            describe(opts_) + " admits it to bracket " + std::to_string(in.s) +
                            " (iteration " + std::to_string(in.iteration) +
                            "); the study was run with other pruner settings");
    }
    const std::vector<int64_t>& steps = steps_[in.position];
    const int reached = detail::reached_rung(trial, steps);
    const detail::Crossings c =
        detail::crossings(trial, steps, opts_.direction, static_cast<size_t>(reached) + 1, true);
    TrialInfo& t = info_[trial.number];
    t.instance = idx;
    t.rung = reached;
    t.ended = is_finished(trial.state) || c.nan_stop;
    for (size_t k = 0; k < c.losses.size(); ++k) {
      detail::insert_sorted(in.rungs[k].sorted, RungEntry{c.losses[k], trial.number});
    }
    if (c.losses.size() > static_cast<size_t>(reached)) {
      t.recorded = true;
      t.loss = c.losses[static_cast<size_t>(reached)];
    }
    if (resolved_at(t, 0)) ++in.rungs[0].resolved;
    cascade(idx);
  }

  std::optional<int64_t> max_resource() const override { return opts_.max_resource; }

 private:
  struct Rung {
    std::vector<int64_t> members;   // trials admitted or promoted to this rung
    size_t resolved = 0;            // members that recorded here, went past, or ended
    detail::SortedValues<RungEntry> sorted;  // values recorded here, ascending
  };
  struct Instance {
    int64_t iteration = 0;
    size_t position = 0;  // index into brackets_
    int s = 0;
    int64_t n = 0;
    std::vector<Rung> rungs;  // s rungs, then the final stretch (members only)
    int frontier = 0;         // rungs below it are resolved
  };
  struct TrialInfo {
    size_t instance = 0;
    int rung = 0;           // the rung it is a member of (s: trains to max_resource)
    bool recorded = false;  // recorded its value at that rung
    bool ended = false;
    bool pending = false;  // promoted to `rung` but not handed out by promote() yet
    double loss = 0.0;     // its latest recorded value
  };
  // Promotions go out oldest instance first, then best value first.
  struct PendingKey {
    size_t instance = 0;
    double loss = 0.0;
    int64_t trial = 0;
    friend bool operator<(const PendingKey& a, const PendingKey& b) noexcept {
      if (a.instance != b.instance) return a.instance < b.instance;
      if (a.loss != b.loss) return a.loss < b.loss;
      return a.trial < b.trial;
    }
  };

  static PendingKey pending_key(const TrialInfo& t, int64_t trial) {
    return PendingKey{t.instance, t.loss, trial};
  }

  [[nodiscard]] std::optional<int64_t> pause_at(const Instance& in, int rung) const {
    if (rung < in.s) return steps_[in.position][static_cast<size_t>(rung)];
    return std::nullopt;
  }

  static bool resolved_at(const TrialInfo& t, int k) {
    return t.rung > k || (t.rung == k && (t.recorded || t.ended));
  }

  TrialInfo& lookup(int64_t trial) {
    const auto it = info_.find(trial);
    if (it == info_.end()) {
      throw Error("hyperband: report for trial " + std::to_string(trial) +
                  ", which was never admitted or restored");
    }
    return it->second;
  }

  // Makes `trial` a member of rung 0 of the instance now filling up, opening the next instance
  // (and, after the least exploratory bracket, the next iteration) when that one is full.
  size_t enroll(int64_t trial) {
    if (instances_.empty() ||
        static_cast<int64_t>(instances_.back().rungs[0].members.size()) == instances_.back().n) {
      Instance next;
      if (!instances_.empty()) {
        const Instance& last = instances_.back();
        next.position = (last.position + 1) % brackets_.size();
        next.iteration = last.iteration + (next.position == 0 ? 1 : 0);
      }
      next.s = brackets_[next.position].s;
      next.n = brackets_[next.position].n;
      next.rungs.resize(static_cast<size_t>(next.s) + 1);
      instances_.push_back(std::move(next));
    }
    instances_.back().rungs[0].members.push_back(trial);
    return instances_.size() - 1;
  }

  void end(int64_t trial, TrialInfo& t) {
    if (t.ended) return;
    t.ended = true;
    Instance& in = instances_[t.instance];
    if (t.pending) {
      pending_.erase(pending_key(t, trial));
      t.pending = false;
    }
    if (t.rung < in.s && !t.recorded) ++in.rungs[static_cast<size_t>(t.rung)].resolved;
    cascade(t.instance);
  }

  void cascade(size_t idx) {
    Instance& in = instances_[idx];
    while (in.frontier < in.s) {
      const Rung& r = in.rungs[static_cast<size_t>(in.frontier)];
      const size_t expected = in.frontier == 0 ? static_cast<size_t>(in.n) : r.members.size();
      if (r.members.size() < expected || r.resolved < r.members.size()) return;
      resolve(idx, in.frontier);
      ++in.frontier;
    }
  }

  void resolve(size_t idx, int k) {
    Instance& in = instances_[idx];
    const Rung& r = in.rungs[static_cast<size_t>(k)];
    Rung& next = in.rungs[static_cast<size_t>(k) + 1];
    const size_t quota =
        std::min(r.members.size() / static_cast<size_t>(opts_.reduction_factor), r.sorted.size());
    const std::vector<RungEntry>& sorted = r.sorted.view();
    std::unordered_set<int64_t> chosen;
    for (size_t i = 0; i < quota; ++i) {
      const int64_t trial = sorted[i].trial;
      chosen.insert(trial);
      TrialInfo& t = info_.at(trial);
      next.members.push_back(trial);
      if (t.rung > k) {
        // Replayed by restore(): it was handed out before the restart.
        if (resolved_at(t, k + 1)) ++next.resolved;
      } else if (t.ended) {
        ++next.resolved;  // its slot stays taken
      } else {
        t.rung = k + 1;
        t.recorded = false;
        t.pending = true;
        pending_.insert(PendingKey{idx, t.loss, trial});
      }
    }
    // Only restore() can meet a trial beyond this rung that was not chosen: stored rungs that
    // this configuration would not have produced.
    for (int64_t trial : r.members) {
      if (info_.at(trial).rung > k && !chosen.contains(trial)) {
        throw ConfigError("trial " + std::to_string(trial),
                          "stored at rung " + std::to_string(info_.at(trial).rung) +
                              " of Hyperband bracket " + std::to_string(in.s) + ", but " +
                              describe(opts_) + " does not promote it from rung " +
                              std::to_string(k) + "; the study was run with other pruner settings");
      }
    }
  }

  HyperbandOptions opts_;
  std::vector<Bracket> brackets_;
  std::vector<std::vector<int64_t>> steps_;  // rung steps per bracket position
  std::vector<Instance> instances_;
  std::unordered_map<int64_t, TrialInfo> info_;
  std::set<PendingKey> pending_;
};

}  // namespace

std::unique_ptr<Pruner> make_hyperband(HyperbandOptions opts) {
  if (opts.mode == HalvingMode::kStopping) return std::make_unique<HyperbandStopping>(opts);
  return std::make_unique<HyperbandSync>(opts);
}

}  // namespace hypertune::search
