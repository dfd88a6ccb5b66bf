#pragma once
// Read-only views of a stored study for `best`, `status`, `export` and the end of `run`.
// Opens the storage read-only, so it works while a scheduler is writing (SQLite WAL).

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scheduler/config.h"
#include "scheduler/study.h"
#include "scheduler/trial_store.h"

namespace hypertune::cli {

struct StoredStudy {
  scheduler::StudyRecord record;
  std::unique_ptr<scheduler::SweepConfig> config;  // parsed from the stored config text
  std::vector<scheduler::TrialRecord> trials;

  [[nodiscard]] const search::SearchSpace& space() const { return config->space; }
  [[nodiscard]] const scheduler::TrialRecord* best() const;
  [[nodiscard]] nlohmann::json params_json(const search::Params& p) const;
};

// Throws StoreError when the file is missing or holds no study.
[[nodiscard]] StoredStudy load_stored_study(const std::string& storage_path);

// User-facing parameters (name -> value) of a trial.
[[nodiscard]] nlohmann::json params_json(const search::SearchSpace& space, const search::Params& p);

// A trial as a JSON object: number, state, params, value, metrics, reports, timestamps...
[[nodiscard]] nlohmann::json trial_json(const search::SearchSpace& space, const scheduler::TrialRecord& t);

// "Best trial #12: value = -3.3 ..." with its parameters as YAML.
void print_best(std::ostream& out, const scheduler::Study& study);
void print_best(std::ostream& out, const search::SearchSpace& space, const scheduler::StudyRecord& rec,
                const scheduler::TrialRecord* best);

// Parameters as YAML lines ("  lr: 0.001"), ready to paste into a config.
[[nodiscard]] std::string params_yaml(const nlohmann::json& params, const std::string& indent);

}  // namespace hypertune::cli
