#pragma once
// The LibTorch half of HyperTune, loaded on first use.
//
// LibTorch is about 290 shared libraries and takes a second to load. Only pipeline trials and the
// `baseline` and `predict` commands need it, so they live in a plugin, libhypertune_torch.so,
// that the `hypertune` executable dlopen()s when one of them is first used: every other command,
// a scheduler, and a worker that runs function or command trials start without LibTorch.
//
// The plugin holds worker/pipeline_runner.cpp, the pipelines and cli/cmd_baseline.cpp,
// cli/baseline_plan.cpp, cli/cmd_predict.cpp; everything else it calls (scheduler, worker, cli
// helpers) it takes from the executable that loads it, which exports its symbols. So there is one
// copy of every piece of state, and the plugin only works inside the `hypertune` it was built with.
//
// Where it is looked for, first found wins: $HYPERTUNE_TORCH_PLUGIN; next to the executable; the
// build tree it was built in (so test programs find it too).
// Thread-safety: load_torch_plugin() may be called from any thread; it loads once.

#include <string>

namespace CLI {
class App;
}

namespace hypertune::worker {

class TrialRunner;

struct TorchPlugin {
  TrialRunner* (*make_pipeline_runner)();  // a new PipelineRunner, owned by the caller
  void (*add_commands)(CLI::App& app);     // registers `baseline` and `predict`
};

// The plugin's file, or empty when none exists (a build without LibTorch).
[[nodiscard]] std::string torch_plugin_path();

// Loads the plugin (once) and returns its entry points. Throws hypertune::ConfigError naming
// `what_needs_it` when there is no plugin (built without LibTorch), hypertune::Error with
// dlopen's message when it does not load.
[[nodiscard]] const TorchPlugin& load_torch_plugin(const std::string& what_needs_it);

}  // namespace hypertune::worker

// The plugin's one exported entry point.
extern "C" const hypertune::worker::TorchPlugin* hypertune_torch_plugin();
