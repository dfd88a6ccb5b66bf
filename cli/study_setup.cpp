#include "cli/study_setup.h"

#include <algorithm>
#include <filesystem>

#include "scheduler/sha256.h"
#include "worker/runners.h"
#ifdef HYPERTUNE_WITH_PIPELINES
#include "pipelines/config.h"
#include "pipelines/metrics.h"
#endif

#ifndef HYPERTUNE_VERSION
#define HYPERTUNE_VERSION "0.0.0"
#endif

namespace hypertune::cli {

void check_trial(const scheduler::SweepConfig& cfg) {
  std::vector<std::string> problems;
  for (const auto& p : worker::check_runnable(cfg.trial, cfg.config_dir.string())) {
    problems.push_back(cfg.source_path + ": " + p);
  }
#ifdef HYPERTUNE_WITH_PIPELINES
  if (cfg.trial_kind == scheduler::TrialKind::kPipeline && problems.empty()) {
    std::vector<std::string> names;
    for (const auto& p : cfg.space.params()) names.push_back(p.name);
    for (const auto& issue :
         pipelines::validate_pipeline(cfg.trial.at("pipeline"), names, cfg.config_dir.string())) {
      problems.push_back(cfg.where(issue.path) + ": " + issue.message);
    }
    // The objective must be a metric the pipeline reports: found here, before the first trial,
    // not after every trial has failed. With `task` unset the task comes from the data, so any
    // task's metrics are accepted here and the trainer checks the rest on the first trial.
    const nlohmann::json& section = cfg.trial.at("pipeline");
    std::vector<pipelines::TaskKind> tasks = {pipelines::TaskKind::kClassification,
                                              pipelines::TaskKind::kRegression};
    if (const auto t = section.find("task"); t != section.end() && t->is_string()) {
      if (*t == "classification") tasks = {pipelines::TaskKind::kClassification};
      if (*t == "regression") tasks = {pipelines::TaskKind::kRegression};
    }
    std::vector<std::string> reported;
    for (const auto task : tasks) {
      for (const bool binary : {false, true}) {
        for (auto& m : pipelines::metric_names(task, binary)) {
          if (std::find(reported.begin(), reported.end(), m) == reported.end()) reported.push_back(std::move(m));
        }
      }
    }
    if (std::find(reported.begin(), reported.end(), cfg.metric) == reported.end()) {
      std::string list;
      for (const auto& m : reported) list += (list.empty() ? "" : ", ") + m;
      problems.push_back(cfg.where("objective.metric") + ": '" + cfg.metric +
                         "' is not a metric a pipeline trial reports; it reports: " + list);
    }
  }
#endif
  if (problems.empty()) return;
  std::string msg = std::to_string(problems.size()) + " problem" + (problems.size() == 1 ? "" : "s") +
                    " with the trial section:";
  for (const auto& p : problems) msg += "\n  " + p;
  throw ConfigError(cfg.source_path, msg);
}

std::string storage_path_for(const scheduler::SweepConfig& cfg,
                             const std::optional<std::string>& storage_override) {
  if (storage_override) return *storage_override;
  if (cfg.storage) return cfg.storage->string();
  return cfg.name + ".db";
}

OpenedStudy open_study(const std::string& config_path, const std::optional<std::string>& storage_override,
                       const std::optional<uint64_t>& seed_override) {
  OpenedStudy out;
  out.config = std::make_unique<scheduler::SweepConfig>(scheduler::load_config(config_path));
  auto& cfg = *out.config;
  check_trial(cfg);
  if (seed_override) cfg.seed = *seed_override;
  out.storage_path = storage_path_for(cfg, storage_override);
  out.artifacts_dir = out.storage_path + ".artifacts";

  const bool existed = std::filesystem::exists(out.storage_path);
  out.store = scheduler::open_sqlite_store(out.storage_path);
  out.lock = std::make_unique<scheduler::StudyFileLock>(out.storage_path);
  {
    // Checkpoints and exports may hold what the data holds: the owner's only (trial folders
    // below inherit the protection of this one).
    std::error_code ec;
    if (std::filesystem::create_directories(out.artifacts_dir, ec)) {
      std::filesystem::permissions(out.artifacts_dir, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
    }
  }
  out.resumed = existed && out.store->study().has_value();

  scheduler::StudyRecord rec;
  rec.name = cfg.name;
  rec.direction = cfg.direction;
  rec.metric = cfg.metric;
  rec.seed = cfg.seed;
  rec.config_path = config_path;
  rec.config_text = cfg.source_text;
  rec.config_hash = scheduler::sha256_hex(cfg.source_text);
  rec.space_signature = cfg.space.signature();
  rec.version = HYPERTUNE_VERSION;

  scheduler::Budget budget;
  budget.max_trials = cfg.max_trials;
  budget.timeout = cfg.timeout;
  budget.on_timeout = cfg.on_timeout;
  budget.max_failed = cfg.max_failed;
  budget.max_retries = cfg.max_retries;

  out.study = std::make_unique<scheduler::Study>(rec, cfg.space, scheduler::make_sampler(cfg),
                                                 scheduler::make_pruner(cfg), *out.store, budget);
  out.study->enqueue(cfg.enqueue);
  return out;
}

}  // namespace hypertune::cli
