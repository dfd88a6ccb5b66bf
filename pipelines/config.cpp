#include "pipelines/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <utility>

namespace hypertune::pipelines {

namespace {

using nlohmann::json;

template <typename E>
using EnumTable = std::vector<std::pair<const char*, E>>;

const EnumTable<DataFormat> kFormats = {{"csv", DataFormat::kCsv}, {"idx", DataFormat::kIdx}};
const EnumTable<TaskKind> kTasks = {{"classification", TaskKind::kClassification},
                                    {"regression", TaskKind::kRegression}};
const EnumTable<ModelType> kModels = {
    {"linear", ModelType::kLinear}, {"mlp", ModelType::kMlp}, {"cnn", ModelType::kCnn}, {"xgboost", ModelType::kXgboost}};
const EnumTable<ClassWeight> kClassWeights = {{"none", ClassWeight::kNone}, {"balanced", ClassWeight::kBalanced}};
const EnumTable<Activation> kActivations = {{"relu", Activation::kRelu},
                                            {"gelu", Activation::kGelu},
                                            {"tanh", Activation::kTanh},
                                            {"silu", Activation::kSilu}};
const EnumTable<PoolType> kPools = {{"max", PoolType::kMax}, {"avg", PoolType::kAvg}};
const EnumTable<OptimizerType> kOptimizers = {
    {"adamw", OptimizerType::kAdamW}, {"adam", OptimizerType::kAdam}, {"sgd", OptimizerType::kSgd}};
const EnumTable<ScheduleType> kSchedules = {{"none", ScheduleType::kNone},
                                            {"cosine", ScheduleType::kCosine},
                                            {"step", ScheduleType::kStep}};
const EnumTable<LossType> kLosses = {{"cross_entropy", LossType::kCrossEntropy},
                                     {"mse", LossType::kMse},
                                     {"huber", LossType::kHuber}};

template <typename E>
const char* enum_name(const EnumTable<E>& table, E value) {
  for (const auto& [name, v] : table)
    if (v == value) return name;
  return "?";
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// "{name}" -> name.
std::optional<std::string> placeholder_name(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() < 3 || s.front() != '{' || s.back() != '}') return std::nullopt;
  const std::string name = s.substr(1, s.size() - 2);
  if (name.find_first_of("{} ") != std::string::npos) return std::nullopt;
  return name;
}

std::string describe(const json& v) {
  std::string text = v.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text + " (" + v.type_name() + ")";
}

// Walks a pipeline section, records every issue and fills a PipelineConfig with what is valid.
// `params` is null when parsing a substituted section, else the parameter names of the space
// (validation mode: placeholders are accepted for any field).
class Reader {
 public:
  Reader(std::vector<ConfigIssue>& issues, const std::vector<std::string>* params,
         std::string base_dir)
      : issues_(issues), params_(params), base_dir_(std::move(base_dir)) {}

  void issue(const std::string& path, const std::string& message) {
    issues_.push_back({path, message});
  }

  bool object(const json& j, const std::string& path) {
    if (j.is_object()) return true;
    issue(path, "expected a mapping, got " + describe(j));
    return false;
  }

  void known_keys(const json& obj, const std::string& path, const std::vector<std::string>& keys) {
    for (const auto& [key, value] : obj.items()) {
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
      std::string best;
      size_t best_d = std::numeric_limits<size_t>::max();
      for (const auto& k : keys) {
        const size_t d = edit_distance(key, k);
        if (d < best_d) best_d = d, best = k;
      }
      std::string msg = "unknown key '" + key + "'";
      if (best_d <= std::max<size_t>(2, key.size() / 3))
        msg += " (did you mean '" + best + "'?)";
      else {
        msg += "; expected one of:";
        for (const auto& k : keys) msg += " " + k;
      }
      issue(join_path(path, key), msg);
    }
  }

