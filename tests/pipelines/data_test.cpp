// Pipelines without LibTorch: config schema and substitution, CSV parsing and its errors,
// preprocessing fitted on training rows only, IDX files, splits and the dataset cache.

#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <sstream>
#include <thread>

#include "pipelines/config.h"
#include "pipelines/csv.h"
#include "pipelines/dataset.h"
#include "pipelines/idx.h"
#include "pipelines/metrics.h"
#include "pipelines/tabular.h"
#include "tests/pipelines/temp_dir.h"

using hypertune::ConfigError;
using hypertune::test::TempDir;
using nlohmann::json;
namespace pl = hypertune::pipelines;

namespace {

// The message of the ConfigError `f` throws (fails the test when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("expected a ConfigError");
  return {};
}

bool has_issue(const std::vector<pl::ConfigIssue>& issues, const std::string& path,
               const std::string& fragment) {
  for (const auto& i : issues)
    if (i.path == path && i.message.find(fragment) != std::string::npos) return true;
  return false;
}

std::string dump(const std::vector<pl::ConfigIssue>& issues) {
  std::string s;
  for (const auto& i : issues) s += i.path + ": " + i.message + "\n";
  return s;
}

}  // namespace

TEST_CASE("csv: RFC 4180 quoting, CRLF, BOM, blank lines and missing values", "[pipelines]") {
  const std::string text =
      "\xEF\xBB\xBF"
      "id,name,note,x\r\n"
      "1,\"Smith, J\",\"said \"\"hi\"\"\",3.5\r\n"
      "\r\n"
      "2,,\"two\nlines\",\r\n"
      "3,\"\",plain,-1e3";
  const pl::CsvTable t = pl::parse_csv(text, "q.csv");
  REQUIRE(t.header == std::vector<std::string>{"id", "name", "note", "x"});
  REQUIRE(t.rows.size() == 3);
  CHECK(t.rows[0][1] == "Smith, J");
  CHECK(t.rows[0][2] == "said \"hi\"");
  CHECK(t.rows[1][1].empty());
  CHECK(t.rows[1][2] == "two\nlines");
  CHECK(t.rows[1][3].empty());
  CHECK(t.rows[2][1].empty());
  CHECK(t.rows[2][3] == "-1e3");
  CHECK(t.lines == std::vector<int64_t>{2, 4, 6});
  CHECK(t.where(2, 3) == "q.csv line 6 column 'x'");

  CHECK(pl::csv_field("a,b") == "\"a,b\"");
  CHECK(pl::csv_field("say \"x\"") == "\"say \"\"x\"\"\"");
  CHECK(pl::csv_field("plain") == "plain");
}

TEST_CASE("csv: bad files are refused with file and line", "[pipelines]") {
  CHECK_THAT(error_of([] { (void)pl::parse_csv("", "e.csv"); }),
             Catch::Contains("e.csv") && Catch::Contains("empty file"));
  CHECK_THAT(error_of([] { (void)pl::parse_csv("a,b\n1,2\n3\n", "r.csv"); }),
             Catch::Contains("r.csv line 3") && Catch::Contains("expected 2 fields") &&
                 Catch::Contains("got 1"));
  CHECK_THAT(error_of([] { (void)pl::parse_csv("a,b\n1,2,3\n", "r.csv"); }),
             Catch::Contains("r.csv line 2") && Catch::Contains("got 3"));
  CHECK_THAT(error_of([] { (void)pl::parse_csv("a,b\n1,\"open\n2,3\n", "u.csv"); }),
             Catch::Contains("u.csv line 2") && Catch::Contains("unterminated"));
  CHECK_THAT(error_of([] { (void)pl::parse_csv("a,b\n\"x\"y,2\n", "t.csv"); }),
             Catch::Contains("t.csv line 2") && Catch::Contains("after a closing quote"));
  CHECK_THAT(error_of([] { (void)pl::parse_csv("a,a\n1,2\n", "d.csv"); }),
             Catch::Contains("duplicate column name 'a'"));
  CHECK_THAT(error_of([] { (void)pl::parse_csv("a,\n1,2\n", "h.csv"); }),
             Catch::Contains("header field 2 is empty"));
  // Latin-1 bytes (here "caf\xe9"): named by line and column, not an internal JSON error later.
  CHECK_THAT(error_of([] { (void)pl::parse_csv("a,b\n1,2\n3,caf\xe9\n", "l.csv"); }),
             Catch::Contains("l.csv line 3") && Catch::Contains("byte 0xe9 at column 6 is not UTF-8"));
  CHECK_THAT(error_of([] { (void)pl::read_csv("/nonexistent/dir/x.csv"); }),
             Catch::Contains("/nonexistent/dir/x.csv"));
}

