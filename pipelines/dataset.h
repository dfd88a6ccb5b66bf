#pragma once
// Datasets ready for training: features as float matrices, targets encoded, split done.
//
// load_dataset() reads the files a DataConfig names (CSV or IDX), drops rows without a target,
// splits off validation rows (seeded by data.split_seed, stratified for classification when asked;
// the same for every trial of a sweep; with data.folds >= 2 the validation rows are fold data.fold
// of a seeded k-fold partition, and the class list of a classification target comes from every
// row so that all folds share it), fits the preprocessing on the training rows only and
// transforms every split. IDX images are scaled to [0, 1], then standardised with the mean and
// standard deviation of the training pixels.
//
// Cache: results are kept in a process-wide cache keyed by the content hash of every file read
// plus the preprocessing options, so a worker parses a dataset once per sweep however many trials
// use it. Concurrent callers of the same key wait for one parse; a failed load is not cached.
//
// Not here: tensors, models (the trainer wraps these buffers without copying them).
// Thread-safety: load_dataset() and the cache functions may be called from any thread; a Dataset
// is immutable once returned.
// Errors: ConfigError naming file, line and column (see csv.h, tabular.h, idx.h).

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pipelines/config.h"
#include "pipelines/tabular.h"

namespace hypertune::pipelines {

struct Split {
  int64_t rows = 0;
  std::vector<float> x;         // rows x product(input_shape), row-major
  std::vector<int64_t> labels;  // classification: class indices
  std::vector<float> values;    // regression: standardised targets
};

struct Dataset {
  TaskKind task = TaskKind::kClassification;
  std::vector<int64_t> input_shape;  // {features} (tabular) or {1, height, width} (images)
  int64_t outputs = 0;               // classes, or 1 for regression
  Split train;
  Split validation;
  std::optional<Split> test;
  TargetEncoding target;
  // How raw inputs become features, for model.json: {"kind": "tabular", ...Preprocessor::to_json(),
  // "id": ...} or {"kind": "image", "height", "width", "mean", "std"}.
  nlohmann::json preprocessing;
  int64_t dropped_missing_target = 0;
  std::string key;  // the cache key

  [[nodiscard]] int64_t features() const;
};

// Loads (or finds in the cache) the dataset of `data`; `task` overrides inference.
[[nodiscard]] std::shared_ptr<const Dataset> load_dataset(const DataConfig& data,
                                                          std::optional<TaskKind> task);

struct DatasetCacheStats {
  int64_t loads = 0;  // datasets parsed from files
  int64_t hits = 0;   // requests answered from the cache
};
[[nodiscard]] DatasetCacheStats dataset_cache_stats();
void clear_dataset_cache();

// Seeded split of n rows into (train, validation) index lists, each sorted ascending.
// With `labels` (class indices) the split is stratified: each class contributes round(share *
// fraction) rows to validation. Both parts are non-empty when n >= 2.
[[nodiscard]] std::pair<std::vector<size_t>, std::vector<size_t>> split_rows(
    size_t n, double fraction, const std::vector<int64_t>* labels, uint64_t seed);

// Seeded assignment of n rows to `folds` folds (a fold index per row). With `labels` (class
// indices) it is stratified: each class's rows are shuffled and dealt round-robin, continuing where
// the previous class stopped, so every fold holds floor or ceil of each class's share and the fold
// sizes differ by at most one. Folds are disjoint and cover every row.
[[nodiscard]] std::vector<int> fold_rows(size_t n, int folds, const std::vector<int64_t>* labels,
                                         uint64_t seed);

// Train and validation index lists of fold `fold` (each ascending), from fold_rows().
[[nodiscard]] std::pair<std::vector<size_t>, std::vector<size_t>> fold_split(
    size_t n, int folds, int fold, const std::vector<int64_t>* labels, uint64_t seed);

// 64-bit FNV-1a of a whole file's bytes (part of the cache key).
[[nodiscard]] uint64_t hash_file(const std::string& path);

}  // namespace hypertune::pipelines
