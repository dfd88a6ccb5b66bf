#include "worker/pipeline_runner.h"

#include <atomic>

#include "pipelines/trainer.h"

namespace hypertune::worker {

Outcome PipelineRunner::run(const TrialSpec& spec, TrialContext& ctx) {
  // The trainer pauses on a stop request; this runner turns that into the worker-wide convention.
  std::atomic<bool> stopped{false};
  const auto stop = [&] {
    if (!ctx.stop_requested()) return false;
    stopped = true;
    return true;
  };
  const auto hook = [&](int64_t step, const nlohmann::json& metrics) { return ctx.report(step, metrics); };

  Outcome outcome = pipelines::train(spec, hook, stop);
  if (outcome.kind == OutcomeKind::kPaused && stopped)
    return Outcome::failed("stopped: worker shutting down", outcome.last_step);
  return outcome;
}

}  // namespace hypertune::worker
