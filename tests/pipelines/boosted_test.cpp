// Gradient-boosted trees as a pipeline model (model.type xgboost): a step is `rounds` boosting
// rounds; reports, pruning, pause and resume from the saved booster (bit for bit), k-fold, the
// export that `hypertune predict` and Python's xgboost both read, and the config checks.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/rng.h"
#include "pipelines/config.h"
#include "pipelines/csv.h"
#include "pipelines/predict.h"
#include "pipelines/trainer.h"
#include "tests/pipelines/temp_dir.h"
#include "tests/support/process.h"

using hypertune::test::TempDir;
using nlohmann::json;
namespace pl = hypertune::pipelines;
using Kind = hypertune::OutcomeKind;

namespace {

// y depends on x1 and x2 through an interaction trees find and a line does not; x2 is sometimes
// missing; color shifts the class. Regression: a non-linear function of the same.
std::string make_csv(int rows, uint64_t seed, bool regression) {
  hypertune::Rng rng(seed);
  std::ostringstream out;
  out << "x1,x2,color,target\n";
  const char* colors[] = {"red", "green", "blue"};
  for (int i = 0; i < rows; ++i) {
    const double x1 = rng.uniform(-1, 1), x2 = rng.uniform(-1, 1);
    const int c = static_cast<int>(rng.below(3));
    const bool missing = rng.uniform() < 0.1;
    out << x1 << "," << (missing ? std::string("") : std::to_string(x2)) << "," << colors[c] << ",";
    if (regression)
      out << (x1 * x2 > 0 ? 3.0 : -1.0) + c + 0.05 * rng.normal() << "\n";
    else
      out << ((x1 * x2 > 0) != (c == 2) ? "yes" : "no") << "\n";
  }
  return out.str();
}

json xgb_section(const std::string& train, int epochs = 6) {
  return {{"data", {{"train", train}, {"split", 0.25}}},
          {"model", {{"type", "xgboost"}, {"rounds", 5}, {"max_depth", 4}, {"eta", "{eta}"}}},
          {"epochs", epochs}};
}

struct Run {
  hypertune::Outcome result;
  std::vector<std::pair<int64_t, json>> reports;
};

Run train(const hypertune::TrialSpec& req,
          const std::function<hypertune::Verdict(int64_t)>& verdict = [](int64_t) { return hypertune::Verdict{}; }) {
  Run run;
  run.result = pl::train(req, [&](int64_t step, const json& m) {
    run.reports.emplace_back(step, m);
    return verdict(step);
  });
  return run;
}

json without_time(json m) {
  m.erase("time_s");
  return m;
}

hypertune::TrialSpec spec(const json& section, const std::string& dir, const std::string& metric) {
  hypertune::TrialSpec req;
  req.trial["pipeline"] = section;
  req.params = {{"eta", 0.3}};
  req.metric = metric;
  req.seed = 5;
  req.checkpoint_dir = dir;
  return req;
}

}  // namespace