  // Returns the value to read, or nullptr when absent or a (checked) placeholder.
  const json* field(const json& obj, const std::string& key, const std::string& path) {
    const auto it = obj.find(key);
    if (it == obj.end()) return nullptr;
    if (params_ != nullptr) {
      if (const auto name = placeholder_name(*it)) {
        if (std::find(params_->begin(), params_->end(), *name) == params_->end())
          issue(join_path(path, key),
                "placeholder '{" + *name + "}' names no parameter of the search space");
        return nullptr;
      }
    }
    return &*it;
  }

  void integer(const json& obj, const std::string& key, const std::string& path, int64_t& out,
               int64_t lo, int64_t hi) {
    const json* v = field(obj, key, path);
    if (v == nullptr) return;
    const std::string p = join_path(path, key);
    double d = 0;
    if (v->is_number_integer())
      d = static_cast<double>(v->get<int64_t>());
    else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>())
      d = v->get<double>();
    else {
      issue(p, "expected an integer, got " + describe(*v));
      return;
    }
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
      issue(p, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                   "], got " + v->dump());
      return;
    }
    out = static_cast<int64_t>(d);
  }

  void integer(const json& obj, const std::string& key, const std::string& path, int& out,
               int64_t lo, int64_t hi) {
    int64_t wide = out;
    integer(obj, key, path, wide, lo, hi);
    out = static_cast<int>(wide);
  }

  void optional_integer(const json& obj, const std::string& key, const std::string& path,
                        std::optional<int64_t>& out, int64_t lo, int64_t hi) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return;
    if (field(obj, key, path) == nullptr) return;  // a placeholder, already checked
    int64_t v = lo;
    const size_t before = issues_.size();
    integer(obj, key, path, v, lo, hi);
    if (issues_.size() == before) out = v;
  }

  // Bounds: lo <= x <= hi; open ends excluded when the flags say so.
  void number(const json& obj, const std::string& key, const std::string& path, double& out,
              double lo, double hi, bool lo_open = false, bool hi_open = false) {
    const json* v = field(obj, key, path);
    if (v == nullptr) return;
    const std::string p = join_path(path, key);
    if (!v->is_number()) {
      issue(p, "expected a number, got " + describe(*v));
      return;
    }
    const double d = v->get<double>();
    const bool below = lo_open ? !(d > lo) : !(d >= lo);
    const bool above = hi_open ? !(d < hi) : !(d <= hi);
    if (!std::isfinite(d) || below || above) {
      auto fmt = [](double x) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", x);
        return std::string(buf);
      };
      issue(p, std::string("expected a number in ") + (lo_open ? "(" : "[") + fmt(lo) + ", " +
                   fmt(hi) + (hi_open ? ")" : "]") + ", got " + v->dump());
      return;
    }
    out = d;
  }

  void optional_number(const json& obj, const std::string& key, const std::string& path,
                       std::optional<double>& out, double lo, double hi) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return;
    if (field(obj, key, path) == nullptr) return;  // a placeholder, already checked
    double v = lo;
    const size_t before = issues_.size();
    number(obj, key, path, v, lo, hi);
    if (issues_.size() == before) out = v;
  }

  void boolean(const json& obj, const std::string& key, const std::string& path, bool& out) {
    const json* v = field(obj, key, path);
    if (v == nullptr) return;
    if (!v->is_boolean()) {
      issue(join_path(path, key), "expected true or false, got " + describe(*v));
      return;
    }
    out = v->get<bool>();
  }

  // Reads a string; returns false when absent, null or a placeholder.
  bool string(const json& obj, const std::string& key, const std::string& path, std::string& out) {
    const json* v = field(obj, key, path);
    if (v == nullptr || v->is_null()) return false;
    if (!v->is_string() || v->get_ref<const std::string&>().empty()) {
      issue(join_path(path, key), "expected a non-empty string, got " + describe(*v));
      return false;
    }
    out = v->get<std::string>();
    return true;
  }

  void optional_string(const json& obj, const std::string& key, const std::string& path,
                       std::optional<std::string>& out) {
    std::string s;
    if (string(obj, key, path, s)) out = s;
  }

  void string_list(const json& obj, const std::string& key, const std::string& path,
                   std::vector<std::string>& out) {
    const json* v = field(obj, key, path);
    if (v == nullptr || v->is_null()) return;
    const std::string p = join_path(path, key);
    if (!v->is_array()) {
      issue(p, "expected a list of column names, got " + describe(*v));
      return;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      if (!e.is_string() || e.get_ref<const std::string&>().empty()) {
        issue(p + "[" + std::to_string(i) + "]", "expected a column name, got " + describe(e));
        continue;
      }
      out.push_back(e.get<std::string>());
    }
  }

  template <typename E>
  bool enumeration(const json& obj, const std::string& key, const std::string& path,
                   const EnumTable<E>& table, E& out) {
    const json* v = field(obj, key, path);
    if (v == nullptr) return false;
    std::string expected;
    for (const auto& [name, value] : table)
      expected += (expected.empty() ? "" : ", ") + std::string(name);
    if (v->is_string()) {
      for (const auto& [name, value] : table) {
        if (v->get_ref<const std::string&>() == name) {
          out = value;
          return true;
        }
      }
    }
    issue(join_path(path, key), "expected one of " + expected + ", got " + describe(*v));
    return false;
  }

  // Resolves a data file and checks that it exists.
  void data_file(const std::string& path, const std::string& key_path, std::string& file) {
    file = resolve_path(file, base_dir_);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      issue(key_path, "data file '" + file + "' does not exist or is not a regular file");
  }

 private:
  std::vector<ConfigIssue>& issues_;
  const std::vector<std::string>* params_;
  std::string base_dir_;
};

