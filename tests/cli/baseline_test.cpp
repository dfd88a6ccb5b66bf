// `hypertune baseline` end to end: real CSV files, the real binary, real training.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipelines/csv.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using hypertune::test::run_process;
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
                        dir.file("test.csv"), "--time-budget", "30s", "--max-trials", "6", "--seed", "3",
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
  for (const char* f : {"model/model.json", "model/weights.pt", "predictions.csv", "leaderboard.csv", "report.html",
                        "baseline.json", "sweep.yaml", "study.db"}) {
    CHECK(fs::exists(out / f));
  }
  const auto j = nlohmann::json::parse(read((out / "baseline.json").string()));
  CHECK(j["task"] == "classification");
  CHECK(j["metric"] == "accuracy");
  CHECK(j["seed"] == 3);
  CHECK(j["trials"]["total"] == 6);
  CHECK(j["validation"]["scheme"] == "holdout");
  CHECK(j["data"]["train"]["sha256"].get<std::string>().size() == 64);
  CHECK(j["data"]["test"]["rows"] == 37);
  CHECK(j["refit"]["done"] == true);
  CHECK(j["budget_used_seconds"].get<double>() < 30.0);
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

  const auto board = hypertune::pipelines::read_csv((out / "leaderboard.csv").string());
  CHECK(board.rows.size() == 6);
  CHECK(board.column("accuracy").has_value());
  CHECK(board.column("lr").has_value());
  CHECK(read((out / "report.html").string()).find("trial-table") != std::string::npos);

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
                              dir.file("test.csv"), "--time-budget", "30s", "--max-trials", "8", "--out",
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
  CHECK(hypertune::pipelines::read_csv(dir.file("out/leaderboard.csv")).rows.size() == 8);
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
  expect_error({"--train", train, "--target", "label", "--time-budget", "soon"}, "--time-budget soon");
  expect_error({"--train", train, "--target", "label", "--metric", "rmse"}, "not a classification metric");
  expect_error({"--train", train, "--target", "label", "--metric", "roc_auc"}, "exactly two classes");
}
