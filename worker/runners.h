#pragma once
// Chooses the TrialRunner for a config's `trial:` section: `function`, `command` or `pipeline`.
// The same factory serves `hypertune run` and `hypertune worker`, so a trial behaves the same
// wherever it runs.

#include <memory>

#include <nlohmann/json.hpp>

#include "worker/trial_runner.h"

namespace hypertune::worker {

// Throws hypertune::ConfigError when the section names no known kind (or pipelines were not
// built into this binary).
[[nodiscard]] std::unique_ptr<TrialRunner> make_runner(const nlohmann::json& trial_section);

// Whether this binary can run `pipeline:` trials (built with LibTorch).
[[nodiscard]] bool pipelines_available() noexcept;

}  // namespace hypertune::worker
