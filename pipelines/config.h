#pragma once
// The `trial: {pipeline: ...}` section of a sweep: its schema, parameter substitution and checks.
//
// A pipeline section arrives as raw JSON (converted from YAML by the caller) plus the trial's
// parameters. Any string value that is exactly "{name}" is replaced by the parameter's typed value
// (substitute_params) before the section is parsed into a PipelineConfig (parse_pipeline).
// validate_pipeline() runs the same checks without parameters: a "{name}" placeholder only has to
// name a parameter of the search space; its type is checked once the trial has a value.
//
// Every field, its type, default and bounds are documented in docs/pipelines.md; unknown keys are
// rejected with the closest known key as a suggestion.
//
// Not here: reading data, LibTorch. This header and config.cpp include no torch, so the scheduler
// and the CLI can validate a sweep cheaply.
// Thread-safety: pure functions.
// Errors: parse_pipeline() and substitute_params() throw ConfigError naming the key path
// ("trial.pipeline.model.width") and what was expected.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace hypertune::pipelines {

// One problem found in a pipeline section: a key path ("trial.pipeline.data.train") and a message.
struct ConfigIssue {
  std::string path;
  std::string message;
};

enum class TaskKind { kClassification, kRegression };
[[nodiscard]] const char* to_string(TaskKind t) noexcept;

enum class DataFormat { kCsv, kIdx };
enum class ModelType { kLinear, kMlp, kCnn, kXgboost };
enum class ClassWeight { kNone, kBalanced };
enum class Activation { kRelu, kGelu, kTanh, kSilu };
enum class PoolType { kMax, kAvg };
enum class OptimizerType { kAdamW, kAdam, kSgd };
enum class ScheduleType { kNone, kCosine, kStep };
enum class LossType { kCrossEntropy, kMse, kHuber };

[[nodiscard]] const char* to_string(ModelType t) noexcept;
[[nodiscard]] const char* to_string(Activation a) noexcept;
[[nodiscard]] const char* to_string(PoolType p) noexcept;
[[nodiscard]] const char* to_string(LossType l) noexcept;

struct DataConfig {
  DataFormat format = DataFormat::kCsv;
  // csv: paths are resolved against the config file's directory unless absolute.
  std::string train;
  std::optional<std::string> validation;  // a separate validation file; else `split` of train
  std::optional<std::string> test;        // evaluated once at the end (test_* metrics)
  std::string target = "target";
  std::optional<std::string> id;         // identifier column: never a feature, copied by predict
  std::vector<std::string> drop;         // columns ignored entirely
  std::vector<std::string> categorical;  // force these columns to be categorical
  int max_onehot = 20;                   // categoricals with more levels are hashed
  int hash_buckets = 32;                 // buckets for hashed categoricals
  // idx
  std::string train_images;
  std::string train_labels;
  std::optional<std::string> test_images;
  std::optional<std::string> test_labels;
  // both
  double split = 0.2;                 // validation fraction when no validation file
  bool stratify = true;               // stratified split for classification
  uint64_t split_seed = 0;            // the split is the same for every trial of a sweep
  // k-fold cross-validation (folds >= 2, no validation file): the rows are dealt into `folds`
  // seeded folds (stratified for classification when `stratify`); the trainer trains one model per
  // fold (validated on that fold, trained on the others) and reports the mean of their metrics.
  // `fold` selects the validation fold of one dataset load; the trainer sets it per model.
  int folds = 1;
  int fold = 0;
  std::optional<int64_t> limit;       // use only the first N training examples
  std::optional<int64_t> test_limit;  // use only the first N test examples
};

struct ModelConfig {
  ModelType type = ModelType::kMlp;
  int layers = 2;   // mlp: hidden layers
  int width = 128;  // mlp: units per hidden layer
  Activation activation = Activation::kRelu;
  double dropout = 0.0;  // after each hidden activation (mlp) / the dense layer (cnn)
  bool batch_norm = false;
  int blocks = 2;     // cnn: conv blocks (conv, [bn], act, pool); channels double per block
  int channels = 32;  // cnn: channels of the first block
  int kernel = 3;     // cnn: odd kernel size, "same" padding
  PoolType pool = PoolType::kMax;
  int dense = 128;  // cnn: hidden dense units after the blocks (0: none)
  // xgboost (gradient-boosted trees, XGBoost's names and defaults): a step is `rounds` rounds.
  int rounds = 10;
  double eta = 0.3;
  int max_depth = 6;
  double min_child_weight = 1.0;
  double subsample = 1.0;
  double colsample_bytree = 1.0;
  double lambda = 1.0;
  double alpha = 0.0;
  double gamma = 0.0;
  int max_bin = 256;
  ClassWeight class_weight = ClassWeight::kNone;  // balanced: every class weighs the same in all
  // > 0: stop after this many steps without a lower val_loss; the model keeps its best step's
  // rounds (XGBoost's early_stopping_rounds, counted in steps).
  int early_stopping = 0;
};

struct OptimizerConfig {
  OptimizerType type = OptimizerType::kAdamW;
  double lr = 1e-3;
  std::optional<double> weight_decay;  // default 0.01 for adamw, 0 otherwise
  double momentum = 0.9;               // sgd
  bool nesterov = false;               // sgd
  double beta1 = 0.9;                  // adam / adamw
  double beta2 = 0.999;
  double eps = 1e-8;

  [[nodiscard]] double effective_weight_decay() const {
    return weight_decay.value_or(type == OptimizerType::kAdamW ? 0.01 : 0.0);
  }
};

struct ScheduleConfig {
  ScheduleType type = ScheduleType::kNone;
  int warmup_epochs = 0;  // linear warm-up from ~0 to lr, per batch
  int step_size = 10;     // step: multiply by gamma every step_size epochs
  double gamma = 0.1;
  double min_lr = 0.0;  // cosine: the floor reached at the last epoch
};

struct PipelineConfig {
  DataConfig data;
  std::optional<TaskKind> task;  // nullopt: inferred from the target
  ModelConfig model;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  int batch_size = 128;
  int eval_batch_size = 4096;
  int64_t epochs = 20;
  std::optional<LossType> loss;  // nullopt: cross_entropy (classification) / mse (regression)
  double huber_delta = 1.0;
};

// Replaces every string value exactly of the form "{name}" (at any depth) by params[name]. A
// mapping key whose value names a parameter absent from params (a conditional parameter inactive
// in this trial, e.g. another model family's) is left out, so its default applies; validation has
// already checked that the name belongs to the search space. Throws ConfigError naming the key
// path when a list element names a parameter not among params.
[[nodiscard]] nlohmann::json substitute_params(const nlohmann::json& section,
                                               const nlohmann::json& params,
                                               const std::string& where = "trial.pipeline");

// Checks a raw pipeline section. Placeholders "{name}" must name one of param_names and are
// otherwise accepted for any field. Data files must exist (relative to base_dir).
// Returns every problem found; empty means valid.
[[nodiscard]] std::vector<ConfigIssue> validate_pipeline(
    const nlohmann::json& section, const std::vector<std::string>& param_names,
    const std::string& base_dir);

// Parses a substituted section (no placeholders left). Paths are made absolute against base_dir.
// Throws ConfigError listing every issue.
[[nodiscard]] PipelineConfig parse_pipeline(const nlohmann::json& section,
                                            const std::string& base_dir,
                                            const std::string& where = "trial.pipeline");

// Resolves a path from a config file against its directory (absolute paths unchanged).
[[nodiscard]] std::string resolve_path(const std::string& path, const std::string& base_dir);

}  // namespace hypertune::pipelines