TEST_CASE("tabular: typing, statistics from training rows only, unseen and hashed categories",
          "[pipelines]") {
  // Rows 0-3 train, rows 4-5 held out: their extreme values must not move the statistics.
  const pl::CsvTable t = pl::parse_csv(
      "num,gap,color,city,target\n"
      "1,5,red,c1,a\n"
      "2,,blue,c2,b\n"
      "3,7,red,c3,a\n"
      "4,9,,c4,b\n"
      "1000,1000,green,c5,a\n"
      "-1000,,purple,c6,b\n",
      "t.csv");
  pl::TabularOptions opts;
  opts.max_onehot = 3;  // city has 4 training levels: hashed
  opts.hash_buckets = 8;
  const pl::Preprocessor pre = pl::Preprocessor::fit(t, {0, 1, 2, 3}, opts);
  const auto& cols = pre.columns();
  REQUIRE(cols.size() == 4);
  CHECK(cols[0].kind == pl::FeatureKind::kNumeric);
  CHECK(cols[0].mean == Approx(2.5));
  CHECK(cols[0].median == Approx(2.5));
  CHECK(cols[0].scale == Approx(std::sqrt(1.25)));
  CHECK_FALSE(cols[0].indicator);
  CHECK(cols[1].indicator);
  CHECK(cols[1].median == Approx(7.0));
  CHECK(cols[2].kind == pl::FeatureKind::kOneHot);
  CHECK(cols[2].levels == std::vector<std::string>{"blue", "red"});  // green only in held-out rows
  CHECK(cols[3].kind == pl::FeatureKind::kHashed);
  REQUIRE(pre.width() == 1 + 2 + 2 + 8);
  CHECK(pre.feature_names()[1] == "gap");
  CHECK(pre.feature_names()[2] == "gap_missing");
  CHECK(pre.feature_names()[3] == "color=blue");

  std::vector<float> x(2 * pre.width());
  pre.transform(t, {1, 4}, x.data());
  // Row 1: num 2 -> (2-2.5)/sqrt(1.25); gap missing -> median 7 standardised, indicator 1.
  CHECK(x[0] == Approx((2 - 2.5) / std::sqrt(1.25)));
  CHECK(x[1] == Approx((7.0 - 7.0) / cols[1].scale));
  CHECK(x[2] == 1.0f);
  CHECK(x[3] == 1.0f);  // blue
  CHECK(x[4] == 0.0f);
  // Row 4: unseen color "green" -> all zeros; unseen city still hashes to exactly one bucket.
  const float* r4 = x.data() + pre.width();
  CHECK(r4[3] == 0.0f);
  CHECK(r4[4] == 0.0f);
  float hashed = 0;
  for (size_t i = 5; i < pre.width(); ++i) hashed += r4[i];
  CHECK(hashed == 1.0f);
  CHECK(r4[5 + pl::fnv1a64("c5") % 8] == 1.0f);

  // A JSON round trip keeps the transform identical.
  const pl::Preprocessor back = pl::Preprocessor::from_json(pre.to_json(), "model.json");
  std::vector<float> y(x.size());
  back.transform(t, {1, 4}, y.data());
  CHECK(x == y);

  // A non-number in a numeric column of another file names file, line and column.
  const pl::CsvTable bad =
      pl::parse_csv("num,gap,color,city\n1,2,red,c1\nabc,2,red,c1\n", "new.csv");
  std::vector<float> z(2 * pre.width());
  CHECK_THAT(error_of([&] {
               pre.transform(bad, {0, 1}, z.data());
             }),
             Catch::Contains("new.csv line 3 column 'num'") && Catch::Contains("'abc'"));
  const pl::CsvTable missing = pl::parse_csv("num,color,city\n1,red,c1\n", "m.csv");
  CHECK_THAT(error_of([&] { pre.transform(missing, {0}, z.data()); }),
             Catch::Contains("missing column 'gap'"));
}

