#pragma once
// Training one pipeline trial: data -> model -> epochs with a report after each -> export.
//
// train() substitutes the trial's parameters into the pipeline section, loads the dataset (through
// the process-wide cache), builds the model and trains it for `max_epochs` (or the section's
// `epochs`), calling `on_epoch` after every epoch with that epoch's metrics (train_loss, val_loss,
// and accuracy/f1_macro[/roc_auc] or rmse/mae/r2). The hook's answer is obeyed:
//   kContinue -> next epoch; kPrune -> stop at once, result kPruned;
//   kPause, or epoch == pause_at -> save a checkpoint under checkpoint_dir, result kPaused.
// A request with resume_checkpoint continues after the checkpoint's epoch; the result is
// bit-identical on CPU to training without the interruption (model, optimiser state, schedule
// position and generator state are all restored). Epochs up to start_epoch count as reported
// already: when the checkpoint is older than start_epoch (or absent), those epochs are trained
// again without calling on_epoch, which reproduces the same state.
// On completion the model is exported to <checkpoint_dir>/model/: weights.pt (a torch.save-
// compatible dict of tensors named as the equivalent torch.nn.Sequential's state dict),
// model.json (layers, preprocessing, labels), metrics.json (final metrics and per-epoch
// history) and validation.pt (the outputs on the validation rows and their truth).
// k-fold (data.folds >= 2): one model per fold is trained in lockstep, each epoch once per fold;
// on_epoch sees the mean of the fold models' metrics (time_s: the sum). A pause checkpoints every
// fold model in one file; the export is model/fold-<i>/ per fold plus an ensemble model.json
// (predict.h) and the out-of-fold validation.pt.
//
// Randomness: initialisation, shuffling and dropout draw only from a generator seeded with `seed`,
// so the same section, parameters and seed give the same metrics on CPU, also when several trials
// train in threads of one process (with the same `threads`).
// Threads: `threads` sets LibTorch's intra-op thread count, which is PROCESS-GLOBAL
// (at::set_num_threads, and openblas_set_num_threads when OpenBLAS is the BLAS): the last trial to
// start wins for all trials of the process. Workers should run every slot with the same value; 1
// is fastest for small models on small machines.
// Device: CUDA device `gpu` when given and CUDA is available, else CPU.
//
// Not here: scheduling, storage, sockets (worker/pipeline_runner.cpp adapts this to TrialRunner).
// Errors: train() never throws for a failing trial: bad configuration, bad data, NaN/inf losses,
// out-of-memory and any other exception become kFailed with a reason.
// Thread-safety: concurrent train() calls are safe (each has its own model and generator).

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace hypertune::pipelines {

struct TrainRequest {
  nlohmann::json pipeline = nlohmann::json::object();  // the raw `trial.pipeline` section
  nlohmann::json params = nlohmann::json::object();    // parameter name -> value ("{name}")
  std::string metric = "val_loss";                     // objective: must be reported per epoch
  uint64_t seed = 0;
  std::optional<int64_t> max_epochs;  // overrides the section's `epochs`
  std::optional<int64_t> pause_at;    // pause after this epoch
  int64_t start_epoch = 0;            // epochs already reported (resume)
  std::optional<std::string> resume_checkpoint;
  std::string checkpoint_dir;  // checkpoints and the model export
  std::string base_dir;        // relative data paths start here
  int threads = 1;
  std::optional<int> gpu;
};

enum class EpochAction { kContinue, kPrune, kPause };

struct EpochVerdict {
  EpochAction action = EpochAction::kContinue;
  std::optional<int64_t> next_pause;  // with kContinue: pause at this later epoch instead
};

using EpochHook = std::function<EpochVerdict(int64_t epoch, const nlohmann::json& metrics)>;

struct TrainResult {
  enum class Kind { kComplete, kPruned, kPaused, kFailed };
  Kind kind = Kind::kFailed;
  nlohmann::json metrics = nlohmann::json::object();  // last epoch's metrics (+ test_* metrics)
  std::string error;                                  // kFailed: why
  std::optional<std::string> checkpoint;              // kPaused: the checkpoint file
  std::optional<std::string> model_dir;               // kComplete: the export
  int64_t last_epoch = 0;
};

// Runs one trial. `stop_requested` (optional) is checked between epochs; when it turns true the
// trial saves a checkpoint and returns kPaused so that it can be resumed elsewhere.
[[nodiscard]] TrainResult train(const TrainRequest& request, const EpochHook& on_epoch,
                                const std::function<bool()>& stop_requested = {});

}  // namespace hypertune::pipelines
