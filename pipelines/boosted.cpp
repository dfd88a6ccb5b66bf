// Gradient-boosted trees as a pipeline model (model.type xgboost): a member of the trainer
// (member.h) whose step is `model.rounds` boosting rounds of XGBoost (gbt.h). The booster is
// saved into the trial's checkpoint and continues from it, so a paused trial resumes from its
// rounds, bit for bit. Metrics are the pipeline's own (metrics.h), computed from the booster's
// predictions, so a sweep compares trees and networks on the same numbers.

#include <chrono>
#include <cmath>
#include <optional>

#include "pipelines/files.h"
#include "pipelines/gbt.h"
#include "pipelines/member.h"
#include "pipelines/metrics.h"

namespace hypertune::pipelines::detail {
namespace {

using nlohmann::json;
using torch::Tensor;
namespace fs = std::filesystem;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class BoostedMember final : public Member {
 public:
  BoostedMember(const TrialSpec& req, PipelineConfig cfg, std::shared_ptr<const Dataset> ds)
      : req_(req), cfg_(std::move(cfg)), ds_(std::move(ds)) {
    if (ds_->input_shape.size() != 1)
      throw TrialFailure{"trial.pipeline.model: an xgboost model needs tabular data (data.format: csv)"};
    classification_ = ds_->task == TaskKind::kClassification;
    k_ = classification_ ? ds_->outputs : 1;
    train_.emplace(matrix(ds_->train, true));
    valid_.emplace(matrix(ds_->validation, false));
    params_ = booster_params();
    booster_.emplace(params_, std::vector<const gbt::Matrix*>{&*train_, &*valid_});
    total_ = req.max_steps.value_or(cfg_.epochs);
  }

