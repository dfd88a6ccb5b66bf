// Successive halving (ASHA) in both modes, on scripted report sequences whose expected decisions
// were worked out by hand (the stopping-mode ones agree with Optuna 3.1's SuccessiveHalvingPruner
// step for step).

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "base/error.h"
#include "base/decision.h"
#include "base/rng.h"
#include "search/pruner.h"

using hypertune::ConfigError;
using namespace hypertune::search;
using hypertune::Decision;
using hypertune::derive_seed;
using hypertune::Rng;
using hypertune::Verdict;

namespace {

constexpr Decision kC = Decision::kContinue;
constexpr Decision kP = Decision::kPrune;
constexpr Decision kW = Decision::kPause;

FrozenTrial snapshot(int64_t number, TrialState state,
                     std::vector<std::pair<int64_t, double>> reports, int rung = 0) {
  FrozenTrial t;
  t.number = number;
  t.state = state;
  t.intermediate = std::move(reports);
  t.rung = rung;
  return t;
}

HalvingOptions stopping(int64_t min, int64_t max, int64_t eta, int rate = 0) {
  HalvingOptions o;
  o.min_resource = min;
  o.max_resource = max;
  o.reduction_factor = eta;
  o.min_early_stopping_rate = rate;
  o.mode = HalvingMode::kStopping;
  return o;
}

HalvingOptions promotion(int64_t min, int64_t max, int64_t eta) {
  HalvingOptions o = stopping(min, max, eta);
  o.mode = HalvingMode::kPromotion;
  return o;
}

Decision decide(Pruner& p, int64_t trial, int64_t step, double loss) {
  return p.report(trial, step, loss).decision;
}

}  // namespace

TEST_CASE("stopping mode keeps the top 1/eta of each rung as values arrive", "[asha]") {
  // Rungs at steps 1, 3, 9; step 27 is the end.
  auto p = make_successive_halving(stopping(1, 27, 3));
  REQUIRE(p->max_resource() == 27);
  const Admission a = p->admit(0);
  CHECK(a.bracket == 0);
  CHECK_FALSE(a.pause_at);
  CHECK(a.max_steps == 27);
  for (int64_t t = 1; t < 10; ++t) (void)p->admit(t);

  // Rung 0 (step 1). m values recorded: compare with the max(m/3 - 1, 0)-th smallest, own included.
  const std::vector<double> rung0 = {5, 4, 6, 3, 4.5, 3.5, 3.8, 3.6, 3.2, 3.5};
  const std::vector<Decision> want0 = {kC, kC, kP, kC, kP, kC, kP, kP, kC, kC};
  for (int64_t t = 0; t < 10; ++t) {
    INFO("trial " << t);
    CHECK(decide(*p, t, 1, rung0[t]) == want0[t]);
  }

  // Between rungs nothing is judged, however bad the value.
  const std::vector<int64_t> alive = {0, 1, 3, 5, 8, 9};
  for (int64_t t : alive) CHECK(decide(*p, t, 2, 1e9) == kC);

  // Rung 1 (step 3): a fresh competition among those that reached it.
  const std::vector<double> rung1 = {4.0, 3.9, 4.5, 2.0, 3.0, 2.5};
  const std::vector<Decision> want1 = {kC, kC, kP, kC, kP, kC};
  for (size_t i = 0; i < alive.size(); ++i) {
    INFO("trial " << alive[i]);
    CHECK(decide(*p, alive[i], 3, rung1[i]) == want1[i]);
  }

  // Rung 2 (step 9).
  CHECK(decide(*p, 0, 9, 3.0) == kC);
  CHECK(decide(*p, 1, 9, 3.5) == kP);
  CHECK(decide(*p, 5, 9, 1.0) == kC);
  CHECK(decide(*p, 9, 9, 1.5) == kP);

  // Past the last rung and at max_resource: the survivors complete.
  for (int64_t step = 10; step <= 27; ++step) {
    CHECK(decide(*p, 0, step, 1e9) == kC);
    CHECK(decide(*p, 5, step, 1e9) == kC);
  }
}

