#include "base/trial.h"

#include <filesystem>

namespace hypertune {

const char* to_string(Decision d) noexcept {
  switch (d) {
    case Decision::kContinue: return "continue";
    case Decision::kPrune: return "prune";
    case Decision::kPause: return "pause";
  }
  return "?";
}

const char* to_string(OutcomeKind k) noexcept {
  switch (k) {
    case OutcomeKind::kComplete: return "complete";
    case OutcomeKind::kPruned: return "pruned";
    case OutcomeKind::kPaused: return "paused";
    case OutcomeKind::kFailed: return "failed";
  }
  return "?";
}

std::string trial_dir(std::string_view root, int64_t number) {
  return (std::filesystem::path(root) / ("trial-" + std::to_string(number))).string();
}

}  // namespace hypertune
