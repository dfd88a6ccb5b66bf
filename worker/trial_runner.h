#pragma once
// Trial runners: what a worker slot does with one assigned trial.
//
// The same runners serve `hypertune run` (local) and `hypertune worker` (remote agent). A runner
// knows nothing of samplers or storage: it gets a TrialSpec, reports metrics through the
// TrialContext after each step, and obeys the verdict it gets back (continue, prune, pause).
//
// Contract:
//  * run() never throws for a failing trial: exceptions inside the trial become kFailed with the
//    reason; a failing trial never takes the worker down.
//  * Steps count from 1. A resumed trial (spec.resume_checkpoint set) continues after
//    spec.start_step and reports only later steps.
//  * On kPause the runner saves a checkpoint under spec.checkpoint_dir and returns kPaused with
//    its path; on kPrune it stops at once and returns kPruned.
//  * ctx.stop_requested() turns true when the worker shuts down or the scheduler revokes the trial;
//    a runner checks it between steps (and command runners kill their child).
// Thread-safety: one run() per TrialContext; runners may run concurrently on different slots.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "search/pruner.h"

namespace hypertune::worker {

using search::Decision;
using search::Verdict;

struct TrialSpec {
  int64_t number = 0;
  uint64_t seed = 0;
  nlohmann::json params = nlohmann::json::object();  // active parameters: name -> value
  nlohmann::json trial = nlohmann::json::object();   // the config's `trial:` section, verbatim
  std::string metric = "value";                      // objective metric name
  std::optional<int64_t> max_steps;                  // resource cap (epochs / fidelity steps)
  std::optional<int64_t> pause_at;                   // must pause after this step
  int64_t start_step = 0;                            // steps already done (resume)
  std::optional<std::string> resume_checkpoint;      // checkpoint to resume from
  std::string checkpoint_dir;                        // where to save a checkpoint when pausing
  std::string work_dir;                              // the config file's directory (relative paths)
  int threads = 1;                                   // intra-op threads for this trial
  std::optional<int> gpu;                            // CUDA device index when allowed
};

class TrialContext {
 public:
  virtual ~TrialContext() = default;
  // Sends the metrics of `step` and waits for the verdict. metrics is a JSON object that holds
  // the objective metric; other keys are recorded too.
  [[nodiscard]] virtual Verdict report(int64_t step, const nlohmann::json& metrics) = 0;
  [[nodiscard]] virtual bool stop_requested() const = 0;
};

struct TrialOutcome {
  enum class Kind { kComplete, kPruned, kPaused, kFailed };
  Kind kind = Kind::kFailed;
  nlohmann::json metrics = nlohmann::json::object();  // final metrics (kComplete)
  std::string error;                                  // reason (kFailed)
  std::optional<std::string> checkpoint;              // saved checkpoint (kPaused)
  int64_t last_step = 0;

  static TrialOutcome complete(nlohmann::json m, int64_t step) {
    return {Kind::kComplete, std::move(m), {}, std::nullopt, step};
  }
  static TrialOutcome failed(std::string why, int64_t step = 0) {
    return {Kind::kFailed, nlohmann::json::object(), std::move(why), std::nullopt, step};
  }
  static TrialOutcome pruned(int64_t step) {
    return {Kind::kPruned, nlohmann::json::object(), {}, std::nullopt, step};
  }
  static TrialOutcome paused(std::string checkpoint, int64_t step) {
    return {Kind::kPaused, nlohmann::json::object(), {}, std::move(checkpoint), step};
  }
};

class TrialRunner {
 public:
  virtual ~TrialRunner() = default;
  [[nodiscard]] virtual TrialOutcome run(const TrialSpec& spec, TrialContext& ctx) = 0;
};

}  // namespace hypertune::worker
