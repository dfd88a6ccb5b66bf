#include "search/trial.h"

#include <algorithm>

namespace hypertune::search {

const char* to_string(TrialState s) noexcept {
  switch (s) {
    case TrialState::kWaiting: return "WAITING";
    case TrialState::kRunning: return "RUNNING";
    case TrialState::kPaused: return "PAUSED";
    case TrialState::kComplete: return "COMPLETE";
    case TrialState::kPruned: return "PRUNED";
    case TrialState::kFail: return "FAIL";
  }
  return "?";
}

std::optional<TrialState> parse_trial_state(std::string_view s) noexcept {
  for (auto st : {TrialState::kWaiting, TrialState::kRunning, TrialState::kPaused, TrialState::kComplete,
                  TrialState::kPruned, TrialState::kFail}) {
    if (s == to_string(st)) return st;
  }
  return std::nullopt;
}

const char* to_string(Direction d) noexcept {
  return d == Direction::kMinimize ? "minimize" : "maximize";
}

std::optional<double> FrozenTrial::report_at(int64_t step) const {
  auto it = std::lower_bound(intermediate.begin(), intermediate.end(), step,
                             [](const auto& p, int64_t s) { return p.first < s; });
  if (it == intermediate.end() || it->first != step) return std::nullopt;
  return it->second;
}

bool FrozenTrial::add_report(int64_t step, double value) {
  auto it = std::lower_bound(intermediate.begin(), intermediate.end(), step,
                             [](const auto& p, int64_t s) { return p.first < s; });
  if (it != intermediate.end() && it->first == step) return false;
  intermediate.insert(it, {step, value});
  return true;
}

}  // namespace hypertune::search
