#pragma once
// Validation metrics computed from model outputs copied to host memory.
//
//  classification: accuracy; f1_macro (mean F1 over the classes that occur in the truth or the
//                  predictions, 0 for a class never predicted correctly, as scikit-learn with
//                  zero_division=0); roc_auc for two classes (rank statistic, ties count half).
//  regression:     rmse, mae and r2 in the target's original units.
// The trainer adds val_loss and train_loss (the training loss, averaged over the epoch's batches).
//
// Not here: losses, tensors. Thread-safety: pure functions.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipelines/config.h"

namespace hypertune::pipelines {

// probs: n x k row-major class probabilities; labels: n class indices.
[[nodiscard]] nlohmann::json classification_metrics(const float* probs, int64_t n, int64_t k,
                                                    const int64_t* labels);

// pred, truth: n standardised values; mean/scale map them back to original units.
[[nodiscard]] nlohmann::json regression_metrics(const float* pred, const float* truth, int64_t n,
                                                double mean, double scale);

// Binary ROC AUC of scores against 0/1 truth; 0.5 when one class is absent.
[[nodiscard]] double roc_auc(const std::vector<double>& scores, const std::vector<int>& truth);

// Every metric a pipeline reports each epoch for a task (the objective must be one of these).
[[nodiscard]] std::vector<std::string> metric_names(TaskKind task, bool binary);

}  // namespace hypertune::pipelines
