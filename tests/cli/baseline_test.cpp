// `hypertune baseline` end to end: real CSV files, the real binary, real training.

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipelines/csv.h"
#include "pipelines/idx.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using hypertune::test::Process;
using hypertune::test::run_process;
using hypertune::test::wait_until;
using namespace std::chrono_literals;
using hypertune::test::TempDir;

const std::string kBin = HYPERTUNE_BIN;

// Deterministic uniform numbers in [0, 1) without <random>'s implementation-defined distributions.
struct Lcg {
  uint64_t s;
  double next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s >> 11) / 9007199254740992.0;
  }
};

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

std::string read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Three classes by the sign pattern of two numeric features, a categorical that helps, an id,
// a constant column and a row counter that must be dropped.
void classification_csv(const std::string& path, int rows, uint64_t seed) {
  Lcg g{seed};
  std::ostringstream o;
  o << "id,row,x1,x2,color,const,label\n";
  for (int i = 0; i < rows; ++i) {
    const double x1 = g.next() * 4 - 2, x2 = g.next() * 4 - 2;
    const std::string label = x1 + x2 > 1 ? "high" : x1 - x2 > 0 ? "right" : "low";
    const std::string color = g.next() < 0.8 ? (label == "high" ? "red" : "blue") : "green";
    o << "c" << (seed * 1000 + i) << "," << i + 1 << "," << x1 << "," << x2 << "," << color << ",k," << label
      << "\n";
  }
  write(path, o.str());
}

void regression_csv(const std::string& path, int rows, uint64_t seed) {
  Lcg g{seed};
  std::ostringstream o;
  o << "x1,x2,x3,y\n";
  for (int i = 0; i < rows; ++i) {
    const double x1 = g.next() * 2 - 1, x2 = g.next() * 2 - 1, x3 = g.next();
    const double y = 10 + 3 * x1 - 2 * x2 + 4 * x1 * x2 + 0.1 * (g.next() - 0.5);
    o << x1 << "," << x2 << "," << (x3 < 0.5 ? "" : std::to_string(x3)) << "," << y << "\n";
  }
  write(path, o.str());
}

// Two classes from a product of features with 20% of the labels flipped: noisy enough that the
// mean of a few models beats the best single one.
void noisy_csv(const std::string& path, int rows, uint64_t seed) {
  Lcg g{seed};
  std::ostringstream o;
  o << "a,b,c,d,e,cls\n";
  char buf[32];
  for (int i = 0; i < rows; ++i) {
    double x[5];
    for (double& v : x) v = g.next() * 2 - 1;
    const double score = x[0] * x[1] + 0.5 * x[2] - 0.3 * x[3];
    bool yes = score > 0;
    if (g.next() < 0.2) yes = !yes;
    for (double v : x) {
      std::snprintf(buf, sizeof buf, "%.4f,", v);
      o << buf;
    }
    o << (yes ? "yes" : "no") << "\n";
  }
  write(path, o.str());
}

// 8x8 images of three classes (bright left half, right half, top half) with noise; returns labels.
std::vector<uint8_t> images_idx(const std::string& images, const std::string& labels, int n, uint64_t seed) {
  Lcg g{seed};
  hypertune::pipelines::IdxArray img, lab;
  img.dims = {n, 8, 8};
  lab.dims = {n};
  for (int i = 0; i < n; ++i) {
    const int cls = static_cast<int>(g.next() * 3);
    lab.data.push_back(static_cast<uint8_t>(cls));
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 8; ++c) {
        const bool lit = (cls == 0 && c < 4) || (cls == 1 && c >= 4) || (cls == 2 && r < 4);
        img.data.push_back(static_cast<uint8_t>((lit ? 120 : 0) + static_cast<int>(g.next() * 130)));
      }
  }
  hypertune::pipelines::write_idx(images, img, true);
  hypertune::pipelines::write_idx(labels, lab, false);
  return lab.data;
}

