#include "worker/pipeline_runner.h"

#include <atomic>

#include "pipelines/trainer.h"

namespace hypertune::worker {

TrialOutcome PipelineRunner::run(const TrialSpec& spec, TrialContext& ctx) {
  const auto section = spec.trial.find("pipeline");
  if (section == spec.trial.end())
    return TrialOutcome::failed("trial.pipeline: missing pipeline section");

  pipelines::TrainRequest req;
  req.pipeline = *section;
  req.params = spec.params;
  req.metric = spec.metric;
  req.seed = spec.seed;
  req.max_epochs = spec.max_steps;
  req.pause_at = spec.pause_at;
  req.start_epoch = spec.start_step;
  req.resume_checkpoint = spec.resume_checkpoint;
  req.checkpoint_dir = spec.checkpoint_dir;
  req.base_dir = spec.work_dir;
  req.threads = spec.threads;
  req.gpu = spec.gpu;

  // The trainer pauses on a stop request; this runner turns that into the worker-wide convention.
  std::atomic<bool> stopped{false};
  const auto stop = [&] {
    if (!ctx.stop_requested()) return false;
    stopped = true;
    return true;
  };
  const auto hook = [&](int64_t epoch, const nlohmann::json& metrics) {
    const Verdict v = ctx.report(epoch, metrics);
    pipelines::EpochVerdict out;
    out.next_pause = v.next_pause;
    switch (v.decision) {
      case Decision::kContinue:
        out.action = pipelines::EpochAction::kContinue;
        break;
      case Decision::kPrune:
        out.action = pipelines::EpochAction::kPrune;
        break;
      case Decision::kPause:
        out.action = pipelines::EpochAction::kPause;
        break;
    }
    return out;
  };

  pipelines::TrainResult r = pipelines::train(req, hook, stop);
  switch (r.kind) {
    case pipelines::TrainResult::Kind::kComplete:
      return TrialOutcome::complete(std::move(r.metrics), r.last_epoch);
    case pipelines::TrainResult::Kind::kPruned:
      return TrialOutcome::pruned(r.last_epoch);
    case pipelines::TrainResult::Kind::kPaused:
      if (stopped) return TrialOutcome::failed("stopped: worker shutting down", r.last_epoch);
      return TrialOutcome::paused(r.checkpoint.value_or(""), r.last_epoch);
    case pipelines::TrainResult::Kind::kFailed:
      return TrialOutcome::failed(std::move(r.error), r.last_epoch);
  }
  return TrialOutcome::failed("unknown pipeline result");
}

}  // namespace hypertune::worker
