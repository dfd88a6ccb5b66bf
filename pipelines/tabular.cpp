#include "pipelines/tabular.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <unordered_map>

namespace hypertune::pipelines {

namespace {

using nlohmann::json;

bool is_feature(const std::string& name, const TabularOptions& opts) {
  if (name == opts.target) return false;
  if (opts.id && name == *opts.id) return false;
  return std::find(opts.drop.begin(), opts.drop.end(), name) == opts.drop.end();
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double hi = v[mid];
  if (v.size() % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lo + hi);
}

// Sorted class labels: numerically when every label is a number, else by bytes.
std::vector<std::string> sort_labels(const std::set<std::string>& labels) {
  std::vector<std::string> out(labels.begin(), labels.end());
  const bool numeric = std::all_of(
      out.begin(), out.end(), [](const std::string& s) { return parse_number(s).has_value(); });
  if (numeric)
    std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
      return *parse_number(a) < *parse_number(b);
    });
  return out;
}

const char* kind_name(FeatureKind k) {
  switch (k) {
    case FeatureKind::kNumeric:
      return "numeric";
    case FeatureKind::kOneHot:
      return "onehot";
    case FeatureKind::kHashed:
      return "hashed";
  }
  return "?";
}

}  // namespace

std::optional<double> parse_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (*first == '+') ++first;  // from_chars refuses a leading '+', CSV writers do not
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc() || ptr != last || !std::isfinite(v)) return std::nullopt;
  return v;
}

uint64_t fnv1a64(const std::string& s) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

size_t FeatureColumn::width() const {
  switch (kind) {
    case FeatureKind::kNumeric:
      return indicator ? 2 : 1;
    case FeatureKind::kOneHot:
      return levels.size();
    case FeatureKind::kHashed:
      return static_cast<size_t>(buckets);
  }
  return 0;
}

TaskKind infer_task(const CsvTable& table, size_t target_col) {
  std::set<double> distinct;
  bool integral = true;
  for (const auto& row : table.rows) {
    const std::string& v = row[target_col];
    if (v.empty()) continue;
    const auto d = parse_number(v);
    if (!d) return TaskKind::kClassification;
    if (std::floor(*d) != *d) integral = false;
    if (distinct.size() <= 20) distinct.insert(*d);
  }
  return integral && distinct.size() <= 20 ? TaskKind::kClassification : TaskKind::kRegression;
}

Preprocessor Preprocessor::fit(const CsvTable& table, const std::vector<size_t>& train_rows,
                               const TabularOptions& opts) {
  for (const auto& name : opts.categorical)
    if (!table.column(name))
      throw ConfigError(table.source,
                        "column '" + name + "' listed in data.categorical is not in the header");
  for (const auto& name : opts.drop)
    if (!table.column(name))
      throw ConfigError(table.source,
                        "column '" + name + "' listed in data.drop is not in the header");
  if (opts.id && !table.column(*opts.id))
    throw ConfigError(table.source, "id column '" + *opts.id + "' (data.id) is not in the header");

  Preprocessor p;
  for (size_t c = 0; c < table.header.size(); ++c) {
    const std::string& name = table.header[c];
    if (!is_feature(name, opts)) continue;
    FeatureColumn col;
    col.name = name;
    const bool forced =
        std::find(opts.categorical.begin(), opts.categorical.end(), name) != opts.categorical.end();
    bool numeric = !forced;
    for (size_t r = 0; numeric && r < table.rows.size(); ++r) {
      const std::string& v = table.rows[r][c];
      if (!v.empty() && !parse_number(v)) numeric = false;
    }
    if (numeric) {
      std::vector<double> values;
      values.reserve(train_rows.size());
      for (const size_t r : train_rows) {
        const std::string& v = table.rows[r][c];
        if (v.empty())
          col.indicator = true;
        else
          values.push_back(*parse_number(v));
      }
      col.median = median_of(values);
      if (!values.empty()) {
        double sum = 0.0;
        for (const double v : values) sum += v;
        col.mean = sum / static_cast<double>(values.size());
        double sq = 0.0;
        for (const double v : values) sq += (v - col.mean) * (v - col.mean);
        const double sd = std::sqrt(sq / static_cast<double>(values.size()));
        col.scale = sd > 0.0 ? sd : 1.0;
      }
    } else {
      std::set<std::string> levels;
      for (const size_t r : train_rows)
        if (!table.rows[r][c].empty()) levels.insert(table.rows[r][c]);
      if (static_cast<int>(levels.size()) <= opts.max_onehot) {
        col.kind = FeatureKind::kOneHot;
        col.levels.assign(levels.begin(), levels.end());
      } else {
        col.kind = FeatureKind::kHashed;
        col.buckets = opts.hash_buckets;
      }
    }
    p.width_ += col.width();
    p.columns_.push_back(std::move(col));
  }
  if (p.columns_.empty())
    throw ConfigError(table.source,
                      "no feature columns left (every column is the target, the id or dropped)");
  return p;
}

