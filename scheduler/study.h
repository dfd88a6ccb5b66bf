#pragma once
// Study: the trial state machine. Owns the sampler and the pruner, persists every transition to
// the TrialStore before returning (so a caller may acknowledge it), and answers workers' events.
//
//   ask()     -> a trial to run: a re-queued one, else a promotion, else a newly sampled trial
//   report()  -> first report of (trial, step) recorded; the pruner's verdict
//   finish()  -> final outcome (COMPLETE / PRUNED / PAUSED / FAIL); idempotent
//   requeue() -> the worker holding a trial was lost: back to WAITING (or FAIL after max_retries)
//
// Idempotence: the first report of a (trial, step) wins; a duplicate gets the same kind of answer
// without touching the sampler or pruner; an outcome for a finished trial is ignored (and the call
// says so); a report from a worker that no longer holds the trial is told to stop (kPrune).
// Restart: constructing a Study on a store that already holds the study replays every stored
// trial into the sampler and pruner (TPE history, rungs, brackets) before the first ask().
// Trials found RUNNING are left RUNNING: the driver decides (requeue_all_running() for a local run;
// lease expiry for a distributed scheduler whose workers may still hold them).
// Thread-safety: none. One thread (the driver's loop) calls a Study.
// Not here: sockets, leases and heartbeats (Dispatcher), running trials (worker/).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/trial.h"
#include "scheduler/config.h"
#include "scheduler/trial_store.h"
#include "search/pruner.h"
#include "search/sampler.h"
#include "search/space.h"

namespace hypertune::scheduler {

struct Budget {
  int64_t max_trials = 100;                             // trials created (sampled), in total
  std::optional<std::chrono::milliseconds> timeout;     // wall time of this run of the sweep
  OnTimeout on_timeout = OnTimeout::kPause;             // running trials at the timeout
  std::optional<int64_t> max_failed;                    // stop creating trials after this many FAIL
  int max_retries = 3;                                  // re-queues after lost workers, per trial
};

struct Progress {
  int64_t created = 0, waiting = 0, running = 0, paused = 0, complete = 0, pruned = 0, failed = 0;
  std::optional<double> best_value;
  std::optional<int64_t> best_trial;
};

class Study {
 public:
  // Opens (or creates) the study in `store` and rebuilds sampler/pruner state from it.
  // Throws ConfigError when the stored study does not match `record` (other search space).
  Study(StudyRecord record, const search::SearchSpace& space, std::unique_ptr<search::Sampler> sampler,
        std::unique_ptr<search::Pruner> pruner, TrialStore& store, Budget budget);

  // Configurations for the first trials, in order (`enqueue:`): trial n < size() takes the n-th
  // instead of a sampled one (a study resumed past them samples as usual). Call before ask().
  void enqueue(std::vector<search::Params> configs) { enqueued_ = std::move(configs); }

  // The trial's number, seed, params, resource, pause point, checkpoint to resume from, bracket,
  // rung, attempt and metric; the driver fills in the rest (trial section, paths, threads).
  [[nodiscard]] std::optional<TrialSpec> ask(const std::string& worker);
  // `run_dir`: the run folder the reporting run checkpoints into (StepReport::checkpoint); from
  // the holder, it becomes the checkpoint the trial resumes from if this run is lost.
  [[nodiscard]] Verdict report(int64_t number, int64_t step, const nlohmann::json& metrics,
                               const std::string& worker,
                               const std::optional<std::string>& run_dir = std::nullopt);
  // Returns false when the outcome was ignored (trial unknown, finished, or held by another worker).
  bool finish(int64_t number, const Outcome& outcome, const std::string& worker);
  // The holder of `number` is gone. Back to WAITING (resuming from its checkpoint), or FAIL with
  // `reason` once max_retries is exceeded. count_retry=false for restarts that are not the
  // trial's fault (the scheduler itself died).
  void requeue(int64_t number, const std::string& reason, bool count_retry = true);
  // A worker that reconnects after a scheduler restart still runs `number`: it keeps the trial.
  // Returns false (and changes nothing) unless the trial is RUNNING with no live holder, or
  // already held by this worker.
  bool adopt(int64_t number, const std::string& worker);
  // Local runs: every trial left RUNNING by a dead process goes back to WAITING (no retry counted).
  int requeue_all_running(const std::string& reason);

  // No new trial will be created (budget spent, grid exhausted, timeout, or max_failed reached).
  [[nodiscard]] bool budget_spent() const;
  // Budget spent, nothing waiting or running, and the last ask() found nothing to promote.
  // Drivers ask() for every free slot first, then check done().
  [[nodiscard]] bool done() const;
  // The timeout has passed: ask() hands out nothing more, and done() waits only for running
  // trials (waiting ones stay WAITING for a resumed sweep).
  [[nodiscard]] bool past_deadline() const;
  // Once past the deadline with on_timeout stop or pause: ends every running trial as the policy
  // says and returns their numbers, which the driver must stop; later calls return nothing.
  // Outcomes that arrive for them afterwards are ignored.
  std::vector<int64_t> apply_deadline();
  // Stop creating trials now (Ctrl-C, timeout handled by the driver).
  void stop_creating() { stopped_ = true; }
  [[nodiscard]] bool stopping() const { return stopped_; }

  [[nodiscard]] Progress progress() const;
  [[nodiscard]] std::optional<TrialRecord> best() const;
  [[nodiscard]] const TrialRecord* trial(int64_t number) const;
  [[nodiscard]] std::vector<int64_t> running_trials() const;
  [[nodiscard]] const StudyRecord& record() const noexcept { return record_; }
  [[nodiscard]] const search::SearchSpace& space() const noexcept { return space_; }
  [[nodiscard]] search::Direction direction() const noexcept { return record_.direction; }
  [[nodiscard]] const std::string& metric() const noexcept { return record_.metric; }
  [[nodiscard]] std::string holder(int64_t number) const;

  // User-facing parameter values of a trial, by name (inactive parameters absent).
  [[nodiscard]] nlohmann::json params_json(const search::Params& p) const;

 private:
  struct Entry {
    TrialRecord rec;
    std::string holder;  // worker currently running it ("" when none)
  };

  Entry* find(int64_t number);
  void persist(const Entry& e);
  TrialSpec assignment_for(Entry& e, const std::string& worker);
  void mark_finished(Entry& e, search::TrialState state);
  void note_best(const Entry& e);
  std::optional<double> objective_of(const nlohmann::json& metrics) const;

  StudyRecord record_;
  const search::SearchSpace& space_;
  std::unique_ptr<search::Sampler> sampler_;
  std::unique_ptr<search::Pruner> pruner_;
  TrialStore& store_;
  Budget budget_;
  std::chrono::steady_clock::time_point started_;

  std::map<int64_t, Entry> trials_;
  std::set<int64_t> waiting_;   // WAITING trials, oldest first
  std::set<int64_t> running_;   // RUNNING trials
  // Promotions the pruner gave for trials whose pause had not reached the study yet.
  std::map<int64_t, search::Promotion> pending_promotions_;
  int64_t next_number_ = 0;
  std::vector<search::Params> enqueued_;
  int64_t failed_ = 0;
  std::optional<int64_t> best_;
  bool stopped_ = false;
  bool deadline_applied_ = false;
  bool promotion_possible_ = true;
};

[[nodiscard]] int64_t now_ms();

}  // namespace hypertune::scheduler