  json train_one(int64_t step) override {
    const auto t0 = std::chrono::steady_clock::now();
    booster_->boost(*train_, cfg_.model.rounds);
    json m = evaluate_step(step);
    m["time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    history_.push_back(m);
    return m;
  }

  json untrained_metrics(int64_t step) override { return evaluate_step(step); }

  // With early stopping the model is the booster cut at its best step (lowest val_loss).
  json final_metrics(int64_t step) override {
    if (cfg_.model.early_stopping == 0 || history_.empty()) return Member::final_metrics(step);
    return history_[best_index()];
  }
  [[nodiscard]] bool stopped_early() const override {
    const int patience = cfg_.model.early_stopping;
    return patience > 0 && !history_.empty() &&
           history_.size() - 1 - best_index() >= static_cast<size_t>(patience);
  }
  [[nodiscard]] int64_t total_epochs() const override { return total_; }
  [[nodiscard]] const std::vector<json>& history() const override { return history_; }

  json save_state(c10::Dict<std::string, Tensor>& d, const std::string& prefix, int64_t step) const override {
    d.insert(prefix + "booster", bytes_tensor(booster_->save_json()));
    return {{"format", "hypertune-checkpoint"},
            {"version", 1},
            {"epoch", step},
            {"model", "xgboost"},
            {"rounds", booster_->rounds()},
            {"dataset", ds_->key},
            {"history", history_}};
  }

  int64_t load_state(const std::map<std::string, Tensor>& d, const std::string& prefix, const json& m,
                     const std::string& path) override {
    if (m.value("model", "") != "xgboost")
      throw TrialFailure{"checkpoint '" + path + "' was not written by an xgboost model"};
    const auto it = d.find(prefix + "booster");
    if (it == d.end()) throw TrialFailure{"checkpoint '" + path + "' has no booster '" + prefix + "booster'"};
    booster_.emplace(gbt::Booster::from_json(tensor_bytes(it->second), params_, {&*train_, &*valid_}));
    if (booster_->rounds() != m.at("rounds").get<int>())
      throw TrialFailure{"checkpoint '" + path + "' holds " + std::to_string(booster_->rounds()) +
                         " rounds, its record says " + m.at("rounds").dump()};
    history_.clear();
    for (const auto& h : m.at("history")) history_.push_back(h);
    return m.at("epoch").get<int64_t>();
  }

  void add_test_metrics(json& metrics) override {
    if (!ds_->test) return;
    const gbt::Matrix test = matrix(*ds_->test, false);
    const json t = evaluate(test, *ds_->test, kept_rounds());
    for (const auto& [k, v] : t.items()) metrics[k == "val_loss" ? "test_loss" : "test_" + k] = v;
  }

  std::pair<Tensor, Tensor> validation_outputs() override {
    const Split& s = ds_->validation;
    std::vector<float> out = outputs(*valid_, kept_rounds());
    Tensor o = torch::from_blob(out.data(), {s.rows, k_}, torch::kFloat32).clone();
    Tensor truth;
    if (classification_) {
      truth = torch::from_blob(const_cast<int64_t*>(s.labels.data()), {s.rows}, torch::kInt64).to(torch::kFloat64);
    } else {
      o = o * ds_->target.scale + ds_->target.mean;
      truth = torch::from_blob(const_cast<float*>(s.values.data()), {s.rows}, torch::kFloat32).to(torch::kFloat64) *
                  ds_->target.scale +
              ds_->target.mean;
    }
    return {o, truth};
  }

  void export_to(const fs::path& dir, const json& metrics, int64_t step) override {
    fs::create_directories(dir);
    // XGBoost's own JSON model format: xgboost.Booster(model_file="booster.json") reads it.
    write_text_atomic((dir / "booster.json").string(), booster_->save_json());
    json model = {{"format", "hypertune-model"},
                  {"version", 1},
                  {"task", to_string(ds_->task)},
                  {"input_shape", ds_->input_shape},
                  {"outputs", ds_->outputs},
                  {"model", {{"type", "xgboost"}, {"booster", "booster.json"}, {"rounds", kept_rounds()},
                             {"objective", objective()}}},
                  {"preprocessing", ds_->preprocessing},
                  {"target", to_json(ds_->target)},
                  {"seed", req_.seed},
                  {"params", req_.params},
                  {"epochs", step}};
    write_text_atomic((dir / "model.json").string(), model.dump(2) + "\n");
    json importance = json::object();
    for (const auto& [name, gain] : booster_->importance_gain())
      if (std::isfinite(gain)) importance[name] = gain;  // JSON has no NaN
    json total = json::object();
    for (const auto& [name, gain] : booster_->importance("total_gain"))
      if (std::isfinite(gain)) total[name] = gain;
    json summary = {{"final", metrics},
                    {"epochs", step},
                    {"rounds", kept_rounds()},
                    {"boosted_rounds", booster_->rounds()},
                    {"history", history_},
                    {"importance_gain", importance},
                    {"importance_total_gain", total},
                    {"dropped_missing_target", ds_->dropped_missing_target}};
    write_text_atomic((dir / "metrics.json").string(), summary.dump(2) + "\n");
  }

 private:
  // Features as they are (trees split on them directly), the label, and for the training rows
  // the class weights when asked for.
  gbt::Matrix matrix(const Split& s, bool training) const {
    gbt::Matrix m(s.x, static_cast<size_t>(s.rows), static_cast<size_t>(ds_->features()));
    std::vector<float> y(static_cast<size_t>(s.rows));
    for (size_t i = 0; i < y.size(); ++i) y[i] = classification_ ? static_cast<float>(s.labels[i]) : s.values[i];
    m.set_labels(y);
    if (training && classification_ && cfg_.model.class_weight == ClassWeight::kBalanced) {
      // n / (k * n_c): every class weighs as much in total.
      std::vector<double> count(static_cast<size_t>(k_), 0.0);
      for (int64_t l : s.labels) count[static_cast<size_t>(l)] += 1.0;
      std::vector<float> w(y.size());
      for (size_t i = 0; i < w.size(); ++i)
        w[i] = static_cast<float>(static_cast<double>(s.rows) /
                                  (static_cast<double>(k_) * count[static_cast<size_t>(s.labels[i])]));
      m.set_weights(w);
    }
    return m;
  }

  [[nodiscard]] std::string objective() const {
    if (classification_) return k_ == 2 ? "binary:logistic" : "multi:softprob";
    return cfg_.loss == LossType::kHuber ? "reg:pseudohubererror" : "reg:squarederror";
  }

  gbt::Params booster_params() const {
    const ModelConfig& m = cfg_.model;
    gbt::Params p = {{"objective", objective()},
                     {"tree_method", "hist"},
                     {"eta", number(m.eta)},
                     {"max_depth", std::to_string(m.max_depth)},
                     {"min_child_weight", number(m.min_child_weight)},
                     {"subsample", number(m.subsample)},
                     {"colsample_bytree", number(m.colsample_bytree)},
                     {"lambda", number(m.lambda)},
                     {"alpha", number(m.alpha)},
                     {"gamma", number(m.gamma)},
                     {"max_bin", std::to_string(m.max_bin)},
                     // The trial's threads: XGBoost's pool must not oversubscribe the cores.
                     {"nthread", std::to_string(std::max(1, req_.threads))},
                     {"seed", std::to_string(req_.seed % 2147483647u)},
                     {"verbosity", "0"}};
    if (classification_ && k_ > 2) p.emplace_back("num_class", std::to_string(k_));
    if (objective() == "reg:pseudohubererror") p.emplace_back("huber_slope", number(cfg_.huber_delta));
    // Regression targets are standardised: start from their mean, 0.
    if (!classification_) p.emplace_back("base_score", "0");
    return p;
  }

  // The step with the lowest val_loss (the first of equals).
  [[nodiscard]] size_t best_index() const {
    size_t best = 0;
    for (size_t i = 1; i < history_.size(); ++i)
      if (history_[i]["val_loss"].get<double>() < history_[best]["val_loss"].get<double>()) best = i;
    return best;
  }

  // The rounds the final model uses: all, or the best step's with early stopping.
  [[nodiscard]] int kept_rounds() const {
    if (cfg_.model.early_stopping == 0 || history_.empty()) return booster_->rounds();
    return history_[best_index()]["rounds"].get<int>();
  }

  // rows x k_ probabilities (classification) or rows standardised values (regression), from the
  // first `rounds` rounds (0: all).
  std::vector<float> outputs(const gbt::Matrix& m, int rounds = 0) const {
    std::vector<float> raw = booster_->predict(m, rounds);
    if (!classification_ || k_ > 2) return raw;
    std::vector<float> two(raw.size() * 2);
    for (size_t i = 0; i < raw.size(); ++i) {
      two[2 * i] = 1.0f - raw[i];
      two[2 * i + 1] = raw[i];
    }
    return two;
  }

  // The pipeline's metrics of the booster on one split, with its loss as val_loss: cross-entropy
  // (classification), or the training loss in standardised units (regression).
  json evaluate(const gbt::Matrix& m, const Split& s, int rounds = 0) const {
    const std::vector<float> out = outputs(m, rounds);
    json metrics;
    double loss = 0.0;
    if (classification_) {
      metrics = classification_metrics(out.data(), s.rows, k_, s.labels.data());
      for (int64_t i = 0; i < s.rows; ++i)
        loss -= std::log(std::max(1e-7, static_cast<double>(out[static_cast<size_t>(i * k_ + s.labels[i])])));
    } else {
      metrics = regression_metrics(out.data(), s.values.data(), s.rows, ds_->target.mean, ds_->target.scale);
      const double delta = cfg_.huber_delta;
      for (int64_t i = 0; i < s.rows; ++i) {
        const double r = static_cast<double>(out[i]) - static_cast<double>(s.values[i]);
        loss += objective() == "reg:pseudohubererror" ? delta * delta * (std::sqrt(1.0 + (r / delta) * (r / delta)) - 1.0)
                                                      : r * r;
      }
    }
    metrics["val_loss"] = loss / static_cast<double>(std::max<int64_t>(1, s.rows));
    return metrics;
  }

  json evaluate_step(int64_t step) const {
    json m = evaluate(*valid_, ds_->validation);
    m["train_loss"] = evaluate(*train_, ds_->train)["val_loss"];
    m["rounds"] = booster_->rounds();
    if (!std::isfinite(m["val_loss"].get<double>()))
      throw TrialFailure{"training diverged: val_loss is not finite at step " + std::to_string(step)};
    return m;
  }

  const TrialSpec& req_;
  PipelineConfig cfg_;
  std::shared_ptr<const Dataset> ds_;
  bool classification_ = true;
  int64_t k_ = 1;
  std::optional<gbt::Matrix> train_, valid_;
  gbt::Params params_;
  std::optional<gbt::Booster> booster_;
  int64_t total_ = 0;
  std::vector<json> history_;
};

}  // namespace

std::unique_ptr<Member> make_boosted_member(const TrialSpec& req, PipelineConfig cfg, std::shared_ptr<const Dataset> ds) {
  return std::make_unique<BoostedMember>(req, std::move(cfg), std::move(ds));
}

Tensor bytes_tensor(const std::string& bytes) {
  return torch::from_blob(const_cast<char*>(bytes.data()), {static_cast<int64_t>(bytes.size())}, torch::kUInt8)
      .clone();
}

std::string tensor_bytes(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()));
}

}  // namespace hypertune::pipelines::detail