void read_data(Reader& r, const json& j, const std::string& path, DataConfig& d) {
  if (!r.object(j, path)) return;
  r.known_keys(j, path,
               {"format", "train", "validation", "test", "target", "id", "drop", "categorical",
                "max_onehot", "hash_buckets", "train_images", "train_labels", "test_images",
                "test_labels", "split", "stratify", "split_seed", "folds", "fold", "limit",
                "test_limit"});
  r.enumeration(j, "format", path, kFormats, d.format);
  r.number(j, "split", path, d.split, 0.0, 1.0, true, true);
  r.boolean(j, "stratify", path, d.stratify);
  int64_t seed = static_cast<int64_t>(d.split_seed);
  r.integer(j, "split_seed", path, seed, 0, std::numeric_limits<int64_t>::max());
  d.split_seed = static_cast<uint64_t>(seed);
  r.integer(j, "folds", path, d.folds, 1, 100);
  r.integer(j, "fold", path, d.fold, 0, 99);
  if (d.fold >= d.folds && j.contains("fold"))
    r.issue(join_path(path, "fold"), "must be below folds (" + std::to_string(d.folds) + ")");
  if (d.folds > 1 && j.contains("validation") && !j["validation"].is_null())
    r.issue(join_path(path, "folds"), "k-fold validation cannot be combined with a validation file");
  r.optional_integer(j, "limit", path, d.limit, 2, std::numeric_limits<int64_t>::max());
  r.optional_integer(j, "test_limit", path, d.test_limit, 1, std::numeric_limits<int64_t>::max());

  // Keys of the other format are a mistake worth naming, not silently ignored.
  const std::vector<std::string> csv_only = {"train",       "validation", "test",
                                             "target",      "id",         "drop",
                                             "categorical", "max_onehot", "hash_buckets"};
  const std::vector<std::string> idx_only = {"train_images", "train_labels", "test_images",
                                             "test_labels"};
  const auto& foreign = d.format == DataFormat::kCsv ? idx_only : csv_only;
  for (const auto& k : foreign)
    if (j.contains(k) && !j[k].is_null())
      r.issue(join_path(path, k),
              std::string("not a key of format ") + (d.format == DataFormat::kCsv ? "csv" : "idx"));

  auto file = [&](const std::string& key, std::string& out, bool required) {
    if (r.string(j, key, path, out)) {
      r.data_file(out, join_path(path, key), out);
    } else if (required && !j.contains(key)) {
      r.issue(join_path(path, key),
              "required for format " + std::string(d.format == DataFormat::kCsv ? "csv" : "idx"));
    }
  };
  auto optional_file = [&](const std::string& key, std::optional<std::string>& out) {
    std::string s;
    if (r.string(j, key, path, s)) {
      r.data_file(s, join_path(path, key), s);
      out = s;
    }
  };

  if (d.format == DataFormat::kCsv) {
    file("train", d.train, true);
    optional_file("validation", d.validation);
    optional_file("test", d.test);
    r.string(j, "target", path, d.target);
    r.optional_string(j, "id", path, d.id);
    r.string_list(j, "drop", path, d.drop);
    r.string_list(j, "categorical", path, d.categorical);
    r.integer(j, "max_onehot", path, d.max_onehot, 1, 100000);
    r.integer(j, "hash_buckets", path, d.hash_buckets, 1, 1 << 20);
    if (d.id && *d.id == d.target)
      r.issue(join_path(path, "id"), "the id column cannot be the target");
    for (const auto& c : d.drop)
      if (c == d.target)
        r.issue(join_path(path, "drop"), "cannot drop the target column '" + c + "'");
  } else {
    file("train_images", d.train_images, true);
    file("train_labels", d.train_labels, true);
    optional_file("test_images", d.test_images);
    optional_file("test_labels", d.test_labels);
    auto given = [&](const char* k) { return j.contains(k) && !j[k].is_null(); };
    if (given("test_images") != given("test_labels"))
      r.issue(join_path(path, given("test_images") ? "test_labels" : "test_images"),
              "test_images and test_labels go together");
  }
}

