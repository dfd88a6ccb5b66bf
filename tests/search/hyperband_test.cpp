// Hyperband: integer bracket arithmetic, bracket assignment, and both scheduling modes on scripted
// sequences with hand-computed outcomes.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
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

struct Row {
  int s;
  int64_t n;
  int64_t r;
};

std::vector<Row> rows(int64_t min, int64_t max, int64_t eta) {
  std::vector<Row> out;
  for (const Bracket& b : hyperband_brackets(min, max, eta)) out.push_back({b.s, b.n, b.r});
  return out;
}

bool operator==(const Row& a, const Row& b) { return a.s == b.s && a.n == b.n && a.r == b.r; }

std::ostream& operator<<(std::ostream& os, const Row& r) {
  return os << "(s " << r.s << ", n " << r.n << ", r " << r.r << ")";
}

HyperbandOptions options(int64_t min, int64_t max, int64_t eta, HalvingMode mode) {
  HyperbandOptions o;
  o.min_resource = min;
  o.max_resource = max;
  o.reduction_factor = eta;
  o.mode = mode;
  return o;
}

FrozenTrial snapshot(int64_t number, TrialState state, int bracket,
                     std::vector<std::pair<int64_t, double>> reports = {}, int rung = 0) {
  FrozenTrial t;
  t.number = number;
  t.state = state;
  t.bracket = bracket;
  t.intermediate = std::move(reports);
  t.rung = rung;
  return t;
}

}  // namespace