bool no_partial_left(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".partial-") != std::string::npos) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("baseline classification: outputs consistent, target in test dropped, predict works, deterministic",
          "[baseline]") {
  TempDir dir("baseline-cls");
  classification_csv(dir.file("train.csv"), 240, 1);
  classification_csv(dir.file("test.csv"), 37, 2);  // holds the target: dropped with a warning
  auto run = [&](const std::string& out) {
    return run_process({kBin, "baseline", "--train", dir.file("train.csv"), "--target", "label", "--test",
                        dir.file("test.csv"), "--time-budget", "600s", "--trials", "6", "--seed", "3",
                        "--out", dir.file(out)});
  };
  const auto r = run("out");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("warning: ") != std::string::npos);
  CHECK(r.out.find("target column 'label'") != std::string::npos);
  CHECK(r.out.find("const: dropped - constant") != std::string::npos);
  CHECK(r.out.find("row: dropped - ID-like") != std::string::npos);
  CHECK(r.out.find("id: id") != std::string::npos);
  CHECK(r.out.find("color: categorical") != std::string::npos);

  const fs::path out = dir.path() / "out";
  for (const char* f : {"model/model.json", "predictions.csv", "leaderboard.csv", "trials.csv", "report.html",
                        "baseline.json", "sweep.yaml", "study.db"}) {
    CHECK(fs::exists(out / f));
  }
  const auto j = nlohmann::json::parse(read((out / "baseline.json").string()));
  CHECK(j["task"] == "classification");
  CHECK(j["metric"] == "accuracy");
  CHECK(j["seed"] == 3);
  CHECK(j["trials"]["total"] == 6);
  // 240 rows: stratified 5-fold; the ensemble decision is recorded with both scores.
  CHECK(j["validation"]["scheme"] == "k-fold");
  CHECK(j["validation"]["folds"] == 5);
  CHECK(r.out.find("5-fold cross-validation of 240 rows") != std::string::npos);
  CHECK(j["ensemble"]["single_score"].is_number());
  CHECK(j["ensemble"]["ensemble_score"].is_number());
  CHECK((j["ensemble"]["chosen"] == "single" || j["ensemble"]["chosen"] == "ensemble"));
  CHECK(j["model"] == j["ensemble"]["chosen"]);
  CHECK(j["data"]["train"]["sha256"].get<std::string>().size() == 64);
  CHECK(j["data"]["test"]["rows"] == 37);
  CHECK(j["refit"]["asked"] == false);  // models are kept as trained: the mean of the fold models
  CHECK(j["trials"]["budget"] == 6);
  CHECK(j["replay"]["trials"] == 6);
  CHECK(j["stopped_by_budget"] == false);  // the 600 s are a safety stop: the 6 trials decide
  CHECK(j["dropped_columns"] == nlohmann::json::array({"row", "const"}));
  // The classes are learnable: a model that ignored the features scores about 1/3 to 1/2.
  CHECK(j["validation_score"].get<double>() >= 0.8);

  const auto preds = hypertune::pipelines::read_csv((out / "predictions.csv").string());
  REQUIRE(preds.header == std::vector<std::string>{"id", "prediction"});
  REQUIRE(preds.rows.size() == 37);
  const auto test = hypertune::pipelines::read_csv(dir.file("test.csv"));
  int correct = 0;
  for (size_t i = 0; i < preds.rows.size(); ++i) {
    CHECK(preds.rows[i][0] == test.rows[i][0]);
    CHECK(std::set<std::string>{"high", "low", "right"}.count(preds.rows[i][1]) == 1);
    correct += preds.rows[i][1] == test.rows[i][6];
  }
  CHECK(correct >= 28);  // >= 75% on fresh rows

  // trials.csv: every trial; the first three are each family's defaults (enqueued), then TPE.
  const auto trials = hypertune::pipelines::read_csv((out / "trials.csv").string());
  CHECK(trials.rows.size() == 6);
  CHECK(trials.column("accuracy").has_value());
  CHECK(trials.column("lr").has_value());
  const auto trial_col = trials.column("trial"), family_col = trials.column("family");
  REQUIRE(trial_col);
  REQUIRE(family_col);
  std::map<std::string, std::string> family_of;
  for (const auto& row : trials.rows) family_of[row[*trial_col]] = row[*family_col];
  CHECK(family_of["0"] == "xgboost");
  CHECK(family_of["1"] == "mlp");
  CHECK(family_of["2"] == "linear");
  // leaderboard.csv: the models, each family's best and the ensemble, one of them chosen.
  const auto board = hypertune::pipelines::read_csv((out / "leaderboard.csv").string());
  REQUIRE(board.header == std::vector<std::string>{"model", "family", "trials", "accuracy", "fit_seconds",
                                                   "predict_ms_per_1000_rows", "size_bytes", "chosen"});
  REQUIRE(board.rows.size() >= 3);
  int chosen = 0;
  std::set<std::string> models;
  for (const auto& row : board.rows) {
    models.insert(row[0]);
    chosen += row[7] == "yes";
    CHECK(std::stod(row[4]) > 0.0);   // fit seconds
    CHECK(std::stod(row[5]) > 0.0);   // predict ms per 1000 rows, measured
    CHECK(std::stoll(row[6]) > 1000); // bytes on disk
  }
  CHECK(chosen == 1);
  CHECK(models.count("best xgboost") == 1);
  CHECK(models.count("best mlp") == 1);
  CHECK(models.count("best linear") == 1);
  CHECK(j["leaderboard"].size() == board.rows.size());
  CHECK(r.out.find("Leaderboard (validation accuracy") != std::string::npos);
  const std::string html = read((out / "report.html").string());
  CHECK(html.find("trial-table") != std::string::npos);
  CHECK(html.find("id=\"model-leaderboard-table\"") != std::string::npos);
  CHECK(html.find("best xgboost") != std::string::npos);
  // Gain importance of the best xgboost trial: the label depends on x1 and x2 only.
  REQUIRE(j["feature_importance"].is_object());
  CHECK(family_of[std::to_string(j["feature_importance"]["trial"].get<int64_t>())] == "xgboost");
  const auto& gains = j["feature_importance"]["gain"];
  REQUIRE(gains.size() >= 2);
  CHECK(gains[0]["gain"].get<double>() >= gains[1]["gain"].get<double>());
  CHECK(std::set<std::string>{gains[0]["feature"].get<std::string>(), gains[1]["feature"].get<std::string>()} ==
        std::set<std::string>{"x1", "x2"});
  CHECK(html.find("id=\"feature-importance\"") != std::string::npos);

  // model/ is an ordinary export: `hypertune predict` gives the same predictions.
  const auto p = run_process({kBin, "predict", "--model", (out / "model").string(), "--input", dir.file("test.csv"),
                              "--output", dir.file("again.csv")});
  INFO(p.out);
  REQUIRE(p.exit_code == 0);
  const auto again = hypertune::pipelines::read_csv(dir.file("again.csv"));
  REQUIRE(again.rows.size() == 37);
  for (size_t i = 0; i < again.rows.size(); ++i) CHECK(again.rows[i][1] == preds.rows[i][1]);

  // Same command, seed and budget: the same predictions and leaderboard scores.
  const auto r2 = run("out2");
  REQUIRE(r2.exit_code == 0);
  CHECK(read((out / "predictions.csv").string()) == read(dir.file("out2/predictions.csv")));
  CHECK(nlohmann::json::parse(read(dir.file("out2/baseline.json")))["validation_score"] == j["validation_score"]);
  CHECK(no_partial_left(dir.path()));
}