TEST_CASE("tabular: task inference and target encoding", "[pipelines]") {
  const auto t1 = pl::parse_csv("x,target\n1,10\n2,2\n3,10\n4,2\n", "a.csv");
  CHECK(pl::infer_task(t1, 1) == pl::TaskKind::kClassification);
  const auto enc = pl::fit_target(t1, 1, pl::TaskKind::kClassification, {0, 1});
  CHECK(enc.classes == std::vector<std::string>{"2", "10"});  // numeric order, not "10" < "2"
  CHECK(pl::encode_classes(enc, t1, 1, {0, 1}) == std::vector<int64_t>{1, 0});
  const auto t2 = pl::parse_csv("x,target\n1,1.5\n2,2.5\n", "b.csv");
  CHECK(pl::infer_task(t2, 1) == pl::TaskKind::kRegression);
  const auto t3 = pl::parse_csv("x,target\n1,yes\n2,no\n", "c.csv");
  CHECK(pl::infer_task(t3, 1) == pl::TaskKind::kClassification);
  const auto reg = pl::fit_target(t2, 1, pl::TaskKind::kRegression, {0, 1});
  CHECK(reg.mean == Approx(2.0));
  CHECK(reg.scale == Approx(0.5));
  CHECK(pl::encode_values(reg, t2, 1, {1}) == std::vector<float>{1.0f});
  const auto other = pl::parse_csv("x,target\n1,maybe\n", "v.csv");
  const auto enc3 = pl::fit_target(t3, 1, pl::TaskKind::kClassification, {0, 1});
  CHECK_THAT(error_of([&] { (void)pl::encode_classes(enc3, other, 1, {0}); }),
             Catch::Contains("v.csv line 2 column 'target'") && Catch::Contains("'maybe'"));
}

TEST_CASE("config: substitution of {name} placeholders keeps the parameter's type", "[pipelines]") {
  const json section = {{"optimizer", {{"lr", "{lr}"}, {"type", "{opt}"}}},
                        {"model", {{"layers", {1, "{w}"}}}},
                        {"note", "{not a placeholder}"}};
  const json out = pl::substitute_params(section, {{"lr", 0.01}, {"opt", "sgd"}, {"w", 64}});
  CHECK(out["optimizer"]["lr"] == 0.01);
  CHECK(out["optimizer"]["type"] == "sgd");
  CHECK(out["model"]["layers"][1] == 64);
  CHECK(out["model"]["layers"][1].is_number_integer());
  CHECK(out["note"] == "{not a placeholder}");
  CHECK_THAT(error_of([&] {
               (void)pl::substitute_params(section, {{"lr", 0.01}, {"opt", "sgd"}});
             }),
             Catch::Contains("trial.pipeline.model.layers[1]") && Catch::Contains("'{w}'"));
}

TEST_CASE("config: a key naming an inactive conditional parameter is left out", "[pipelines]") {
  // `type: "{family}"` with each family's keys: a trial carries only its family's parameters.
  const json section = {{"model", {{"type", "{family}"}, {"layers", "{layers}"}, {"eta", "{eta}"}}},
                        {"optimizer", {{"lr", "{lr}"}}},
                        {"batch_size", "{batch_size}"}};
  const json boosted = pl::substitute_params(section, {{"family", "xgboost"}, {"eta", 0.1}});
  CHECK(boosted["model"] == json({{"type", "xgboost"}, {"eta", 0.1}}));
  CHECK(boosted["optimizer"] == json::object());
  CHECK_FALSE(boosted.contains("batch_size"));
  const json net = pl::substitute_params(section, {{"family", "mlp"}, {"layers", 2}, {"lr", 0.01}, {"batch_size", 64}});
  CHECK(net["model"] == json({{"type", "mlp"}, {"layers", 2}}));
  CHECK(net["batch_size"] == 64);
  // Validation accepts every family's keys when the type is a parameter, and still rejects
  // unknown keys and placeholders outside the space.
  TempDir dir;
  dir.write("train.csv", "x,target\n1,a\n2,b\n3,a\n4,b\n");
  json full = section;
  full["data"] = {{"format", "csv"}, {"train", "train.csv"}, {"target", "target"}, {"split", 0.5}};
  CHECK(pl::validate_pipeline(full, {"family", "layers", "eta", "lr", "batch_size"}, dir.path().string()).empty());
  full["model"]["depth"] = "{depth}";  // an unknown key, and a placeholder outside the space
  full["model"]["rounds"] = 20;         // fixed: would reach the mlp trials too
  const auto issues = pl::validate_pipeline(full, {"family", "layers", "eta", "lr", "batch_size"}, dir.path().string());
  std::string text;
  for (const auto& i : issues) text += i.path + ": " + i.message + "\n";
  CHECK_THAT(text, Catch::Contains("trial.pipeline.model.depth: unknown key") &&
                       Catch::Contains("trial.pipeline.model.rounds: with the model type a parameter"));
}

