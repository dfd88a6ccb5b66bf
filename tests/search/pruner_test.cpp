// The pruner contract shared by every scheduler (nop, median, successive halving, Hyperband), the
// median pruner on scripted curves, and restore() equivalence: a simulated cluster runs a study,
// the pruner is replaced mid-run by a fresh one rebuilt from stored snapshots only, and every
// later decision must be the one the original pruner made.

#include "search/pruner.h"
#include "base/rng.h"
#include "search/successive_halving_detail.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/rng.h"

using hypertune::ConfigError;
using namespace hypertune::search;
using hypertune::Decision;
using hypertune::derive_seed;
using hypertune::Rng;
using hypertune::Verdict;

namespace {

constexpr Decision kC = Decision::kContinue;
constexpr Decision kP = Decision::kPrune;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Reports a finished curve (steps 1, 2, ...) and hands its snapshot to finished().
void finish(Pruner& p, int64_t number, const std::vector<double>& values,
            TrialState state = TrialState::kComplete, Direction dir = Direction::kMinimize) {
  FrozenTrial t;
  t.number = number;
  for (size_t i = 0; i < values.size(); ++i) {
    const auto step = static_cast<int64_t>(i) + 1;
    t.intermediate.emplace_back(step, values[i]);
    (void)p.report(number, step, to_loss(dir, values[i]));
  }
  t.state = state;
  if (state == TrialState::kComplete) t.value = values.back();
  p.finished(t);
}

Decision decide(Pruner& p, int64_t trial, int64_t step, double loss) {
  return p.report(trial, step, loss).decision;
}

MedianOptions median(int n_startup, int warmup = 0, int interval = 1, int n_min = 1,
                     double percentile = 50.0) {
  MedianOptions o;
  o.percentile = percentile;
  o.n_startup_trials = n_startup;
  o.n_warmup_steps = warmup;
  o.interval_steps = interval;
  o.n_min_trials = n_min;
  return o;
}

}  // namespace

TEST_CASE("decisions have names", "[pruner]") {
  CHECK(std::string(to_string(Decision::kContinue)) == "continue");
  CHECK(std::string(to_string(Decision::kPrune)) == "prune");
  CHECK(std::string(to_string(Decision::kPause)) == "pause");
}

TEST_CASE("the nop pruner never stops anything", "[pruner]") {
  auto p = make_nop_pruner();
  const Admission a = p->admit(0);
  CHECK(a.bracket == 0);
  CHECK_FALSE(a.pause_at);
  CHECK_FALSE(a.max_steps);
  CHECK_FALSE(p->max_resource());
  finish(*p, 1, {1, 1, 1});
  for (int64_t step = 1; step < 50; ++step) {
    const Verdict v = p->report(0, step, 1e9);
    CHECK(v.decision == kC);
    CHECK_FALSE(v.next_pause);
  }
  CHECK_FALSE(p->promote());
}

TEST_CASE("median: no pruning before n_startup_trials trials completed", "[median]") {
  auto p = make_median_pruner(median(2));
  CHECK(decide(*p, 9, 1, 100.0) == kC);  // nothing completed
  finish(*p, 0, {1, 1, 1});
  CHECK(decide(*p, 10, 1, 100.0) == kC);  // 1 < 2 completed
  finish(*p, 0, {1, 1, 1});               // finished() twice counts once
  CHECK(decide(*p, 11, 1, 100.0) == kC);
  finish(*p, 1, {2, 2, 2});
  // Median of {1, 2} at step 1 is 1.5; pruned only when strictly worse.
  CHECK(decide(*p, 12, 1, 100.0) == kP);
  CHECK(decide(*p, 13, 1, 1.4) == kC);
  CHECK(decide(*p, 14, 1, 1.6) == kP);
  CHECK(decide(*p, 15, 1, 1.5) == kC);
  CHECK(p->max_resource() == std::nullopt);
}

TEST_CASE("median: the trial's best value so far is compared", "[median]") {
  auto p = make_median_pruner(median(1));
  finish(*p, 0, {1, 1, 1});
  finish(*p, 1, {3, 3, 3});  // median 2 at every step
  CHECK(decide(*p, 10, 1, 1.5) == kC);
  CHECK(decide(*p, 10, 2, 10.0) == kC);  // the last value is bad, the best (1.5) is not
  CHECK(decide(*p, 10, 3, 10.0) == kC);
  CHECK(decide(*p, 11, 1, 2.5) == kP);
}

