#pragma once
// What the scheduler answers to one step report: go on, stop now, or stop here and wait for a
// promotion. One definition for every layer: pruners return it (search/), the study stores and
// sends it (scheduler/, protocol/), trial runners and the trainer obey it (worker/, pipelines/).

#include <cstdint>
#include <optional>
#include <string_view>

namespace hypertune {

// The codes are the wire codes of the DECISION message's "verdict" field: never renumber.
enum class Decision : uint8_t { kContinue = 0, kPrune = 1, kPause = 2 };
inline constexpr Decision kLastDecision = Decision::kPause;
[[nodiscard]] const char* to_string(Decision d) noexcept;

struct Verdict {
  Decision decision = Decision::kContinue;
  // With kContinue in a promotion scheduler: the trial passed its rung at once and must now
  // pause at this later step instead (nullopt: keep the previous pause point, or none).
  // A next_pause is a promotion by one rung: the study stores rung + 1 with it.
  std::optional<int64_t> next_pause;
  friend bool operator==(const Verdict&, const Verdict&) = default;

  // The fields that travel in a DECISION, with their wire names (base/trial.h explains).
  template <class Self, class F>
  static void fields(Self& s, F&& f) {
    f("verdict", s.decision);
    f("next_pause", s.next_pause);
  }
};

}  // namespace hypertune