TEST_CASE("baseline regression: rmse well below the target's spread, numeric predictions", "[baseline]") {
  TempDir dir("baseline-reg");
  regression_csv(dir.file("train.csv"), 400, 5);
  regression_csv(dir.file("test.csv"), 50, 6);
  {  // the test file without its target
    auto t = hypertune::pipelines::read_csv(dir.file("test.csv"));
    std::ostringstream o;
    o << "x1,x2,x3\n";
    for (const auto& row : t.rows) o << row[0] << "," << row[1] << "," << row[2] << "\n";
    write(dir.file("test.csv"), o.str());
  }
  const auto r = run_process({kBin, "baseline", "--train", dir.file("train.csv"), "--target", "y", "--test",
                              dir.file("test.csv"), "--time-budget", "600s", "--trials", "8", "--out",
                              dir.file("out")});
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("warning") == std::string::npos);
  const auto j = nlohmann::json::parse(read(dir.file("out/baseline.json")));
  CHECK(j["task"] == "regression");
  CHECK(j["metric"] == "rmse");
  CHECK(j["direction"] == "minimize");
  // y spreads with a standard deviation of about 2.1; predicting the mean would score that.
  CHECK(j["validation_score"].get<double>() < 0.8);
  const auto preds = hypertune::pipelines::read_csv(dir.file("out/predictions.csv"));
  REQUIRE(preds.header == std::vector<std::string>{"prediction"});
  REQUIRE(preds.rows.size() == 50);
  for (const auto& row : preds.rows) {
    const double v = std::stod(row[0]);
    CHECK(v > 0.0);
    CHECK(v < 20.0);
  }
  CHECK(hypertune::pipelines::read_csv(dir.file("out/trials.csv")).rows.size() == 8);
}