std::vector<std::string> Preprocessor::feature_names() const {
  std::vector<std::string> names;
  names.reserve(width_);
  for (const auto& c : columns_) {
    switch (c.kind) {
      case FeatureKind::kNumeric:
        names.push_back(c.name);
        if (c.indicator) names.push_back(c.name + "_missing");
        break;
      case FeatureKind::kOneHot:
        for (const auto& l : c.levels) names.push_back(c.name + "=" + l);
        break;
      case FeatureKind::kHashed:
        for (int b = 0; b < c.buckets; ++b) names.push_back(c.name + "#" + std::to_string(b));
        break;
    }
  }
  return names;
}

void Preprocessor::transform(const CsvTable& table, const std::vector<size_t>& rows,
                             float* out) const {
  std::vector<size_t> source(columns_.size());
  for (size_t i = 0; i < columns_.size(); ++i) {
    const auto c = table.column(columns_[i].name);
    if (!c)
      throw ConfigError(table.source, "missing column '" + columns_[i].name +
                                          "' that the model's features are built from");
    source[i] = *c;
  }
  // Level lookups once per column rather than a search per cell.
  std::vector<std::unordered_map<std::string, size_t>> level_index(columns_.size());
  for (size_t i = 0; i < columns_.size(); ++i)
    for (size_t l = 0; l < columns_[i].levels.size(); ++l)
      level_index[i][columns_[i].levels[l]] = l;

  std::fill(out, out + rows.size() * width_, 0.0f);
  for (size_t k = 0; k < rows.size(); ++k) {
    const size_t r = rows[k];
    float* dst = out + k * width_;
    for (size_t i = 0; i < columns_.size(); ++i) {
      const FeatureColumn& col = columns_[i];
      const std::string& v = table.rows[r][source[i]];
      switch (col.kind) {
        case FeatureKind::kNumeric: {
          double x = col.median;
          if (!v.empty()) {
            const auto d = parse_number(v);
            if (!d)
              throw ConfigError(
                  table.where(r, source[i]),
                  "expected a number (the column is numeric in the training data), got '" + v +
                      "'");
            x = *d;
          }
          *dst++ = static_cast<float>((x - col.mean) / col.scale);
          if (col.indicator) *dst++ = v.empty() ? 1.0f : 0.0f;
          break;
        }
        case FeatureKind::kOneHot: {
          if (!v.empty())
            if (const auto it = level_index[i].find(v); it != level_index[i].end())
              dst[it->second] = 1.0f;
          dst += col.levels.size();
          break;
        }
        case FeatureKind::kHashed: {
          if (!v.empty()) dst[fnv1a64(v) % static_cast<uint64_t>(col.buckets)] = 1.0f;
          dst += col.buckets;
          break;
        }
      }
    }
  }
}

json Preprocessor::to_json() const {
  json cols = json::array();
  for (const auto& c : columns_) {
    json j = {{"name", c.name}, {"kind", kind_name(c.kind)}};
    switch (c.kind) {
      case FeatureKind::kNumeric:
        j["median"] = c.median;
        j["mean"] = c.mean;
        j["scale"] = c.scale;
        j["missing_indicator"] = c.indicator;
        break;
      case FeatureKind::kOneHot:
        j["levels"] = c.levels;
        break;
      case FeatureKind::kHashed:
        j["buckets"] = c.buckets;
        j["hash"] = "fnv1a64";
        break;
    }
    cols.push_back(std::move(j));
  }
  return {{"columns", std::move(cols)}, {"width", width_}};
}

Preprocessor Preprocessor::from_json(const json& j, const std::string& where) {
  Preprocessor p;
  try {
    for (const auto& c : j.at("columns")) {
      FeatureColumn col;
      col.name = c.at("name").get<std::string>();
      const auto kind = c.at("kind").get<std::string>();
      if (kind == "numeric") {
        col.median = c.at("median").get<double>();
        col.mean = c.at("mean").get<double>();
        col.scale = c.at("scale").get<double>();
        col.indicator = c.at("missing_indicator").get<bool>();
      } else if (kind == "onehot") {
        col.kind = FeatureKind::kOneHot;
        col.levels = c.at("levels").get<std::vector<std::string>>();
      } else if (kind == "hashed") {
        col.kind = FeatureKind::kHashed;
        col.buckets = c.at("buckets").get<int>();
        if (col.buckets < 1)
          throw ConfigError(where, "hashed column '" + col.name + "' needs buckets >= 1");
      } else {
        throw ConfigError(where,
                          "unknown feature kind '" + kind + "' for column '" + col.name + "'");
      }
      p.width_ += col.width();
      p.columns_.push_back(std::move(col));
    }
  } catch (const json::exception& e) {
    throw ConfigError(where, std::string("malformed preprocessing section: ") + e.what());
  }
  return p;
}

