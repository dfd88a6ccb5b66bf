// k-fold validation in the pipelines: the fold assignment, training one model per fold with the
// mean reported, pause/resume of all fold models, and the fold models' ensemble export predicting
// the mean of its members.

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "pipelines/csv.h"
#include "pipelines/dataset.h"
#include "pipelines/predict.h"
#include "pipelines/trainer.h"
#include "base/rng.h"
#include "tests/pipelines/temp_dir.h"

using hypertune::test::TempDir;
using nlohmann::json;
namespace pl = hypertune::pipelines;
namespace fs = std::filesystem;

namespace {

// Three unbalanced classes by the position of (x1, x2); `rows` rows with an id.
std::string make_csv(int rows, uint64_t seed) {
  hypertune::Rng rng(seed);
  std::ostringstream out;
  out << "id,x1,x2,target\n";
  for (int i = 0; i < rows; ++i) {
    const double x1 = rng.uniform(-1, 1), x2 = rng.uniform(-1, 1);
    const char* cls = x1 > 0.4 ? "a" : x2 > 0.0 ? "b" : "c";
    out << "r" << i << "," << x1 << "," << x2 << "," << cls << "\n";
  }
  return out.str();
}

json section(const std::string& train, int folds) {
  json data = {{"train", train}, {"id", "id"}, {"split_seed", 7}};
  if (folds > 1) data["folds"] = folds;
  return {{"data", data},
          {"model", {{"type", "mlp"}, {"layers", 1}, {"width", 16}}},
          {"optimizer", {{"type", "adamw"}, {"lr", 0.02}}},
          {"batch_size", 32},
          {"epochs", 6}};
}

struct Run {
  hypertune::Outcome result;
  std::vector<std::pair<int64_t, json>> reports;
};

Run train(const hypertune::TrialSpec& req, std::optional<int64_t> pause_at = std::nullopt) {
  Run run;
  hypertune::TrialSpec r = req;
  r.pause_at = pause_at;
  run.result = pl::train(r, [&](int64_t epoch, const json& m) {
    run.reports.emplace_back(epoch, m);
    return hypertune::Verdict{};
  });
  return run;
}

json without_time(json m) {
  m.erase("time_s");
  return m;
}

}  // namespace

