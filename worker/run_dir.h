#pragma once
// Run folders: each run of a trial writes its checkpoints and exports into a folder of its own,
//
//     <trial folder>/run-<E>        (the trial folder is trial_dir(root, N), base/trial.h)
//
// E is the run's lease epoch on the trial folder, claimed with an exclusive mkdir (atomic on
// local file systems and NFS alike): one more than every run folder present, so two runs of a
// trial never share a folder, even on different machines with a shared checkpoint root. That is
// the fence for a worker cut off by a network partition: the scheduler gives up on it and hands
// the trial to another worker, whose run claims a new folder and resumes from the checkpoint
// the scheduler recorded; the cut-off run may go on writing, but only into its own folder, and
// its results are refused. The scheduler records which run's folder holds the trial's latest
// checkpoint (StepReport::checkpoint, Outcome::checkpoint), never a folder by name.
// Thread-safety: free functions; concurrent claims (threads or processes) get distinct epochs.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/trial.h"

namespace hypertune::worker {

// What a trial kind writes into its folder (from the config's `trial:` section).
enum class Artifacts : uint8_t {
  kNone,       // function trials: nothing
  kAtEnd,      // pipelines: a checkpoint when paused, the model export when complete
  kEveryStep,  // commands with `checkpoint: true`: a checkpoint before every report
};
[[nodiscard]] Artifacts artifacts_of(const nlohmann::json& trial_section);

struct RunDir {
  std::string path;  // <trial_dir>/run-<epoch>, created (mode 0700)
  int64_t epoch = 0;
};

// Creates trial_dir (0700) if needed and claims its next run folder. With `resume_from` (the
// checkpoint this run resumes from) inside run folder P of this trial, the run folders below P
// are removed: the scheduler's record only moves forward, so no later run resumes from them.
// Throws hypertune::Error naming the folder when it cannot be created.
[[nodiscard]] RunDir claim_run_dir(const std::string& trial_dir,
                                   const std::optional<std::string>& resume_from = std::nullopt);

// The epoch of the run folder of `trial_dir` that holds `path` (the folder itself or a file in
// it), or nullopt when `path` is not inside one (a checkpoint of an older release: trial_dir).
[[nodiscard]] std::optional<int64_t> run_epoch_of(std::string_view trial_dir, std::string_view path);

// The two ends of one run, for every driver (worker agent, in-process executor):
// begin_run() claims a run folder below spec.checkpoint_dir (the trial folder) for a trial kind
// that writes artifacts, points spec.checkpoint_dir at it, and returns it when every report must
// name it (Artifacts::kEveryStep); end_run() names the run folder in a complete outcome of such a
// trial (where its model export is). Neither touches a function trial or an empty checkpoint_dir.
[[nodiscard]] std::optional<std::string> begin_run(TrialSpec& spec);
void end_run(const TrialSpec& spec, Outcome& outcome);

}  // namespace hypertune::worker