TEST_CASE("baseline bad input: exit 2, a message naming the problem, nothing left behind", "[baseline]") {
  TempDir dir("baseline-bad");
  classification_csv(dir.file("train.csv"), 60, 1);
  const std::string train = dir.file("train.csv");
  auto expect_error = [&](std::vector<std::string> args, const std::string& message) {
    std::vector<std::string> argv{kBin, "baseline"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--out", dir.file("out")});
    const auto r = run_process(argv);
    INFO(r.out);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find(message) != std::string::npos);
    CHECK(!fs::exists(dir.file("out")));
    CHECK(no_partial_left(dir.path()));
  };

  expect_error({"--train", train, "--target", "nope", "--time-budget", "20s"},
               "no target column 'nope'; the columns are: id, row, x1, x2, color, const, label");

  // A Latin-1 file: refused with its file and line before any trial runs.
  write(dir.file("latin1.csv"), [] {
    std::string s = "a,b\n";
    for (int i = 0; i < 30; ++i) s += std::to_string(i % 7) + (i == 20 ? ",caf\xe9\n" : ",x\n");
    return s;
  }());
  expect_error({"--train", dir.file("latin1.csv"), "--target", "a", "--time-budget", "20s"}, "latin1.csv line 22");

  write(dir.file("one.csv"), [] {
    std::string s = "a,b\n";
    for (int i = 0; i < 30; ++i) s += std::to_string(i % 7) + ",same\n";
    return s;
  }());
  expect_error({"--train", dir.file("one.csv"), "--target", "b", "--time-budget", "20s"},
               "the target has a single value ('same')");

  write(dir.file("empty.csv"), "");
  expect_error({"--train", dir.file("empty.csv"), "--target", "y", "--time-budget", "20s"}, "empty.csv");

  write(dir.file("ragged.csv"), "a,b,y\n1,2,3\n4,5\n");
  expect_error({"--train", dir.file("ragged.csv"), "--target", "y", "--time-budget", "20s"}, "ragged.csv line 3");

  write(dir.file("other.csv"), "id,x1,x2,color,const,shoe_size\nq,1,2,red,k,44\n");
  expect_error({"--train", train, "--target", "label", "--test", dir.file("other.csv"), "--time-budget", "20s"},
               "has columns the training file does not: 'shoe_size'");

  write(dir.file("lacking.csv"), "id,x1,color\nq,1,red\n");
  expect_error({"--train", train, "--target", "label", "--test", dir.file("lacking.csv"), "--time-budget", "20s"},
               "lacks the feature columns 'x2'");

  expect_error({"--train", train, "--target", "label", "--time-budget", "1s"}, "too small to train one model");
  expect_error({"--train", train, "--target", "label", "--keys", "k.key"}, "only applies with --connect");
  expect_error({"--train", train, "--target", "label", "--connect", "tcp://10.1.2.3:5555"},
               "reachable from other machines");
  expect_error({"--train", train, "--target", "label", "--connect", "tcp://127.0.0.1:*", "--workers", "2"},
               "drop --workers");
  expect_error({"--train", train, "--target", "label", "--time-budget", "soon"}, "--time-budget soon");
  expect_error({"--train", train, "--target", "label", "--metric", "rmse"}, "not a classification metric");
  expect_error({"--train", train, "--target", "label", "--metric", "roc_auc"}, "exactly two classes");
}

