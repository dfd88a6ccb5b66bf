#pragma once
// Chooses the TrialRunner for a config's `trial:` section: `function`, `command` or `pipeline`.
// The same factory serves `hypertune run` and `hypertune worker`, so a trial behaves the same
// wherever it runs.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/trial_runner.h"

namespace hypertune::worker {

// Throws hypertune::ConfigError when the section names no known kind (or pipelines were not
// built). A pipeline runner loads the LibTorch plugin on first use (worker/torch_plugin.h).
[[nodiscard]] std::unique_ptr<TrialRunner> make_runner(const nlohmann::json& trial_section);

// What would stop this machine from running the section's trials: an unknown kind, a command
// that is not an executable (relative paths are taken from `work_dir`), pipelines not built in.
// Empty when runnable. Data files of pipelines are checked by the pipelines' own validation.
[[nodiscard]] std::vector<std::string> check_runnable(const nlohmann::json& trial_section,
                                                      const std::string& work_dir);

// Whether this binary can run `pipeline:` trials: its LibTorch plugin exists (worker/torch_plugin.h).
// Does not load it.
[[nodiscard]] bool pipelines_available() noexcept;

}  // namespace hypertune::worker
