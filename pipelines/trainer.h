#pragma once
// Training one pipeline trial: data -> model -> epochs with a report after each -> export.
// A pipeline trial's step is one epoch.
//
// train() reads the pipeline section from spec.trial["pipeline"], substitutes spec.params into it,
// loads the dataset (through the process-wide cache; relative paths start at spec.work_dir),
// builds the model and trains it for spec.max_steps epochs (or the section's `epochs`), calling
// `on_epoch` after every epoch with that epoch's metrics (train_loss, val_loss, and
// accuracy/f1_macro[/roc_auc] or rmse/mae/r2). The hook's verdict is obeyed:
//   kContinue -> next epoch; kPrune -> stop at once, outcome kPruned;
//   kPause, or epoch == pause_at -> save a checkpoint under checkpoint_dir, outcome kPaused.
// A spec with a checkpoint continues after the checkpoint's epoch; the result is bit-identical
// on CPU to training without the interruption (model, optimiser state, schedule position and
// generator state are all restored). Epochs up to spec.start_step count as reported already:
// when the checkpoint is older than start_step (or absent), those epochs are trained again
// without calling on_epoch, which reproduces the same state.
// On completion the model is exported to model_dir(spec) = <checkpoint_dir>/model/: weights.pt
// (a torch.save-compatible dict of tensors named as the equivalent torch.nn.Sequential's state
// dict), model.json (layers, preprocessing, labels), metrics.json (final metrics and per-epoch
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

#include "base/trial.h"

namespace hypertune::pipelines {

// Called after every epoch (a step of a pipeline trial) with its metrics; its verdict is obeyed.
using EpochHook = std::function<Verdict(int64_t step, const nlohmann::json& metrics)>;

// Where train() exports the model of a completed trial: <spec.checkpoint_dir>/model.
[[nodiscard]] std::string model_dir(const TrialSpec& spec);

// Runs one trial. `stop_requested` (optional) is checked between epochs; when it turns true the
// trial saves a checkpoint and returns kPaused so that it can be resumed elsewhere.
[[nodiscard]] Outcome train(const TrialSpec& spec, const EpochHook& on_epoch,
                            const std::function<bool()>& stop_requested = {});

}  // namespace hypertune::pipelines
