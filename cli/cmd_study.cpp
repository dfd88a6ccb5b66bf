// Commands that read a config or a stored study: validate, best, status, export.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

#include "cli/commands.h"
#include "cli/live_status.h"
#include "cli/study_setup.h"
#include "cli/study_view.h"
#include "worker/runners.h"

namespace hypertune::cli {

namespace {

using search::TrialState;

// ---------------------------------------------------------------------------------------- validate
void validate(const std::string& path) {
  const auto cfg = scheduler::load_config(path);  // throws ConfigErrors (exit 2) listing every problem
  // Everything the run would need from this machine: runnable command, data files, torch support.
  check_trial(cfg);
  std::printf("%s: OK\n  study '%s': %s %s, %zu parameters, max_trials %lld\n  sampler %s, pruner %s, trial %s\n",
              path.c_str(), cfg.name.c_str(), to_string(cfg.direction), cfg.metric.c_str(), cfg.space.size(),
              static_cast<long long>(cfg.max_trials), cfg.sampler.type.c_str(), cfg.pruner.type.c_str(),
              scheduler::to_string(cfg.trial_kind));
}

// ---------------------------------------------------------------------------------------- best
void best(const std::string& storage, const std::string& format) {
  const auto s = load_stored_study(storage);
  const auto* b = s.best();
  if (!b) {
    std::fprintf(stderr, "%s: no trial has completed yet\n", storage.c_str());
    throw CLI::RuntimeError(kExitFailure);
  }
  const auto params = s.params_json(b->trial.params);
  if (format == "json") {
    nlohmann::json j = {{"trial", b->trial.number}, {"value", *b->trial.value}, {"metric", s.record.metric},
                        {"params", params}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "# best trial #" << b->trial.number << " of study '" << s.record.name << "': " << s.record.metric
              << " = " << nlohmann::json(*b->trial.value).dump() << "\n";
    std::cout << params_yaml(params, "");
  }
}

// ---------------------------------------------------------------------------------------- status
void status(const std::string& storage) {
  const auto s = load_stored_study(storage);
  std::map<TrialState, int64_t> counts;
  // Rung occupancy: how far each trial got (its furthest reported step) and its rung, per bracket.
  std::map<std::tuple<int, int, int64_t>, int64_t> rungs;
  bool any_report = false;
  for (const auto& t : s.trials) {
    ++counts[t.trial.state];
    const int64_t furthest = t.trial.intermediate.empty() ? 0 : t.trial.intermediate.back().first;
    any_report = any_report || furthest > 0;
    ++rungs[{t.trial.bracket, t.trial.rung, furthest}];
  }
  std::printf("Study '%s' (%s %s), storage %s\n", s.record.name.c_str(), to_string(s.record.direction),
              s.record.metric.c_str(), storage.c_str());
  std::printf("  %-10s %8s\n", "state", "trials");
  for (auto st : {TrialState::kWaiting, TrialState::kRunning, TrialState::kPaused, TrialState::kComplete,
                  TrialState::kPruned, TrialState::kFail}) {
    std::printf("  %-10s %8lld\n", to_string(st), static_cast<long long>(counts[st]));
  }
  std::printf("  %-10s %8zu\n", "total", s.trials.size());
  if (const auto live = read_live_status(storage)) {
    std::printf("\n  Scheduler running (pid %lld) on %s: %lld worker%s connected now "
                "(%llu joined, %llu lost, %llu trials re-queued, %llu bad messages dropped)\n",
                static_cast<long long>(live->pid), live->endpoint.c_str(), static_cast<long long>(live->workers),
                live->workers == 1 ? "" : "s", static_cast<unsigned long long>(live->workers_joined),
                static_cast<unsigned long long>(live->workers_lost), static_cast<unsigned long long>(live->requeued),
                static_cast<unsigned long long>(live->dropped));
  } else {
    std::printf("\n  No scheduler is serving this study now.\n");
  }
  if (any_report) {
    std::printf("\n  Rung occupancy (trials by bracket, rung and furthest step reported):\n");
    std::printf("  %-8s %-6s %-14s %8s\n", "bracket", "rung", "furthest step", "trials");
    for (const auto& [key, n] : rungs) {
      std::printf("  %-8d %-6d %-14lld %8lld\n", std::get<0>(key), std::get<1>(key),
                  static_cast<long long>(std::get<2>(key)), static_cast<long long>(n));
    }
  }
  std::printf("\n");
  print_best(std::cout, s.space(), s.record, s.best());
}

// ---------------------------------------------------------------------------------------- export
std::string csv_escape(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string scalar_text(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

void export_study(const std::string& storage, const std::string& format, const std::string& output) {
  const auto s = load_stored_study(storage);
  std::ostringstream out;
  if (format == "json") {
    nlohmann::json j;
    j["study"] = {{"name", s.record.name},       {"direction", to_string(s.record.direction)},
                  {"metric", s.record.metric},   {"seed", s.record.seed},
                  {"config_hash", s.record.config_hash}, {"version", s.record.version},
                  {"created_ms", s.record.created_ms}};
    j["trials"] = nlohmann::json::array();
    for (const auto& t : s.trials) j["trials"].push_back(trial_json(s.space(), t));
    out << j.dump(2) << "\n";
  } else {
    // One row per trial; parameters as params_<name> columns (empty when inactive), as pandas expects.
    std::vector<std::string> cols = {"number", "state", "value"};
    for (const auto& p : s.space().params()) cols.push_back("params_" + p.name);
    for (const char* c : {"seed", "bracket", "rung", "worker", "retries", "created_ms", "started_ms",
                          "finished_ms", "fail_reason", "intermediate"}) {
      cols.emplace_back(c);
    }
    for (size_t i = 0; i < cols.size(); ++i) out << (i ? "," : "") << cols[i];
    out << "\n";
    for (const auto& t : s.trials) {
      const auto j = trial_json(s.space(), t);
      std::vector<std::string> row = {std::to_string(t.trial.number), to_string(t.trial.state),
                                      scalar_text(j["value"])};
      for (const auto& p : s.space().params()) {
        row.push_back(j["params"].contains(p.name) ? scalar_text(j["params"][p.name]) : "");
      }
      nlohmann::json steps = nlohmann::json::object();
      for (const auto& [step, v] : t.trial.intermediate) steps[std::to_string(step)] = v;
      row.insert(row.end(), {std::to_string(t.trial.seed), std::to_string(t.trial.bracket),
                             std::to_string(t.trial.rung), t.worker, std::to_string(t.retries),
                             std::to_string(t.created_ms), scalar_text(j["started_ms"]),
                             scalar_text(j["finished_ms"]), t.fail_reason, steps.dump()});
      for (size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << csv_escape(row[i]);
      out << "\n";
    }
  }
  if (output.empty() || output == "-") {
    std::cout << out.str();
  } else {
    std::ofstream f(output);
    if (!f) throw Error("cannot write " + output);
    f << out.str();
  }
}

}  // namespace

void add_validate_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("validate", "Check a sweep config without running anything");
  cmd->add_option("config", *path, "Sweep config (YAML)")->required()->check(CLI::ExistingFile);
  cmd->callback([path] { validate(*path); });
}

void add_best_command(CLI::App& app) {
  auto storage = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("yaml");
  auto* cmd = app.add_subcommand("best", "Print the best trial's parameters, ready to reuse");
  cmd->add_option("storage", *storage, "Study storage (SQLite file)")->required();
  cmd->add_option("-f,--format", *format, "yaml or json")->check(CLI::IsMember({"yaml", "json"}));
  cmd->callback([storage, format] { best(*storage, *format); });
}

void add_status_command(CLI::App& app) {
  auto storage = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("status", "Show a sweep's state: trials per state, rungs, best trial");
  cmd->add_option("storage", *storage, "Study storage (SQLite file)")->required();
  cmd->callback([storage] { status(*storage); });
}

void add_export_command(CLI::App& app) {
  auto storage = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("json");
  auto output = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("export", "Write every trial (params, values, reports, times) as JSON or CSV");
  cmd->add_option("storage", *storage, "Study storage (SQLite file)")->required();
  cmd->add_option("-f,--format", *format, "json or csv")->check(CLI::IsMember({"json", "csv"}));
  cmd->add_option("-o,--output", *output, "Output file (default: standard output)");
  cmd->callback([storage, format, output] { export_study(*storage, *format, *output); });
}

}  // namespace hypertune::cli