TEST_CASE("baseline ensemble: selected with weights, chosen on held-out halves, predicts the weighted mean",
          "[baseline]") {
  TempDir dir("baseline-ens");
  noisy_csv(dir.file("train.csv"), 300, 7);
  noisy_csv(dir.file("test.csv"), 40, 8);
  const auto r = run_process({kBin, "baseline", "--train", dir.file("train.csv"), "--target", "cls", "--test",
                              dir.file("test.csv"), "--time-budget", "120s", "--trials", "12", "--seed", "5",
                              "--out", dir.file("out")});
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const fs::path out = dir.path() / "out";
  const auto j = nlohmann::json::parse(read((out / "baseline.json").string()));
  INFO(j.dump(1));
  // With this seed the selected ensemble beats the best single trial on held-out halves.
  REQUIRE(j["model"] == "ensemble");
  const auto& e = j["ensemble"];
  CHECK(e["chosen"] == "ensemble");
  CHECK(e["held_out"]["ensemble"].get<double>() > e["held_out"]["single"].get<double>());
  CHECK(e["ensemble_score"].get<double>() >= e["single_score"].get<double>());
  CHECK(j["validation_score"] == e["ensemble_score"]);
  const auto k = e["members"].get<size_t>();
  REQUIRE(k >= 2);
  REQUIRE(e["trials"].size() == k);
  REQUIRE(e["weights"].size() == k);
  int total = 0;
  for (const auto& w : e["weights"]) total += w["count"].get<int>();
  CHECK(total >= static_cast<int>(k));
  CHECK(total <= 25);
  CHECK(j["refit"]["members"].size() == k);
  const auto manifest = nlohmann::json::parse(read((out / "model/model.json").string()));
  CHECK(manifest["format"] == "hypertune-ensemble");
  CHECK(manifest["source"] == "ensemble-selection");
  REQUIRE(manifest["members"].size() == k);
  REQUIRE(manifest["weights"].size() == k);

  // `hypertune predict` takes the ensemble as it is: the same as predictions.csv, and the
  // weighted mean of its members' probabilities, each member predicted on its own.
  auto predict = [&](const fs::path& model, const std::string& name) {
    const auto p = run_process({kBin, "predict", "--model", model.string(), "--input", dir.file("test.csv"),
                                "--output", dir.file(name)});
    INFO(p.out);
    REQUIRE(p.exit_code == 0);
    return hypertune::pipelines::read_csv(dir.file(name));
  };
  const auto whole = predict(out / "model", "whole.csv");
  REQUIRE(whole.header == std::vector<std::string>{"prediction", "proba_no", "proba_yes"});
  REQUIRE(whole.rows.size() == 40);
  const auto preds = hypertune::pipelines::read_csv((out / "predictions.csv").string());
  REQUIRE(preds.rows.size() == 40);
  std::vector<double> mean_yes(40, 0.0);
  double weight_sum = 0.0;
  for (const auto& w : manifest["weights"]) weight_sum += w.get<double>();
  for (size_t m = 0; m < k; ++m) {
    const auto p = predict(out / "model" / manifest["members"][m].get<std::string>(), "member.csv");
    REQUIRE(p.rows.size() == 40);
    const double w = manifest["weights"][m].get<double>() / weight_sum;
    for (size_t i = 0; i < 40; ++i) mean_yes[i] += std::stod(p.rows[i][2]) * w;
  }
  for (size_t i = 0; i < 40; ++i) {
    CHECK(std::stod(whole.rows[i][2]) == Approx(mean_yes[i]).margin(1e-5));
    CHECK(whole.rows[i][0] == (mean_yes[i] > 0.5 ? "yes" : "no"));
    CHECK(preds.rows[i][0] == whole.rows[i][0]);
  }
  // The ensemble is on the leaderboard, chosen.
  const auto board = hypertune::pipelines::read_csv((out / "leaderboard.csv").string());
  bool found = false;
  for (const auto& row : board.rows) found = found || (row[0] == "ensemble" && row[7] == "yes");
  CHECK(found);
}

