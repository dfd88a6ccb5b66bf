#include "pipelines/trainer.h"

#include <ATen/Parallel.h>
#include <algorithm>
#include <dlfcn.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <new>
#include <numbers>

#include "pipelines/dataset.h"
#include "pipelines/files.h"
#include "pipelines/metrics.h"
#include "pipelines/member.h"
#include "pipelines/model.h"

namespace hypertune::pipelines {

namespace {

using nlohmann::json;
using torch::Tensor;
namespace fs = std::filesystem;

using detail::TrialFailure;

// ---- optimiser over one flat parameter buffer ----
//
// Every parameter becomes a view into one contiguous buffer (and its moments views into two more).
// Gradients come straight from torch::autograd::grad, so nothing is zeroed or accumulated, and on
// CPU one update is a single fused pass over each parameter instead of several kernels.
class FlatOptimizer {
 public:
  FlatOptimizer(const std::vector<Tensor>& params, const OptimizerConfig& cfg, torch::Device device)
      : cfg_(cfg), weight_decay_(cfg.effective_weight_decay()), params_(params) {
    // Each parameter starts on a 64-byte boundary, as a separately allocated tensor would: oneDNN
    // and the vectorised kernels take slower paths on unaligned weights. The padding stays zero
    // under every update rule.
    constexpr int64_t kAlign = 16;
    auto aligned = [](int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
    int64_t total = 0;
    for (const auto& p : params) total += aligned(p.numel());
    const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
    flat_ = torch::zeros({total}, opts);
    const bool moments = cfg_.type != OptimizerType::kSgd;
    if (moments || cfg_.momentum > 0.0) m_ = torch::zeros({total}, opts);
    if (moments) v_ = torch::zeros({total}, opts);
    if (!device.is_cpu()) grads_ = torch::zeros({total}, opts);
    torch::NoGradGuard no_grad;
    int64_t off = 0;
    for (auto p : params_) {
      const int64_t n = p.numel();
      // Convolution weights are laid out channels-last: oneDNN then keeps whole forward and
      // backward passes in its native layout instead of reordering per call (about 25% faster
      // for small CNNs on one thread). The logical tensor, and so the state dict, is unchanged.
      auto layout = [&](const Tensor& flat) {
        const Tensor slice = flat.narrow(0, off, n);
        if (p.dim() != 4) return slice.view(p.sizes());
        const auto sz = p.sizes();
        return slice.as_strided(sz, {sz[1] * sz[2] * sz[3], 1, sz[3] * sz[1], sz[1]});
      };
      Tensor view = layout(flat_);
      view.copy_(p);
      p.set_data(view);
      if (grads_.defined()) grad_views_.push_back(layout(grads_));
      offsets_.push_back(off);
      off += aligned(n);
    }
  }

  // The leaf tensors to differentiate the loss by, in step()'s order.
  [[nodiscard]] const std::vector<Tensor>& parameters() const { return params_; }

  // One update with the gradients of parameters() (undefined: unused, skipped as PyTorch does).
  void step(const std::vector<Tensor>& grads, double lr) {
    ++steps_;
    if (flat_.device().is_cpu())
      step_cpu(grads, lr);
    else
      step_tensor(grads, lr);
  }

  [[nodiscard]] int64_t steps() const { return steps_; }

  void save(c10::Dict<std::string, Tensor>& d, const std::string& prefix) const {
    if (m_.defined()) d.insert(prefix + "optim.m", m_.cpu().clone());
    if (v_.defined()) d.insert(prefix + "optim.v", v_.cpu().clone());
  }

  void load(const std::map<std::string, Tensor>& d, int64_t steps, const std::string& prefix) {
    torch::NoGradGuard no_grad;
    auto restore = [&](Tensor& t, const std::string& key) {
      if (!t.defined()) return;
      const auto it = d.find(key);
      if (it == d.end() || it->second.numel() != t.numel())
        throw TrialFailure{std::string("checkpoint lacks a matching '") + key +
                           "' (another optimizer?)"};
      t.copy_(it->second);
    };
    restore(m_, prefix + "optim.m");
    restore(v_, prefix + "optim.v");
    steps_ = steps;
  }

 private:
  void step_cpu(const std::vector<Tensor>& grads, double lr) {
    float* const base = flat_.data_ptr<float>();
    float* const m_base = m_.defined() ? m_.data_ptr<float>() : nullptr;
    float* const v_base = v_.defined() ? v_.data_ptr<float>() : nullptr;
    const auto wd = static_cast<float>(weight_decay_);
    const auto flr = static_cast<float>(lr);
    const auto mom = static_cast<float>(cfg_.momentum);
    const bool first = steps_ == 1;
    const bool decoupled = cfg_.type == OptimizerType::kAdamW;
    const auto b1 = static_cast<float>(cfg_.beta1);
    const auto b2 = static_cast<float>(cfg_.beta2);
    const double t = static_cast<double>(steps_);
    const auto step_size = static_cast<float>(lr / (1.0 - std::pow(cfg_.beta1, t)));
    const auto inv_bc2_sqrt = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(cfg_.beta2, t)));
    const auto eps = static_cast<float>(cfg_.eps);
    const float decay = 1.0f - flr * wd;
    for (size_t k = 0; k < params_.size(); ++k) {
      Tensor g = grads[k];
      if (!g.defined()) continue;
      // The loop walks memory, so the gradient must share the parameter's layout.
      if (g.strides() != params_[k].strides() || g.scalar_type() != torch::kFloat32) {
        Tensor same =
            torch::empty_strided(params_[k].sizes(), params_[k].strides(), params_[k].options());
        same.copy_(g);
        g = same;
      }
      const float* gp = g.data_ptr<float>();
      const int64_t off = offsets_[k];
      float* p = base + off;
      float* m = m_base ? m_base + off : nullptr;
      float* v = v_base ? v_base + off : nullptr;
      const int64_t n = params_[k].numel();
      if (cfg_.type == OptimizerType::kSgd) {
        at::parallel_for(0, n, 1 << 15, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) {
            float d = gp[i] + wd * p[i];
            if (m != nullptr) {
              m[i] = first ? d : mom * m[i] + d;
              d = cfg_.nesterov ? d + mom * m[i] : m[i];
            }
            p[i] -= flr * d;
          }
        });
        continue;
      }
      at::parallel_for(0, n, 1 << 15, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          float gi = gp[i];
          float pi = p[i];
          if (decoupled)
            pi *= decay;
          else
            gi += wd * pi;
          const float mi = m[i] * b1 + gi * (1.0f - b1);
          const float vi = v[i] * b2 + gi * gi * (1.0f - b2);
          m[i] = mi;
          v[i] = vi;
          p[i] = pi - step_size * mi / (std::sqrt(vi) * inv_bc2_sqrt + eps);
        }
      });
    }
  }

  // Other devices: gather the gradients into one flat buffer, then a few whole-buffer kernels.
  void step_tensor(const std::vector<Tensor>& grads, double lr) {
    torch::NoGradGuard no_grad;
    for (size_t k = 0; k < params_.size(); ++k) {
      if (grads[k].defined())
        grad_views_[k].copy_(grads[k]);
      else
        grad_views_[k].zero_();
    }
    const double wd = weight_decay_;
    if (cfg_.type == OptimizerType::kSgd) {
      Tensor d = wd != 0.0 ? grads_.add(flat_, wd) : grads_.clone();
      if (m_.defined()) {
        if (steps_ == 1)
          m_.copy_(d);
        else
          m_.mul_(cfg_.momentum).add_(d);
        d = cfg_.nesterov ? d.add(m_, cfg_.momentum) : m_;
      }
      flat_.add_(d, -lr);
      return;
    }
    Tensor g = grads_;
    if (cfg_.type == OptimizerType::kAdamW)
      flat_.mul_(1.0 - lr * wd);
    else if (wd != 0.0)
      g = grads_.add(flat_, wd);
    const double t = static_cast<double>(steps_);
    m_.mul_(cfg_.beta1).add_(g, 1.0 - cfg_.beta1);
    v_.mul_(cfg_.beta2).addcmul_(g, g, 1.0 - cfg_.beta2);
    const Tensor denom = (v_.sqrt() / std::sqrt(1.0 - std::pow(cfg_.beta2, t))).add_(cfg_.eps);
    flat_.addcdiv_(m_, denom, -lr / (1.0 - std::pow(cfg_.beta1, t)));
  }

  OptimizerConfig cfg_;
  double weight_decay_;
  std::vector<Tensor> params_;
  std::vector<int64_t> offsets_;
  Tensor flat_, m_, v_;
  Tensor grads_;                    // non-CPU devices only
  std::vector<Tensor> grad_views_;  // views of grads_ shaped as the parameters
  int64_t steps_ = 0;
};