TEST_CASE("median: warm-up steps are never judged", "[median]") {
  auto p = make_median_pruner(median(1, 2));
  finish(*p, 0, {1, 1, 1, 1});
  CHECK(decide(*p, 10, 1, 100.0) == kC);
  CHECK(decide(*p, 10, 2, 100.0) == kC);
  CHECK(decide(*p, 10, 3, 100.0) == kP);
}

TEST_CASE("median: checks fall every interval_steps after warm-up", "[median]") {
  // Warm-up 1, interval 3: checks at steps 4, 7, 10. Median at step s is 11 - s.
  auto p = make_median_pruner(median(2, 1, 3));
  std::vector<double> a, b;
  for (int s = 1; s <= 10; ++s) {
    a.push_back(10.0 - s);
    b.push_back(12.0 - s);
  }
  finish(*p, 0, a);
  finish(*p, 1, b);
  CHECK(decide(*p, 10, 2, 100.0) == kC);
  CHECK(decide(*p, 10, 3, 100.0) == kC);
  CHECK(decide(*p, 10, 4, 100.0) == kP);
  // A check whose step was skipped happens at the next report.
  CHECK(decide(*p, 11, 5, 100.0) == kP);
  // Between checks a trial is not judged even when it is behind.
  CHECK(decide(*p, 12, 4, 6.5) == kC);  // median 7
  CHECK(decide(*p, 12, 5, 6.5) == kC);  // median 6, but no check at step 5
  CHECK(decide(*p, 12, 6, 6.5) == kC);
  CHECK(decide(*p, 12, 7, 6.5) == kP);  // median 4
}

TEST_CASE("median: n_min_trials completed trials must have reported the step", "[median]") {
  auto p = make_median_pruner(median(1, 0, 1, 3));
  finish(*p, 0, {1, 1});
  finish(*p, 1, {1, 1});
  CHECK(decide(*p, 10, 1, 100.0) == kC);  // two reporters at step 1
  finish(*p, 2, {1});
  CHECK(decide(*p, 11, 1, 100.0) == kP);  // three
  CHECK(decide(*p, 12, 1, 0.5) == kC);
  CHECK(decide(*p, 12, 2, 100.0) == kC);  // still two at step 2
  CHECK(decide(*p, 13, 5, 100.0) == kC);  // nobody completed reported step 5
}

TEST_CASE("median: other percentiles interpolate linearly", "[median]") {
  auto p25 = make_median_pruner(median(5, 0, 1, 1, 25.0));
  auto p10 = make_median_pruner(median(5, 0, 1, 1, 10.0));
  for (int64_t t = 0; t < 5; ++t) {
    finish(*p25, t, {static_cast<double>(t + 1)});
    finish(*p10, t, {static_cast<double>(t + 1)});
  }
  // Values {1, 2, 3, 4, 5}: 25th percentile 2.0, 10th percentile 1.4 (as numpy computes them).
  CHECK(decide(*p25, 10, 1, 2.1) == kP);
  CHECK(decide(*p25, 11, 1, 2.0) == kC);
  CHECK(decide(*p10, 10, 1, 1.5) == kP);
  CHECK(decide(*p10, 11, 1, 1.3) == kC);
}

TEST_CASE("median: stored values are turned into losses with the study's direction", "[median]") {
  MedianOptions o = median(2);
  o.direction = Direction::kMaximize;
  auto p = make_median_pruner(o);
  finish(*p, 0, {0.9}, TrialState::kComplete, Direction::kMaximize);
  finish(*p, 1, {0.7}, TrialState::kComplete, Direction::kMaximize);
  // Accuracy median 0.8: 0.75 is worse, 0.85 better.
  CHECK(decide(*p, 10, 1, to_loss(Direction::kMaximize, 0.75)) == kP);
  CHECK(decide(*p, 11, 1, to_loss(Direction::kMaximize, 0.85)) == kC);
}

