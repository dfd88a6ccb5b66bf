#include "cli/study_setup.h"

#include <filesystem>

#include "scheduler/sha256.h"
#include "worker/runners.h"
#ifdef HYPERTUNE_WITH_PIPELINES
#include "pipelines/config.h"
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
  budget.max_failed = cfg.max_failed;
  budget.max_retries = cfg.max_retries;

  out.study = std::make_unique<scheduler::Study>(rec, cfg.space, scheduler::make_sampler(cfg),
                                                 scheduler::make_pruner(cfg), *out.store, budget);
  return out;
}

}  // namespace hypertune::cli