TEST_CASE("stopping mode: a pruned trial's value keeps competing, a finished one never reports",
          "[asha]") {
  auto p = make_successive_halving(stopping(1, 9, 2));  // rungs 1, 2, 4
  CHECK(decide(*p, 0, 1, 1.0) == kC);
  CHECK(decide(*p, 1, 1, 9.0) == kP);
  p->finished(snapshot(1, TrialState::kPruned, {{1, 9.0}}));
  CHECK(decide(*p, 2, 1, 2.0) == kP);  // m 3, index 0: {1, 2, 9}
  // m 4, index 1: the second best of {1, 2, 2, 9} is 2.0, so it passes. Without trial 1's 9.0
  // (m 3, index 0) it would be pruned.
  CHECK(decide(*p, 3, 1, 2.0) == kC);
  // A report for a trial that already ended is refused.
  CHECK(decide(*p, 1, 2, 0.0) == kP);
}

TEST_CASE("stopping mode: min_early_stopping_rate skips the first rungs", "[asha]") {
  auto p = make_successive_halving(stopping(1, 27, 3, 1));  // rungs 3, 9
  CHECK(decide(*p, 0, 1, 1.0) == kC);
  CHECK(decide(*p, 1, 1, 5.0) == kC);  // step 1 is no rung any more
  CHECK(decide(*p, 0, 3, 1.0) == kC);
  CHECK(decide(*p, 1, 3, 5.0) == kP);

  // A rate that leaves no rung below max_resource: nothing is ever pruned.
  auto none = make_successive_halving(stopping(1, 9, 3, 2));
  for (int64_t t = 0; t < 5; ++t) {
    for (int64_t step = 1; step <= 9; ++step) CHECK(decide(*none, t, step, 10.0 - t) == kC);
  }
}

TEST_CASE("stopping mode: a report past several rung steps is judged at each", "[asha]") {
  auto p = make_successive_halving(stopping(1, 27, 3));  // rungs 1, 3, 9
  CHECK(decide(*p, 0, 1, 1.0) == kC);
  CHECK(decide(*p, 0, 3, 1.0) == kC);
  CHECK(decide(*p, 1, 4, 0.5) == kC);   // one report, rungs 0 and 1
  CHECK(decide(*p, 2, 1, 0.1) == kC);   // rung 0 {0.1, 0.5, 1}
  CHECK(decide(*p, 2, 3, 0.05) == kC);  // rung 1 {0.05, 0.5, 1}
  for (int64_t t = 4; t <= 7; ++t) CHECK(decide(*p, t, 1, static_cast<double>(t + 1)) == kP);
  // Rung 0 holds {0.1, 0.5, 1, 5, 6, 7, 8}. Trial 3 jumps to step 9 with 0.3: the 2nd best of 8
  // at rung 0 (passes), not the best of 4 at rung 1 (fails): one failed rung prunes.
  CHECK(decide(*p, 3, 9, 0.3) == kP);
  // Its value was recorded at rung 2 as well (records follow the reports): 0.4 loses there.
  CHECK(decide(*p, 2, 9, 0.4) == kP);
}

TEST_CASE("stopping mode: NaN at a rung prunes and is not recorded", "[asha]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto p = make_successive_halving(stopping(1, 9, 3));  // rungs 1, 3
  CHECK(decide(*p, 0, 1, nan) == kP);
  // Between rungs a NaN is not judged.
  CHECK(decide(*p, 1, 1, 2.0) == kC);
  CHECK(decide(*p, 1, 2, nan) == kC);
  // Rung 0 holds {2.0} only: 1.5 is the best of two.
  CHECK(decide(*p, 2, 1, 1.5) == kC);
  CHECK(decide(*p, 3, 1, 1.7) == kP);  // {1.5, 1.7, 2.0}: index 0
}