TEST_CASE("median: only completed trials count", "[median]") {
  auto p = make_median_pruner(median(2));
  finish(*p, 0, {5});
  finish(*p, 1, {100}, TrialState::kPruned);
  finish(*p, 2, {100}, TrialState::kFail);
  CHECK(decide(*p, 10, 1, 1000.0) == kC);  // one completed trial, two needed

  auto q = make_median_pruner(median(1));
  finish(*q, 0, {5});
  finish(*q, 1, {100}, TrialState::kPruned);
  finish(*q, 2, {100}, TrialState::kFail);
  CHECK(decide(*q, 10, 1, 6.0) == kP);  // median of {5}, not of {5, 100, 100}
}

TEST_CASE("median: NaN values", "[median]") {
  auto p = make_median_pruner(median(1));
  finish(*p, 0, {1, 1});
  finish(*p, 1, {kNaN, 1});
  CHECK(decide(*p, 10, 1, kNaN) == kP);  // nothing but NaN so far
  CHECK(decide(*p, 11, 1, 1.5) == kP);   // a completed NaN is left out: median of {1}
  CHECK(decide(*p, 12, 1, 0.5) == kC);
  CHECK(decide(*p, 12, 2, kNaN) == kC);  // its best is still 0.5
}

TEST_CASE("median: restore rebuilds completed curves and running bests", "[median]") {
  MedianOptions o = median(2, 0, 2);  // checks at steps 2, 4, 6, ...
  o.direction = Direction::kMaximize;
  const auto dir = Direction::kMaximize;
  auto stored = [](int64_t n, TrialState st, std::vector<double> v) {
    FrozenTrial t;
    t.number = n;
    t.state = st;
    for (size_t i = 0; i < v.size(); ++i) t.intermediate.emplace_back(i + 1, v[i]);
    return t;
  };
  // Accuracy median 0.5 at every step; the pruned trial does not count.
  const std::vector<FrozenTrial> history = {
      stored(0, TrialState::kComplete, {0.6, 0.6, 0.6, 0.6, 0.6, 0.6}),
      stored(1, TrialState::kComplete, {0.4, 0.4, 0.4, 0.4, 0.4, 0.4}),
      stored(2, TrialState::kPruned, {0.1, 0.1}),
      stored(3, TrialState::kRunning, {0.55, 0.2, 0.2, 0.2}),
  };
  auto live = make_median_pruner(o);
  auto back = make_median_pruner(o);
  for (const auto& t : history) {
    for (const auto& [step, v] : t.intermediate) {
      (void)live->report(t.number, step, to_loss(dir, v));
    }
    if (is_finished(t.state)) live->finished(t);
    back->restore(t);
  }
  for (auto* p : {live.get(), back.get()}) {
    CHECK(decide(*p, 3, 5, to_loss(dir, 0.1)) == kC);  // step 4 was its last check
    CHECK(decide(*p, 3, 6, to_loss(dir, 0.1)) == kC);  // best so far 0.55
    CHECK(decide(*p, 4, 2, to_loss(dir, 0.45)) == kP);
    CHECK(decide(*p, 5, 2, to_loss(dir, 0.55)) == kC);
  }
}

TEST_CASE("median pruner rejects bad options, naming the key", "[median]") {
  auto where = [](MedianOptions o) {
    try {
      (void)make_median_pruner(o);
    } catch (const ConfigError& e) {
      return e.where();
    }
    return std::string("accepted");
  };
  CHECK(where(median(5)) == "accepted");
  CHECK(where(median(5, 0, 1, 1, 0.0)) == "accepted");
  CHECK(where(median(5, 0, 1, 1, 100.0)) == "accepted");
  CHECK(where(median(5, 0, 1, 1, -1.0)) == "pruner.percentile");
  CHECK(where(median(5, 0, 1, 1, 100.5)) == "pruner.percentile");
  CHECK(where(median(5, 0, 1, 1, kNaN)) == "pruner.percentile");
  CHECK(where(median(-1)) == "pruner.n_startup_trials");
  CHECK(where(median(5, -1)) == "pruner.n_warmup_steps");
  CHECK(where(median(5, 0, 0)) == "pruner.interval_steps");
  CHECK(where(median(5, 0, 1, 0)) == "pruner.n_min_trials");
  try {
    (void)make_median_pruner(median(5, 0, 0));
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("got 0"));
  }
}

// ---------------------------------------------------------------------------------------------
// restore() equivalence on a simulated cluster.