TEST_CASE("config: validation reports every problem with its key path", "[pipelines]") {
  TempDir dir;
  dir.write("train.csv", "x,target\n1,a\n2,b\n");
  const json good = json::parse(R"({
    "data": {"format": "csv", "train": "train.csv", "split": 0.25},
    "model": {"type": "mlp", "layers": 2, "width": "{width}", "dropout": 0.1},
    "optimizer": {"type": "adamw", "lr": "{lr}"},
    "schedule": {"type": "cosine", "warmup_epochs": 1},
    "batch_size": 32, "epochs": 5})");
  const auto ok = pl::validate_pipeline(good, {"lr", "width"}, dir.path().string());
  CHECK(ok.empty());
  INFO(dump(ok));

  const json bad = json::parse(R"({
    "data": {"format": "csv", "train": "missing.csv", "split": 1.5, "train_images": "x"},
    "model": {"type": "mlp", "widht": 10, "layers": -1, "activation": "swish"},
    "optimizer": {"type": "adamw", "lr": "{learning_rate}", "nesterov": true, "momentum": 0},
    "batch_size": 0, "epochs": 2.5, "loss": "mse", "task": "classification",
    "schedul": {}})");
  const auto issues = pl::validate_pipeline(bad, {"lr"}, dir.path().string());
  INFO(dump(issues));
  CHECK(has_issue(issues, "trial.pipeline.data.train", "missing.csv"));
  CHECK(has_issue(issues, "trial.pipeline.data.split", "(0, 1)"));
  CHECK(has_issue(issues, "trial.pipeline.data.train_images", "not a key of format csv"));
  CHECK(has_issue(issues, "trial.pipeline.model.widht", "did you mean 'width'"));
  CHECK(has_issue(issues, "trial.pipeline.model.layers", "[0, 64]"));
  CHECK(has_issue(issues, "trial.pipeline.model.activation", "relu, gelu, tanh, silu"));
  CHECK(has_issue(issues, "trial.pipeline.optimizer.lr", "'{learning_rate}' names no parameter"));
  CHECK(has_issue(issues, "trial.pipeline.optimizer.nesterov", "momentum > 0"));
  CHECK(has_issue(issues, "trial.pipeline.batch_size", "got 0"));
  CHECK(has_issue(issues, "trial.pipeline.epochs", "expected an integer"));
  CHECK(has_issue(issues, "trial.pipeline.loss", "does not fit task classification"));
  CHECK(has_issue(issues, "trial.pipeline.schedul", "did you mean 'schedule'"));

  const json cnn_on_csv = {{"data", {{"train", "train.csv"}}}, {"model", {{"type", "cnn"}}}};
  CHECK(has_issue(pl::validate_pipeline(cnn_on_csv, {}, dir.path().string()),
                  "trial.pipeline.model.type", "needs image data"));
  const json idx_missing = {{"data", {{"format", "idx"}, {"train_images", "img.gz"}}}};
  const auto idx_issues = pl::validate_pipeline(idx_missing, {}, dir.path().string());
  CHECK(has_issue(idx_issues, "trial.pipeline.data.train_labels", "required"));
  CHECK(has_issue(idx_issues, "trial.pipeline.data.train_images", "does not exist"));

  // parse_pipeline throws one ConfigError listing them all, and resolves paths.
  CHECK_THAT(error_of([&] { (void)pl::parse_pipeline(bad, dir.path().string()); }),
             Catch::Contains("problem(s)") && Catch::Contains("trial.pipeline.model.widht"));
  const pl::PipelineConfig c = pl::parse_pipeline(
      pl::substitute_params(good, {{"lr", 0.003}, {"width", 48}}), dir.path().string());
  CHECK(c.model.width == 48);
  CHECK(c.optimizer.lr == 0.003);
  CHECK(c.optimizer.effective_weight_decay() == 0.01);
  CHECK(c.data.train == dir.file("train.csv"));
  CHECK(c.schedule.type == pl::ScheduleType::kCosine);
}

