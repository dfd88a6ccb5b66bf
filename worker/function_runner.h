#pragma once
// The runner for analytic test functions: `trial: {function: NAME, steps: N, noise: s}` with the
// parameters x1..xd. It stands in for a training run in tests, examples and benchmarks: each step
// reports multi_fidelity_value(f, x, step), which converges to f(x) like a learning curve.
//
// Contract (beyond worker/trial_runner.h):
//  * Steps to run: spec.max_steps if set, else trial.steps (default 1). With one step nothing is
//    reported and the trial completes with {metric: f(x)}.
//  * With more steps, steps start_step+1..N report {metric: value, "step": step}; the trial
//    completes with the value of step N.
//  * noise s > 0 adds s * N(0, 1), drawn from hypertune::Rng seeded by (spec.seed, step): the same
//    trial and step always get the same value, wherever and however often it runs.
//  * Pausing (verdict kPause, or reaching spec.pause_at / a verdict's next_pause) writes
//    kCheckpointFile into spec.checkpoint_dir recording the step; resuming reads it back,
//    checks that it belongs to this function and records no step after spec.start_step, and
//    continues after spec.start_step.
//  * Unknown function, wrong number or names of parameters, a bad trial section: kFailed with
//    the reason. run() does not throw.
// Not here: evaluation of the functions (search/functions.h).
// Thread-safety: stateless; run() may be called concurrently.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/functions.h"
#include "worker/trial_runner.h"

namespace hypertune::worker {

// The `trial:` section of a function trial, checked.
struct FunctionTrial {
  const search::TestFunction* function = nullptr;  // never null after parse()
  int64_t steps = 1;
  double noise = 0.0;

  // Throws ConfigError naming the key below `where` ("trial.function") for an unknown key or
  // function, or a missing or mistyped value.
  [[nodiscard]] static FunctionTrial parse(const nlohmann::json& trial,
                                           const std::string& where = "trial");
};

// The arguments x1..xd of `fn` from a trial's parameters, in order. Throws ConfigError("params",
// ...) when a parameter is not named x<i>, the indices are not 1..d, a value is not a number, or
// d does not fit the function.
[[nodiscard]] std::vector<double> function_arguments(const search::TestFunction& fn,
                                                     const nlohmann::json& params);

class FunctionRunner final : public TrialRunner {
 public:
  static constexpr const char* kCheckpointFile = "function-checkpoint.json";

  [[nodiscard]] Outcome run(const TrialSpec& spec, TrialContext& ctx) override;
};

}  // namespace hypertune::worker