TEST_CASE("xgboost pipeline: trees learn an interaction, report each step of rounds, export and predict",
          "[pipelines][gbt]") {
  TempDir dir;
  const std::string csv = dir.write("c.csv", make_csv(1200, 1, false));
  const Run run = train(spec(xgb_section(csv), dir.file("trial"), "accuracy"));
  INFO(run.result.error);
  REQUIRE(run.result.kind == Kind::kComplete);
  REQUIRE(run.reports.size() == 6);
  for (size_t i = 0; i < run.reports.size(); ++i) {
    CHECK(run.reports[i].first == static_cast<int64_t>(i + 1));
    CHECK(run.reports[i].second["rounds"] == 5 * (i + 1));
    for (const char* k : {"accuracy", "f1_macro", "roc_auc", "val_loss", "train_loss"})
      CHECK(run.reports[i].second.contains(k));
  }
  CHECK(run.result.metrics["accuracy"].get<double>() > 0.9);  // a linear model is near 0.5 here
  CHECK(run.reports.back().second["val_loss"] < run.reports.front().second["val_loss"]);

  const json model = json::parse(std::ifstream(dir.file("trial/model/model.json")));
  CHECK(model["model"]["type"] == "xgboost");
  CHECK(model["model"]["rounds"] == 30);
  const json metrics = json::parse(std::ifstream(dir.file("trial/model/metrics.json")));
  CHECK_FALSE(metrics["importance_gain"].empty());

  // hypertune predict on fresh rows agrees with the truth as well as validation did.
  const std::string fresh = make_csv(300, 2, false);
  const pl::CsvTable truth = pl::parse_csv(fresh, "fresh");
  std::ostringstream input;
  input << "x1,x2,color\n";
  for (const auto& r : truth.rows) input << r[0] << "," << r[1] << "," << r[2] << "\n";
  dir.write("in.csv", input.str());
  pl::predict(dir.file("trial/model"), dir.file("in.csv"), dir.file("out.csv"));
  const pl::CsvTable out = pl::read_csv(dir.file("out.csv"));
  REQUIRE(out.header == std::vector<std::string>{"prediction", "proba_no", "proba_yes"});
  REQUIRE(out.rows.size() == truth.rows.size());
  int correct = 0;
  for (size_t r = 0; r < out.rows.size(); ++r) correct += out.rows[r][0] == truth.rows[r][3];
  CHECK(correct > 270);

  // The booster is XGBoost's own JSON: Python's xgboost reads it and predicts the same values
  // from the same preprocessed features.
  const pl::Predictor p = pl::Predictor::load(dir.file("trial/model"));
  const std::vector<float> x = p.features(truth);
  const std::vector<float> ours = p.predict_features(x, static_cast<int64_t>(truth.rows.size()));
  {
    std::ofstream f(dir.file("x.csv"));
    const int64_t cols = p.input_size();
    for (size_t r = 0; r < truth.rows.size(); ++r)
      for (int64_t c = 0; c < cols; ++c) f << x[r * cols + c] << (c + 1 == cols ? "\n" : ",");
  }
  const auto py = hypertune::test::run_process(
      {"/usr/bin/python3", "-c",
       "import sys, numpy, xgboost\n"
       "b = xgboost.Booster(model_file=sys.argv[1])\n"
       "x = numpy.loadtxt(sys.argv[2], delimiter=',', ndmin=2)\n"
       "print(' '.join('%.6f' % v for v in b.predict(xgboost.DMatrix(x))))\n",
       dir.file("trial/model/booster.json"), dir.file("x.csv")});
  INFO(py.out);
  REQUIRE(py.exit_code == 0);
  std::istringstream theirs(py.out);
  for (size_t r = 0; r < 20; ++r) {
    double v = 0;
    REQUIRE(theirs >> v);
    CHECK(v == Approx(ours[2 * r + 1]).margin(1e-4));  // P(yes)
  }
}

TEST_CASE("xgboost pipeline: a paused trial resumes from its booster, bit for bit", "[pipelines][gbt]") {
  TempDir dir;
  const std::string csv = dir.write("c.csv", make_csv(800, 3, false));
  const Run whole = train(spec(xgb_section(csv), dir.file("whole"), "accuracy"));
  REQUIRE(whole.result.kind == Kind::kComplete);

  hypertune::TrialSpec first = spec(xgb_section(csv), dir.file("split"), "accuracy");
  first.pause_at = 2;
  const Run a = train(first);
  INFO(a.result.error);
  REQUIRE(a.result.kind == Kind::kPaused);
  REQUIRE(a.result.checkpoint);
  hypertune::TrialSpec second = spec(xgb_section(csv), dir.file("split"), "accuracy");
  second.checkpoint = a.result.checkpoint;
  second.start_step = 2;
  const Run b = train(second);
  INFO(b.result.error);
  REQUIRE(b.result.kind == Kind::kComplete);
  REQUIRE(b.reports.size() == 4);
  CHECK(b.reports[0].first == 3);
  CHECK(b.reports[0].second["rounds"] == 15);  // continued from round 10, not retrained from 0
  for (size_t i = 0; i < 4; ++i) CHECK(without_time(b.reports[i].second) == without_time(whole.reports[i + 2].second));
  CHECK(without_time(b.result.metrics) == without_time(whole.result.metrics));
  const std::string x = json::parse(std::ifstream(dir.file("whole/model/booster.json"))).dump();
  const std::string y = json::parse(std::ifstream(dir.file("split/model/booster.json"))).dump();
  CHECK(x == y);
}

TEST_CASE("xgboost pipeline: regression, pruning, k-fold and balanced class weights", "[pipelines][gbt]") {
  TempDir dir;
  SECTION("regression reports rmse in the target's units") {
    const std::string csv = dir.write("r.csv", make_csv(800, 4, true));
    const Run run = train(spec(xgb_section(csv), dir.file("r"), "rmse"));
    INFO(run.result.error);
    REQUIRE(run.result.kind == Kind::kComplete);
    // A jump of 4 on the sign of x1*x2 (unknowable for the 10% of rows without x2) plus the
    // color: no linear model can fit the jump; trees fit most of it.
    CHECK(run.result.metrics["rmse"].get<double>() < 1.2);
    CHECK(run.result.metrics["r2"].get<double>() > 0.75);
  }
  SECTION("a prune verdict stops at once") {
    const std::string csv = dir.write("c.csv", make_csv(400, 5, false));
    const Run run = train(spec(xgb_section(csv), dir.file("p"), "accuracy"), [](int64_t s) {
      return hypertune::Verdict{s == 2 ? hypertune::Decision::kPrune : hypertune::Decision::kContinue, std::nullopt};
    });
    CHECK(run.result.kind == Kind::kPruned);
    CHECK(run.result.last_step == 2);
  }
  SECTION("k-fold trains a booster per fold and exports the ensemble") {
    const std::string csv = dir.write("c.csv", make_csv(600, 6, false));
    json section = xgb_section(csv, 3);
    section["data"] = {{"train", csv}, {"folds", 3}};
    section["model"]["class_weight"] = "balanced";
    const Run run = train(spec(section, dir.file("k"), "accuracy"));
    INFO(run.result.error);
    REQUIRE(run.result.kind == Kind::kComplete);
    CHECK(run.result.metrics["accuracy"].get<double>() > 0.85);
    const json model = json::parse(std::ifstream(dir.file("k/model/model.json")));
    CHECK(model["format"] == "hypertune-ensemble");
    CHECK(model["members"].size() == 3);
    for (int f = 0; f < 3; ++f) CHECK(std::ifstream(dir.file("k/model/fold-" + std::to_string(f) + "/booster.json")).good());
    const pl::Predictor p = pl::Predictor::load(dir.file("k/model"));
    CHECK(p.members() == 3);
  }
}

