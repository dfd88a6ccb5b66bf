#include "pipelines/gbt.h"

#include <nlohmann/json.hpp>

#include <xgboost/c_api.h>

#include <cmath>
#include <limits>

#include "base/error.h"

namespace hypertune::pipelines::gbt {
namespace {

// XGBoost's message without the native stack trace it appends ("Stack trace:" and "[bt]" lines).
std::string last_error() {
  std::string m = XGBGetLastError();
  if (const size_t cut = m.find("\nStack trace"); cut != std::string::npos) m.resize(cut);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

void check(int rc, const char* what) {
  if (rc != 0) throw Error(std::string("xgboost: ") + what + ": " + last_error());
}

}  // namespace

Matrix::Matrix(std::span<const float> values, size_t rows, size_t cols, const std::vector<std::string>& types)
    : rows_(rows), cols_(cols) {
  if (values.size() != rows * cols)
    throw Error("xgboost: a " + std::to_string(rows) + " x " + std::to_string(cols) + " matrix needs " +
                std::to_string(rows * cols) + " values, got " + std::to_string(values.size()));
  if (!types.empty() && types.size() != cols)
    throw Error("xgboost: " + std::to_string(types.size()) + " feature types for " + std::to_string(cols) + " columns");
  DMatrixHandle h = nullptr;
  check(XGDMatrixCreateFromMat(values.data(), rows, cols, std::numeric_limits<float>::quiet_NaN(), &h),
        "creating a data matrix");
  handle_ = h;
  if (!types.empty()) {
    std::vector<const char*> ptrs;
    ptrs.reserve(types.size());
    for (const auto& t : types) ptrs.push_back(t.c_str());
    check(XGDMatrixSetStrFeatureInfo(handle_, "feature_type", ptrs.data(), ptrs.size()), "setting feature types");
  }
}

Matrix::~Matrix() {
  if (handle_) XGDMatrixFree(handle_);
}

Matrix::Matrix(Matrix&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)), rows_(o.rows_), cols_(o.cols_) {}

Matrix& Matrix::operator=(Matrix&& o) noexcept {
  if (this != &o) {
    if (handle_) XGDMatrixFree(handle_);
    handle_ = std::exchange(o.handle_, nullptr);
    rows_ = o.rows_;
    cols_ = o.cols_;
  }
  return *this;
}

void Matrix::set_labels(std::span<const float> labels) {
  if (labels.size() != rows_)
    throw Error("xgboost: " + std::to_string(labels.size()) + " labels for " + std::to_string(rows_) + " rows");
  check(XGDMatrixSetFloatInfo(handle_, "label", labels.data(), labels.size()), "setting labels");
}

void Matrix::set_weights(std::span<const float> weights) {
  if (weights.size() != rows_)
    throw Error("xgboost: " + std::to_string(weights.size()) + " weights for " + std::to_string(rows_) + " rows");
  check(XGDMatrixSetFloatInfo(handle_, "weight", weights.data(), weights.size()), "setting weights");
}

Booster::Booster(const Params& params, const std::vector<const Matrix*>& cache) {
  std::vector<DMatrixHandle> handles;
  for (const Matrix* m : cache) handles.push_back(m->handle());
  BoosterHandle h = nullptr;
  check(XGBoosterCreate(handles.data(), handles.size(), &h), "creating a booster");
  handle_ = h;
  for (const auto& [k, v] : params) check(XGBoosterSetParam(handle_, k.c_str(), v.c_str()), ("parameter " + k + "=" + v).c_str());
}

Booster Booster::from_json(const std::string& json, const Params& params, const std::vector<const Matrix*>& cache) {
  Booster b(Params{}, cache);
  check(XGBoosterLoadModelFromBuffer(b.handle_, json.data(), json.size()), "loading a saved booster");
  // Parameters that do not travel in the model (nthread, seed) are set again.
  for (const auto& [k, v] : params) check(XGBoosterSetParam(b.handle_, k.c_str(), v.c_str()), ("parameter " + k + "=" + v).c_str());
  return b;
}

Booster::~Booster() {
  if (handle_) XGBoosterFree(handle_);
}

Booster::Booster(Booster&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}

Booster& Booster::operator=(Booster&& o) noexcept {
  if (this != &o) {
    if (handle_) XGBoosterFree(handle_);
    handle_ = std::exchange(o.handle_, nullptr);
  }
  return *this;
}

void Booster::boost(const Matrix& train, int n) {
  for (int i = 0; i < n; ++i) {
    const int iter = rounds();
    check(XGBoosterUpdateOneIter(handle_, iter, train.handle()), "boosting a round");
  }
}

int Booster::rounds() const {
  int n = 0;
  check(XGBoosterBoostedRounds(handle_, &n), "counting rounds");
  return n;
}

std::vector<float> Booster::predict(const Matrix& m, int rounds) const {
  const std::string config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": )" +
                             std::to_string(std::max(0, rounds)) + R"(, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  check(XGBoosterPredictFromDMatrix(handle_, m.handle(), config.c_str(), &shape, &dim, &out), "predicting");
  size_t n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
  return std::vector<float>(out, out + n);
}

std::string Booster::save_json() const {
  bst_ulong len = 0;
  const char* data = nullptr;
  check(XGBoosterSaveModelToBuffer(handle_, R"({"format": "json"})", &len, &data), "saving the booster");
  return std::string(data, len);
}

std::map<std::string, double> Booster::importance(const std::string& type) const {
  bst_ulong n = 0, dim = 0;
  const char** names = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  const std::string config = nlohmann::json{{"importance_type", type}}.dump();
  check(XGBoosterFeatureScore(handle_, config.c_str(), &n, &names, &dim, &shape, &scores),
        "computing feature importance");
  std::map<std::string, double> out;
  for (bst_ulong i = 0; i < n; ++i) out[names[i]] = scores[i];
  return out;
}

std::string version() {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace hypertune::pipelines::gbt