TEST_CASE("idx: gzip and plain round trip, limits and bad files", "[pipelines]") {
  TempDir dir;
  pl::IdxArray a;
  a.dims = {3, 2, 4};
  for (int i = 0; i < 24; ++i) a.data.push_back(static_cast<uint8_t>(i * 10));
  pl::write_idx(dir.file("a.gz"), a, true);
  pl::write_idx(dir.file("a.idx"), a, false);
  for (const char* name : {"a.gz", "a.idx"}) {
    const pl::IdxArray b = pl::read_idx(dir.file(name));
    CHECK(b.dims == a.dims);
    CHECK(b.data == a.data);
  }
  const pl::IdxArray first = pl::read_idx(dir.file("a.gz"), 2);
  CHECK(first.dims == std::vector<int64_t>{2, 2, 4});
  CHECK(first.data == std::vector<uint8_t>(a.data.begin(), a.data.begin() + 16));

  dir.write("bad", std::string("\x01\x02\x08\x01\x00\x00\x00\x01", 8));
  CHECK_THAT(error_of([&] { (void)pl::read_idx(dir.file("bad")); }), Catch::Contains("magic"));
  dir.write("float", std::string("\x00\x00\x0D\x01\x00\x00\x00\x01", 8));
  CHECK_THAT(error_of([&] { (void)pl::read_idx(dir.file("float")); }),
             Catch::Contains("element type"));
  dir.write("short", std::string("\x00\x00\x08\x01\x00\x00\x00\x05"
                                 "ab",
                                 10));
  CHECK_THAT(error_of([&] { (void)pl::read_idx(dir.file("short")); }),
             Catch::Contains("truncated"));

  // A label file with a different count than the images is named in the error.
  pl::IdxArray labels;
  labels.dims = {2};
  labels.data = {0, 1};
  pl::write_idx(dir.file("labels.gz"), labels, true);
  pl::DataConfig d;
  d.format = pl::DataFormat::kIdx;
  d.train_images = dir.file("a.gz");
  d.train_labels = dir.file("labels.gz");
  CHECK_THAT(error_of([&] { (void)pl::load_dataset(d, std::nullopt); }),
             Catch::Contains("labels.gz") && Catch::Contains("2 labels for 3 images"));
}

TEST_CASE("split: seeded, stratified, disjoint and complete", "[pipelines]") {
  std::vector<int64_t> labels;
  for (int i = 0; i < 300; ++i) labels.push_back(i < 200 ? 0 : (i < 280 ? 1 : 2));
  const auto [train, valid] = pl::split_rows(labels.size(), 0.25, &labels, 7);
  CHECK(train.size() + valid.size() == 300);
  std::set<size_t> all(train.begin(), train.end());
  all.insert(valid.begin(), valid.end());
  CHECK(all.size() == 300);
  int per_class[3] = {0, 0, 0};
  for (const size_t i : valid) ++per_class[labels[i]];
  CHECK(per_class[0] == 50);
  CHECK(per_class[1] == 20);
  CHECK(per_class[2] == 5);
  CHECK(pl::split_rows(labels.size(), 0.25, &labels, 7).second == valid);
  CHECK(pl::split_rows(labels.size(), 0.25, &labels, 8).second != valid);
  const auto tiny = pl::split_rows(2, 0.1, nullptr, 1);
  CHECK(tiny.first.size() == 1);
  CHECK(tiny.second.size() == 1);
}

