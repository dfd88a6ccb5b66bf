#pragma once
// Tabular preprocessing: column typing, then a Preprocessor fitted on the training rows only.
//
// Typing (on every row of the training file): a column is numeric when every non-missing value
// parses completely as a number (strtod: "3", "-1.5e3", " 7" does not), else categorical; columns
// listed in `categorical` are categorical regardless. Feature columns are all columns except the
// target, the id column and `drop`.
//
// Fitting (training rows only, so the validation split never leaks into the features):
//  * numeric: missing values are replaced by the training median; a 0/1 missing indicator column
//    follows when the training rows had any missing value; the value is then standardised with the
//    training mean and standard deviation of the non-missing values (1 when that is 0).
//  * categorical with at most max_onehot training levels: one-hot over the sorted training levels;
//    a missing or unseen value is all zeros.
//  * categorical with more levels: hashed one-hot, bucket = FNV-1a-64(value) mod hash_buckets, so
//  an
//    unseen value still lands in a bucket; a missing value is all zeros.
// Targets: classification labels are kept as their original strings (sorted numerically when all
// are numbers, else by bytes); regression targets are standardised for training and mapped back
// for metrics and predictions. Rows with a missing target are dropped and counted.
//
// Not here: reading files (pipelines/csv.h), splitting, tensors.
// Thread-safety: a fitted Preprocessor is immutable; transform() may run concurrently.
// Errors: ConfigError naming file, line and column ("x.csv line 9 column 'age': ...").

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/config.h"
#include "pipelines/csv.h"

namespace hypertune::pipelines {

struct TabularOptions {
  std::string target = "target";
  std::optional<std::string> id;
  std::vector<std::string> drop;
  std::vector<std::string> categorical;
  int max_onehot = 20;
  int hash_buckets = 32;
  std::optional<TaskKind> task;  // nullopt: inferred (see infer_task)
};

// Parses a whole field as a finite or infinite double; nullopt when any character is left over.
[[nodiscard]] std::optional<double> parse_number(const std::string& s);

// Stable 64-bit FNV-1a hash (the bucket of a hashed categorical value).
[[nodiscard]] uint64_t fnv1a64(const std::string& s) noexcept;

// Inference when no task is given: a target with a non-numeric value is classification; an all
// integer target with at most 20 distinct values is classification; otherwise regression.
[[nodiscard]] TaskKind infer_task(const CsvTable& table, size_t target_col);

enum class FeatureKind { kNumeric, kOneHot, kHashed };

struct FeatureColumn {
  std::string name;
  FeatureKind kind = FeatureKind::kNumeric;
  // numeric
  double median = 0.0;
  double mean = 0.0;
  double scale = 1.0;
  bool indicator = false;
  // one-hot
  std::vector<std::string> levels;
  // hashed
  int buckets = 0;

  [[nodiscard]] size_t width() const;
};

struct TargetEncoding {
  TaskKind task = TaskKind::kClassification;
  std::string column;
  std::vector<std::string> classes;  // classification, in index order
  double mean = 0.0;                 // regression: y_std = (y - mean) / scale
  double scale = 1.0;
};

class Preprocessor {
 public:
  Preprocessor() = default;

  // Types the feature columns on every row of `table`, fits statistics on `train_rows` only.
  [[nodiscard]] static Preprocessor fit(const CsvTable& table,
                                        const std::vector<size_t>& train_rows,
                                        const TabularOptions& opts);

  [[nodiscard]] size_t width() const noexcept { return width_; }
  [[nodiscard]] const std::vector<FeatureColumn>& columns() const noexcept { return columns_; }
  // Output column names: "x3", "x3_missing", "color=red", "city#7".
  [[nodiscard]] std::vector<std::string> feature_names() const;

  // Writes rows.size() x width() floats (row-major) for `rows` of `table`, which must hold every
  // feature column (found by name; other columns are ignored).
  void transform(const CsvTable& table, const std::vector<size_t>& rows, float* out) const;

  [[nodiscard]] nlohmann::json to_json() const;
  [[nodiscard]] static Preprocessor from_json(const nlohmann::json& j, const std::string& where);

 private:
  std::vector<FeatureColumn> columns_;
  size_t width_ = 0;
};

// Fits the target encoding: the classes of every non-missing target of `table` (classification)
// or mean/scale of the targets of `train_rows` (regression).
[[nodiscard]] TargetEncoding fit_target(const CsvTable& table, size_t target_col, TaskKind task,
                                        const std::vector<size_t>& train_rows);

// Class indices (classification) for `rows`; ConfigError for a label not among the classes.
[[nodiscard]] std::vector<int64_t> encode_classes(const TargetEncoding& enc, const CsvTable& table,
                                                  size_t target_col,
                                                  const std::vector<size_t>& rows);
// Standardised targets (regression); ConfigError for a non-numeric value.
[[nodiscard]] std::vector<float> encode_values(const TargetEncoding& enc, const CsvTable& table,
                                               size_t target_col, const std::vector<size_t>& rows);

[[nodiscard]] nlohmann::json to_json(const TargetEncoding& enc);
[[nodiscard]] TargetEncoding target_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace hypertune::pipelines
