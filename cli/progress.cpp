#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace hypertune::cli {

ProgressPrinter::ProgressPrinter(Verbosity v, int64_t max_trials,
                                 std::optional<std::chrono::milliseconds> timeout)
    : verbosity_(v),
      max_trials_(max_trials),
      timeout_(timeout),
      tty_(::isatty(STDOUT_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_log_(start_) {}

std::string ProgressPrinter::format_duration(std::chrono::seconds s) {
  const auto total = s.count();
  char buf[32];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  }
  return buf;
}

std::string ProgressPrinter::line(const scheduler::Progress& p) const {
  const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start_);
  const int64_t done = p.complete + p.pruned + p.failed;
  std::string out = "trials " + std::to_string(done) + "/" + std::to_string(max_trials_) + " done (" +
                    std::to_string(p.complete) + " complete, " + std::to_string(p.pruned) + " pruned, " +
                    std::to_string(p.failed) + " failed), " + std::to_string(p.running) + " running";
  if (p.paused > 0) out += ", " + std::to_string(p.paused) + " paused";
  if (p.best_value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " | best %.6g (#%lld)", *p.best_value, static_cast<long long>(*p.best_trial));
    out += buf;
  }
  out += " | " + format_duration(elapsed) + " elapsed";
  // Remaining: the rate so far over the trials still to create, capped by the timeout.
  std::optional<std::chrono::seconds> left;
  if (done > 0 && max_trials_ > done) {
    left = std::chrono::seconds(elapsed.count() * (max_trials_ - done) / done);
  }
  if (timeout_) {
    const auto t_left = std::chrono::duration_cast<std::chrono::seconds>(*timeout_) - elapsed;
    const auto clamped = std::max(std::chrono::seconds(0), t_left);
    left = left ? std::min(*left, clamped) : clamped;
  }
  if (left) out += ", ~" + format_duration(*left) + " left";
  return out;
}

void ProgressPrinter::tick(const scheduler::Progress& p) {
  if (verbosity_ == Verbosity::kQuiet) return;
  const std::string text = line(p);
  if (tty_) {
    std::string padded = text;
    if (padded.size() < last_width_) padded.append(last_width_ - padded.size(), ' ');
    last_width_ = text.size();
    std::fprintf(stdout, "\r%s", padded.c_str());
    std::fflush(stdout);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  const auto every = verbosity_ == Verbosity::kVerbose ? std::chrono::seconds(1) : std::chrono::seconds(10);
  if (now - last_log_ >= every) {
    last_log_ = now;
    std::fprintf(stdout, "[progress] %s\n", text.c_str());
    std::fflush(stdout);
  }
}

void ProgressPrinter::finish(const scheduler::Progress& p) {
  if (verbosity_ == Verbosity::kQuiet) return;
  if (tty_) {
    tick(p);
    std::fprintf(stdout, "\n");
  } else {
    std::fprintf(stdout, "[progress] %s\n", line(p).c_str());
  }
  std::fflush(stdout);
}

}  // namespace hypertune::cli