void read_model(Reader& r, const json& j, const std::string& path, ModelConfig& m) {
  if (!r.object(j, path)) return;
  r.enumeration(j, "type", path, kModels, m.type);
  std::vector<std::string> keys = {"type", "activation", "dropout", "batch_norm"};
  if (m.type == ModelType::kLinear) keys = {"type"};
  if (m.type == ModelType::kMlp) keys.insert(keys.end(), {"layers", "width"});
  if (m.type == ModelType::kCnn)
    keys.insert(keys.end(), {"blocks", "channels", "kernel", "pool", "dense"});
  const std::vector<std::string> xgboost_keys = {"rounds", "eta", "max_depth", "min_child_weight", "subsample",
                                                 "colsample_bytree", "lambda", "alpha", "gamma", "max_bin",
                                                 "class_weight", "early_stopping"};
  if (m.type == ModelType::kXgboost) {
    keys = {"type"};
    keys.insert(keys.end(), xgboost_keys.begin(), xgboost_keys.end());
  }
  // `type: "{family}"`: the family is a parameter, so a trial may take any type's keys (the
  // conditional parameters of other families are left out of each trial by substitute_params).
  if (const auto it = j.find("type"); it != j.end() && placeholder_name(*it)) {
    keys = {"type", "activation", "dropout", "batch_norm", "layers", "width", "blocks", "channels", "kernel", "pool",
            "dense"};
    keys.insert(keys.end(), xgboost_keys.begin(), xgboost_keys.end());
    // A fixed key would reach every family, and the ones that do not use it reject it.
    for (const auto& [key, value] : j.items()) {
      if (key != "type" && !placeholder_name(value))
        r.issue(join_path(path, key), "with the model type a parameter, every other model key must be a "
                                      "placeholder too (a parameter conditional on the type; a single-value "
                                      "categorical for a fixed value), got " + describe(value));
    }
  }
  r.known_keys(j, path, keys);
  r.integer(j, "rounds", path, m.rounds, 1, 100000);
  r.number(j, "eta", path, m.eta, 0.0, 1.0, true, false);
  r.integer(j, "max_depth", path, m.max_depth, 0, 64);
  r.number(j, "min_child_weight", path, m.min_child_weight, 0.0, 1e9);
  r.number(j, "subsample", path, m.subsample, 0.0, 1.0, true, false);
  r.number(j, "colsample_bytree", path, m.colsample_bytree, 0.0, 1.0, true, false);
  r.number(j, "lambda", path, m.lambda, 0.0, 1e9);
  r.number(j, "alpha", path, m.alpha, 0.0, 1e9);
  r.number(j, "gamma", path, m.gamma, 0.0, 1e9);
  r.integer(j, "max_bin", path, m.max_bin, 2, 65536);
  r.enumeration(j, "class_weight", path, kClassWeights, m.class_weight);
  r.integer(j, "early_stopping", path, m.early_stopping, 0, 1000000);
  r.integer(j, "layers", path, m.layers, 0, 64);
  r.integer(j, "width", path, m.width, 1, 1 << 16);
  r.enumeration(j, "activation", path, kActivations, m.activation);
  r.number(j, "dropout", path, m.dropout, 0.0, 1.0, false, true);
  r.boolean(j, "batch_norm", path, m.batch_norm);
  r.integer(j, "blocks", path, m.blocks, 1, 8);
  r.integer(j, "channels", path, m.channels, 1, 4096);
  r.integer(j, "kernel", path, m.kernel, 1, 15);
  if (m.kernel % 2 == 0)
    r.issue(join_path(path, "kernel"),
            "expected an odd kernel size ('same' padding), got " + std::to_string(m.kernel));
  r.enumeration(j, "pool", path, kPools, m.pool);
  r.integer(j, "dense", path, m.dense, 0, 1 << 16);
}