// Learning rate at (1-based) epoch `epoch`, batch `batch` of `per_epoch`, for `total` epochs.
double learning_rate(const PipelineConfig& c, int64_t epoch, int64_t batch, int64_t per_epoch,
                     int64_t total) {
  const double base = c.optimizer.lr;
  const auto& s = c.schedule;
  const int64_t t = (epoch - 1) * per_epoch + batch;
  const int64_t warm = int64_t{s.warmup_epochs} * per_epoch;
  if (t < warm) return base * static_cast<double>(t + 1) / static_cast<double>(warm);
  switch (s.type) {
    case ScheduleType::kNone:
      return base;
    case ScheduleType::kStep: {
      const int64_t k = std::max<int64_t>(0, epoch - 1 - s.warmup_epochs) / s.step_size;
      return base * std::pow(s.gamma, static_cast<double>(k));
    }
    case ScheduleType::kCosine: {
      const int64_t span = std::max<int64_t>(1, total * per_epoch - warm);
      const double progress =
          std::min(1.0, static_cast<double>(t - warm) / static_cast<double>(span));
      return s.min_lr + (base - s.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
  }
  return base;
}

struct DeviceData {
  Tensor x, y;
  int64_t rows = 0;
};

// Wraps a split's buffers without copying on CPU (the Dataset outlives the trial's tensors).
DeviceData to_device(const Dataset& ds, const Split& s, torch::Device device) {
  DeviceData d;
  d.rows = s.rows;
  std::vector<int64_t> shape = {s.rows};
  shape.insert(shape.end(), ds.input_shape.begin(), ds.input_shape.end());
  d.x = torch::from_blob(const_cast<float*>(s.x.data()), shape, torch::kFloat32);
  if (ds.task == TaskKind::kClassification)
    d.y = torch::from_blob(const_cast<int64_t*>(s.labels.data()), {s.rows}, torch::kInt64);
  else
    d.y = torch::from_blob(const_cast<float*>(s.values.data()), {s.rows}, torch::kFloat32);
  if (!device.is_cpu()) {
    d.x = d.x.to(device);
    d.y = d.y.to(device);
  }
  return d;
}

class Loss {
 public:
  Loss(LossType type, double delta) : type_(type), delta_(delta) {}
  [[nodiscard]] Tensor operator()(const Tensor& out, const Tensor& y, bool sum = false) const {
    const auto reduction = sum ? at::Reduction::Sum : at::Reduction::Mean;
    switch (type_) {
      case LossType::kCrossEntropy:
        return at::cross_entropy_loss(out, y, {}, reduction);
      case LossType::kMse:
        return at::mse_loss(out.squeeze(1), y, reduction);
      case LossType::kHuber:
        return at::huber_loss(out.squeeze(1), y, reduction, delta_);
    }
    return {};
  }

 private:
  LossType type_;
  double delta_;
};

std::string fmt(double v) { return json(v).dump(); }

// A network (linear, mlp, cnn) trained epoch by epoch.
class Trial final : public detail::Member {
 public:
  Trial(const TrialSpec& req, PipelineConfig cfg, std::shared_ptr<const Dataset> ds)
      : req_(req),
        cfg_(std::move(cfg)),
        ds_(std::move(ds)),
        device_(torch::kCPU),
        gen_(detail::make_generator(req.seed)),
        loss_(cfg_.loss.value_or(ds_->task == TaskKind::kClassification ? LossType::kCrossEntropy
                                                                        : LossType::kMse),
              cfg_.huber_delta) {
    // A pipeline trial trains on one device: the first it was given.
    if (!req.gpus.empty() && torch::cuda::is_available())
      device_ = torch::Device(torch::kCUDA, static_cast<int8_t>(req.gpus.front()));
    layers_ = detail::describe_model(cfg_.model, ds_->input_shape, ds_->outputs);
    model_ = detail::build_sequential(layers_, gen_);
    model_->to(device_);
    std::vector<Tensor> params;
    for (const auto& p : model_->parameters()) params.push_back(p);
    optim_ = std::make_unique<FlatOptimizer>(params, cfg_.optimizer, device_);
    train_ = to_device(*ds_, ds_->train, device_);
    valid_ = to_device(*ds_, ds_->validation, device_);
    total_epochs_ = req.max_steps.value_or(cfg_.epochs);
    per_epoch_ = (train_.rows + cfg_.batch_size - 1) / cfg_.batch_size;
    // A last batch of one row breaks batch norm in training mode: it joins the batch before.
    if (per_epoch_ > 1 && train_.rows % cfg_.batch_size == 1) --per_epoch_;
  }

  // One more epoch of training; its metrics join the history.
  json train_one(int64_t epoch) override {
    json m = train_epoch(epoch);
    history_.push_back(m);
    return m;
  }

  // Metrics without training (a trial asked for no further epochs).
  json untrained_metrics(int64_t epoch) override { return evaluate_epoch_metrics(0.0, epoch); }

  [[nodiscard]] int64_t total_epochs() const override { return total_epochs_; }
  [[nodiscard]] const std::vector<json>& history() const override { return history_; }

 private:
  json train_epoch(int64_t epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    model_->train();
    Tensor perm = torch::randperm(train_.rows, gen_, torch::TensorOptions().dtype(torch::kInt64));
    if (!device_.is_cpu()) perm = perm.to(device_);
    const Tensor xs = train_.x.index_select(0, perm);
    const Tensor ys = train_.y.index_select(0, perm);
    Tensor loss_sum =
        torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
    double lr = cfg_.optimizer.lr;
    for (int64_t b = 0; b < per_epoch_; ++b) {
      const int64_t start = b * cfg_.batch_size;
      const int64_t len = b + 1 == per_epoch_ ? train_.rows - start : cfg_.batch_size;
      const Tensor xb = xs.narrow(0, start, len);
      const Tensor yb = ys.narrow(0, start, len);
      const Tensor out = model_->forward(xb);
      const Tensor loss = loss_(out, yb);
      const auto grads =
          torch::autograd::grad({loss}, optim_->parameters(), {}, false, false, true);
      lr = learning_rate(cfg_, epoch, b, per_epoch_, total_epochs_);
      optim_->step(grads, lr);
      torch::NoGradGuard no_grad;
      loss_sum.add_(loss.detach(), static_cast<double>(len));
    }
    const double train_loss = loss_sum.item<double>() / static_cast<double>(train_.rows);
    if (!std::isfinite(train_loss))
      throw TrialFailure{"training diverged: train_loss is " + fmt(train_loss) + " at epoch " +
                         std::to_string(epoch) + " (learning rate " + fmt(lr) + ")"};
    json m = evaluate_epoch_metrics(train_loss, epoch);
    m["lr"] = lr;
    m["time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return m;
  }

  json evaluate_epoch_metrics(double train_loss, int64_t epoch) {
    json m = evaluate(valid_);
    const double val_loss = m["val_loss"].get<double>();
    if (!std::isfinite(val_loss))
      throw TrialFailure{"training diverged: val_loss is " + fmt(val_loss) + " at epoch " +
                         std::to_string(epoch)};
    m["train_loss"] = train_loss;
    return m;
  }

  // Metrics of the model on `d`, in eval mode, in large batches, without autograd.
  json evaluate(const DeviceData& d) {
    torch::NoGradGuard no_grad;
    model_->eval();
    const bool classification = ds_->task == TaskKind::kClassification;
    const int64_t k = ds_->outputs;
    Tensor outputs = torch::empty({d.rows, classification ? k : 1}, torch::kFloat32);
    double loss_sum = 0.0;
    for (int64_t start = 0; start < d.rows; start += cfg_.eval_batch_size) {
      const int64_t len = std::min<int64_t>(cfg_.eval_batch_size, d.rows - start);
      const Tensor out = model_->forward(d.x.narrow(0, start, len));
      loss_sum += loss_(out, d.y.narrow(0, start, len), true).item<double>();
      const Tensor host = classification ? torch::softmax(out, 1).cpu() : out.cpu();
      outputs.narrow(0, start, len).copy_(host);
    }
    model_->train();
    json m;
    if (classification) {
      const Tensor labels = d.y.cpu().contiguous();
      m = classification_metrics(outputs.data_ptr<float>(), d.rows, k, labels.data_ptr<int64_t>());
    } else {
      const Tensor truth = d.y.cpu().contiguous();
      m = regression_metrics(outputs.data_ptr<float>(), truth.data_ptr<float>(), d.rows,
                             ds_->target.mean, ds_->target.scale);
    }
    m["val_loss"] = loss_sum / static_cast<double>(d.rows);
    return m;
  }

 public:
  // ---- checkpoints ----

  // This model's state under `prefix` in `d`; returns its meta record.
  json save_state(c10::Dict<std::string, Tensor>& d, const std::string& prefix,
                  int64_t epoch) const override {
    for (const auto& [name, t] : detail::state_dict(*model_))
      d.insert(prefix + "model." + name, t.detach().cpu().clone());
    optim_->save(d, prefix);
    d.insert(prefix + "generator", gen_.get_state());
    return {{"format", "hypertune-checkpoint"},
            {"version", 1},
            {"epoch", epoch},
            {"optimizer_steps", optim_->steps()},
            {"layers", layers_},
            {"dataset", ds_->key},
            {"history", history_}};
  }

  // Restores what save_state() wrote under `prefix` (m: its meta record); returns the epoch.
  int64_t load_state(const std::map<std::string, Tensor>& d, const std::string& prefix,
                     const json& m, const std::string& path) override {
    if (m.at("layers") != layers_)
      throw TrialFailure{"checkpoint '" + path +
                         "' was written for a different model: " + m.at("layers").dump()};
    const int64_t epoch = m.at("epoch").get<int64_t>();
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : detail::state_dict(*model_)) {
      const auto it = d.find(prefix + "model." + name);
      if (it == d.end() || it->second.sizes() != t.sizes())
        throw TrialFailure{"checkpoint '" + path + "' lacks a matching tensor for '" + prefix +
                           name + "'"};
      t.copy_(it->second);
    }
    optim_->load(d, m.at("optimizer_steps").get<int64_t>(), prefix);
    const auto git = d.find(prefix + "generator");
    if (git == d.end()) throw TrialFailure{"checkpoint '" + path + "' has no generator state"};
    gen_.set_state(git->second);
    history_.clear();
    for (const auto& h : m.at("history")) history_.push_back(h);
    return epoch;
  }

  // ---- export ----

  // Adds test_* metrics when the data has a test split.
  void add_test_metrics(json& metrics) override {
    if (!ds_->test) return;
    const DeviceData test = to_device(*ds_, *ds_->test, device_);
    json t = evaluate(test);
    for (const auto& [k, v] : t.items()) metrics[k == "val_loss" ? "test_loss" : "test_" + k] = v;
  }

  // Validation outputs on the host: class probabilities (rows x classes), or values in the
  // target's units (rows x 1); and the truth (class index, or value in the target's units).
  std::pair<Tensor, Tensor> validation_outputs() override {
    torch::NoGradGuard no_grad;
    model_->eval();
    const bool classification = ds_->task == TaskKind::kClassification;
    const DeviceData& d = valid_;
    Tensor outputs = torch::empty({d.rows, classification ? ds_->outputs : 1}, torch::kFloat32);
    for (int64_t start = 0; start < d.rows; start += cfg_.eval_batch_size) {
      const int64_t len = std::min<int64_t>(cfg_.eval_batch_size, d.rows - start);
      const Tensor out = model_->forward(d.x.narrow(0, start, len));
      outputs.narrow(0, start, len)
          .copy_(classification ? torch::softmax(out, 1).cpu()
                                : (out * ds_->target.scale + ds_->target.mean).cpu());
    }
    model_->train();
    Tensor truth = d.y.cpu().to(torch::kFloat64);
    if (!classification) truth = truth * ds_->target.scale + ds_->target.mean;
    return {outputs, truth};
  }

  // Writes weights.pt, model.json and metrics.json of this model into `dir`.
  void export_to(const fs::path& dir, const json& metrics, int64_t epoch) override {
    fs::create_directories(dir);
    c10::Dict<std::string, Tensor> weights;
    for (const auto& [name, t] : detail::state_dict(*model_))
      weights.insert(name, t.detach().cpu().contiguous().clone());
    write_bytes_atomic((dir / "weights.pt").string(), torch::pickle_save(weights));
    json model = {{"format", "hypertune-model"},
                  {"version", 1},
                  {"task", to_string(ds_->task)},
                  {"input_shape", ds_->input_shape},
                  {"outputs", ds_->outputs},
                  {"layers", layers_},
                  {"loss", to_string(cfg_.loss.value_or(ds_->task == TaskKind::kClassification
                                                            ? LossType::kCrossEntropy
                                                            : LossType::kMse))},
                  {"preprocessing", ds_->preprocessing},
                  {"target", to_json(ds_->target)},
                  {"seed", req_.seed},
                  {"params", req_.params},
                  {"epochs", epoch}};
    write_text_atomic((dir / "model.json").string(), model.dump(2) + "\n");
    json summary = {{"final", metrics},
                    {"epochs", epoch},
                    {"history", history_},
                    {"dropped_missing_target", ds_->dropped_missing_target}};
    write_text_atomic((dir / "metrics.json").string(), summary.dump(2) + "\n");
  }

 private:
  const TrialSpec& req_;
  PipelineConfig cfg_;
  std::shared_ptr<const Dataset> ds_;
  torch::Device device_;
  at::Generator gen_;
  Loss loss_;
  json layers_;
  torch::nn::Sequential model_{nullptr};
  std::unique_ptr<FlatOptimizer> optim_;
  DeviceData train_, valid_;
  int64_t total_epochs_ = 0;
  int64_t per_epoch_ = 0;
  std::vector<json> history_;
};

// Runs one model (holdout) or one per fold (k-fold) epoch by epoch; with folds, every epoch trains
// each fold's model once and the hook sees the mean of their metrics (time_s: the sum).
class Runner {
 public:
  Runner(const TrialSpec& req, std::vector<std::unique_ptr<detail::Member>> trials)
      : req_(req), trials_(std::move(trials)) {}

  Outcome run(const EpochHook& on_epoch, const std::function<bool()>& stop_requested) {
    int64_t epoch = 0;
    if (req_.checkpoint) epoch = load_checkpoint(*req_.checkpoint);
    std::optional<int64_t> pause_at = req_.pause_at;
    const int64_t total = trials_[0]->total_epochs();
    json last;
    if (!trials_[0]->history().empty()) last = mean_of_history(trials_[0]->history().size() - 1);
    while (epoch < total) {
      if (stop_requested && stop_requested()) return paused(epoch);
      ++epoch;
      std::vector<json> per_fold;
      for (auto& t : trials_) per_fold.push_back(t->train_one(epoch));
      last = mean(per_fold);
      // Epochs up to start_step were reported before; without a checkpoint that far (none, or an
      // older one) they are trained again silently, which reproduces the same state.
      if (epoch <= req_.start_step) continue;
      const Verdict verdict = on_epoch ? on_epoch(epoch, last) : Verdict{};
      if (verdict.decision == Decision::kPrune) {
        Outcome r = Outcome::pruned(epoch);
        r.metrics = last;
        return r;
      }
      if (verdict.next_pause) pause_at = verdict.next_pause;
      if (verdict.decision == Decision::kPause || (pause_at && epoch == *pause_at))
        return paused(epoch);
      // Early stopping: every model (each fold's) has stopped improving.
      if (std::all_of(trials_.begin(), trials_.end(), [](const auto& t) { return t->stopped_early(); })) break;
    }
    if (last.is_null()) {
      std::vector<json> per_fold;
      for (auto& t : trials_) per_fold.push_back(t->untrained_metrics(epoch));
      last = mean(per_fold);
    }
    return complete(epoch);
  }

 private:
  [[nodiscard]] bool folded() const { return trials_.size() > 1; }
  [[nodiscard]] std::string prefix(size_t i) const {
    return folded() ? "fold" + std::to_string(i) + "." : std::string();
  }

  static json mean(const std::vector<json>& per_fold) {
    if (per_fold.size() == 1) return per_fold[0];
    json m = json::object();
    for (const auto& [k, v] : per_fold[0].items()) {
      if (!v.is_number()) continue;
      double sum = 0.0;
      bool all = true;
      for (const auto& f : per_fold) {
        const auto it = f.find(k);
        if (it == f.end() || !it->is_number()) {
          all = false;
          break;
        }
        sum += it->get<double>();
      }
      if (all) m[k] = k == "time_s" ? sum : sum / static_cast<double>(per_fold.size());
    }
    return m;
  }

  json mean_of_history(size_t i) const {
    std::vector<json> per_fold;
    for (const auto& t : trials_) per_fold.push_back(t->history().at(i));
    return mean(per_fold);
  }

  Outcome paused(int64_t epoch) {
    if (req_.checkpoint_dir.empty())
      throw TrialFailure{"asked to pause at epoch " + std::to_string(epoch) +
                         " but the trial has no checkpoint_dir"};
    c10::Dict<std::string, Tensor> d;
    json meta;
    if (!folded()) {
      meta = trials_[0]->save_state(d, "", epoch);
    } else {
      meta = {{"format", "hypertune-checkpoint"},
              {"version", 1},
              {"epoch", epoch},
              {"folds", trials_.size()},
              {"fold_meta", json::array()}};
      for (size_t i = 0; i < trials_.size(); ++i)
        meta["fold_meta"].push_back(trials_[i]->save_state(d, prefix(i), epoch));
    }
    const std::string text = meta.dump();
    d.insert("meta", torch::from_blob(const_cast<char*>(text.data()),
                                      {static_cast<int64_t>(text.size())}, torch::kUInt8)
                         .clone());
    fs::create_directories(req_.checkpoint_dir);
    const std::string path = (fs::path(req_.checkpoint_dir) / "checkpoint.pt").string();
    write_bytes_atomic(path, torch::pickle_save(d));
    Outcome r = Outcome::paused(path, epoch);
    r.metrics = trials_[0]->history().empty() ? json::object()
                                              : mean_of_history(trials_[0]->history().size() - 1);
    return r;
  }

  int64_t load_checkpoint(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw TrialFailure{"cannot open checkpoint '" + path + "'"};
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::map<std::string, Tensor> d;
    try {
      const auto dict = torch::pickle_load(bytes).toGenericDict();
      for (const auto& e : dict) d.emplace(e.key().toStringRef(), e.value().toTensor());
    } catch (const c10::Error& e) {
      throw TrialFailure{"checkpoint '" + path + "' is unreadable: " + e.what_without_backtrace()};
    }
    const auto mit = d.find("meta");
    if (mit == d.end()) throw TrialFailure{"checkpoint '" + path + "' has no meta record"};
    const Tensor raw = mit->second.contiguous();
    const json m = json::parse(
        std::string(static_cast<const char*>(raw.data_ptr()), static_cast<size_t>(raw.numel())));
    const auto folds = m.value("folds", size_t{1});
    if (folds != trials_.size())
      throw TrialFailure{"checkpoint '" + path + "' holds " + std::to_string(folds) +
                         " fold model(s), the trial trains " + std::to_string(trials_.size())};
    if (!folded()) return trials_[0]->load_state(d, "", m, path);
    int64_t epoch = 0;
    for (size_t i = 0; i < trials_.size(); ++i)
      epoch = trials_[i]->load_state(d, prefix(i), m.at("fold_meta").at(i), path);
    return epoch;
  }

  Outcome complete(int64_t epoch) {
    std::vector<json> finals;
    for (size_t i = 0; i < trials_.size(); ++i) {
      json f = trials_[i]->final_metrics(epoch);
      trials_[i]->add_test_metrics(f);
      finals.push_back(std::move(f));
    }
    const json metrics = mean(finals);
    Outcome r = Outcome::complete(metrics, epoch);
    if (req_.checkpoint_dir.empty()) return r;
    const fs::path dir = model_dir(req_);
    fs::create_directories(dir);
    std::vector<Tensor> outputs, truths;
    for (size_t i = 0; i < trials_.size(); ++i) {
      const fs::path member = folded() ? dir / ("fold-" + std::to_string(i)) : dir;
      trials_[i]->export_to(member, finals[i], epoch);
      auto [o, t] = trials_[i]->validation_outputs();
      outputs.push_back(o);
      truths.push_back(t);
    }
    c10::Dict<std::string, Tensor> v;
    v.insert("outputs", torch::cat(outputs, 0).contiguous());
    v.insert("truth", torch::cat(truths, 0).contiguous());
    write_bytes_atomic((dir / "validation.pt").string(), torch::pickle_save(v));
    if (folded()) {
      json members = json::array();
      for (size_t i = 0; i < trials_.size(); ++i) members.push_back("fold-" + std::to_string(i));
      json history = json::array();
      for (size_t e = 0; e < trials_[0]->history().size(); ++e) history.push_back(mean_of_history(e));
      const json manifest = {{"format", "hypertune-ensemble"},
                             {"version", 1},
                             {"combine", "mean"},
                             {"source", "k-fold"},
                             {"members", members},
                             {"params", req_.params},
                             {"epochs", epoch}};
      write_text_atomic((dir / "model.json").string(), manifest.dump(2) + "\n");
      const json summary = {{"final", metrics},
                            {"epochs", epoch},
                            {"folds", trials_.size()},
                            {"history", history}};
      write_text_atomic((dir / "metrics.json").string(), summary.dump(2) + "\n");
    }
    return r;
  }

  const TrialSpec& req_;
  std::vector<std::unique_ptr<detail::Member>> trials_;
};

// OpenBLAS (pthread build) runs its own thread pool beside LibTorch's: at::set_num_threads does
// not reach it, and its default of one thread per core makes small matrix products on a busy
// 2-core machine several times slower. Found at run time so other BLAS builds need nothing.
void set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  static const auto fn =
      reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (fn != nullptr) fn(threads);
}

bool is_out_of_memory(const std::string& what) {
  return what.find("out of memory") != std::string::npos ||
         what.find("DefaultCPUAllocator: can't allocate") != std::string::npos;
}

Outcome failed(std::string why) { return Outcome::failed(std::move(why)); }

}  // namespace