namespace {

struct SimOptions {
  int workers = 4;
  int64_t trials = 60;     // new trials to create
  int64_t horizon = 12;    // steps per trial when the pruner sets no max_resource
  int64_t fail_every = 0;  // trial numbers n with n % fail_every == fail_every - 1 fail at step 2
  Direction direction = Direction::kMinimize;
  uint64_t seed = 7;
};

struct SimStats {
  int64_t prunes = 0, pauses = 0, promotions = 0, at_once = 0, completes = 0, fails = 0;
  int64_t ignored_pause_points = 0;  // a kContinue without next_pause at a pause point
};

// Workers as slots, one step per slot per tick; the study's bookkeeping as Study does it
// (snapshots with raw values, rung + 1 on a next_pause, a promoted trial's rung and pause point).
class Cluster {
 public:
  Cluster(SimOptions o, std::unique_ptr<Pruner> pruner)
      : o_(o), pruner_(std::move(pruner)), slots_(static_cast<size_t>(o.workers)) {}

  // A scheduler restart: a fresh pruner that sees only the stored snapshots.
  void restart(std::unique_ptr<Pruner> fresh, bool replay) {
    pruner_ = std::move(fresh);
    if (replay) {
      for (const auto& [n, t] : store_) pruner_->restore(t);
    }
  }

  // One round over the slots; false once nothing runs and nothing can start.
  bool tick() {
    bool busy = false;
    for (Slot& slot : slots_) {
      if (!slot.trial) fill(slot);
      if (!slot.trial) continue;
      busy = true;
      advance(slot);
    }
    return busy;
  }

  [[nodiscard]] const std::vector<std::string>& log() const { return log_; }
  [[nodiscard]] const SimStats& stats() const { return stats_; }

 private:
  struct Slot {
    std::optional<int64_t> trial;
    int64_t next_step = 1;
  };

  double value(int64_t n, int64_t step) const {
    Rng shape(derive_seed(o_.seed, static_cast<uint64_t>(n)));
    const double scale = shape.uniform(0.2, 2.0);
    const double floor = shape.uniform(0.0, 1.0);
    Rng noise(derive_seed(o_.seed + 1, static_cast<uint64_t>(n * 1000 + step)));
    const double loss =
        floor + scale / std::sqrt(static_cast<double>(step)) + 0.05 * noise.normal();
    return o_.direction == Direction::kMinimize ? loss : -loss;
  }

  void fill(Slot& slot) {
    std::ostringstream line;
    if (auto pr = pruner_->promote()) {
      FrozenTrial& t = store_.at(pr->trial_number);
      REQUIRE(t.state == TrialState::kPaused);
      t.state = TrialState::kRunning;
      t.rung = pr->rung;
      pause_at_[t.number] = pr->pause_at;
      slot = {t.number, t.intermediate.back().first + 1};
      ++stats_.promotions;
      line << "promote " << t.number << " rung " << pr->rung << " pause "
           << pr->pause_at.value_or(-1);
      log_.push_back(line.str());
      return;
    }
    if (created_ == o_.trials) return;
    const int64_t n = created_++;
    const Admission a = pruner_->admit(n);
    FrozenTrial t;
    t.number = n;
    t.state = TrialState::kRunning;
    t.bracket = a.bracket;
    t.rung = a.rung;
    store_[n] = t;
    pause_at_[n] = a.pause_at;
    max_steps_[n] = a.max_steps.value_or(o_.horizon);
    slot = {n, 1};
    line << "admit " << n << " bracket " << a.bracket << " pause " << a.pause_at.value_or(-1)
         << " max " << a.max_steps.value_or(-1);
    log_.push_back(line.str());
  }

  void end(Slot& slot, FrozenTrial& t, TrialState state) {
    t.state = state;
    pruner_->finished(t);
    slot.trial.reset();
  }

