// The entry point of libhypertune_torch.so (worker/torch_plugin.h): the pipeline runner and the
// commands that train, built with LibTorch and loaded by `hypertune` only when needed.

#include "cli/commands.h"
#include "worker/pipeline_runner.h"
#include "worker/torch_plugin.h"

namespace {

hypertune::worker::TrialRunner* make_pipeline_runner() { return new hypertune::worker::PipelineRunner(); }

void add_commands(CLI::App& app) {
  hypertune::cli::add_baseline_command(app);
  hypertune::cli::add_predict_command(app);
}

const hypertune::worker::TorchPlugin kPlugin{&make_pipeline_runner, &add_commands};

}  // namespace

extern "C" __attribute__((visibility("default"))) const hypertune::worker::TorchPlugin* hypertune_torch_plugin() {
  return &kPlugin;
}
