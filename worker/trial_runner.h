#pragma once
// Trial runners: what a worker slot does with one assigned trial.
//
// The same runners serve `hypertune run` (local) and `hypertune worker` (remote agent). A runner
// knows nothing of samplers or storage: it gets a TrialSpec, reports metrics through the
// TrialContext after each step, and obeys the verdict it gets back (continue, prune, pause).
//
// Contract:
//  * run() never throws for a failing trial: exceptions inside the trial become a kFailed
//    Outcome with the reason; a failing trial never takes the worker down.
//  * Steps count from 1. A resumed trial (spec.checkpoint set) continues after
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

#include "base/trial.h"

namespace hypertune::worker {

class TrialContext {
 public:
  virtual ~TrialContext() = default;
  // Sends the metrics of `step` and waits for the verdict. metrics is a JSON object that holds
  // the objective metric; other keys are recorded too.
  [[nodiscard]] virtual Verdict report(int64_t step, const nlohmann::json& metrics) = 0;
  [[nodiscard]] virtual bool stop_requested() const = 0;
};

class TrialRunner {
 public:
  virtual ~TrialRunner() = default;
  [[nodiscard]] virtual Outcome run(const TrialSpec& spec, TrialContext& ctx) = 0;
};

}  // namespace hypertune::worker
