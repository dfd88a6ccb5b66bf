#pragma once
// Trials as the search algorithms see them: read-only snapshots with the study's direction.

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "search/space.h"

namespace hypertune::search {

// WAITING: created, not yet handed to a worker. RUNNING: held by a worker under a lease.
// PAUSED: stopped at a rung by a promotion scheduler, resumable from its checkpoint.
// COMPLETE / PRUNED / FAIL: finished; a finished trial never changes again.
enum class TrialState { kWaiting, kRunning, kPaused, kComplete, kPruned, kFail };

[[nodiscard]] const char* to_string(TrialState s) noexcept;
[[nodiscard]] std::optional<TrialState> parse_trial_state(std::string_view s) noexcept;
[[nodiscard]] constexpr bool is_finished(TrialState s) noexcept {
  return s == TrialState::kComplete || s == TrialState::kPruned || s == TrialState::kFail;
}

enum class Direction { kMinimize, kMaximize };
[[nodiscard]] const char* to_string(Direction d) noexcept;

// Converts an objective value to a loss (smaller is better) for the given direction.
[[nodiscard]] constexpr double to_loss(Direction d, double value) noexcept {
  return d == Direction::kMinimize ? value : -value;
}

struct FrozenTrial {
  int64_t number = 0;
  TrialState state = TrialState::kWaiting;
  Params params;
  std::optional<double> value;  // final objective value (COMPLETE only), as reported
  // Intermediate objective values, sorted by step; the first report of a step wins.
  std::vector<std::pair<int64_t, double>> intermediate;
  uint64_t seed = 0;
  int bracket = 0;  // Hyperband bracket (0 for single-bracket schedulers)
  int rung = 0;     // highest rung the trial was admitted to / promoted to

  [[nodiscard]] std::optional<std::pair<int64_t, double>> last_report() const {
    if (intermediate.empty()) return std::nullopt;
    return intermediate.back();
  }
  [[nodiscard]] std::optional<double> report_at(int64_t step) const;
  // Inserts (step, value) unless that step is already present; returns false for a duplicate.
  bool add_report(int64_t step, double value);
};

}  // namespace hypertune::search
