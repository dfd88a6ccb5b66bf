#pragma once
// Sweep configuration: the YAML file that describes a sweep, validated into a SweepConfig.
//
// The schema (every key with its type, default, bounds and description) is one declarative table,
// sweep_schema(); validation, defaults and docs/config.md (config_reference_markdown()) all come
// from it. On top of the table, parse_config() checks what ties fields together: the search space
// (search::SearchSpace::validate(), each issue mapped back to its YAML line), `when` values against
// the parent's choices, the grid sampler's need for steps, BOHB's need for a multi-fidelity pruner,
// a test function's dimension, `{param}` placeholders of a command.
//
// Errors: load_config() / parse_config() throw ConfigErrors listing EVERY problem found, each with
// file, line, column (1-based) and key path (`space.lr.low`, `trial.command[2]`); what() prints
// one per line as `FILE:LINE:COL: KEY.PATH: message`, sorted by position.
//
// The `trial` section is kept as JSON for the runners (worker/trial_runner.h TrialSpec::trial):
// the keys as written plus their defaults, with no other key (runners reject unknown keys):
//   function: {"function": NAME, "steps": N, "noise": X}
//   command:  {"command": [argv...], "env": {NAME: VALUE} (if given), "timeout": SECONDS (if
//              given), "grace_period": SECONDS, "checkpoint": BOOL, "steps": N (if given)}
//   pipeline: {"pipeline": {...the YAML map, verbatim...}}
// Durations there are numbers of seconds; SweepConfig::trial_kind says which kind it is.
// In a command's argv, `{name}` stands for the value of parameter `name`, `{{` and `}}` for
// literal braces; any other brace is an error, and so is a placeholder naming a conditional
// parameter (absent from some trials).
//
// Not here: running anything, opening the storage, validating the inside of `trial.pipeline`
// (pipelines/ does that; SweepConfig::where() names the YAML line of any key path it reports).
// Thread-safety: SweepConfig is a value; the functions are reentrant.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scheduler/schema.h"
#include "base/error.h"
#include "search/pruner.h"
#include "search/sampler.h"
#include "search/space.h"

namespace hypertune::scheduler {

// One problem in a config file.
struct ConfigIssue {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no position (unreadable file)
  int column = 0;  // 1-based
  std::string path;  // key path, "" for the whole document
  std::string message;

  // "FILE:LINE:COL: KEY.PATH: message" (parts without a value left out).
  [[nodiscard]] std::string to_string() const;
};

// Every problem found in one config file. what() lists them all, one per line.
class ConfigErrors : public ConfigError {
 public:
  explicit ConfigErrors(std::vector<ConfigIssue> issues);
  [[nodiscard]] const std::vector<ConfigIssue>& issues() const noexcept { return issues_; }

 private:
  std::vector<ConfigIssue> issues_;
};

enum class TrialKind { kFunction, kCommand, kPipeline };
[[nodiscard]] const char* to_string(TrialKind k) noexcept;

struct SamplerChoice {
  std::string type = "tpe";  // random | grid | tpe | bohb | gp
  search::RandomOptions random;
  search::GridOptions grid;
  search::TpeOptions tpe;
  search::BohbOptions bohb;  // bohb.tpe holds the TPE keys when type is bohb
  search::GpOptions gp;
};

struct PrunerChoice {
  std::string type = "none";  // none | median | asha | successive_halving | hyperband
  search::MedianOptions median;
  search::HalvingOptions halving;  // asha and successive_halving
  search::HyperbandOptions hyperband;
};

struct WorkerSettings {
  int threads_per_trial = 1;
  int gpus_per_trial = 0;
};

// What happens to running trials when the sweep's `timeout` is reached (`on_timeout`). In every
// case no trial starts and none is promoted after it.
enum class OnTimeout : uint8_t {
  kFinish,  // running trials run to their end
  kStop,    // running trials are stopped and FAIL ("stopped at the sweep's timeout")
  kPause,   // running trials are stopped and go back to the queue (no retry counted): a resumed
            // sweep runs them again, from their checkpoint when they have one
};
[[nodiscard]] const char* to_string(OnTimeout o) noexcept;

struct SweepConfig {
  std::string name;
  uint64_t seed = 0;
  std::string metric = "value";
  search::Direction direction = search::Direction::kMinimize;
  int64_t max_trials = 100;
  std::optional<std::chrono::milliseconds> timeout;  // wall time of the sweep
  OnTimeout on_timeout = OnTimeout::kPause;
  std::optional<int64_t> max_failed;                 // stop after this many FAIL trials
  int max_retries = 3;                               // re-queues after a lost worker, per trial
  std::optional<std::filesystem::path> storage;      // absolute (resolved against config_dir)
  search::SearchSpace space;                         // finalized
  std::vector<search::Params> enqueue;               // configurations run first, in order
  SamplerChoice sampler;
  PrunerChoice pruner;
  TrialKind trial_kind = TrialKind::kFunction;
  nlohmann::json trial = nlohmann::json::object();   // see the header comment
  WorkerSettings workers;
  std::string source_path;                 // as given to load_config / parse_config
  std::string source_text;                 // the whole file
  std::filesystem::path config_dir;        // absolute directory of the file
  std::map<std::string, schema::Location> locations;  // key path -> line/column of its value

  // Line/column of a key path, or of its nearest enclosing key that has one.
  [[nodiscard]] schema::Location location_of(const std::string& key_path) const;
  // "FILE:LINE:COL: KEY.PATH", for errors found later (e.g. inside trial.pipeline).
  [[nodiscard]] std::string where(const std::string& key_path) const;
  // hex SHA-256 of source_text (StudyRecord::config_hash).
  [[nodiscard]] std::string hash() const;
};

// Reads and validates a sweep file. Throws ConfigErrors (also when the file cannot be read).
[[nodiscard]] SweepConfig load_config(const std::string& path);
// Validates YAML text; `source_name` names it in errors, gives the default name (its stem) and
// the directory relative paths are resolved against (its parent; the working directory if none).
[[nodiscard]] SweepConfig parse_config(const std::string& text, const std::string& source_name);

// The sampler and pruner a config selects, from the factories in search/. A sampler may keep a
// reference to config.space: the config must outlive it. Throws ConfigError for a selection the
// factories refuse (parse_config() has already checked the ones it knows).
[[nodiscard]] std::unique_ptr<search::Sampler> make_sampler(const SweepConfig& config);
[[nodiscard]] std::unique_ptr<search::Pruner> make_pruner(const SweepConfig& config);

// The schema of a sweep file (docs and validation share it).
[[nodiscard]] const schema::Field& sweep_schema();
// The generated key reference that docs/config.md embeds between its GENERATED markers.
[[nodiscard]] std::string config_reference_markdown();

}  // namespace hypertune::scheduler