TEST_CASE("xgboost pipeline: its keys are checked with the key path", "[pipelines][gbt]") {
  TempDir dir;
  const std::string csv = dir.write("c.csv", make_csv(50, 7, false));
  auto issues_of = [&](const json& model) {
    json section = {{"data", {{"train", csv}}}, {"model", model}};
    std::string text;
    for (const auto& i : pl::validate_pipeline(section, {"eta"}, dir.path().string())) text += i.path + ": " + i.message + "\n";
    return text;
  };
  CHECK(issues_of({{"type", "xgboost"}, {"eta", "{eta}"}, {"max_depth", 3}, {"class_weight", "balanced"}}).empty());
  CHECK_THAT(issues_of({{"type", "xgboost"}, {"layers", 2}}), Catch::Contains("trial.pipeline.model") && Catch::Contains("layers"));
  CHECK_THAT(issues_of({{"type", "xgboost"}, {"eta", 0.0}}), Catch::Contains("trial.pipeline.model.eta"));
  CHECK_THAT(issues_of({{"type", "xgboost"}, {"subsample", 1.5}}), Catch::Contains("trial.pipeline.model.subsample"));
  CHECK_THAT(issues_of({{"type", "xgboost"}, {"class_weight", "heavy"}}),
             Catch::Contains("trial.pipeline.model.class_weight") && Catch::Contains("balanced"));
  json idx = {{"data", {{"format", "idx"}, {"train_images", csv}, {"train_labels", csv}}}, {"model", {{"type", "xgboost"}}}};
  std::string text;
  for (const auto& i : pl::validate_pipeline(idx, {}, dir.path().string())) text += i.path + ": " + i.message + "\n";
  CHECK_THAT(text, Catch::Contains("an xgboost model needs tabular data"));
}

TEST_CASE("xgboost pipeline: early stopping ends the trial and keeps its best step's rounds", "[pipelines][gbt]") {
  TempDir dir;
  // Labels that are pure noise: deep trees only overfit, so val_loss rises after the first steps.
  hypertune::Rng rng(9);
  std::ostringstream csv;
  csv << "a,b,c,target\n";
  for (int i = 0; i < 400; ++i) csv << rng.uniform() << "," << rng.uniform() << "," << rng.uniform() << "," << (rng.below(2) ? "x" : "y") << "\n";
  json section = xgb_section(dir.write("noise.csv", csv.str()), 30);
  section["model"]["max_depth"] = 8;
  section["model"]["early_stopping"] = 3;
  const Run run = train(spec(section, dir.file("t"), "accuracy"));
  INFO(run.result.error);
  REQUIRE(run.result.kind == Kind::kComplete);
  REQUIRE(run.reports.size() < 30);
  // The best step is the one with the lowest val_loss; the last 3 steps were no better.
  size_t best = 0;
  for (size_t i = 1; i < run.reports.size(); ++i)
    if (run.reports[i].second["val_loss"] < run.reports[best].second["val_loss"]) best = i;
  CHECK(run.reports.size() - 1 - best == 3);
  CHECK(without_time(run.result.metrics) == without_time(run.reports[best].second));
  const json model = json::parse(std::ifstream(dir.file("t/model/model.json")));
  CHECK(model["model"]["rounds"] == 5 * static_cast<int>(best + 1));
  const json metrics = json::parse(std::ifstream(dir.file("t/model/metrics.json")));
  CHECK(metrics["boosted_rounds"] == 5 * static_cast<int>(run.reports.size()));
  // Without early stopping the same trial runs all its steps.
  section["model"].erase("early_stopping");
  CHECK(train(spec(section, dir.file("u"), "accuracy")).reports.size() == 30);
}
