#pragma once
// Predictions from an exported model directory (<checkpoint_dir>/model/ of a completed trial).
//
// predict() reads model.json and weights.pt, applies the stored preprocessing to the input and
// writes a CSV: the id column first when the model names one (data.id) and the input has it, then
// `prediction` (the original label string, or the number in the target's units), then for
// classification one `proba_<label>` column per class in the model's class order.
// An ensemble is a directory whose model.json is {"format": "hypertune-ensemble", "combine":
// "mean", "members": ["dir", ...]}: each member is a model directory inside it (itself a model or
// an ensemble); the prediction is the mean of the members' class probabilities (classification,
// then the most probable class) or values (regression). Members must share the task and classes.
// Inputs: tabular models take a CSV with the training columns (the target may be present and is
// ignored; extra columns are ignored; unseen categories are handled as in training). Image models
// take an IDX image file (plain or gzip) or a CSV (header row) whose every column is a pixel
// (0..255), height x width columns per row.
//
// Not here: training, the CLI (the `hypertune predict` command calls predict()).
// Thread-safety: a Predictor may be used from one thread at a time; distinct Predictors are
// independent.
// Errors: ConfigError naming the file (and row/column) for bad models or inputs.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pipelines/config.h"
#include "pipelines/csv.h"

namespace hypertune::pipelines {

class Predictor {
 public:
  [[nodiscard]] static Predictor load(const std::string& model_dir);
  Predictor(Predictor&&) noexcept;
  Predictor& operator=(Predictor&&) noexcept;
  ~Predictor();

  [[nodiscard]] TaskKind task() const;
  [[nodiscard]] bool is_ensemble() const;
  [[nodiscard]] size_t members() const;  // 0 for a single model
  [[nodiscard]] const std::vector<std::string>& classes() const;  // classification only
  [[nodiscard]] int64_t input_size() const;                       // floats per example

  // Outputs for every row of an input file (as predict_file reads it): rows x classes
  // probabilities or rows values; the id column's name and values when there is one.
  [[nodiscard]] std::vector<float> predict_input(const std::string& input,
                                                 std::vector<std::string>* ids = nullptr,
                                                 std::string* id_name = nullptr) const;

  // The same for a table already read (an ensemble's members each preprocess it their way).
  [[nodiscard]] std::vector<float> predict_table(const CsvTable& table, std::vector<std::string>* ids = nullptr,
                                                 std::string* id_name = nullptr) const;

  // Single models only (an ensemble throws Error: its members may preprocess differently).
  // Preprocessed inputs of every row of a table: rows x input_size() floats (row-major).
  [[nodiscard]] std::vector<float> features(const CsvTable& table) const;
  // Model outputs for `rows` preprocessed examples: rows x classes probabilities
  // (classification) or rows values in the target's original units (regression).
  [[nodiscard]] std::vector<float> predict_features(const std::vector<float>& x,
                                                    int64_t rows) const;

  // Reads `input`, writes predictions to `output` (see the file comment).
  void predict_file(const std::string& input, const std::string& output) const;

 private:
  struct Impl;
  explicit Predictor(std::unique_ptr<Impl> impl);
  [[nodiscard]] static Predictor load_ensemble(std::unique_ptr<Impl> impl);
  // An ensemble's weighted mean of member_outputs(member, ids, id_name) over its members.
  using MemberOutputs =
      std::function<std::vector<float>(const Predictor&, std::vector<std::string>*, std::string*)>;
  [[nodiscard]] std::vector<float> weighted_mean(const MemberOutputs& member_outputs,
                                                 std::vector<std::string>* ids, std::string* id_name) const;
  std::unique_ptr<Impl> impl_;
};

// Predictor::load(model_dir).predict_file(input, output).
void predict(const std::string& model_dir, const std::string& input, const std::string& output);

// The tensors of a weights or checkpoint file written by the pipelines (a dict of tensors), as
// doubles with their shapes, sorted by name: for inspection and tests without LibTorch headers.
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<double> values;
};
[[nodiscard]] std::vector<NamedTensor> read_tensor_file(const std::string& path);

}  // namespace hypertune::pipelines
