#pragma once
// The runner for command trials: `trial: {command: [argv...], env, timeout, grace_period,
// checkpoint, steps}`. Each trial is one run of the command as a child process; the protocol it
// speaks (environment variables in, `@hypertune {JSON}` lines out) is docs/command-trials.md.
//
// Contract (beyond worker/trial_runner.h):
//  * The command is executed directly, never through a shell; `{name}` in an argument becomes the
//    parameter's value (param_to_string), `{{` and `}}` are literal braces.
//  * The child's environment is the worker's, plus trial.env, plus the HYPERTUNE_* variables
//    (kReservedEnv); its working directory is spec.work_dir; it leads its own process group, and
//    every stop (prune, pause, timeout, shutdown) is SIGTERM to the group, then SIGKILL after
//    grace_period.
//  * With devices in spec.gpus, CUDA_VISIBLE_DEVICES is set to them (over any inherited or
//    trial.env value); without, it is left as the worker's environment has it.
//  * Each report with a step gets its verdict as a line (`continue`, `pause` or `prune`) on the
//    child's descriptor HYPERTUNE_VERDICT_FD (a socket; never blocks the runner). A program that
//    reads it after each report never runs ahead of a pause, so its checkpoint holds exactly the
//    step the scheduler records; one that does not read it is stopped as before.
//  * A report of a step at or below spec.start_step is not passed on: the scheduler already has it
//    (a command without checkpoints restarts from step 1 when resumed).
//  * Exit 0 with reports but without a final line completes with the last report's metrics.
//  * Pausing with `checkpoint: true` returns spec.checkpoint_dir as the checkpoint, after checking
//    that the command wrote something into it; with `checkpoint: false` it returns no checkpoint.
//  * A bad `trial:` section, a bad @hypertune line or a failed child become kFailed with a reason
//    that names the key or quotes the line; run() does not throw.
// Not here: resource limits (cgroups, ulimit), escaping to a shell, retries.
// Thread-safety: run() may be called concurrently from several slots; the log sink then is too.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/subprocess.h"
#include "worker/trial_runner.h"

namespace hypertune::worker {

// The variables the runner sets for the child; trial.env may not set them.
inline constexpr std::array<std::string_view, 9> kReservedEnv = {
    "HYPERTUNE_PARAMS",      "HYPERTUNE_TRIAL",      "HYPERTUNE_SEED",
    "HYPERTUNE_METRIC",      "HYPERTUNE_MAX_STEPS",  "HYPERTUNE_CHECKPOINT_DIR",
    "HYPERTUNE_RESUME_FROM", "HYPERTUNE_START_STEP", "HYPERTUNE_VERDICT_FD"};

// The `trial:` section of a command trial, checked.
struct CommandTrial {
  std::vector<std::string> command;                      // argument templates
  std::vector<std::pair<std::string, std::string>> env;  // added to the environment, in order
  std::optional<std::chrono::milliseconds> timeout;      // none: no limit
  std::chrono::milliseconds grace_period{10000};         // SIGTERM -> SIGKILL delay
  bool checkpoint = false;                               // the command saves/loads checkpoints
  std::optional<int64_t> steps;                          // steps a full run takes, if known

  // Throws ConfigError naming the key below `where` ("trial.command[2]", "trial.timeout") for an
  // unknown key, a missing or mistyped value, or a malformed placeholder.
  [[nodiscard]] static CommandTrial parse(const nlohmann::json& trial,
                                          const std::string& where = "trial");
};

// A parameter value as it appears in argv: strings verbatim, numbers in shortest round-trip form
// (0.1, 1e-05, 3), bools as true/false.
[[nodiscard]] std::string param_to_string(const nlohmann::json& value);

// Replaces each `{name}` in `arg` by param_to_string(params[name]). Throws ConfigError at `where`
// for a name that is not a parameter of this trial or an unbalanced brace.
[[nodiscard]] std::string substitute_params(std::string_view arg, const nlohmann::json& params,
                                            const std::string& where);

// A duration: a number of seconds (2, 0.5) or a string of number+unit parts with units ms, s, m,
// h ("200ms", "30s", "1.5m", "1h30m"). Throws ConfigError at `where`; negative is an error.
[[nodiscard]] std::chrono::milliseconds parse_duration(const nlohmann::json& value,
                                                       const std::string& where);
// "200ms", "2s", "1.5s", "2m", "1h".
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

// One "@hypertune {JSON}" line of a command trial's stdout, `text` being what follows the prefix.
// Exactly one of: `error` (the line is refused and the trial fails with that reason), or an
// `object` holding the finite objective `metric`, with `step` (an integer >= 1: a step report) or
// without (the final metrics). Refused: malformed JSON, a key twice in one object, a non-object,
// nesting deeper than kMaxPayloadDepth (base/text.h). Never throws, for any bytes (fuzzed by
// tests/worker/fuzz_test.cpp).
struct ReportLine {
  std::optional<std::string> error;
  nlohmann::json object;
  std::optional<int64_t> step;
};
[[nodiscard]] ReportLine parse_report_line(std::string_view text, const std::string& metric) noexcept;

struct CommandRunnerOptions {
  // Receives every stdout line that is not an @hypertune line and every stderr line, on the
  // thread that runs the trial. Empty: such lines are kept only for error messages.
  std::function<void(int64_t trial, Stream stream, std::string_view line)> log;
  size_t tail_lines = 20;                       // stderr lines kept for failure reasons
  std::chrono::milliseconds poll_interval{50};  // stop_requested() / timeout check period
};

class CommandRunner final : public TrialRunner {
 public:
  explicit CommandRunner(CommandRunnerOptions options = {});
  [[nodiscard]] Outcome run(const TrialSpec& spec, TrialContext& ctx) override;

 private:
  CommandRunnerOptions options_;
};

}  // namespace hypertune::worker