  void advance(Slot& slot) {
    FrozenTrial& t = store_.at(*slot.trial);
    const int64_t step = slot.next_step;
    if (o_.fail_every > 0 && t.number % o_.fail_every == o_.fail_every - 1 && step == 2) {
      ++stats_.fails;
      log_.push_back("fail " + std::to_string(t.number));
      end(slot, t, TrialState::kFail);
      return;
    }
    const double v = value(t.number, step);
    t.intermediate.emplace_back(step, v);
    const Verdict verdict = pruner_->report(t.number, step, to_loss(o_.direction, v));
    std::ostringstream line;
    line << "report " << t.number << " step " << step << " " << to_string(verdict.decision)
         << " next " << verdict.next_pause.value_or(-1);
    log_.push_back(line.str());

    Decision d = verdict.decision;
    auto& pause = pause_at_[t.number];
    if (d == Decision::kContinue && verdict.next_pause) {
      pause = verdict.next_pause;
      ++t.rung;
      ++stats_.at_once;
    }
    if (d == Decision::kContinue && pause && step >= *pause) {
      ++stats_.ignored_pause_points;
      d = Decision::kPause;
    }
    switch (d) {
      case Decision::kPrune:
        ++stats_.prunes;
        end(slot, t, TrialState::kPruned);
        break;
      case Decision::kPause:
        ++stats_.pauses;
        t.state = TrialState::kPaused;
        slot.trial.reset();
        break;
      case Decision::kContinue:
        if (step >= max_steps_.at(t.number)) {
          ++stats_.completes;
          t.value = v;
          end(slot, t, TrialState::kComplete);
        } else {
          slot.next_step = step + 1;
        }
        break;
    }
  }

  SimOptions o_;
  std::unique_ptr<Pruner> pruner_;
  std::vector<Slot> slots_;
  std::map<int64_t, FrozenTrial> store_;
  std::map<int64_t, std::optional<int64_t>> pause_at_;
  std::map<int64_t, int64_t> max_steps_;
  int64_t created_ = 0;
  std::vector<std::string> log_;
  SimStats stats_;
};

constexpr int kMaxTicks = 100000;

struct Run {
  std::vector<std::string> log;
  SimStats stats;
  int ticks = 0;
};

// restart_at < 0: no restart.
Run simulate(const SimOptions& o, const std::function<std::unique_ptr<Pruner>()>& make,
             int restart_at, bool replay = true) {
  Cluster c(o, make());
  Run r;
  for (; r.ticks < kMaxTicks; ++r.ticks) {
    if (r.ticks == restart_at) c.restart(make(), replay);
    if (!c.tick()) break;
  }
  r.log = c.log();
  r.stats = c.stats();
  return r;
}

// Index of the first differing log line, or -1.
int64_t first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<int64_t>(i);
  }
  return a.size() == b.size() ? -1 : static_cast<int64_t>(n);
}

std::string line_at(const std::vector<std::string>& log, int64_t i) {
  return i >= 0 && i < static_cast<int64_t>(log.size()) ? log[static_cast<size_t>(i)] : "<end>";
}

// Restarts at many points of the run; each must reproduce the uninterrupted log exactly. A
// restart without replay must not (else the check could not tell a broken restore()).
SimStats check_restore_equivalence(const SimOptions& o,
                                   const std::function<std::unique_ptr<Pruner>()>& make) {
  const Run full = simulate(o, make, -1);
  REQUIRE(full.ticks < kMaxTicks);
  for (int at = 1; at < full.ticks; at += std::max(1, full.ticks / 40)) {
    const Run split = simulate(o, make, at);
    const int64_t diff = first_difference(full.log, split.log);
    INFO("restart at tick " << at << " of " << full.ticks);
    INFO("first difference at log line " << diff << ": " << line_at(full.log, diff) << " vs "
                                         << line_at(split.log, diff));
    CHECK(diff == -1);
  }
  // A pruner that forgot everything diverges, or refuses reports for trials it never admitted.
  bool diverged = true;
  try {
    const Run amnesic = simulate(o, make, full.ticks / 2, false);
    diverged = first_difference(full.log, amnesic.log) != -1;
  } catch (const hypertune::Error&) {
  }
  CHECK(diverged);
  CHECK(full.stats.ignored_pause_points == 0);
  return full.stats;
}

}  // namespace

TEST_CASE("median: a restored pruner decides as the original", "[median][pruner]") {
  SimOptions o;
  o.trials = 50;
  o.horizon = 12;
  o.fail_every = 7;
  o.direction = Direction::kMaximize;
  MedianOptions m = median(3, 2, 2);
  m.direction = o.direction;
  const SimStats s = check_restore_equivalence(o, [&] { return make_median_pruner(m); });
  CHECK(s.prunes >= 10);
  CHECK(s.completes >= 5);
  CHECK(s.pauses == 0);
}

