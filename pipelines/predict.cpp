#include "pipelines/predict.h"

#include <cmath>
#include <torch/torch.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>

#include "pipelines/files.h"
#include "pipelines/gbt.h"
#include "pipelines/idx.h"
#include "pipelines/model.h"
#include "pipelines/tabular.h"

namespace hypertune::pipelines {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Shortest text that reads back to the same float.
std::string format_number(float v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

bool looks_like_idx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, "cannot open input file");
  std::string head(4, '\0');
  in.read(head.data(), 4);
  head.resize(static_cast<size_t>(in.gcount()));
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b)
    return true;
  return head.size() == 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08;
}

std::map<std::string, torch::Tensor> load_tensor_dict(const std::string& path) {
  const std::vector<char> bytes = read_bytes(path);
  std::map<std::string, torch::Tensor> out;
  try {
    const auto dict = torch::pickle_load(bytes).toGenericDict();
    for (const auto& e : dict) out.emplace(e.key().toStringRef(), e.value().toTensor());
  } catch (const c10::Error& e) {
    throw ConfigError(path,
                      std::string("not a readable tensor dict: ") + e.what_without_backtrace());
  }
  return out;
}

}  // namespace

struct Predictor::Impl {
  std::string dir;
  json model;
  TaskKind task = TaskKind::kClassification;
  TargetEncoding target;
  bool image = false;
  Preprocessor pre;               // tabular
  std::optional<std::string> id;  // tabular id column
  int64_t height = 0, width = 0;  // image
  double mean = 0.0, sd = 1.0;    // image
  std::vector<int64_t> input_shape;
  int64_t outputs = 0;
  torch::nn::Sequential net{nullptr};
  std::optional<gbt::Booster> booster;  // model.type xgboost instead of a network
  int boosted_rounds = 0;
  std::vector<Predictor> members;  // an ensemble: the (weighted) mean of these
  std::vector<double> weights;     // one per member, summing to 1
};

Predictor::Predictor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;
Predictor::~Predictor() = default;

Predictor Predictor::load(const std::string& model_dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = model_dir;
  const std::string model_path = (fs::path(model_dir) / "model.json").string();
  try {
    impl->model = json::parse(read_file(model_path));
  } catch (const json::parse_error& e) {
    throw ConfigError(model_path, std::string("not valid JSON: ") + e.what());
  }
  const json& m = impl->model;
  if (m.is_object() && m.value("format", "") == "hypertune-ensemble") return load_ensemble(std::move(impl));
  try {
    if (m.value("format", "") != "hypertune-model")
      throw ConfigError(model_path, "not a HyperTune model description (format must be "
                                    "'hypertune-model' or 'hypertune-ensemble')");
    impl->target = target_from_json(m.at("target"), model_path);
    impl->task = impl->target.task;
    impl->input_shape = m.at("input_shape").get<std::vector<int64_t>>();
    impl->outputs = m.at("outputs").get<int64_t>();
    const json& pre = m.at("preprocessing");
    const std::string kind = pre.at("kind").get<std::string>();
    if (kind == "tabular") {
      impl->pre = Preprocessor::from_json(pre, model_path);
      if (pre.contains("id") && pre["id"].is_string()) impl->id = pre["id"].get<std::string>();
    } else if (kind == "image") {
      impl->image = true;
      impl->height = pre.at("height").get<int64_t>();
      impl->width = pre.at("width").get<int64_t>();
      impl->mean = pre.at("mean").get<double>();
      impl->sd = pre.at("std").get<double>();
    } else {
      throw ConfigError(model_path, "unknown preprocessing kind '" + kind + "'");
    }
  } catch (const json::exception& e) {
    throw ConfigError(model_path, std::string("malformed model description: ") + e.what());
  }
  if (const auto gb = m.find("model"); gb != m.end() && gb->is_object() && gb->value("type", "") == "xgboost") {
    // Gradient-boosted trees: XGBoost's own JSON model beside model.json.
    const std::string booster_path = (fs::path(model_dir) / gb->value("booster", "booster.json")).string();
    try {
      impl->booster.emplace(gbt::Booster::from_json(read_file(booster_path), {{"nthread", "1"}}, {}));
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      throw ConfigError(booster_path, e.what());
    }
    impl->boosted_rounds = gb->value("rounds", 0);
    return Predictor(std::move(impl));
  }
  // Initial values are overwritten by the weights; the generator only fills them first.
  impl->net = detail::build_sequential(m.at("layers"), detail::make_generator(0));
  const std::string weights_path = (fs::path(model_dir) / "weights.pt").string();
  const auto weights = load_tensor_dict(weights_path);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : detail::state_dict(*impl->net)) {
    const auto it = weights.find(name);
    if (it == weights.end() || it->second.sizes() != t.sizes())
      throw ConfigError(weights_path, "no tensor '" + name + "' of the shape the model needs");
    t.copy_(it->second);
  }
  impl->net->eval();
  return Predictor(std::move(impl));
}

