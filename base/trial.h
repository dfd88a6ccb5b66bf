#pragma once
// The vocabulary of one trial on its way from the study to a runner and back. One definition of
// each, shared by scheduler/, protocol/, worker/ and pipelines/ (search/ sees only decision.h):
//
//   Study::ask() -> TrialSpec -> protocol::Assign{spec} -> agent -> TrialRunner::run(spec)
//                                                                     -> pipelines::train(spec)
//   StepReport (per step, protocol::Report{report}) -> Study::report() -> Verdict
//   Outcome (runner / trainer) -> protocol::Result{number, outcome} -> Study::finish(outcome)
//
// Each type lists the fields that travel between processes in `fields()`, with their wire names,
// in one place: the protocol codec encodes and decodes through that list, so a new field is
// declared here once (and used where it is produced and consumed). docs/architecture.md walks
// the path with the files named.
// Thread-safety: plain values.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/decision.h"

namespace hypertune {

struct TrialSpec {
  int64_t number = 0;
  uint64_t seed = 0;
  nlohmann::json params = nlohmann::json::object();  // active parameters: name -> value
  std::optional<int64_t> max_steps;                  // resource cap (epochs, rounds, fidelity steps)
  std::optional<int64_t> pause_at;                   // must pause after reporting this step
  int64_t start_step = 0;                            // steps already done and reported (resume)
  std::optional<std::string> checkpoint;             // resume from this checkpoint
  std::string checkpoint_dir;                        // where to save checkpoints and exports
  int bracket = 0;                                   // Hyperband bracket
  int rung = 0;                                      // rung the trial was admitted / promoted to
  int attempt = 0;                                   // 0 on the first run, then the retry count
  nlohmann::json trial = nlohmann::json::object();   // the config's `trial:` section, verbatim
  std::string metric = "value";                      // objective metric name
  std::string work_dir;                              // the config file's directory (relative paths)
  int threads = 1;                                   // intra-op threads for this trial
  // Set by the worker that runs the trial, never sent: the CUDA devices it may use (the sweep's
  // workers.gpus_per_trial of them, or its slot's share of --gpus; none on a CPU worker).
  std::vector<int> gpus;

  friend bool operator==(const TrialSpec&, const TrialSpec&) = default;

  // The fields that travel in an ASSIGN, with their wire names (gpu stays on the worker).
  template <class Self, class F>
  static void fields(Self& s, F&& f) {
    f("number", s.number);
    f("seed", s.seed);
    f("params", s.params);
    f("max_steps", s.max_steps);
    f("pause_at", s.pause_at);
    f("start_step", s.start_step);
    f("checkpoint", s.checkpoint);
    f("checkpoint_dir", s.checkpoint_dir);
    f("bracket", s.bracket);
    f("rung", s.rung);
    f("attempt", s.attempt);
    f("trial", s.trial);
    f("metric", s.metric);
    f("work_dir", s.work_dir);
    f("threads", s.threads);
  }
};

// The metrics of one step of one trial, as the runner reports them.
struct StepReport {
  int64_t number = 0;
  int64_t step = 0;                                   // counted from 1
  nlohmann::json metrics = nlohmann::json::object();  // holds the objective metric; others too
  // The run folder this run saves a checkpoint into before each report (command trials with
  // `checkpoint: true`, worker/run_dir.h): where the trial resumes if this run is lost. Travels
  // as an optional "checkpoint" key after the fields below, only when set, so that a REPORT
  // without it is the same frame as in release 0.1.0.
  std::optional<std::string> checkpoint;

  friend bool operator==(const StepReport&, const StepReport&) = default;

  template <class Self, class F>
  static void fields(Self& s, F&& f) {
    f("number", s.number);
    f("step", s.step);
    f("metrics", s.metrics);
  }
};

// The codes are the wire codes of the RESULT message's "outcome" field: never renumber.
enum class OutcomeKind : uint8_t { kComplete = 0, kPruned = 1, kPaused = 2, kFailed = 3 };
inline constexpr OutcomeKind kLastOutcomeKind = OutcomeKind::kFailed;
[[nodiscard]] const char* to_string(OutcomeKind k) noexcept;

// How a run of a trial ended.
struct Outcome {
  OutcomeKind kind = OutcomeKind::kFailed;
  nlohmann::json metrics = nlohmann::json::object();  // final metrics (kComplete)
  std::string error;                                  // reason (kFailed)
  std::optional<std::string> checkpoint;              // kPaused: the checkpoint saved; kComplete:
                                                      // the run folder holding the exports
  int64_t last_step = 0;                              // last step reported

  friend bool operator==(const Outcome&, const Outcome&) = default;

  template <class Self, class F>
  static void fields(Self& s, F&& f) {
    f("outcome", s.kind);
    f("metrics", s.metrics);
    f("error", s.error);
    f("checkpoint", s.checkpoint);
    f("last_step", s.last_step);
  }

  static Outcome complete(nlohmann::json metrics, int64_t step) {
    return {OutcomeKind::kComplete, std::move(metrics), {}, std::nullopt, step};
  }
  static Outcome failed(std::string why, int64_t step = 0) {
    return {OutcomeKind::kFailed, nlohmann::json::object(), std::move(why), std::nullopt, step};
  }
  static Outcome pruned(int64_t step) {
    return {OutcomeKind::kPruned, nlohmann::json::object(), {}, std::nullopt, step};
  }
  static Outcome paused(std::string checkpoint, int64_t step) {
    return {OutcomeKind::kPaused, nlohmann::json::object(), {}, std::move(checkpoint), step};
  }
};

// The one place that names a trial's folder under an artifacts / checkpoint root:
// <root>/trial-<number>. Checkpoints and model exports of the trial live there.
[[nodiscard]] std::string trial_dir(std::string_view root, int64_t number);

}  // namespace hypertune