TEST_CASE("stopping-mode ASHA: a restored pruner decides as the original", "[asha][pruner]") {
  SimOptions o;
  o.trials = 60;
  o.fail_every = 9;
  o.direction = Direction::kMaximize;
  HalvingOptions h;
  h.min_resource = 1;
  h.max_resource = 27;
  h.reduction_factor = 3;
  h.direction = o.direction;
  const SimStats s = check_restore_equivalence(o, [&] { return make_successive_halving(h); });
  CHECK(s.prunes >= 30);
  CHECK(s.completes >= 2);
}

TEST_CASE("promotion-mode ASHA: a restored pruner decides as the original", "[asha][pruner]") {
  SimOptions o;
  o.trials = 60;
  o.workers = 3;
  o.fail_every = 11;
  HalvingOptions h;
  h.min_resource = 1;
  h.max_resource = 27;
  h.reduction_factor = 3;
  h.mode = HalvingMode::kPromotion;
  const SimStats s = check_restore_equivalence(o, [&] { return make_successive_halving(h); });
  CHECK(s.pauses >= 30);
  CHECK(s.promotions >= 5);
  CHECK(s.at_once >= 3);
  CHECK(s.completes >= 2);
  CHECK(s.prunes == 0);
}

TEST_CASE("stopping-mode Hyperband: a restored pruner decides as the original",
          "[hyperband][pruner]") {
  SimOptions o;
  o.trials = 80;
  o.fail_every = 10;
  o.direction = Direction::kMaximize;
  HyperbandOptions h;
  h.min_resource = 1;
  h.max_resource = 27;
  h.reduction_factor = 3;
  h.direction = o.direction;
  const SimStats s = check_restore_equivalence(o, [&] { return make_hyperband(h); });
  CHECK(s.prunes >= 20);
  CHECK(s.completes >= 5);
}

TEST_CASE("promotion-mode Hyperband: a restored pruner decides as the original",
          "[hyperband][pruner]") {
  SimOptions o;
  o.trials = 70;  // more than one iteration (27 + 12 + 6 + 4 = 49)
  o.workers = 5;
  o.fail_every = 8;
  o.direction = Direction::kMaximize;
  HyperbandOptions h;
  h.min_resource = 1;
  h.max_resource = 27;
  h.reduction_factor = 3;
  h.mode = HalvingMode::kPromotion;
  h.direction = o.direction;
  const SimStats s = check_restore_equivalence(o, [&] { return make_hyperband(h); });
  CHECK(s.pauses >= 30);
  CHECK(s.promotions >= 5);
  CHECK(s.completes >= 5);
  CHECK(s.prunes == 0);
}

TEST_CASE("deferred rung insertions read back exactly as one-by-one sorted insertions", "[pruner]") {
  using hypertune::Rng;
  using hypertune::search::detail::RungEntry;
  using hypertune::search::detail::SortedValues;
  Rng rng(5);
  SortedValues<double> lazy;
  SortedValues<RungEntry> lazy_entries;
  std::vector<double> eager;
  std::vector<RungEntry> eager_entries;
  for (int round = 0; round < 200; ++round) {
    // 0, 1 or many additions between reads (a replay adds thousands before the first read).
    const int adds = round % 3 == 0 ? 0 : round % 3 == 1 ? 1 : static_cast<int>(rng.below(40));
    for (int i = 0; i < adds; ++i) {
      const double v = static_cast<double>(rng.below(25)) / 4.0;  // many equal values
      const RungEntry e{v, static_cast<int64_t>(rng.below(1000))};
      lazy.add(v);
      lazy_entries.add(e);
      hypertune::search::detail::insert_sorted(eager, v);
      hypertune::search::detail::insert_sorted(eager_entries, e);
    }
    REQUIRE(lazy.view() == eager);
    REQUIRE(lazy_entries.view().size() == eager_entries.size());
    for (size_t i = 0; i < eager_entries.size(); ++i) {
      REQUIRE(lazy_entries.view()[i].loss == eager_entries[i].loss);
      REQUIRE(lazy_entries.view()[i].trial == eager_entries[i].trial);
    }
  }
  CHECK(eager.size() > 1000);
}
