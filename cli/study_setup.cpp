#include "cli/study_setup.h"

#include <filesystem>

#include "scheduler/sha256.h"

#ifndef HYPERTUNE_VERSION
#define HYPERTUNE_VERSION "0.0.0"
#endif

namespace hypertune::cli {

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