TEST_CASE("fold_rows: disjoint, covering, stratified, seeded", "[pipelines][kfold]") {
  std::vector<int64_t> labels;
  for (int i = 0; i < 103; ++i) labels.push_back(i % 10 == 0 ? 2 : i % 3 == 0 ? 1 : 0);
  const auto f = pl::fold_rows(labels.size(), 5, &labels, 3);
  REQUIRE(f.size() == labels.size());
  std::map<int, int> size;
  std::map<std::pair<int64_t, int>, int> per_class;
  std::map<int64_t, int> class_total;
  for (size_t i = 0; i < f.size(); ++i) {
    REQUIRE(f[i] >= 0);
    REQUIRE(f[i] < 5);
    ++size[f[i]];
    ++per_class[{labels[i], f[i]}];
    ++class_total[labels[i]];
  }
  // Fold sizes differ by at most one; each class is spread evenly (floor or ceil of its share).
  int lo = 1 << 30, hi = 0;
  for (const auto& [fold, n] : size) {
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  CHECK(size.size() == 5);
  CHECK(hi - lo <= 1);
  for (const auto& [cls, total] : class_total)
    for (int fold = 0; fold < 5; ++fold) {
      const int n = per_class[{cls, fold}];
      CHECK(n >= total / 5);
      CHECK(n <= (total + 4) / 5);
    }
  // fold_split: validation is exactly the fold, train the rest, both ascending.
  std::set<size_t> seen;
  for (int fold = 0; fold < 5; ++fold) {
    const auto [tr, va] = pl::fold_split(labels.size(), 5, fold, &labels, 3);
    CHECK(tr.size() + va.size() == labels.size());
    CHECK(std::is_sorted(tr.begin(), tr.end()));
    for (const size_t i : va) {
      CHECK(f[i] == fold);
      CHECK(seen.insert(i).second);  // no row validates twice
    }
    for (const size_t i : tr) CHECK(f[i] != fold);
  }
  CHECK(seen.size() == labels.size());
  // Same seed, same folds; another seed, other folds.
  CHECK(pl::fold_rows(labels.size(), 5, &labels, 3) == f);
  CHECK(pl::fold_rows(labels.size(), 5, &labels, 4) != f);
  CHECK_THROWS(pl::fold_split(3, 5, 0, nullptr, 0));
}

TEST_CASE("k-fold training reports the mean of the fold models, each validated on its fold",
          "[pipelines][kfold]") {
  TempDir dir;
  const std::string csv = dir.write("train.csv", make_csv(150, 11));
  hypertune::TrialSpec req;
  req.trial["pipeline"] = section(csv, 3);
  req.metric = "accuracy";
  req.seed = 5;
  req.checkpoint_dir = dir.file("trial");
  req.work_dir = dir.path().string();
  const Run run = train(req);
  INFO(run.result.error);
  REQUIRE(run.result.kind == hypertune::OutcomeKind::kComplete);
  REQUIRE(run.reports.size() == 6);
  const fs::path model = pl::model_dir(req);
  REQUIRE(model == fs::path(dir.file("trial")) / "model");
  const json manifest = json::parse(std::ifstream(model / "model.json"));
  CHECK(manifest["format"] == "hypertune-ensemble");
  CHECK(manifest["members"] == json::array({"fold-0", "fold-1", "fold-2"}));

  // Every fold model scores its own fold's rows as its metrics say; the report is their mean.
  const pl::CsvTable table = pl::read_csv(csv);
  std::vector<int64_t> classes;  // stratification labels as the dataset encodes them (sorted)
  for (const auto& row : table.rows) classes.push_back(row[3] == "a" ? 0 : row[3] == "b" ? 1 : 2);
  double sum = 0.0;
  for (int fold = 0; fold < 3; ++fold) {
    const fs::path member = model / ("fold-" + std::to_string(fold));
    const json metrics = json::parse(std::ifstream(member / "metrics.json"));
    const double acc = metrics["final"]["accuracy"].get<double>();
    sum += acc;
    const auto [tr, va] = pl::fold_split(table.rows.size(), 3, fold, &classes, 7);
    std::ostringstream part;
    part << "id,x1,x2,target\n";
    for (const size_t r : va)
      part << table.rows[r][0] << "," << table.rows[r][1] << "," << table.rows[r][2] << ","
           << table.rows[r][3] << "\n";
    const std::string part_csv = dir.write("fold" + std::to_string(fold) + ".csv", part.str());
    pl::predict(member.string(), part_csv, dir.file("pred.csv"));
    const pl::CsvTable pred = pl::read_csv(dir.file("pred.csv"));
    REQUIRE(pred.rows.size() == va.size());
    int right = 0;
    for (size_t i = 0; i < va.size(); ++i) right += pred.rows[i][1] == table.rows[va[i]][3];
    CHECK(static_cast<double>(right) / static_cast<double>(va.size()) == Approx(acc).margin(1e-9));
  }
  CHECK(run.reports.back().second["accuracy"].get<double>() == Approx(sum / 3.0).margin(1e-12));
  CHECK(run.result.metrics["accuracy"].get<double>() == Approx(sum / 3.0).margin(1e-12));
  CHECK(sum / 3.0 > 0.8);  // learnable: chance is about 0.45 for the largest class

  // The same request and seed: the same reports (folds and training are seeded).
  hypertune::TrialSpec again = req;
  again.checkpoint_dir = dir.file("again");
  const Run run2 = train(again);
  REQUIRE(run2.reports.size() == run.reports.size());
  for (size_t i = 0; i < run.reports.size(); ++i)
    CHECK(without_time(run2.reports[i].second) == without_time(run.reports[i].second));

  // Folds differ from the holdout: the holdout run reports other numbers.
  hypertune::TrialSpec holdout = req;
  holdout.trial["pipeline"] = section(csv, 1);
  holdout.checkpoint_dir = dir.file("holdout");
  const Run run3 = train(holdout);
  REQUIRE(run3.result.kind == hypertune::OutcomeKind::kComplete);
  CHECK(without_time(run3.reports.back().second) != without_time(run.reports.back().second));

  // The ensemble export predicts the mean of its members' probabilities.
  const std::string all = csv;
  const pl::Predictor ens = pl::Predictor::load(model.string());
  CHECK(ens.is_ensemble());
  CHECK(ens.members() == 3);
  const auto mean = ens.predict_input(all);
  std::vector<double> expect(mean.size(), 0.0);
  for (int fold = 0; fold < 3; ++fold) {
    const auto y = pl::Predictor::load((model / ("fold-" + std::to_string(fold))).string()).predict_input(all);
    REQUIRE(y.size() == mean.size());
    for (size_t i = 0; i < y.size(); ++i) expect[i] += y[i] / 3.0;
  }
  for (size_t i = 0; i < mean.size(); ++i) CHECK(mean[i] == Approx(expect[i]).margin(1e-6));
  CHECK_THROWS(ens.input_size());
}

TEST_CASE("k-fold pause and resume: all fold models checkpointed, same result as uninterrupted",
          "[pipelines][kfold]") {
  TempDir dir;
  const std::string csv = dir.write("train.csv", make_csv(120, 12));
  hypertune::TrialSpec req;
  req.trial["pipeline"] = section(csv, 4);
  req.metric = "accuracy";
  req.seed = 9;
  req.work_dir = dir.path().string();
  req.checkpoint_dir = dir.file("straight");
  const Run straight = train(req);
  REQUIRE(straight.result.kind == hypertune::OutcomeKind::kComplete);

  req.checkpoint_dir = dir.file("paused");
  const Run first = train(req, 2);
  REQUIRE(first.result.kind == hypertune::OutcomeKind::kPaused);
  REQUIRE(first.result.checkpoint);
  CHECK(first.result.last_step == 2);
  const auto tensors = pl::read_tensor_file(*first.result.checkpoint);
  std::set<std::string> prefixes;
  for (const auto& t : tensors)
    if (t.name.rfind("fold", 0) == 0) prefixes.insert(t.name.substr(0, t.name.find('.')));
  CHECK(prefixes == std::set<std::string>{"fold0", "fold1", "fold2", "fold3"});

  hypertune::TrialSpec resume = req;
  resume.checkpoint = first.result.checkpoint;
  resume.start_step = 2;
  const Run second = train(resume);
  REQUIRE(second.result.kind == hypertune::OutcomeKind::kComplete);
  REQUIRE(second.reports.size() == 4);
  CHECK(without_time(second.reports.back().second) == without_time(straight.reports.back().second));
  // Weights bit-identical to the uninterrupted run's, fold by fold.
  for (int fold = 0; fold < 4; ++fold) {
    const std::string name = "model/fold-" + std::to_string(fold) + "/weights.pt";
    const auto a = pl::read_tensor_file(dir.file("straight/" + name));
    const auto b = pl::read_tensor_file(dir.file("paused/" + name));
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].values == b[i].values);
  }

  // A holdout checkpoint does not resume a k-fold trial.
  hypertune::TrialSpec other = req;
  other.trial["pipeline"] = section(csv, 1);
  other.checkpoint_dir = dir.file("other");
  const Run holdout = train(other, 1);
  REQUIRE(holdout.result.kind == hypertune::OutcomeKind::kPaused);
  hypertune::TrialSpec mismatch = req;
  mismatch.checkpoint = holdout.result.checkpoint;
  mismatch.start_step = 1;
  const Run bad = train(mismatch);
  CHECK(bad.result.kind == hypertune::OutcomeKind::kFailed);
  CHECK(bad.result.error.find("fold model") != std::string::npos);
}

TEST_CASE("folds in the pipeline section: bounds and no validation file", "[pipelines][kfold]") {
  TempDir dir;
  const std::string csv = dir.write("train.csv", make_csv(30, 1));
  json s = section(csv, 3);
  s["data"]["validation"] = csv;
  CHECK_THROWS_WITH(pl::parse_pipeline(s, dir.path().string()),
                    Catch::Contains("trial.pipeline.data.folds") &&
                        Catch::Contains("cannot be combined with a validation file"));
  json t = section(csv, 3);
  t["data"]["fold"] = 3;
  CHECK_THROWS_WITH(pl::parse_pipeline(t, dir.path().string()),
                    Catch::Contains("trial.pipeline.data.fold") && Catch::Contains("below folds"));
  json u = section(csv, 1);
  u["data"]["folds"] = 0;
  CHECK_THROWS_WITH(pl::parse_pipeline(u, dir.path().string()), Catch::Contains("trial.pipeline.data.folds"));
}
