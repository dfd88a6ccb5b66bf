#include "pipelines/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <numeric>

#include "pipelines/csv.h"
#include "pipelines/idx.h"
#include "base/rng.h"

namespace hypertune::pipelines {

namespace {

using nlohmann::json;

std::string name_of(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void shuffle(std::vector<size_t>& v, hypertune::Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// ---- CSV ----

std::vector<size_t> rows_with_target(const CsvTable& t, size_t target_col) {
  std::vector<size_t> rows;
  rows.reserve(t.rows.size());
  for (size_t r = 0; r < t.rows.size(); ++r)
    if (!t.rows[r][target_col].empty()) rows.push_back(r);
  return rows;
}

size_t target_column(const CsvTable& t, const std::string& target) {
  if (const auto c = t.column(target)) return *c;
  std::string cols;
  for (const auto& h : t.header) cols += (cols.empty() ? "" : ", ") + h;
  throw ConfigError(t.source, "target column '" + target +
                                  "' (data.target) is not in the header; columns: " + cols);
}

Split make_split(const Preprocessor& pre, const TargetEncoding& enc, const CsvTable& t,
                 size_t target_col, const std::vector<size_t>& rows) {
  Split s;
  s.rows = static_cast<int64_t>(rows.size());
  s.x.resize(rows.size() * pre.width());
  pre.transform(t, rows, s.x.data());
  if (enc.task == TaskKind::kClassification)
    s.labels = encode_classes(enc, t, target_col, rows);
  else
    s.values = encode_values(enc, t, target_col, rows);
  return s;
}

std::shared_ptr<Dataset> load_csv(const DataConfig& d, std::optional<TaskKind> task) {
  const CsvTable table = read_csv(d.train);
  const size_t tc = target_column(table, d.target);
  auto ds = std::make_shared<Dataset>();
  std::vector<size_t> kept = rows_with_target(table, tc);
  ds->dropped_missing_target = static_cast<int64_t>(table.rows.size() - kept.size());
  if (d.limit && static_cast<int64_t>(kept.size()) > *d.limit)
    kept.resize(static_cast<size_t>(*d.limit));
  if (kept.size() < 2)
    throw ConfigError(table.source,
                      "needs at least 2 rows with a target, found " + std::to_string(kept.size()));
  ds->task = task.value_or(infer_task(table, tc));

  std::vector<size_t> train_rows = kept;
  std::vector<size_t> valid_rows;
  std::optional<CsvTable> valid_table;
  if (d.validation) {
    valid_table = read_csv(*d.validation);
    const size_t vc = target_column(*valid_table, d.target);
    valid_rows = rows_with_target(*valid_table, vc);
    if (valid_rows.empty())
      throw ConfigError(valid_table->source, "no rows with a target for validation");
  } else {
    // Labels for stratification use the classes of the whole file (the split must come first).
    std::optional<std::vector<int64_t>> strat;
    if (ds->task == TaskKind::kClassification && d.stratify) {
      const TargetEncoding all = fit_target(table, tc, ds->task, kept);
      strat = encode_classes(all, table, tc, kept);
    }
    auto [tr, va] =
        d.folds > 1
            ? fold_split(kept.size(), d.folds, d.fold, strat ? &*strat : nullptr, d.split_seed)
            : split_rows(kept.size(), d.split, strat ? &*strat : nullptr, d.split_seed);
    train_rows.clear();
    for (const size_t i : tr) train_rows.push_back(kept[i]);
    for (const size_t i : va) valid_rows.push_back(kept[i]);
  }

  TabularOptions opts;
  opts.target = d.target;
  opts.id = d.id;
  opts.drop = d.drop;
  opts.categorical = d.categorical;
  opts.max_onehot = d.max_onehot;
  opts.hash_buckets = d.hash_buckets;
  opts.task = ds->task;
  const Preprocessor pre = Preprocessor::fit(table, train_rows, opts);
  // Folds of a classification target share one class list (a rare class may be missing from
  // one fold's training rows).
  ds->target = fit_target(
      table, tc, ds->task,
      d.folds > 1 && !d.validation && ds->task == TaskKind::kClassification ? kept : train_rows);
  ds->input_shape = {static_cast<int64_t>(pre.width())};
  ds->outputs =
      ds->task == TaskKind::kClassification ? static_cast<int64_t>(ds->target.classes.size()) : 1;
  ds->train = make_split(pre, ds->target, table, tc, train_rows);
  if (valid_table)
    ds->validation =
        make_split(pre, ds->target, *valid_table, *valid_table->column(d.target), valid_rows);
  else
    ds->validation = make_split(pre, ds->target, table, tc, valid_rows);
  if (d.test) {
    const CsvTable test = read_csv(*d.test);
    const size_t xc = target_column(test, d.target);
    std::vector<size_t> rows = rows_with_target(test, xc);
    if (d.test_limit && static_cast<int64_t>(rows.size()) > *d.test_limit)
      rows.resize(static_cast<size_t>(*d.test_limit));
    if (rows.empty()) throw ConfigError(test.source, "no rows with a target for testing");
    ds->test = make_split(pre, ds->target, test, xc, rows);
  }
  ds->preprocessing = pre.to_json();
  ds->preprocessing["kind"] = "tabular";
  ds->preprocessing["feature_names"] = pre.feature_names();
  ds->preprocessing["id"] = d.id ? json(*d.id) : json(nullptr);
  return ds;
}

// ---- IDX ----

struct ImageSet {
  IdxArray images;
  std::vector<uint8_t> labels;
};

ImageSet read_images(const std::string& images_path, const std::string& labels_path,
                     std::optional<int64_t> limit) {
  ImageSet s;
  s.images = read_idx(images_path, limit.value_or(-1));
  if (s.images.dims.size() != 3)
    throw ConfigError(name_of(images_path),
                      "expected images with 3 dimensions (count, height, width), got " +
                          std::to_string(s.images.dims.size()));
  IdxArray labels = read_idx(labels_path, limit.value_or(-1));
  if (labels.dims.size() != 1)
    throw ConfigError(name_of(labels_path), "expected labels with 1 dimension, got " +
                                                std::to_string(labels.dims.size()));
  if (labels.count() != s.images.count())
    throw ConfigError(name_of(labels_path), std::to_string(labels.count()) + " labels for " +
                                                std::to_string(s.images.count()) + " images in " +
                                                name_of(images_path) + ": the counts must match");
  s.labels = std::move(labels.data);
  return s;
}

Split image_split(const ImageSet& s, const std::vector<size_t>& rows,
                  const std::vector<int64_t>& class_of, double mean, double sd,
                  const std::string& labels_path) {
  Split out;
  const auto item = static_cast<size_t>(s.images.item_size());
  out.rows = static_cast<int64_t>(rows.size());
  out.x.resize(rows.size() * item);
  const auto inv = static_cast<float>(1.0 / (255.0 * sd));
  const auto shift = static_cast<float>(mean / sd);
  for (size_t k = 0; k < rows.size(); ++k) {
    const uint8_t* src = s.images.data.data() + rows[k] * item;
    float* dst = out.x.data() + k * item;
    for (size_t p = 0; p < item; ++p) dst[p] = static_cast<float>(src[p]) * inv - shift;
    const int64_t c = class_of[s.labels[rows[k]]];
    if (c < 0)
      throw ConfigError(name_of(labels_path), "item " + std::to_string(rows[k]) + " has label " +
                                                  std::to_string(s.labels[rows[k]]) +
                                                  ", which the training labels do not contain");
    out.labels.push_back(c);
  }
  return out;
}

std::shared_ptr<Dataset> load_idx(const DataConfig& d) {
  const ImageSet train = read_images(d.train_images, d.train_labels, d.limit);
  auto ds = std::make_shared<Dataset>();
  ds->task = TaskKind::kClassification;
  const int64_t n = train.images.count();
  if (n < 2) throw ConfigError(name_of(d.train_images), "needs at least 2 images");

  std::vector<int64_t> class_of(256, -1);
  std::vector<bool> present(256, false);
  for (const uint8_t l : train.labels) present[l] = true;
  for (int v = 0; v < 256; ++v) {
    if (!present[static_cast<size_t>(v)]) continue;
    class_of[static_cast<size_t>(v)] = static_cast<int64_t>(ds->target.classes.size());
    ds->target.classes.push_back(std::to_string(v));
  }
  if (ds->target.classes.size() < 2)
    throw ConfigError(name_of(d.train_labels), "classification needs at least 2 distinct labels");
  ds->target.task = TaskKind::kClassification;
  ds->target.column = "label";

  std::vector<int64_t> strat;
  for (const uint8_t l : train.labels) strat.push_back(class_of[l]);
  auto [train_rows, valid_rows] =
      d.folds > 1
          ? fold_split(static_cast<size_t>(n), d.folds, d.fold, d.stratify ? &strat : nullptr,
                       d.split_seed)
          : split_rows(static_cast<size_t>(n), d.split, d.stratify ? &strat : nullptr, d.split_seed);

  // Pixel statistics of the training rows only.
  const auto item = static_cast<size_t>(train.images.item_size());
  double sum = 0.0, sq = 0.0;
  for (const size_t r : train_rows) {
    const uint8_t* p = train.images.data.data() + r * item;
    uint64_t s1 = 0, s2 = 0;
    for (size_t i = 0; i < item; ++i) {
      s1 += p[i];
      s2 += uint64_t{p[i]} * p[i];
    }
    sum += static_cast<double>(s1) / 255.0;
    sq += static_cast<double>(s2) / (255.0 * 255.0);
  }
  const double count = static_cast<double>(train_rows.size() * item);
  const double mean = sum / count;
  const double var = std::max(0.0, sq / count - mean * mean);
  const double sd = var > 0.0 ? std::sqrt(var) : 1.0;

  ds->input_shape = {1, train.images.dims[1], train.images.dims[2]};
  ds->outputs = static_cast<int64_t>(ds->target.classes.size());
  ds->train = image_split(train, train_rows, class_of, mean, sd, d.train_labels);
  ds->validation = image_split(train, valid_rows, class_of, mean, sd, d.train_labels);
  if (d.test_images && d.test_labels) {
    const ImageSet test = read_images(*d.test_images, *d.test_labels, d.test_limit);
    if (test.images.dims[1] != train.images.dims[1] || test.images.dims[2] != train.images.dims[2])
      throw ConfigError(name_of(*d.test_images),
                        "test images are " + std::to_string(test.images.dims[1]) + "x" +
                            std::to_string(test.images.dims[2]) + ", training images " +
                            std::to_string(train.images.dims[1]) + "x" +
                            std::to_string(train.images.dims[2]));
    std::vector<size_t> rows(static_cast<size_t>(test.images.count()));
    std::iota(rows.begin(), rows.end(), size_t{0});
    ds->test = image_split(test, rows, class_of, mean, sd, *d.test_labels);
  }
  ds->preprocessing = {{"kind", "image"},
                       {"height", train.images.dims[1]},
                       {"width", train.images.dims[2]},
                       {"scale", 255.0},
                       {"mean", mean},
                       {"std", sd}};
  return ds;
}

// ---- cache ----

struct Cache {
  std::mutex mu;
  std::map<std::string, std::shared_future<std::shared_ptr<const Dataset>>> entries;
  DatasetCacheStats stats;
};

Cache& cache() {
  static Cache c;
  return c;
}

std::string cache_key(const DataConfig& d, std::optional<TaskKind> task) {
  json k = {{"task", task ? json(to_string(*task)) : json(nullptr)},
            {"split", d.split},
            {"stratify", d.stratify},
            {"split_seed", d.split_seed},
            {"folds", d.folds},
            {"fold", d.fold},
            {"limit", d.limit ? json(*d.limit) : json(nullptr)},
            {"test_limit", d.test_limit ? json(*d.test_limit) : json(nullptr)}};
  auto file = [&](const char* name, const std::string& path) {
    k["files"][name] = hex64(hash_file(path));
  };
  if (d.format == DataFormat::kCsv) {
    k["format"] = "csv";
    k["target"] = d.target;
    k["id"] = d.id ? json(*d.id) : json(nullptr);
    k["drop"] = d.drop;
    k["categorical"] = d.categorical;
    k["max_onehot"] = d.max_onehot;
    k["hash_buckets"] = d.hash_buckets;
    file("train", d.train);
    if (d.validation) file("validation", *d.validation);
    if (d.test) file("test", *d.test);
  } else {
    k["format"] = "idx";
    file("train_images", d.train_images);
    file("train_labels", d.train_labels);
    if (d.test_images) file("test_images", *d.test_images);
    if (d.test_labels) file("test_labels", *d.test_labels);
  }
  return k.dump();
}

}  // namespace

int64_t Dataset::features() const {
  int64_t n = 1;
  for (const int64_t d : input_shape) n *= d;
  return n;
}

uint64_t hash_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw ConfigError(path, "cannot open data file");
  uint64_t h = 0xcbf29ce484222325ULL;
  std::vector<unsigned char> buf(1 << 16);
  size_t got = 0;
  while ((got = std::fread(buf.data(), 1, buf.size(), f)) > 0)
    for (size_t i = 0; i < got; ++i) {
      h ^= buf[i];
      h *= 0x100000001b3ULL;
    }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw ConfigError(path, "read error while hashing data file");
  return h;
}

std::pair<std::vector<size_t>, std::vector<size_t>> split_rows(size_t n, double fraction,
                                                               const std::vector<int64_t>* labels,
                                                               uint64_t seed) {
  hypertune::Rng rng(hypertune::derive_seed(seed, 0x5EED5917ULL));
  std::vector<size_t> train, valid;
  if (labels != nullptr) {
    std::map<int64_t, std::vector<size_t>> by_class;
    for (size_t i = 0; i < n; ++i) by_class[(*labels)[i]].push_back(i);
    for (auto& [label, members] : by_class) {
      shuffle(members, rng);
      const auto take =
          static_cast<size_t>(std::llround(static_cast<double>(members.size()) * fraction));
      valid.insert(valid.end(), members.begin(),
                   members.begin() + static_cast<std::ptrdiff_t>(take));
      train.insert(train.end(), members.begin() + static_cast<std::ptrdiff_t>(take), members.end());
    }
  } else {
    std::vector<size_t> all(n);
    std::iota(all.begin(), all.end(), size_t{0});
    shuffle(all, rng);
    const auto take = static_cast<size_t>(std::llround(static_cast<double>(n) * fraction));
    valid.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(take));
    train.assign(all.begin() + static_cast<std::ptrdiff_t>(take), all.end());
  }
  // Tiny data: rounding may leave a side empty; move one row across.
  if (n >= 2 && valid.empty()) {
    valid.push_back(train.back());
    train.pop_back();
  } else if (n >= 2 && train.empty()) {
    train.push_back(valid.back());
    valid.pop_back();
  }
  std::sort(train.begin(), train.end());
  std::sort(valid.begin(), valid.end());
  return {std::move(train), std::move(valid)};
}

std::vector<int> fold_rows(size_t n, int folds, const std::vector<int64_t>* labels,
                           uint64_t seed) {
  if (folds < 2) throw Error("fold_rows: folds must be at least 2, got " + std::to_string(folds));
  hypertune::Rng rng(hypertune::derive_seed(seed, 0xF01D5EEDULL));
  std::vector<int> fold(n, 0);
  std::vector<std::vector<size_t>> groups;
  if (labels != nullptr) {
    std::map<int64_t, std::vector<size_t>> by_class;
    for (size_t i = 0; i < n; ++i) by_class[(*labels)[i]].push_back(i);
    for (auto& [label, members] : by_class) groups.push_back(std::move(members));
  } else {
    groups.emplace_back(n);
    std::iota(groups[0].begin(), groups[0].end(), size_t{0});
  }
  size_t next = 0;
  for (auto& members : groups) {
    shuffle(members, rng);
    for (const size_t i : members) fold[i] = static_cast<int>(next++ % static_cast<size_t>(folds));
  }
  return fold;
}

std::pair<std::vector<size_t>, std::vector<size_t>> fold_split(size_t n, int folds, int fold,
                                                               const std::vector<int64_t>* labels,
                                                               uint64_t seed) {
  if (fold < 0 || fold >= folds)
    throw Error("fold_split: fold " + std::to_string(fold) + " of " + std::to_string(folds));
  if (n < static_cast<size_t>(folds))
    throw ConfigError("data.folds", std::to_string(folds) + " folds need at least as many rows, found " +
                                        std::to_string(n));
  const std::vector<int> f = fold_rows(n, folds, labels, seed);
  std::vector<size_t> train, valid;
  for (size_t i = 0; i < n; ++i) (f[i] == fold ? valid : train).push_back(i);
  return {std::move(train), std::move(valid)};
}

std::shared_ptr<const Dataset> load_dataset(const DataConfig& data, std::optional<TaskKind> task) {
  if (data.format == DataFormat::kIdx) task = TaskKind::kClassification;
  const std::string key = cache_key(data, task);
  Cache& c = cache();
  std::promise<std::shared_ptr<const Dataset>> promise;
  std::shared_future<std::shared_ptr<const Dataset>> waiting;
  {
    std::lock_guard lock(c.mu);
    if (const auto it = c.entries.find(key); it != c.entries.end()) {
      waiting = it->second;
      ++c.stats.hits;
    } else {
      c.entries.emplace(key, promise.get_future().share());
    }
  }
  if (waiting.valid()) return waiting.get();
  try {
    std::shared_ptr<Dataset> ds =
        data.format == DataFormat::kCsv ? load_csv(data, task) : load_idx(data);
    ds->key = key;
    {
      std::lock_guard lock(c.mu);
      ++c.stats.loads;
    }
    promise.set_value(ds);
    return ds;
  } catch (...) {
    // Waiters get the same error; later callers try again.
    {
      std::lock_guard lock(c.mu);
      c.entries.erase(key);
    }
    promise.set_exception(std::current_exception());
    throw;
  }
}

DatasetCacheStats dataset_cache_stats() {
  std::lock_guard lock(cache().mu);
  return cache().stats;
}

void clear_dataset_cache() {
  std::lock_guard lock(cache().mu);
  cache().entries.clear();
}

}  // namespace hypertune::pipelines