TargetEncoding fit_target(const CsvTable& table, size_t target_col, TaskKind task,
                          const std::vector<size_t>& train_rows) {
  TargetEncoding enc;
  enc.task = task;
  enc.column = table.header[target_col];
  if (task == TaskKind::kClassification) {
    std::set<std::string> labels;
    for (const auto& row : table.rows)
      if (!row[target_col].empty()) labels.insert(row[target_col]);
    if (labels.size() < 2)
      throw ConfigError(table.source, "classification needs at least 2 classes in column '" +
                                          enc.column + "', found " + std::to_string(labels.size()));
    enc.classes = sort_labels(labels);
    return enc;
  }
  double sum = 0.0, sq = 0.0;
  size_t n = 0;
  for (const size_t r : train_rows) {
    const std::string& v = table.rows[r][target_col];
    const auto d = parse_number(v);
    if (!d)
      throw ConfigError(table.where(r, target_col),
                        "regression target must be a number, got '" + v + "'");
    sum += *d;
    ++n;
  }
  if (n == 0) throw ConfigError(table.source, "no training rows with a target");
  enc.mean = sum / static_cast<double>(n);
  for (const size_t r : train_rows) {
    const double d = *parse_number(table.rows[r][target_col]);
    sq += (d - enc.mean) * (d - enc.mean);
  }
  const double sd = std::sqrt(sq / static_cast<double>(n));
  enc.scale = sd > 0.0 ? sd : 1.0;
  return enc;
}

std::vector<int64_t> encode_classes(const TargetEncoding& enc, const CsvTable& table,
                                    size_t target_col, const std::vector<size_t>& rows) {
  std::unordered_map<std::string, int64_t> index;
  for (size_t i = 0; i < enc.classes.size(); ++i) index[enc.classes[i]] = static_cast<int64_t>(i);
  std::vector<int64_t> out;
  out.reserve(rows.size());
  for (const size_t r : rows) {
    const std::string& v = table.rows[r][target_col];
    const auto it = index.find(v);
    if (it == index.end())
      throw ConfigError(table.where(r, target_col), "label '" + v + "' is not among the " +
                                                        std::to_string(enc.classes.size()) +
                                                        " classes of the training data");
    out.push_back(it->second);
  }
  return out;
}

std::vector<float> encode_values(const TargetEncoding& enc, const CsvTable& table,
                                 size_t target_col, const std::vector<size_t>& rows) {
  std::vector<float> out;
  out.reserve(rows.size());
  for (const size_t r : rows) {
    const std::string& v = table.rows[r][target_col];
    const auto d = parse_number(v);
    if (!d)
      throw ConfigError(table.where(r, target_col),
                        "regression target must be a number, got '" + v + "'");
    out.push_back(static_cast<float>((*d - enc.mean) / enc.scale));
  }
  return out;
}

json to_json(const TargetEncoding& enc) {
  json j = {{"task", to_string(enc.task)}, {"column", enc.column}};
  if (enc.task == TaskKind::kClassification)
    j["classes"] = enc.classes;
  else {
    j["mean"] = enc.mean;
    j["scale"] = enc.scale;
  }
  return j;
}

TargetEncoding target_from_json(const json& j, const std::string& where) {
  TargetEncoding enc;
  try {
    const auto task = j.at("task").get<std::string>();
    if (task == "classification") {
      enc.task = TaskKind::kClassification;
      enc.classes = j.at("classes").get<std::vector<std::string>>();
    } else if (task == "regression") {
      enc.task = TaskKind::kRegression;
      enc.mean = j.at("mean").get<double>();
      enc.scale = j.at("scale").get<double>();
    } else {
      throw ConfigError(where, "unknown task '" + task + "'");
    }
    enc.column = j.value("column", std::string());
  } catch (const json::exception& e) {
    throw ConfigError(where, std::string("malformed target section: ") + e.what());
  }
  return enc;
}

}  // namespace hypertune::pipelines