TEST_CASE("stopping mode: restore rebuilds the rungs from stored reports", "[asha]") {
  auto live = make_successive_halving(stopping(1, 27, 3));
  auto back = make_successive_halving(stopping(1, 27, 3));
  // History: four trials, two ended. Replay it live and through restore().
  const std::vector<FrozenTrial> history = {
      snapshot(0, TrialState::kComplete, {{1, 3.0}, {2, 2.5}, {3, 2.0}, {9, 1.0}, {27, 0.5}}),
      snapshot(1, TrialState::kPruned, {{1, 2.5}, {2, 5.0}, {3, 6.0}}),
      snapshot(2, TrialState::kRunning, {{1, 2.0}, {2, 2.0}}),
      snapshot(3, TrialState::kFail, {{1, 8.0}}),
  };
  for (const auto& t : history) {
    (void)live->admit(t.number);
    for (const auto& [step, v] : t.intermediate) (void)live->report(t.number, step, v);
    if (is_finished(t.state)) live->finished(t);
    back->restore(t);
  }
  // Same verdicts afterwards, on a sequence that probes every rung.
  const std::vector<std::tuple<int64_t, int64_t, double>> next = {
      {2, 3, 3.0}, {4, 1, 2.5}, {5, 1, 1.0}, {5, 3, 1.5}, {2, 9, 2.0}, {5, 9, 0.9},
      {6, 4, 1.2}, {1, 4, 0.0}, {3, 1, 0.0}, {7, 1, 9.0}, {7, 3, 0.1}};
  std::vector<Decision> a, b;
  for (const auto& [t, step, v] : next) {
    a.push_back(decide(*live, t, step, v));
    b.push_back(decide(*back, t, step, v));
  }
  CHECK(a == b);
  // Rungs before: {2, 2.5, 3, 8}, {2, 6}, {1}; trial 2 waits for rung 1.
  CHECK(a == std::vector<Decision>{kP, kP, kC, kC, kP, kC, kC, kP, kP, kP, kP});
}

TEST_CASE("promotion mode pauses at each rung and promotes the top 1/eta", "[asha]") {
  // Rungs at steps 1 and 3; step 9 is the end.
  auto p = make_successive_halving(promotion(1, 9, 3));
  REQUIRE(p->max_resource() == 9);
  for (int64_t t = 0; t < 9; ++t) {
    const Admission a = p->admit(t);
    CHECK(a.pause_at == 1);
    CHECK(a.max_steps == 9);
  }
  auto verdict = [&](int64_t t, int64_t step, double v) { return p->report(t, step, v); };

  CHECK(verdict(0, 1, 5.0).decision == kW);  // m 1: top 0
  CHECK_FALSE(p->promote());
  CHECK(verdict(1, 1, 4.0).decision == kW);  // m 2: top 0
  CHECK_FALSE(p->promote());
  CHECK(verdict(2, 1, 6.0).decision == kW);  // m 3: top 1 = trial 1, paused
  auto pr = p->promote();
  REQUIRE(pr);
  CHECK(pr->trial_number == 1);
  CHECK(pr->rung == 1);
  CHECK(pr->pause_at == 3);
  CHECK_FALSE(p->promote());  // trial 1 is gone; trial 0 (rank 1) is outside the top 1

  // Trial 3 is the best of 4 at once: it goes on without pausing, to pause at step 3.
  Verdict v = verdict(3, 1, 3.0);
  CHECK(v.decision == kC);
  CHECK(v.next_pause == 3);
  CHECK(verdict(4, 1, 7.0).decision == kW);  // m 5: top 1 = trial 3
  CHECK(verdict(5, 1, 8.0).decision == kW);  // m 6: top 2 = trials 3, 1 (both promoted)
  CHECK_FALSE(p->promote());
  CHECK(verdict(6, 1, 4.5).decision == kW);  // m 7: rank 2, top 2
  v = verdict(7, 1, 1.0);                    // m 8: rank 0
  CHECK(v.decision == kC);
  CHECK(v.next_pause == 3);
  v = verdict(8, 1, 2.0);  // m 9: top 3 = {7, 8, 3}
  CHECK(v.decision == kC);
  CHECK(v.next_pause == 3);
  CHECK_FALSE(p->promote());  // trial 1 (4.0) fell out of the top 3: ASHA never retracts

  // Rung 1 (step 3).
  CHECK(verdict(1, 2, 100.0).decision == kC);
  CHECK(verdict(1, 3, 4.0).decision == kW);
  CHECK(verdict(3, 3, 2.5).decision == kW);
  CHECK(verdict(7, 3, 3.5).decision == kW);  // m 3: top 1 = trial 3
  pr = p->promote();
  REQUIRE(pr);
  CHECK(pr->trial_number == 3);
  CHECK(pr->rung == 2);
  CHECK_FALSE(pr->pause_at);  // trains to max_resource
  CHECK_FALSE(p->promote());
  // Best of rung 1, but the next stage is the final one: it pauses and promote() hands it out.
  v = verdict(8, 3, 1.5);
  CHECK(v.decision == kW);
  CHECK_FALSE(v.next_pause);
  pr = p->promote();
  REQUIRE(pr);
  CHECK(pr->trial_number == 8);
  CHECK(pr->rung == 2);
  CHECK_FALSE(pr->pause_at);
  // A trial promoted to the end trains on without further pauses.
  for (int64_t step = 4; step <= 9; ++step) CHECK(verdict(3, step, 1e9).decision == kC);
}

