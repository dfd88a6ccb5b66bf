#pragma once
// Internal to pipelines/: one model of a pipeline trial (one per fold with k-fold), as the
// trainer drives it step by step. A step is one epoch of a network (trainer.cpp's NetMember) or
// `model.rounds` boosting rounds of gradient-boosted trees (boosted.cpp). The trainer owns the
// loop, the verdicts, the checkpoint file and the k-fold ensemble; a member trains, evaluates,
// saves and restores its own state, and exports itself.
// Thread-safety: one member per trial thread.

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/trial.h"
#include "pipelines/config.h"
#include "pipelines/dataset.h"

namespace hypertune::pipelines::detail {

// A failure of this trial with a reason for the user (not a bug).
struct TrialFailure {
  std::string reason;
};

class Member {
 public:
  virtual ~Member() = default;
  // Trains one more step; returns its metrics (also appended to history()).
  virtual nlohmann::json train_one(int64_t step) = 0;
  // Metrics without training (a trial asked for no further steps).
  virtual nlohmann::json untrained_metrics(int64_t step) = 0;
  [[nodiscard]] virtual int64_t total_epochs() const = 0;
  [[nodiscard]] virtual const std::vector<nlohmann::json>& history() const = 0;
  // Adds this member's state to `d` under `prefix`; returns its meta record.
  virtual nlohmann::json save_state(c10::Dict<std::string, at::Tensor>& d, const std::string& prefix,
                                    int64_t step) const = 0;
  // Restores what save_state() wrote (meta: its record); returns the step. Throws TrialFailure.
  virtual int64_t load_state(const std::map<std::string, at::Tensor>& d, const std::string& prefix,
                             const nlohmann::json& meta, const std::string& path) = 0;
  // The metrics the trial ends with (the last step's unless the member keeps an earlier one).
  [[nodiscard]] virtual nlohmann::json final_metrics(int64_t step) {
    return history().empty() ? untrained_metrics(step) : history().back();
  }
  // True when the member has stopped improving and wants no more steps (early stopping).
  [[nodiscard]] virtual bool stopped_early() const { return false; }
  // Adds test_* metrics when the data has a test split.
  virtual void add_test_metrics(nlohmann::json& metrics) = 0;
  // Validation outputs on the host: class probabilities (rows x classes) or values in the
  // target's units (rows x 1); and the truth (class index, or value in the target's units).
  virtual std::pair<at::Tensor, at::Tensor> validation_outputs() = 0;
  // Writes model.json, metrics.json and the model's own files into `dir`.
  virtual void export_to(const std::filesystem::path& dir, const nlohmann::json& metrics, int64_t step) = 0;
};

// A gradient-boosted trees member (model.type xgboost).
[[nodiscard]] std::unique_ptr<Member> make_boosted_member(const TrialSpec& req, PipelineConfig cfg,
                                                          std::shared_ptr<const Dataset> ds);

// Bytes as a uint8 tensor and back (JSON records inside a checkpoint's tensor dict).
[[nodiscard]] at::Tensor bytes_tensor(const std::string& bytes);
[[nodiscard]] std::string tensor_bytes(const at::Tensor& t);

}  // namespace hypertune::pipelines::detail