void read_optimizer(Reader& r, const json& j, const std::string& path, OptimizerConfig& o) {
  if (!r.object(j, path)) return;
  r.known_keys(j, path,
               {"type", "lr", "weight_decay", "momentum", "nesterov", "beta1", "beta2", "eps"});
  r.enumeration(j, "type", path, kOptimizers, o.type);
  r.number(j, "lr", path, o.lr, 0.0, 10.0, true, false);
  r.optional_number(j, "weight_decay", path, o.weight_decay, 0.0, 10.0);
  r.number(j, "momentum", path, o.momentum, 0.0, 1.0, false, true);
  r.boolean(j, "nesterov", path, o.nesterov);
  r.number(j, "beta1", path, o.beta1, 0.0, 1.0, false, true);
  r.number(j, "beta2", path, o.beta2, 0.0, 1.0, false, true);
  r.number(j, "eps", path, o.eps, 0.0, 1.0, true, false);
  if (o.nesterov && o.momentum <= 0.0)
    r.issue(join_path(path, "nesterov"), "nesterov needs momentum > 0");
}

void read_schedule(Reader& r, const json& j, const std::string& path, ScheduleConfig& s) {
  if (!r.object(j, path)) return;
  r.known_keys(j, path, {"type", "warmup_epochs", "step_size", "gamma", "min_lr"});
  r.enumeration(j, "type", path, kSchedules, s.type);
  r.integer(j, "warmup_epochs", path, s.warmup_epochs, 0, 100000);
  r.integer(j, "step_size", path, s.step_size, 1, 100000);
  r.number(j, "gamma", path, s.gamma, 0.0, 1.0, true, false);
  r.number(j, "min_lr", path, s.min_lr, 0.0, 10.0);
}