TEST_CASE("promotion mode looks from the top rung down", "[asha]") {
  auto p = make_successive_halving(promotion(1, 4, 2));  // rungs 1, 2; end 4
  for (int64_t t = 0; t < 7; ++t) REQUIRE(p->admit(t).pause_at == 1);
  CHECK(p->report(0, 1, 1.0).decision == kW);  // m 1: top 0
  CHECK(p->report(1, 1, 2.0).decision == kW);  // m 2: top 1 = trial 0
  auto pr = p->promote();
  REQUIRE(pr);
  CHECK(pr->trial_number == 0);
  CHECK(pr->pause_at == 2);
  CHECK(p->report(2, 1, 3.0).decision == kW);
  CHECK(p->report(3, 1, 4.0).decision == kW);  // m 4: top 2 = {0, 1}
  pr = p->promote();
  REQUIRE(pr);
  CHECK(pr->trial_number == 1);
  CHECK(p->report(0, 2, 10.0).decision == kW);  // rung 1 m 1
  CHECK(p->report(1, 2, 20.0).decision == kW);  // rung 1 m 2: top 1 = trial 0
  CHECK(p->report(4, 1, 5.0).decision == kW);
  CHECK(p->report(5, 1, 6.0).decision == kW);  // rung 0 m 6: top 3 = {0, 1, 2}: trial 2 waits
  CHECK(p->report(6, 1, 7.0).decision == kW);  // m 7: still top 3

  SECTION("the higher rung goes first") {
    pr = p->promote();
    REQUIRE(pr);
    CHECK(pr->trial_number == 0);
    CHECK(pr->rung == 2);
    CHECK_FALSE(pr->pause_at);
    pr = p->promote();
    REQUIRE(pr);
    CHECK(pr->trial_number == 2);
    CHECK(pr->rung == 1);
    CHECK(pr->pause_at == 2);
    CHECK_FALSE(p->promote());
  }
  SECTION("a trial that ended keeps its place in the top set but is never promoted") {
    FrozenTrial failed = snapshot(2, TrialState::kFail, {{1, 3.0}});
    p->finished(failed);
    p->finished(snapshot(0, TrialState::kFail, {{1, 1.0}, {2, 10.0}}));
    // Rung 1: trial 0 failed, trial 1 is outside the top 1. Rung 0: top 3 = {0, 1, 2}, none
    // waiting. Had trial 2's value been dropped (m 6, still top 3), trial 3 would be in it.
    CHECK_FALSE(p->promote());
    CHECK(p->report(2, 2, 0.0).decision == kP);
  }
}

