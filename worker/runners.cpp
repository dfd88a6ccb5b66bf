#include "worker/runners.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "base/error.h"
#include "worker/command_runner.h"
#include "worker/function_runner.h"
#include "worker/torch_plugin.h"

namespace hypertune::worker {

bool pipelines_available() noexcept { return !torch_plugin_path().empty(); }

std::unique_ptr<TrialRunner> make_runner(const nlohmann::json& trial) {
  if (trial.contains("function")) return std::make_unique<FunctionRunner>();
  if (trial.contains("command")) return std::make_unique<CommandRunner>();
  if (trial.contains("pipeline")) {
    return std::unique_ptr<TrialRunner>(load_torch_plugin("trial.pipeline").make_pipeline_runner());
  }
  throw ConfigError("trial", "expected one of `function`, `command` or `pipeline`");
}

namespace {

bool executable_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) dir = ".";
    const auto candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> check_runnable(const nlohmann::json& trial, const std::string& work_dir) {
  std::vector<std::string> problems;
  if (trial.contains("pipeline")) {
    // Checked without loading LibTorch: the scheduler side never trains.
    if (!pipelines_available()) {
      problems.push_back("trial.pipeline: this hypertune was built without LibTorch (HYPERTUNE_WITH_TORCH=OFF)");
    }
    return problems;
  }
  try {
    (void)make_runner(trial);
  } catch (const ConfigError& e) {
    problems.push_back(e.what());
    return problems;
  }
  if (trial.contains("command") && trial["command"].is_array() && !trial["command"].empty() &&
      trial["command"][0].is_string()) {
    const std::string prog = trial["command"][0].get<std::string>();
    if (prog.find('/') != std::string::npos) {
      std::filesystem::path p(prog);
      if (p.is_relative()) p = std::filesystem::path(work_dir) / p;
      if (::access(p.c_str(), X_OK) != 0) {
        problems.push_back("trial.command[0]: '" + prog + "' is not an executable file (looked at " + p.string() +
                           ")");
      }
    } else if (!executable_on_path(prog)) {
      problems.push_back("trial.command[0]: '" + prog + "' was not found on PATH");
    }
  }
  return problems;
}

}  // namespace hypertune::worker
