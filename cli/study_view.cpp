#include "cli/study_view.h"

#include <filesystem>

namespace hypertune::cli {

using search::TrialState;

nlohmann::json params_json(const search::SearchSpace& space, const search::Params& p) {
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i < p.size() && i < space.size(); ++i) {
    if (!p[i]) continue;
    std::visit([&](const auto& v) { out[space.params()[i].name] = v; }, space.external(i, *p[i]));
  }
  return out;
}

nlohmann::json StoredStudy::params_json(const search::Params& p) const { return cli::params_json(space(), p); }

const scheduler::TrialRecord* StoredStudy::best() const {
  const scheduler::TrialRecord* best = nullptr;
  for (const auto& t : trials) {
    if (t.trial.state != TrialState::kComplete || !t.trial.value) continue;
    if (!best || search::to_loss(record.direction, *t.trial.value) <
                     search::to_loss(record.direction, *best->trial.value)) {
      best = &t;
    }
  }
  return best;
}

StoredStudy load_stored_study(const std::string& storage_path) {
  if (!std::filesystem::exists(storage_path)) {
    throw scheduler::StoreError(storage_path + ": no such storage file");
  }
  auto store = scheduler::open_sqlite_store(storage_path, scheduler::Durability::kNormal, /*read_only=*/true);
  auto rec = store->study();
  if (!rec) throw scheduler::StoreError(storage_path + ": the file holds no study");
  StoredStudy s;
  s.record = *rec;
  s.config = std::make_unique<scheduler::SweepConfig>(
      scheduler::parse_config(rec->config_text, rec->config_path.empty() ? storage_path : rec->config_path));
  s.trials = store->load_trials();
  return s;
}

nlohmann::json trial_json(const search::SearchSpace& space, const scheduler::TrialRecord& t) {
  nlohmann::json j;
  j["number"] = t.trial.number;
  j["state"] = to_string(t.trial.state);
  j["params"] = params_json(space, t.trial.params);
  j["value"] = t.trial.value ? nlohmann::json(*t.trial.value) : nlohmann::json(nullptr);
  j["metrics"] = t.metrics;
  nlohmann::json reports = nlohmann::json::array();
  for (const auto& r : t.reports) {
    reports.push_back({{"step", r.step}, {"value", r.value}, {"metrics", r.metrics}, {"time_ms", r.time_ms}});
  }
  j["intermediate"] = reports;
  j["seed"] = t.trial.seed;
  j["bracket"] = t.trial.bracket;
  j["rung"] = t.trial.rung;
  j["worker"] = t.worker;
  j["retries"] = t.retries;
  j["fail_reason"] = t.fail_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.fail_reason);
  j["checkpoint"] = t.checkpoint ? nlohmann::json(*t.checkpoint) : nlohmann::json(nullptr);
  j["created_ms"] = t.created_ms;
  j["started_ms"] = t.started_ms ? nlohmann::json(t.started_ms) : nlohmann::json(nullptr);
  j["finished_ms"] = t.finished_ms ? nlohmann::json(t.finished_ms) : nlohmann::json(nullptr);
  return j;
}

std::string params_yaml(const nlohmann::json& params, const std::string& indent) {
  std::string out;
  for (const auto& [k, v] : params.items()) {
    out += indent + k + ": " + (v.is_string() ? nlohmann::json(v).dump() : v.dump()) + "\n";
  }
  return out;
}

void print_best(std::ostream& out, const search::SearchSpace& space, const scheduler::StudyRecord& rec,
                const scheduler::TrialRecord* best) {
  if (!best) {
    out << "No trial completed yet.\n";
    return;
  }
  out << "Best trial #" << best->trial.number << ": " << rec.metric << " = " << nlohmann::json(*best->trial.value).dump()
      << " (" << to_string(rec.direction) << ")\n";
  out << params_yaml(params_json(space, best->trial.params), "  ");
}

void print_best(std::ostream& out, const scheduler::Study& study) {
  const auto best = study.best();
  print_best(out, study.space(), study.record(), best ? &*best : nullptr);
}

}  // namespace hypertune::cli
