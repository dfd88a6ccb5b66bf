#pragma once
// Gradient-boosted trees through XGBoost's C API (Debian libxgboost-dev 1.7): RAII handles for a
// data matrix and a booster, with every call checked. The building block of the `xgboost` model
// family: a booster grows round by round (the trial's resource), is saved to and loaded from
// XGBoost's own JSON model format (what `xgboost.Booster(model_file=...)` reads), so a paused
// trial continues from its saved rounds instead of starting over.
// No LibTorch here: this library links only XGBoost.
// Errors: every failing XGBoost call throws hypertune::Error carrying XGBoost's own message.
// Thread-safety: one object per thread; XGBoost parallelises inside a call with `nthread`.

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace hypertune::pipelines::gbt {

// A dense row-major float matrix; NaN marks a missing value (XGBoost learns where it goes).
class Matrix {
 public:
  // `feature_types`: one per column, "q" (numeric) or "c" (categorical: small non-negative
  // integer codes, split natively; needs tree_method hist). Empty: all numeric.
  Matrix(std::span<const float> values, size_t rows, size_t cols,
         const std::vector<std::string>& feature_types = {});
  ~Matrix();
  Matrix(Matrix&& other) noexcept;
  Matrix& operator=(Matrix&& other) noexcept;
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;

  void set_labels(std::span<const float> labels);
  void set_weights(std::span<const float> weights);
  [[nodiscard]] size_t rows() const noexcept { return rows_; }
  [[nodiscard]] size_t cols() const noexcept { return cols_; }
  [[nodiscard]] void* handle() const noexcept { return handle_; }

 private:
  void* handle_ = nullptr;
  size_t rows_ = 0;
  size_t cols_ = 0;
};

using Params = std::vector<std::pair<std::string, std::string>>;

class Booster {
 public:
  // A new booster, `params` in XGBoost's names ("objective", "eta", "max_depth", "nthread",
  // "seed", ...). `cache`: the matrices it trains and evaluates on (XGBoost caches predictions).
  Booster(const Params& params, const std::vector<const Matrix*>& cache);
  // A booster saved with save_json(), ready to continue training with the same params.
  static Booster from_json(const std::string& json, const Params& params, const std::vector<const Matrix*>& cache);
  ~Booster();
  Booster(Booster&& other) noexcept;
  Booster& operator=(Booster&& other) noexcept;
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;

  // Adds `n` boosting rounds trained on `train`.
  void boost(const Matrix& train, int n = 1);
  // Rounds boosted so far (loaded ones included).
  [[nodiscard]] int rounds() const;
  // Predictions: one value per row (regression, binary probability), or rows x classes
  // probabilities, row-major (multi:softprob). `rounds` > 0 uses only the first that many.
  [[nodiscard]] std::vector<float> predict(const Matrix& m, int rounds = 0) const;
  // The booster in XGBoost's JSON model format.
  [[nodiscard]] std::string save_json() const;
  // Average gain of the splits on each feature, by XGBoost's feature names ("f0", "f1", ...);
  // features never split on are absent.
  [[nodiscard]] std::map<std::string, double> importance_gain() const { return importance("gain"); }
  // XGBoost's importance of `type` ("gain", "total_gain", "weight", "cover", "total_cover").
  [[nodiscard]] std::map<std::string, double> importance(const std::string& type) const;

 private:
  Booster() = default;
  void* handle_ = nullptr;
};

// XGBoost's version, "1.7.4".
[[nodiscard]] std::string version();

}  // namespace hypertune::pipelines::gbt