TEST_CASE("dataset: missing targets dropped, cache parses once for concurrent trials",
          "[pipelines]") {
  TempDir dir;
  std::ostringstream csv;
  csv << "id,x,color,target\n";
  for (int i = 0; i < 60; ++i)
    csv << "r" << i << "," << i * 0.5 << "," << (i % 3 ? "red" : "blue") << ","
        << (i % 10 == 9 ? "" : (i % 2 ? "odd" : "even")) << "\n";
  dir.write("d.csv", csv.str());
  pl::DataConfig d;
  d.train = dir.file("d.csv");
  d.id = "id";
  d.split = 0.25;
  d.split_seed = 0xC0FFEE;

  const auto before = pl::dataset_cache_stats();
  std::shared_ptr<const pl::Dataset> got[4];
  std::vector<std::thread> threads;
  for (auto& g : got) threads.emplace_back([&g, &d] { g = pl::load_dataset(d, std::nullopt); });
  for (auto& t : threads) t.join();
  const auto after = pl::dataset_cache_stats();
  CHECK(after.loads - before.loads == 1);
  CHECK(after.hits - before.hits == 3);
  for (const auto& g : got) CHECK(g.get() == got[0].get());

  const pl::Dataset& ds = *got[0];
  CHECK(ds.dropped_missing_target == 6);
  CHECK(ds.task == pl::TaskKind::kClassification);
  CHECK(ds.train.rows + ds.validation.rows == 54);
  CHECK(ds.validation.rows == 14);  // 30 even * 0.25 rounds to 8, 24 odd * 0.25 is 6
  CHECK(ds.input_shape ==
        std::vector<int64_t>{3});  // x, color=blue, color=red; the id is no feature
  CHECK(ds.target.classes == std::vector<std::string>{"even", "odd"});

  // Another option is another cache entry; a changed file is another entry too.
  pl::DataConfig d2 = d;
  d2.split = 0.5;
  CHECK(pl::load_dataset(d2, std::nullopt).get() != got[0].get());
  dir.write("d.csv", csv.str() + "r99,1,red,odd\n");
  CHECK(pl::load_dataset(d, std::nullopt).get() != got[0].get());

  // A missing target column is named with the columns there are.
  pl::DataConfig d3 = d;
  d3.target = "label";
  CHECK_THAT(error_of([&] { (void)pl::load_dataset(d3, std::nullopt); }),
             Catch::Contains("d.csv") && Catch::Contains("target column 'label'") &&
                 Catch::Contains("id, x, color, target"));
}

TEST_CASE("metrics: accuracy, macro F1, ROC AUC and regression errors", "[pipelines]") {
  // 4 examples, 2 classes; predictions 1,0,1,1 for truth 1,0,0,1.
  const float probs[] = {0.2f, 0.8f, 0.9f, 0.1f, 0.4f, 0.6f, 0.3f, 0.7f};
  const int64_t labels[] = {1, 0, 0, 1};
  const json m = pl::classification_metrics(probs, 4, 2, labels);
  CHECK(m["accuracy"].get<double>() == Approx(0.75));
  // class 0: tp 1, predicted 1, actual 2 -> 2/3; class 1: tp 2, predicted 3, actual 2 -> 4/5.
  CHECK(m["f1_macro"].get<double>() == Approx((2.0 / 3 + 0.8) / 2));
  // positives score .8, .7; negatives .1, .6 -> every positive ranks above every negative.
  CHECK(m["roc_auc"].get<double>() == Approx(1.0));
  CHECK(pl::roc_auc({0.5, 0.5, 0.5}, {1, 0, 1}) == Approx(0.5));
  CHECK(pl::roc_auc({0.1, 0.9, 0.2, 0.3}, {1, 0, 0, 0}) == Approx(0.0));

  const float pred[] = {1.0f, -1.0f};
  const float truth[] = {0.0f, 0.0f};
  const json r = pl::regression_metrics(pred, truth, 2, 100.0, 10.0);
  CHECK(r["rmse"].get<double>() == Approx(10.0));
  CHECK(r["mae"].get<double>() == Approx(10.0));
  CHECK(pl::metric_names(pl::TaskKind::kClassification, true).back() == "roc_auc");
}
