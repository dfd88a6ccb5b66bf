#pragma once
// Opening a sweep from its config: the one place that turns a config file and command-line
// overrides into a Study on durable storage (used by `run` and `scheduler`).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "scheduler/config.h"
#include "scheduler/study.h"
#include "scheduler/trial_store.h"

namespace hypertune::cli {

// The Study and its sampler refer to config->space: the config lives on the heap so an
// OpenedStudy can be moved without invalidating them.
struct OpenedStudy {
  std::unique_ptr<scheduler::SweepConfig> config;
  std::string storage_path;
  std::string artifacts_dir;  // checkpoints and exported models: <storage>.artifacts/trial-<n>
  std::unique_ptr<scheduler::StudyFileLock> lock;  // held while the study is served (first in, last out)
  std::unique_ptr<scheduler::TrialStore> store;
  std::unique_ptr<scheduler::Study> study;
  bool resumed = false;       // the storage already held this study
};

// Loads and validates the config (throws ConfigError), opens/creates the storage and the Study.
// Storage: `storage_override`, else the config's `storage`, else ./<name>.db.
[[nodiscard]] OpenedStudy open_study(const std::string& config_path,
                                     const std::optional<std::string>& storage_override,
                                     const std::optional<uint64_t>& seed_override);

// Checks what the config schema cannot: that this machine can run the trial section (a command
// that is executable, pipelines built in) and the inside of `trial.pipeline` (fields, data files).
// Throws ConfigError listing every problem as FILE:LINE:COL: KEY.PATH: message.
void check_trial(const scheduler::SweepConfig& cfg);

// The study's storage path as it will be used (without opening anything).
[[nodiscard]] std::string storage_path_for(const scheduler::SweepConfig& cfg,
                                           const std::optional<std::string>& storage_override);

}  // namespace hypertune::cli
