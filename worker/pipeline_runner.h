#pragma once
// The TrialRunner for `trial: {pipeline: ...}`: trains a LibTorch pipeline (pipelines/trainer.h)
// and reports its metrics after every epoch (epochs are the steps).
//
// Mapping from the TrialSpec: params fill the section's "{name}" placeholders; seed seeds every
// random draw of the trial; max_steps overrides `epochs`; pause_at, start_step and
// checkpoint pause and resume (a resumed trial is bit-identical on CPU to an uninterrupted
// one); checkpoint_dir receives checkpoint.pt when pausing and model/ (the export) on completion;
// work_dir is where relative data paths start; threads sets LibTorch's intra-op threads, which is
// PROCESS-GLOBAL (see trainer.h); gpu selects a CUDA device when one is available.
// The metrics of each epoch go to ctx.report() as one JSON object holding the objective.
//
// Not here: the training itself (pipelines/), scheduling. Never throws for a failing trial: bad
// configuration or data, diverging losses and out-of-memory become kFailed with the reason.
// ctx.stop_requested() is checked between epochs: the trial then ends as kFailed
// ("stopped: worker shutting down"), as the other runners do.
// Thread-safety: one run() per slot; concurrent runs are independent.

#include "worker/trial_runner.h"

namespace hypertune::worker {

class PipelineRunner final : public TrialRunner {
 public:
  [[nodiscard]] Outcome run(const TrialSpec& spec, TrialContext& ctx) override;
};

}  // namespace hypertune::worker