TEST_CASE("baseline time budget: the search uses it, the command ends inside the window", "[baseline]") {
  TempDir dir("baseline-budget");
  classification_csv(dir.file("train.csv"), 240, 4);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_process({kBin, "baseline", "--train", dir.file("train.csv"), "--target", "label",
                              "--time-budget", "20s", "--workers", "2", "--out", dir.file("out")});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  // Between 95% of the budget and the budget + 5 s, measured from outside the process.
  CHECK(wall >= 19.0);
  CHECK(wall <= 25.0);
  const auto j = nlohmann::json::parse(read(dir.file("out/baseline.json")));
  CHECK(j["stopped_by_budget"] == true);
  CHECK(j["trials"]["budget"].is_null());
  // Far more trials than the three enqueued defaults, and the count to replay them.
  CHECK(j["trials"]["total"].get<int64_t>() > 6);
  CHECK(j["replay"]["trials"] == j["trials"]["total"]);
  CHECK(r.out.find("replay with --trials") != std::string::npos);
  CHECK(r.out.find("s of search left") != std::string::npos);  // the progress line
}

TEST_CASE("baseline validation: holdout when a class has fewer rows than folds", "[baseline]") {
  TempDir dir("baseline-holdout");
  classification_csv(dir.file("train.csv"), 240, 1);
  {
    std::ofstream f(dir.file("train.csv"), std::ios::app);
    f << "r1,241,0.1,0.2,blue,k,rare\nr2,242,0.3,0.1,blue,k,rare\nr3,243,0.2,0.4,blue,k,rare\n";
  }
  const auto r = run_process({kBin, "baseline", "--train", dir.file("train.csv"), "--target", "label",
                              "--time-budget", "120s", "--max-trials", "3", "--out", dir.file("out")});
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(read(dir.file("out/baseline.json")));
  CHECK(j["validation"]["scheme"] == "holdout");
  CHECK(j["validation"]["fraction"] == 0.2);
  CHECK(j["validation"]["reason"] == "class 'rare' has 3 rows, fewer than 5 folds");
  CHECK(read(dir.file("out/sweep.yaml")).find("folds:") == std::string::npos);
}