PipelineConfig read_pipeline(Reader& r, const json& j, const std::string& path) {
  PipelineConfig c;
  if (!r.object(j, path)) return c;
  r.known_keys(j, path,
               {"data", "task", "model", "optimizer", "schedule", "batch_size", "eval_batch_size",
                "epochs", "loss", "huber_delta"});
  if (const auto it = j.find("data"); it != j.end())
    read_data(r, *it, join_path(path, "data"), c.data);
  else
    r.issue(join_path(path, "data"), "required: where the training data comes from");
  if (const auto it = j.find("model"); it != j.end())
    read_model(r, *it, join_path(path, "model"), c.model);
  if (const auto it = j.find("optimizer"); it != j.end())
    read_optimizer(r, *it, join_path(path, "optimizer"), c.optimizer);
  if (const auto it = j.find("schedule"); it != j.end())
    read_schedule(r, *it, join_path(path, "schedule"), c.schedule);
  if (const auto it = j.find("task"); it != j.end() && !it->is_null()) {
    TaskKind t{};
    if (r.enumeration(j, "task", path, kTasks, t)) c.task = t;
  }
  if (const auto it = j.find("loss"); it != j.end() && !it->is_null()) {
    LossType l{};
    if (r.enumeration(j, "loss", path, kLosses, l)) c.loss = l;
  }
  r.integer(j, "batch_size", path, c.batch_size, 1, 1 << 20);
  r.integer(j, "eval_batch_size", path, c.eval_batch_size, 1, 1 << 24);
  r.integer(j, "epochs", path, c.epochs, 1, 1000000);
  r.number(j, "huber_delta", path, c.huber_delta, 0.0, 1e12, true, false);

  if (c.model.type == ModelType::kCnn && c.data.format != DataFormat::kIdx)
    r.issue(join_path(path, "model.type"), "a cnn needs image data (data.format: idx)");
  if (c.model.type == ModelType::kXgboost && c.data.format != DataFormat::kCsv)
    r.issue(join_path(path, "model.type"), "an xgboost model needs tabular data (data.format: csv)");
  if (c.loss && c.task) {
    const bool classification = *c.task == TaskKind::kClassification;
    if (classification != (*c.loss == LossType::kCrossEntropy))
      r.issue(join_path(path, "loss"), std::string("loss ") + to_string(*c.loss) +
                                           " does not fit task " + to_string(*c.task));
  }
  if (c.data.format == DataFormat::kIdx && c.task == TaskKind::kRegression)
    r.issue(join_path(path, "task"), "idx data (images with class labels) is classification");
  return c;
}

std::string format_issues(const std::vector<ConfigIssue>& issues) {
  std::string text = std::to_string(issues.size()) + " problem(s) in the pipeline section:";
  for (const auto& i : issues) text += "\n  " + i.path + ": " + i.message;
  return text;
}

json substitute(const json& v, const json& params, const std::string& path) {
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [k, e] : v.items()) {
      // A key set to a parameter the trial does not have (a conditional parameter of another
      // branch, such as another model family's) is left out: its default applies.
      if (const auto name = placeholder_name(e); name && !params.contains(*name)) continue;
      out[k] = substitute(e, params, join_path(path, k));
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(substitute(v[i], params, path + "[" + std::to_string(i) + "]"));
    return out;
  }
  if (const auto name = placeholder_name(v)) {
    const auto it = params.find(*name);
    if (it == params.end()) {
      std::string known;
      for (const auto& [k, _] : params.items()) known += (known.empty() ? "" : ", ") + k;
      throw ConfigError(path, "placeholder '{" + *name +
                                  "}' names no parameter of this trial (parameters: " +
                                  (known.empty() ? "none" : known) + ")");
    }
    return *it;
  }
  return v;
}

}  // namespace

const char* to_string(TaskKind t) noexcept { return enum_name(kTasks, t); }
const char* to_string(ModelType t) noexcept { return enum_name(kModels, t); }
const char* to_string(Activation a) noexcept { return enum_name(kActivations, a); }
const char* to_string(PoolType p) noexcept { return enum_name(kPools, p); }
const char* to_string(LossType l) noexcept { return enum_name(kLosses, l); }

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  const std::filesystem::path p(path);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

json substitute_params(const json& section, const json& params, const std::string& where) {
  if (!params.is_object())
    throw ConfigError(where, "trial parameters must be an object, got " + describe(params));
  return substitute(section, params, where);
}

std::vector<ConfigIssue> validate_pipeline(const json& section,
                                           const std::vector<std::string>& param_names,
                                           const std::string& base_dir) {
  std::vector<ConfigIssue> issues;
  Reader r(issues, &param_names, base_dir);
  (void)read_pipeline(r, section, "trial.pipeline");
  return issues;
}

PipelineConfig parse_pipeline(const json& section, const std::string& base_dir,
                              const std::string& where) {
  std::vector<ConfigIssue> issues;
  Reader r(issues, nullptr, base_dir);
  PipelineConfig c = read_pipeline(r, section, where);
  if (!issues.empty()) throw ConfigError(where, format_issues(issues));
  return c;
}

}  // namespace hypertune::pipelines
