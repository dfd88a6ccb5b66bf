#include "cli/local_executor.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "worker/run_dir.h"
#include "worker/runners.h"

namespace hypertune::cli {

namespace {

class Shared {
 public:
  Shared(scheduler::Study& study, const LocalRunOptions& opts) : study(study), opts(opts) {}
  bool stopping() const { return opts.stop && opts.stop->load(); }
  std::atomic<bool> cut{false};  // the sweep's timeout stopped the running trials

  scheduler::Study& study;
  const LocalRunOptions& opts;
  std::mutex mu;
  std::condition_variable cv;
  int requeued = 0;
};

class Context final : public worker::TrialContext {
 public:
  Context(Shared& s, int64_t number, std::string name, std::optional<std::string> run_dir)
      : s_(s), number_(number), name_(std::move(name)), run_dir_(std::move(run_dir)) {}

  Verdict report(int64_t step, const nlohmann::json& metrics) override {
    std::lock_guard lock(s_.mu);
    auto v = s_.study.report(number_, step, metrics, name_, run_dir_);
    s_.cv.notify_all();
    return v;
  }
  bool stop_requested() const override { return s_.stopping() || s_.cut.load(); }

 private:
  Shared& s_;
  int64_t number_;
  std::string name_;
  std::optional<std::string> run_dir_;
};

void slot_loop(Shared& s, int slot) {
  const std::string name = "local-" + std::to_string(slot);
  std::unique_ptr<worker::TrialRunner> runner = worker::make_runner(s.opts.trial);
  for (;;) {
    std::optional<TrialSpec> a;
    {
      std::unique_lock lock(s.mu);
      for (;;) {
        if (s.stopping()) return;
        a = s.study.ask(name);
        if (a) break;
        if (s.study.done()) {
          s.cv.notify_all();
          return;
        }
        s.cv.wait_for(lock, std::chrono::milliseconds(200));
      }
    }
    // The study's part of the spec plus the sweep's: trial section, paths, threads.
    TrialSpec& spec = *a;
    spec.trial = s.opts.trial;
    spec.work_dir = s.opts.work_dir;
    spec.threads = s.opts.threads_per_trial;
    if (static_cast<size_t>(slot) < s.opts.slot_gpus.size()) spec.gpus = s.opts.slot_gpus[static_cast<size_t>(slot)];
    if (!s.opts.artifacts_dir.empty()) spec.checkpoint_dir = trial_dir(s.opts.artifacts_dir, spec.number);
    Outcome outcome;
    try {
      // Its own run folder below the trial's, as on a worker (worker/run_dir.h).
      std::optional<std::string> run_dir = worker::begin_run(spec);
      Context ctx(s, a->number, name, std::move(run_dir));
      outcome = runner->run(spec, ctx);
      worker::end_run(spec, outcome);
    } catch (const std::exception& e) {
      outcome = Outcome::failed(std::string("runner error: ") + e.what());
    }
    std::lock_guard lock(s.mu);
    if (s.stopping() && outcome.kind == OutcomeKind::kFailed) {
      // Stopped by the user, not the trial's fault: it runs again when the sweep resumes.
      s.study.requeue(a->number, "interrupted", /*count_retry=*/false);
      ++s.requeued;
    } else {
      s.study.finish(a->number, outcome, name);
    }
    s.cv.notify_all();
  }
}

}  // namespace

int run_in_process(scheduler::Study& study, const LocalRunOptions& opts) {
  Shared shared(study, opts);
  {
    std::lock_guard lock(shared.mu);
    study.requeue_all_running("the previous run stopped while this trial was running");
  }
  std::vector<std::thread> slots;
  const int n = std::max(1, opts.slots);
  for (int i = 0; i < n; ++i) slots.emplace_back([&shared, i] { slot_loop(shared, i); });

  auto last_tick = std::chrono::steady_clock::now();
  for (;;) {
    std::unique_lock lock(shared.mu);
    shared.cv.wait_for(lock, std::chrono::milliseconds(100));
    if (!study.apply_deadline().empty()) shared.cut = true;
    const bool finished = study.done() || shared.stopping();
    if (opts.on_tick && (finished || std::chrono::steady_clock::now() - last_tick >= std::chrono::seconds(1))) {
      last_tick = std::chrono::steady_clock::now();
      opts.on_tick(study.progress());
    }
    if (finished) break;
  }
  for (auto& t : slots) t.join();
  return shared.requeued;
}

}  // namespace hypertune::cli
