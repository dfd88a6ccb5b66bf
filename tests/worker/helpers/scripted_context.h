#pragma once
// A TrialContext for runner tests: records every report and answers with verdicts scripted per
// step; stop_requested() turns true after a given number of reports or when set from outside.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/trial_runner.h"

namespace hypertune::test {

class ScriptedContext final : public worker::TrialContext {
 public:
  using Clock = std::chrono::steady_clock;

  // The verdict for reports of `step` (kContinue for unscripted steps).
  ScriptedContext& on(int64_t step, hypertune::Verdict verdict) {
    verdicts_[step] = verdict;
    return *this;
  }
  ScriptedContext& on(int64_t step, hypertune::Decision decision) { return on(step, {decision, {}}); }
  // The verdict for `step` comes only after `delay`, as when the scheduler is slow to answer.
  ScriptedContext& slow(int64_t step, std::chrono::milliseconds delay) {
    delays_[step] = delay;
    return *this;
  }
  // stop_requested() is true once this many reports were made.
  ScriptedContext& stop_after(size_t reports) {
    stop_after_ = reports;
    return *this;
  }
  void request_stop() { stop_ = true; }

  hypertune::Verdict report(int64_t step, const nlohmann::json& metrics) override {
    reports.emplace_back(step, metrics);
    last_report_at = Clock::now();
    if (const auto d = delays_.find(step); d != delays_.end()) std::this_thread::sleep_for(d->second);
    const auto it = verdicts_.find(step);
    return it == verdicts_.end() ? hypertune::Verdict{} : it->second;
  }
  bool stop_requested() const override {
    return stop_ || (stop_after_ && reports.size() >= *stop_after_);
  }

  [[nodiscard]] std::vector<int64_t> steps() const {
    std::vector<int64_t> s;
    for (const auto& r : reports) s.push_back(r.first);
    return s;
  }

  std::vector<std::pair<int64_t, nlohmann::json>> reports;
  Clock::time_point last_report_at{};

 private:
  std::map<int64_t, hypertune::Verdict> verdicts_;
  std::map<int64_t, std::chrono::milliseconds> delays_;
  std::optional<size_t> stop_after_;
  std::atomic<bool> stop_{false};
};

}  // namespace hypertune::test