Predictor Predictor::load_ensemble(std::unique_ptr<Impl> impl) {
  const std::string model_path = (fs::path(impl->dir) / "model.json").string();
  const json& m = impl->model;
  if (m.value("combine", "mean") != "mean")
    throw ConfigError(model_path, "unknown ensemble combine '" + m["combine"].dump() + "' (expected mean)");
  if (!m.contains("members") || !m["members"].is_array() || m["members"].empty())
    throw ConfigError(model_path, "an ensemble needs a non-empty 'members' list of model directories");
  for (const auto& name : m["members"]) {
    if (!name.is_string())
      throw ConfigError(model_path, "members: expected directory names, got " + name.dump());
    const fs::path rel(name.get<std::string>());
    bool inside = !rel.empty() && rel.is_relative();
    for (const auto& part : rel)
      if (part == "..") inside = false;
    if (!inside)
      throw ConfigError(model_path, "member '" + rel.string() +
                                        "' must be a directory inside the ensemble's directory");
    impl->members.push_back(Predictor::load((fs::path(impl->dir) / rel).string()));
    const Predictor& first = impl->members.front();
    const Predictor& last = impl->members.back();
    if (last.task() != first.task() ||
        (first.task() == TaskKind::kClassification && last.classes() != first.classes()))
      throw ConfigError(model_path, "member '" + rel.string() +
                                        "' predicts other classes or another task than member '" +
                                        m["members"][0].get<std::string>() + "'");
  }
  // `weights`: one positive number per member (greedy ensemble selection counts how often it
  // chose each); normalised to sum to 1. Absent: equal weights.
  impl->weights.assign(impl->members.size(), 1.0 / static_cast<double>(impl->members.size()));
  if (const auto w = m.find("weights"); w != m.end()) {
    if (!w->is_array() || w->size() != impl->members.size())
      throw ConfigError(model_path, "weights: expected one number per member (" +
                                        std::to_string(impl->members.size()) + "), got " + w->dump());
    double total = 0.0;
    for (size_t i = 0; i < w->size(); ++i) {
      const auto& v = (*w)[i];
      if (!v.is_number() || !(v.get<double>() > 0.0) || !std::isfinite(v.get<double>()))
        throw ConfigError(model_path, "weights[" + std::to_string(i) + "]: expected a positive number, got " +
                                          v.dump());
      impl->weights[i] = v.get<double>();
      total += impl->weights[i];
    }
    for (auto& x : impl->weights) x /= total;
  }
  impl->task = impl->members.front().task();
  impl->target = impl->members.front().impl_->target;
  return Predictor(std::move(impl));
}

bool Predictor::is_ensemble() const { return !impl_->members.empty(); }
size_t Predictor::members() const { return impl_->members.size(); }

TaskKind Predictor::task() const { return impl_->task; }
const std::vector<std::string>& Predictor::classes() const { return impl_->target.classes; }

int64_t Predictor::input_size() const {
  if (is_ensemble()) throw Error("input_size: an ensemble has no single input layout");
  int64_t n = 1;
  for (const int64_t d : impl_->input_shape) n *= d;
  return n;
}

