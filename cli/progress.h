#pragma once
// What a user sees while a sweep runs: a live line on a terminal, periodic log lines otherwise.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "scheduler/study.h"

namespace hypertune::cli {

enum class Verbosity { kQuiet, kNormal, kVerbose };

class ProgressPrinter {
 public:
  ProgressPrinter(Verbosity v, int64_t max_trials, std::optional<std::chrono::milliseconds> timeout);
  // Called about once per second with the study's counts.
  void tick(const scheduler::Progress& p);
  // Ends the live line (if any) so later output starts on a fresh line.
  void finish(const scheduler::Progress& p);

  [[nodiscard]] static std::string format_duration(std::chrono::seconds s);
  [[nodiscard]] std::string line(const scheduler::Progress& p) const;

 private:
  Verbosity verbosity_;
  int64_t max_trials_;
  std::optional<std::chrono::milliseconds> timeout_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_log_;
  size_t last_width_ = 0;
};

}  // namespace hypertune::cli