std::string model_dir(const TrialSpec& spec) { return (fs::path(spec.checkpoint_dir) / "model").string(); }

Outcome train(const TrialSpec& request, const EpochHook& on_epoch, const std::function<bool()>& stop_requested) {
  try {
    const auto pipeline = request.trial.find("pipeline");
    if (pipeline == request.trial.end()) return failed("trial.pipeline: missing pipeline section");
    at::set_num_threads(std::max(1, request.threads));
    set_blas_threads(std::max(1, request.threads));
    const json section = substitute_params(*pipeline, request.params);
    PipelineConfig cfg = parse_pipeline(section, request.work_dir);
    const int64_t total = request.max_steps.value_or(cfg.epochs);
    if (total < 1) return failed("max_steps (epochs) must be >= 1, got " + std::to_string(total));
    std::shared_ptr<const Dataset> ds = load_dataset(cfg.data, cfg.task);
    const auto names = metric_names(ds->task, ds->outputs == 2);
    if (std::find(names.begin(), names.end(), request.metric) == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      return failed("objective metric '" + request.metric + "' is not reported by this " +
                    to_string(ds->task) + " pipeline; it reports: " + list);
    }
    if (cfg.loss) {
      const bool classification = ds->task == TaskKind::kClassification;
      if (classification != (*cfg.loss == LossType::kCrossEntropy))
        return failed(std::string("trial.pipeline.loss: ") + to_string(*cfg.loss) +
                      " does not fit the " + to_string(ds->task) + " task of this data");
    }
    // Gradient-boosted trees (pipelines/boosted.cpp) or a network (Trial, above).
    auto member = [&](PipelineConfig c, std::shared_ptr<const Dataset> d) -> std::unique_ptr<detail::Member> {
      if (c.model.type == ModelType::kXgboost) return detail::make_boosted_member(request, std::move(c), std::move(d));
      return std::make_unique<Trial>(request, std::move(c), std::move(d));
    };
    std::vector<std::unique_ptr<detail::Member>> trials;
    if (cfg.data.folds > 1 && !cfg.data.validation) {
      // One model per fold, each on its own load of the data (validation = that fold).
      for (int f = 0; f < cfg.data.folds; ++f) {
        PipelineConfig fc = cfg;
        fc.data.fold = f;
        std::shared_ptr<const Dataset> fds = f == cfg.data.fold ? ds : load_dataset(fc.data, fc.task);
        trials.push_back(member(std::move(fc), std::move(fds)));
      }
    } else {
      trials.push_back(member(std::move(cfg), std::move(ds)));
    }
    Runner runner(request, std::move(trials));
    return runner.run(on_epoch, stop_requested);
  } catch (const TrialFailure& f) {
    return failed(f.reason);
  } catch (const Error& e) {
    return failed(e.what());
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    return failed(is_out_of_memory(what) ? "out of memory: " + what : "LibTorch error: " + what);
  } catch (const std::bad_alloc&) {
    return failed("out of memory (host allocation failed)");
  } catch (const std::exception& e) {
    return failed(std::string("unexpected error: ") + e.what());
  }
}

}  // namespace hypertune::pipelines