std::vector<float> Predictor::features(const CsvTable& table) const {
  if (is_ensemble()) throw Error("features: an ensemble has no single input layout");
  const size_t rows = table.rows.size();
  std::vector<float> x(rows * static_cast<size_t>(input_size()));
  if (!impl_->image) {
    std::vector<size_t> all(rows);
    for (size_t r = 0; r < rows; ++r) all[r] = r;
    impl_->pre.transform(table, all, x.data());
    return x;
  }
  const auto pixels = static_cast<size_t>(impl_->height * impl_->width);
  if (table.header.size() != pixels)
    throw ConfigError(table.source, "an image model needs " + std::to_string(pixels) +
                                        " pixel columns (" + std::to_string(impl_->height) + "x" +
                                        std::to_string(impl_->width) + "), the file has " +
                                        std::to_string(table.header.size()));
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < pixels; ++c) {
      const auto v = parse_number(table.rows[r][c]);
      if (!v || *v < 0 || *v > 255)
        throw ConfigError(table.where(r, c),
                          "expected a pixel value 0..255, got '" + table.rows[r][c] + "'");
      x[r * pixels + c] = static_cast<float>((*v / 255.0 - impl_->mean) / impl_->sd);
    }
  return x;
}

std::vector<float> Predictor::predict_features(const std::vector<float>& x, int64_t rows) const {
  if (is_ensemble()) throw Error("predict_features: an ensemble has no single input layout");
  if (static_cast<int64_t>(x.size()) != rows * input_size())
    throw Error("predict_features: expected " + std::to_string(rows * input_size()) +
                " floats, got " + std::to_string(x.size()));
  const bool classification = impl_->task == TaskKind::kClassification;
  const int64_t k = classification ? impl_->outputs : 1;
  if (impl_->booster) {
    const gbt::Matrix m(x, static_cast<size_t>(rows), static_cast<size_t>(input_size()));
    std::vector<float> raw = impl_->booster->predict(m, impl_->boosted_rounds);
    if (!classification) {
      for (float& v : raw) v = static_cast<float>(v * impl_->target.scale + impl_->target.mean);
      return raw;
    }
    if (k > 2) return raw;
    std::vector<float> two(raw.size() * 2);
    for (size_t i = 0; i < raw.size(); ++i) {
      two[2 * i] = 1.0f - raw[i];
      two[2 * i + 1] = raw[i];
    }
    return two;
  }
  torch::NoGradGuard no_grad;
  std::vector<int64_t> shape = {rows};
  shape.insert(shape.end(), impl_->input_shape.begin(), impl_->input_shape.end());
  std::vector<float> out(static_cast<size_t>(rows * k));
  const torch::Tensor all = torch::from_blob(const_cast<float*>(x.data()), shape, torch::kFloat32);
  constexpr int64_t kChunk = 4096;
  for (int64_t start = 0; start < rows; start += kChunk) {
    const int64_t len = std::min(kChunk, rows - start);
    torch::Tensor y = impl_->net->forward(all.narrow(0, start, len));
    y = classification ? torch::softmax(y, 1) : y * impl_->target.scale + impl_->target.mean;
    y = y.contiguous();
    std::copy_n(y.data_ptr<float>(), len * k, out.data() + start * k);
  }
  return out;
}

std::vector<float> Predictor::weighted_mean(const MemberOutputs& member_outputs, std::vector<std::string>* ids_out,
                                            std::string* id_name_out) const {
  std::vector<double> sum;
  for (size_t k = 0; k < impl_->members.size(); ++k) {
    // The first member's ids stand for all (the members read the same rows).
    const std::vector<float> y =
        member_outputs(impl_->members[k], k == 0 ? ids_out : nullptr, k == 0 ? id_name_out : nullptr);
    if (k == 0) sum.assign(y.size(), 0.0);
    for (size_t i = 0; i < y.size(); ++i) sum[i] += impl_->weights[k] * y[i];
  }
  return {sum.begin(), sum.end()};
}