TEST_CASE("baseline image set: IDX in, a CNN well above chance, predictions for the test images", "[baseline]") {
  TempDir dir("baseline-img");
  images_idx(dir.file("train-images.gz"), dir.file("train-labels.idx"), 300, 21);
  const auto truth = images_idx(dir.file("test-images.gz"), dir.file("test-labels.idx"), 30, 22);
  const auto r = run_process({kBin, "baseline", "--train-images", dir.file("train-images.gz"), "--train-labels",
                              dir.file("train-labels.idx"), "--test-images", dir.file("test-images.gz"),
                              "--time-budget", "120s", "--max-trials", "4", "--seed", "1", "--out",
                              dir.file("out")});
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const fs::path out = dir.path() / "out";
  for (const char* f : {"model/model.json", "predictions.csv", "leaderboard.csv", "report.html", "baseline.json"})
    CHECK(fs::exists(out / f));
  const auto j = nlohmann::json::parse(read((out / "baseline.json").string()));
  CHECK(j["task"] == "classification");
  CHECK(j["classes"] == nlohmann::json::array({"0", "1", "2"}));
  CHECK(j["validation"]["scheme"] == "holdout");
  CHECK(j["data"]["train_images"]["sha256"].get<std::string>().size() == 64);
  // Chance is about 1/3; the classes differ by which half of the image is bright.
  CHECK(j["validation_score"].get<double>() >= 0.9);
  const auto preds = hypertune::pipelines::read_csv((out / "predictions.csv").string());
  REQUIRE(preds.header == std::vector<std::string>{"index", "prediction"});
  REQUIRE(preds.rows.size() == 30);
  int right = 0;
  for (size_t i = 0; i < 30; ++i) right += preds.rows[i][1] == std::to_string(truth[i]);
  CHECK(right >= 25);
}

TEST_CASE("baseline --connect: hypertune worker processes train the sweep", "[baseline]") {
  TempDir dir("baseline-connect");
  noisy_csv(dir.file("train.csv"), 300, 7);
  const std::string ep_file = dir.file("endpoint");
  Process base({kBin, "baseline", "--train", dir.file("train.csv"), "--target", "cls", "--time-budget", "120s",
                "--max-trials", "6", "--seed", "2", "--connect", "tcp://127.0.0.1:*", "--endpoint-file", ep_file,
                "--out", dir.file("out")},
               dir.file("baseline.log"));
  const bool listening = wait_until([&] { return !read(ep_file).empty(); }, 30s);
  INFO(read(dir.file("baseline.log")));
  REQUIRE(listening);
  std::string endpoint = read(ep_file);
  while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
  CHECK(endpoint.rfind("tcp://127.0.0.1:", 0) == 0);
  std::vector<std::unique_ptr<Process>> workers;
  for (const char* name : {"w1", "w2"}) {
    workers.push_back(std::make_unique<Process>(
        std::vector<std::string>{kBin, "worker", "--connect", endpoint, "--name", name},
        dir.file(std::string(name) + ".log")));
  }
  const auto r = base.wait();
  INFO(read(dir.file("baseline.log")));
  REQUIRE(r.exit_code == 0);
  CHECK(read(dir.file("baseline.log")).find("Serving the sweep at " + endpoint) != std::string::npos);

  // Every trial ran on a worker process: the workers that joined say how many when told the sweep
  // is over (one that only started after the sweep ended is stopped by the test).
  auto trials_run = [&] {
    int total = 0;
    for (const char* name : {"w1", "w2"}) {
      const std::string log = read(dir.file(std::string(name) + ".log"));
      std::smatch m;
      if (std::regex_search(log, m, std::regex("done \\(sweep finished\\): ([0-9]+) trials? run"))) {
        total += std::stoi(m[1].str());
      }
    }
    return total;
  };
  CHECK(wait_until([&] { return trials_run() == 6; }, 30s));

  const auto j = nlohmann::json::parse(read(dir.file("out/baseline.json")));
  CHECK(j["trials"]["total"] == 6);
  CHECK(j["connect"] == "tcp://127.0.0.1:*");
  CHECK(j["validation"]["scheme"] == "k-fold");
  CHECK(fs::exists(dir.path() / "out/model/model.json"));
  CHECK(hypertune::pipelines::read_csv(dir.file("out/trials.csv")).rows.size() == 6);
  CHECK(no_partial_left(dir.path()));
}