TEST_CASE("ilog counts powers exactly", "[hyperband]") {
  CHECK(ilog(1, 2) == 0);
  CHECK(ilog(2, 2) == 1);
  CHECK(ilog(3, 2) == 1);
  CHECK(ilog(4, 2) == 2);
  CHECK(ilog(2, 3) == 0);
  CHECK(ilog(243, 3) == 5);  // log(243) / log(3) = 4.999... in doubles
  CHECK(ilog(242, 3) == 4);
  CHECK(ilog(244, 3) == 5);
  CHECK(ilog(1000, 10) == 3);
  CHECK(ilog(999, 10) == 2);
  CHECK(ilog(1'000'000'000'000'000'000, 10) == 18);
  CHECK(ilog(999'999'999'999'999'999, 10) == 17);
  CHECK(ilog(4'052'555'153'018'976'267, 3) == 39);  // 3^39
  CHECK(ilog(4'052'555'153'018'976'266, 3) == 38);
  CHECK(ilog(std::numeric_limits<int64_t>::max(), 2) == 62);
  CHECK(ilog(std::numeric_limits<int64_t>::max(), 3) == 39);
  CHECK(ilog(std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()) == 1);
  CHECK(ilog(std::numeric_limits<int64_t>::max() - 1, std::numeric_limits<int64_t>::max()) == 0);
  // Outside the domain (x < 1 or eta < 2): 0.
  CHECK(ilog(0, 3) == 0);
  CHECK(ilog(100, 1) == 0);
}

TEST_CASE("hyperband brackets follow Li et al. with integer arithmetic", "[hyperband]") {
  CHECK(rows(1, 81, 3) ==
        std::vector<Row>{{4, 81, 1}, {3, 34, 3}, {2, 15, 9}, {1, 8, 27}, {0, 5, 81}});
  // Exact powers must not lose a bracket.
  CHECK(
      rows(1, 243, 3) ==
      std::vector<Row>{{5, 243, 1}, {4, 98, 3}, {3, 41, 9}, {2, 18, 27}, {1, 9, 81}, {0, 6, 243}});
  CHECK(rows(1, 1000, 10) ==
        std::vector<Row>{{3, 1000, 1}, {2, 134, 10}, {1, 20, 100}, {0, 4, 1000}});
  // Units of min_resource: R = max / min.
  CHECK(rows(3, 243, 3) ==
        std::vector<Row>{{4, 81, 3}, {3, 34, 9}, {2, 15, 27}, {1, 8, 81}, {0, 5, 243}});
  // Not a power: s_max = floor(log3(100)) = 4 and r = floor(100 / 3^s).
  CHECK(rows(1, 100, 3) ==
        std::vector<Row>{{4, 81, 1}, {3, 34, 3}, {2, 15, 11}, {1, 8, 33}, {0, 5, 100}});
  CHECK(rows(2, 100, 3) == std::vector<Row>{{3, 27, 3}, {2, 12, 11}, {1, 6, 33}, {0, 4, 100}});
  // Too small a range for a second bracket: everything trains to max.
  CHECK(rows(1, 2, 3) == std::vector<Row>{{0, 1, 2}});
  CHECK(rows(5, 5, 2) == std::vector<Row>{{0, 1, 5}});
  // A huge range stays exact and does not overflow.
  const auto huge = hyperband_brackets(1, std::numeric_limits<int64_t>::max(), 2);
  REQUIRE(huge.size() == 63);
  CHECK(huge.front().s == 62);
  CHECK(huge.front().n == int64_t{1} << 62);
  CHECK(huge.front().r == 1);
  CHECK(huge.back().n == 63);
  CHECK(huge.back().r == std::numeric_limits<int64_t>::max());
}

TEST_CASE("hyperband rejects bad resources, naming the key", "[hyperband]") {
  auto where = [](int64_t min, int64_t max, int64_t eta) {
    try {
      (void)hyperband_brackets(min, max, eta);
    } catch (const ConfigError& e) {
      return e.where();
    }
    return std::string("accepted");
  };
  CHECK(where(1, 81, 3) == "accepted");
  CHECK(where(0, 81, 3) == "pruner.min_resource");
  CHECK(where(9, 3, 3) == "pruner.max_resource");
  CHECK(where(1, 81, 1) == "pruner.reduction_factor");
  CHECK_THROWS_AS(make_hyperband(options(1, 81, 0, HalvingMode::kPromotion)), ConfigError);
}

TEST_CASE("stopping-mode hyperband spreads trials over brackets in proportion to n",
          "[hyperband]") {
  auto p = make_hyperband(options(1, 81, 3, HalvingMode::kStopping));
  REQUIRE(p->max_resource() == 81);
  std::vector<int> first;
  std::vector<int64_t> count(5, 0);
  for (int64_t t = 0; t < 143; ++t) {
    const Admission a = p->admit(t);
    CHECK_FALSE(a.pause_at);
    CHECK(a.max_steps == 81);
    if (t < 16) first.push_back(a.bracket);
    ++count[static_cast<size_t>(a.bracket)];
  }
  // Smallest assigned/n first, ties to the most exploratory bracket.
  CHECK(first == std::vector<int>{4, 3, 2, 1, 0, 4, 4, 3, 4, 4, 3, 4, 2, 4, 4, 3});
  // One full cycle gives each bracket exactly its n.
  CHECK(count == std::vector<int64_t>{5, 8, 15, 34, 81});
}

TEST_CASE("stopping-mode hyperband runs each bracket's rungs on their own", "[hyperband]") {
  // (1, 9, 3): bracket 2 has rungs 1 and 3, bracket 1 has rung 3, bracket 0 none.
  auto p = make_hyperband(options(1, 9, 3, HalvingMode::kStopping));
  std::vector<int> bracket;
  for (int64_t t = 0; t < 10; ++t) bracket.push_back(p->admit(t).bracket);
  REQUIRE(bracket == std::vector<int>{2, 1, 0, 2, 1, 2, 2, 0, 1, 2});

  CHECK(p->report(1, 1, 100.0).decision == kC);  // bracket 1 has no rung at step 1
  CHECK(p->report(0, 1, 5.0).decision == kC);
  CHECK(p->report(3, 1, 6.0).decision == kP);
  for (int64_t step = 1; step <= 9; ++step) CHECK(p->report(2, step, 1e9).decision == kC);
  // First at bracket 1's rung, whatever bracket 2 has seen.
  CHECK(p->report(1, 3, 100.0).decision == kC);
  CHECK(p->report(4, 3, 200.0).decision == kP);
  CHECK(p->report(0, 3, 1.0).decision == kC);
  CHECK(p->report(5, 1, 4.0).decision == kC);  // bracket 2 rung 0 {4, 5, 6}: best of three
  CHECK(p->report(5, 3, 2.0).decision == kP);  // bracket 2 rung 1 {1, 2}
}

TEST_CASE("stopping-mode hyperband: restore rebuilds bracket counters", "[hyperband]") {
  const HyperbandOptions o = options(1, 81, 3, HalvingMode::kStopping);
  auto live = make_hyperband(o);
  std::vector<FrozenTrial> stored;
  for (int64_t t = 0; t < 40; ++t) {
    stored.push_back(snapshot(t, TrialState::kWaiting, live->admit(t).bracket));
  }
  auto back = make_hyperband(o);
  for (const auto& t : stored) back->restore(t);
  for (int64_t t = 40; t < 143; ++t) CHECK(back->admit(t).bracket == live->admit(t).bracket);

  auto bad = make_hyperband(o);
  try {
    bad->restore(snapshot(7, TrialState::kRunning, 5));
    FAIL("bracket 5 accepted");
  } catch (const ConfigError& e) {
    CHECK(e.where() == "trial 7");
    CHECK_THAT(e.what(), Catch::Contains("brackets 0..4"));
  }
  CHECK_THROWS_AS(bad->report(99, 1, 1.0), hypertune::Error);
}

TEST_CASE("promotion-mode hyperband fills brackets in turn, iteration after iteration",
          "[hyperband]") {
  // (1, 100, 3): brackets (s 4, n 81, r 1) (3, 34, 3) (2, 15, 11) (1, 8, 33) (0, 5, 100).
  auto p = make_hyperband(options(1, 100, 3, HalvingMode::kPromotion));
  REQUIRE(p->max_resource() == 100);
  const std::vector<std::tuple<int, int64_t, std::optional<int64_t>>> plan = {
      {4, 81, 1}, {3, 34, 3}, {2, 15, 11}, {1, 8, 33}, {0, 5, std::nullopt}};
  int64_t t = 0;
  for (int iteration = 0; iteration < 2; ++iteration) {
    for (const auto& [s, n, pause] : plan) {
      for (int64_t i = 0; i < n; ++i, ++t) {
        const Admission a = p->admit(t);
        INFO("trial " << t);
        CHECK(a.bracket == s);
        CHECK(a.rung == 0);
        CHECK(a.pause_at == pause);
        CHECK(a.max_steps == 100);
      }
    }
  }
}

TEST_CASE("promotion-mode hyperband halves a bracket synchronously", "[hyperband]") {
  // (1, 9, 3): bracket 2 (9 trials, rungs 1 and 3), bracket 1 (5 trials, rung 3), bracket 0 (3).
  auto p = make_hyperband(options(1, 9, 3, HalvingMode::kPromotion));
  for (int64_t t = 0; t < 9; ++t) {
    const Admission a = p->admit(t);
    REQUIRE(a.bracket == 2);
    REQUIRE(a.pause_at == 1);
  }
  for (int64_t t = 9; t < 14; ++t) REQUIRE(p->admit(t).bracket == 1);

  // Bracket 2, rung 0: values by trial; trial 3 (the best) reports last.
  const std::vector<double> v = {5, 3, 8, 1, 7, 2, 9, 4, 6};
  for (int64_t t : {0, 1, 2, 4, 5, 6, 7, 8}) {
    CHECK(p->report(t, 1, v[static_cast<size_t>(t)]).decision == kW);
    CHECK_FALSE(p->promote());  // nothing moves until every member has reported
  }
  // Bracket 1 completes its only rung meanwhile: 5 members, top floor(5/3) = 1, to max.
  for (int64_t t = 9; t < 13; ++t) {
    CHECK(p->report(t, 1, 0.0).decision == kC);  // its rung is at step 3
    CHECK(p->report(t, 3, static_cast<double>(t % 4)).decision == kW);
  }
  CHECK_FALSE(p->promote());
  p->finished(snapshot(13, TrialState::kFail, 1, {{1, 0.0}}));  // the straggler fails
  // Trial 3 completes bracket 2's rung 0 and is in its top 3: on at once, to pause at step 3.
  const Verdict v3 = p->report(3, 1, 1.0);
  CHECK(v3.decision == kC);
  CHECK(v3.next_pause == 3);
  // The older bracket's promotions come first, best first; then bracket 1's winner (trial 12,
  // 0.0, better than any of them), straight to max_resource.
  std::vector<std::tuple<int64_t, int, std::optional<int64_t>>> got;
  while (auto pr = p->promote()) got.emplace_back(pr->trial_number, pr->rung, pr->pause_at);
  CHECK(got == std::vector<std::tuple<int64_t, int, std::optional<int64_t>>>{
                   {5, 1, 3}, {1, 1, 3}, {12, 1, std::nullopt}});

  // Rung 1 of bracket 2: members 3, 5, 1; top floor(3/3) = 1 goes to the end.
  CHECK(p->report(5, 2, 100.0).decision == kC);
  CHECK(p->report(5, 3, 1.5).decision == kW);
  CHECK(p->report(3, 3, 2.0).decision == kW);
  CHECK_FALSE(p->promote());

  SECTION("the winner goes on to max_resource") {
    CHECK(p->report(1, 3, 2.5).decision == kW);  // last member: rung resolved
    auto pr = p->promote();
    REQUIRE(pr);
    CHECK(pr->trial_number == 5);
    CHECK(pr->rung == 2);
    CHECK_FALSE(pr->pause_at);
    CHECK_FALSE(p->promote());
    for (int64_t step = 4; step <= 9; ++step) CHECK(p->report(5, step, 1e9).decision == kC);
  }
  SECTION("a winner that ended keeps its slot") {
    p->finished(snapshot(5, TrialState::kFail, 2, {{1, 2.0}, {2, 100.0}, {3, 1.5}}, 1));
    CHECK(p->report(1, 3, 2.5).decision == kW);
    CHECK_FALSE(p->promote());
    CHECK(p->report(5, 4, 0.0).decision == kP);
  }
  SECTION("trials beyond the first iteration start a new bracket instance") {
    for (int64_t t = 14; t < 17; ++t) REQUIRE(p->admit(t).bracket == 0);
    for (int64_t t = 17; t < 26; ++t) REQUIRE(p->admit(t).bracket == 2);
    for (int64_t t = 17; t < 25; ++t) CHECK(p->report(t, 1, -1.0).decision == kW);
    CHECK_FALSE(p->promote());  // the new instance still waits for trial 25
    CHECK(p->report(1, 3, 2.5).decision == kW);
    auto pr = p->promote();
    REQUIRE(pr);
    CHECK(pr->trial_number == 5);
  }
}

TEST_CASE("promotion-mode hyperband uses the bracket's own rung steps", "[hyperband]") {
  // (1, 100, 3), bracket 4: rungs at 100/81 = 1, 100/27 = 3, 100/9 = 11, 100/3 = 33 (not 9, 27).
  auto p = make_hyperband(options(1, 100, 3, HalvingMode::kPromotion));
  for (int64_t t = 0; t < 81; ++t) REQUIRE(p->admit(t).pause_at == 1);
  std::vector<int64_t> alive(81);
  for (int64_t t = 0; t < 81; ++t) alive[static_cast<size_t>(t)] = t;
  const std::vector<int64_t> rung_steps = {1, 3, 11, 33};
  for (size_t k = 0; k < rung_steps.size(); ++k) {
    std::vector<int64_t> next;
    for (int64_t t : alive) {
      // Lower trial numbers are better; at once promotions report their own next pause.
      const Verdict v = p->report(t, rung_steps[k], static_cast<double>(t));
      if (v.decision == kC) {
        REQUIRE(k + 1 < rung_steps.size());
        CHECK(v.next_pause == rung_steps[k + 1]);
        next.push_back(t);
      } else {
        REQUIRE(v.decision == kW);
      }
    }
    while (auto pr = p->promote()) {
      CHECK(pr->rung == static_cast<int>(k) + 1);
      if (k + 1 < rung_steps.size()) {
        CHECK(pr->pause_at == rung_steps[k + 1]);
      } else {
        CHECK_FALSE(pr->pause_at);
      }
      next.push_back(pr->trial_number);
    }
    std::sort(next.begin(), next.end());
    std::vector<int64_t> want(alive.size() / 3);
    for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<int64_t>(i);
    CHECK(next == want);  // 27, 9, 3, 1: the best third each time
    alive = next;
  }
}

TEST_CASE("promotion-mode hyperband: restore checks the stored bracket", "[hyperband]") {
  auto p = make_hyperband(options(1, 9, 3, HalvingMode::kPromotion));
  for (int64_t t = 0; t < 9; ++t) p->restore(snapshot(t, TrialState::kWaiting, 2));
  try {
    // The tenth trial belongs to bracket 1.
    p->restore(snapshot(9, TrialState::kWaiting, 2));
    FAIL("wrong bracket accepted");
  } catch (const ConfigError& e) {
    CHECK(e.where() == "trial 9");
    CHECK_THAT(e.what(), Catch::Contains("bracket 1"));
  }
}