TEST_CASE("promotion mode: restore rebuilds rungs, promotions and waiting trials", "[asha]") {
  const HalvingOptions o = promotion(1, 9, 3);  // rungs 1, 3
  // Stored state after some history (rung = the rung each was admitted or promoted to):
  //   rung 0: 0:5 1:4 2:6 3:3 (trial 1 promoted by promote(), trial 3 at once)
  //   rung 1: 1:4.0 (waiting), trial 3 on its way.
  const std::vector<FrozenTrial> history = {
      snapshot(0, TrialState::kPaused, {{1, 5.0}}, 0),
      snapshot(1, TrialState::kPaused, {{1, 4.0}, {2, 4.2}, {3, 4.0}}, 1),
      snapshot(2, TrialState::kPaused, {{1, 6.0}}, 0),
      snapshot(3, TrialState::kRunning, {{1, 3.0}, {2, 2.8}}, 1),
      snapshot(4, TrialState::kWaiting, {}, 0),
  };
  auto live = make_successive_halving(o);
  for (int64_t t = 0; t < 5; ++t) (void)live->admit(t);
  CHECK(live->report(0, 1, 5.0).decision == kW);
  CHECK(live->report(1, 1, 4.0).decision == kW);
  CHECK(live->report(2, 1, 6.0).decision == kW);
  REQUIRE(live->promote()->trial_number == 1);
  CHECK(live->report(3, 1, 3.0).next_pause == 3);
  CHECK(live->report(1, 2, 4.2).decision == kC);
  CHECK(live->report(1, 3, 4.0).decision == kW);
  CHECK(live->report(3, 2, 2.8).decision == kC);

  auto back = make_successive_halving(o);
  for (const auto& t : history) back->restore(t);

  // Identical futures: nothing to promote yet; trial 3 wins rung 1, trial 4 arrives at rung 0.
  for (auto* p : {live.get(), back.get()}) {
    CHECK_FALSE(p->promote());
    const Verdict v3 = p->report(3, 3, 2.0);
    CHECK(v3.decision == kW);                     // rung 1 m 2: top 0
    CHECK(p->report(4, 1, 0.5).next_pause == 3);  // rung 0 m 5: rank 0, top 1
    CHECK_FALSE(p->promote());
    CHECK(p->report(4, 3, 1.0).decision == kW);  // rung 1 m 3: top 1 = trial 4 (1.0)
    auto pr = p->promote();
    REQUIRE(pr);
    CHECK(pr->trial_number == 4);
    CHECK(pr->rung == 2);
    CHECK_FALSE(p->promote());
  }
}

TEST_CASE("promotion mode: restore takes promotions from stored rungs", "[asha]") {
  // Trial 1 was handed out by promote() (stored rung 1) but has not reported since.
  auto p = make_successive_halving(promotion(1, 9, 3));
  p->restore(snapshot(0, TrialState::kPaused, {{1, 5.0}}));
  p->restore(snapshot(1, TrialState::kRunning, {{1, 4.0}}, 1));
  p->restore(snapshot(2, TrialState::kPaused, {{1, 6.0}}));
  CHECK_FALSE(p->promote());  // the top 1 of rung 0 is trial 1, already promoted
  CHECK(p->report(1, 2, 4.0).decision == kC);
  CHECK(p->report(1, 3, 4.0).decision == kW);
}

TEST_CASE("promotion mode: a promotion at once is recognised on restore without a stored rung",
          "[asha]") {
  // The trial went past its first pause point, so it must have been promoted there even if the
  // stored rung still says 0.
  auto p = make_successive_halving(promotion(1, 9, 3));
  p->restore(snapshot(0, TrialState::kPaused, {{1, 5.0}}));
  p->restore(snapshot(1, TrialState::kPaused, {{1, 6.0}}));
  p->restore(snapshot(2, TrialState::kRunning, {{1, 1.0}, {2, 1.0}}, 0));
  // Rung 0 m 3: top 1 is trial 2, already promoted: nothing to hand out.
  CHECK_FALSE(p->promote());
  CHECK(p->report(2, 3, 1.0).decision == kW);  // it now waits at rung 1
}

TEST_CASE("successive halving rejects bad options, naming the key", "[asha]") {
  auto key_of = [](HalvingOptions o) {
    try {
      (void)make_successive_halving(o);
    } catch (const ConfigError& e) {
      return e.where();
    }
    return std::string("accepted");
  };
  HalvingOptions o = stopping(1, 27, 3);
  CHECK(key_of(o) == "accepted");
  o.min_resource = 0;
  CHECK(key_of(o) == "pruner.min_resource");
  o = stopping(10, 9, 3);
  CHECK(key_of(o) == "pruner.max_resource");
  o = stopping(1, 9, 1);
  CHECK(key_of(o) == "pruner.reduction_factor");
  o = stopping(1, 9, 3, -1);
  CHECK(key_of(o) == "pruner.min_early_stopping_rate");
  try {
    (void)make_successive_halving(stopping(1, 9, 1));
    FAIL("accepted reduction_factor 1");
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("got 1"));
  }
}