std::vector<float> Predictor::predict_table(const CsvTable& table, std::vector<std::string>* ids_out,
                                            std::string* id_name_out) const {
  std::vector<std::string> ids;
  std::string id_name;
  if (is_ensemble()) {
    // The file is read once; each member preprocesses the same table its own way.
    return weighted_mean(
        [&](const Predictor& m, std::vector<std::string>* i, std::string* n) { return m.predict_table(table, i, n); },
        ids_out, id_name_out);
  }
  const std::vector<float> x = features(table);
  const auto rows = static_cast<int64_t>(table.rows.size());
  if (impl_->id)
    if (const auto c = table.column(*impl_->id)) {
      id_name = *impl_->id;
      for (const auto& row : table.rows) ids.push_back(row[*c]);
    }
  if (ids_out) *ids_out = std::move(ids);
  if (id_name_out) *id_name_out = std::move(id_name);
  return predict_features(x, rows);
}

std::vector<float> Predictor::predict_input(const std::string& input, std::vector<std::string>* ids_out,
                                            std::string* id_name_out) const {
  if (!looks_like_idx(input)) return predict_table(read_csv(input), ids_out, id_name_out);
  if (is_ensemble()) {
    return weighted_mean(
        [&](const Predictor& m, std::vector<std::string>* i, std::string* n) { return m.predict_input(input, i, n); },
        ids_out, id_name_out);
  }
  std::vector<std::string> ids;
  std::string id_name;
  if (!impl_->image) return predict_table(read_csv(input), ids_out, id_name_out);
  const IdxArray a = read_idx(input);
  if (a.dims.size() != 3 || a.dims[1] != impl_->height || a.dims[2] != impl_->width)
    throw ConfigError(input, "expected images of " + std::to_string(impl_->height) + "x" +
                                 std::to_string(impl_->width) + " pixels");
  const int64_t rows = a.count();
  std::vector<float> x(a.data.size());
  for (size_t i = 0; i < a.data.size(); ++i) x[i] = static_cast<float>((a.data[i] / 255.0 - impl_->mean) / impl_->sd);
  id_name = "index";
  for (int64_t r = 0; r < rows; ++r) ids.push_back(std::to_string(r));
  if (ids_out) *ids_out = std::move(ids);
  if (id_name_out) *id_name_out = std::move(id_name);
  return predict_features(x, rows);
}

void Predictor::predict_file(const std::string& input, const std::string& output) const {
  std::vector<std::string> ids;
  std::string id_name;
  const std::vector<float> y = predict_input(input, &ids, &id_name);
  const bool classification0 = impl_->task == TaskKind::kClassification;
  const int64_t rows = static_cast<int64_t>(
      classification0 ? y.size() / std::max<size_t>(1, impl_->target.classes.size()) : y.size());
  std::vector<std::string> header;
  if (!id_name.empty()) header.push_back(id_name);
  header.push_back("prediction");
  const bool classification = impl_->task == TaskKind::kClassification;
  const auto& classes = impl_->target.classes;
  if (classification)
    for (const auto& c : classes) header.push_back("proba_" + c);
  std::vector<std::vector<std::string>> out;
  out.reserve(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<std::string> row;
    if (!id_name.empty()) row.push_back(ids[static_cast<size_t>(r)]);
    if (classification) {
      const float* p = y.data() + r * static_cast<int64_t>(classes.size());
      const auto best = static_cast<size_t>(std::max_element(p, p + classes.size()) - p);
      row.push_back(classes[best]);
      for (size_t c = 0; c < classes.size(); ++c) row.push_back(format_number(p[c]));
    } else {
      row.push_back(format_number(y[static_cast<size_t>(r)]));
    }
    out.push_back(std::move(row));
  }
  write_csv(output, header, out);
}

void predict(const std::string& model_dir, const std::string& input, const std::string& output) {
  Predictor::load(model_dir).predict_file(input, output);
}

std::vector<NamedTensor> read_tensor_file(const std::string& path) {
  std::vector<NamedTensor> out;
  for (const auto& [name, t] : load_tensor_dict(path)) {
    NamedTensor nt;
    nt.name = name;
    nt.shape = t.sizes().vec();
    const torch::Tensor d = t.to(torch::kFloat64).contiguous();
    nt.values.assign(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
    out.push_back(std::move(nt));
  }
  return out;
}

}  // namespace hypertune::pipelines
