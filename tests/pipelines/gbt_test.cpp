// The XGBoost wrapper (pipelines/gbt.h): trains with missing values and categorical codes, grows
// round by round so that a saved booster continues exactly, reads back in Python's xgboost, and
// names XGBoost's own error.

#include "pipelines/gbt.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "base/error.h"
#include "base/rng.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

using namespace hypertune::pipelines::gbt;

namespace {

// y = 1 when x0 + (x1 missing ? 1 : x1) > 1, or the category (x2) is 3; 10% of x1 missing.
struct Data {
  std::vector<float> x;
  std::vector<float> y;
  size_t rows = 0;
};

Data make_data(size_t rows, uint64_t seed) {
  hypertune::Rng rng(seed);
  Data d;
  d.rows = rows;
  for (size_t i = 0; i < rows; ++i) {
    const float x0 = static_cast<float>(rng.uniform());
    const bool missing = rng.uniform() < 0.1;
    const float x1 = missing ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(rng.uniform());
    const float cat = static_cast<float>(rng.below(5));
    d.x.insert(d.x.end(), {x0, x1, cat});
    d.y.push_back((x0 + (missing ? 1.0f : x1) > 1.0f || cat == 3.0f) ? 1.0f : 0.0f);
  }
  return d;
}

const Params kParams = {{"objective", "binary:logistic"}, {"tree_method", "hist"}, {"max_depth", "4"},
                        {"eta", "0.3"},  {"nthread", "1"}, {"seed", "7"}, {"max_cat_to_onehot", "1"}};

double accuracy(const std::vector<float>& p, const std::vector<float>& y) {
  size_t right = 0;
  for (size_t i = 0; i < y.size(); ++i) right += ((p[i] > 0.5f) == (y[i] > 0.5f)) ? 1 : 0;
  return static_cast<double>(right) / static_cast<double>(y.size());
}

}  // namespace

TEST_CASE("xgboost: trees learn through missing values and categorical codes", "[pipelines][gbt]") {
  const Data train = make_data(2000, 1), test = make_data(500, 2);
  const std::vector<std::string> types = {"q", "q", "c"};
  Matrix dtrain(train.x, train.rows, 3, types), dtest(test.x, test.rows, 3, types);
  dtrain.set_labels(train.y);
  Booster b(kParams, {&dtrain});
  b.boost(dtrain, 30);
  CHECK(b.rounds() == 30);
  const auto p = b.predict(dtest);
  REQUIRE(p.size() == test.rows);
  CHECK(accuracy(p, test.y) > 0.95);
  // Fewer rounds predict worse on this problem: rounds are a real resource.
  CHECK(accuracy(b.predict(dtest, 1), test.y) < accuracy(p, test.y));
  // Gain importance: all three features are used.
  const auto gain = b.importance_gain();
  CHECK(gain.size() == 3);
  for (const auto& [name, g] : gain) CHECK(g > 0.0);
  CHECK(version().rfind("1.", 0) == 0);
}

TEST_CASE("xgboost: a saved booster continues where it stopped, bit for bit", "[pipelines][gbt]") {
  const Data train = make_data(1000, 3), test = make_data(300, 4);
  Matrix dtrain(train.x, train.rows, 3), dtest(test.x, test.rows, 3);
  dtrain.set_labels(train.y);
  Booster whole(kParams, {&dtrain});
  whole.boost(dtrain, 20);

  Booster first(kParams, {&dtrain});
  first.boost(dtrain, 8);
  const std::string saved = first.save_json();
  Booster resumed = Booster::from_json(saved, kParams, {&dtrain});
  CHECK(resumed.rounds() == 8);
  resumed.boost(dtrain, 12);
  CHECK(resumed.rounds() == 20);
  CHECK(resumed.predict(dtest) == whole.predict(dtest));
}

TEST_CASE("xgboost: the saved model is XGBoost's own JSON, read by Python's xgboost", "[pipelines][gbt]") {
  if (hypertune::test::run_process({"/usr/bin/python3", "-c", "import xgboost"}).exit_code != 0)
    FAIL("python3-xgboost is not installed (scripts/install-deps.sh installs it)");
  hypertune::test::TempDir dir("ht-gbt");
  const Data train = make_data(500, 5);
  Matrix dtrain(train.x, train.rows, 3);
  dtrain.set_labels(train.y);
  Booster b(kParams, {&dtrain});
  b.boost(dtrain, 10);
  std::ofstream(dir.file("model.json")) << b.save_json();
  std::ofstream rows(dir.file("rows.csv"));
  for (size_t i = 0; i < 5; ++i)
    rows << train.x[3 * i] << "," << (std::isnan(train.x[3 * i + 1]) ? std::string("nan") : std::to_string(train.x[3 * i + 1]))
         << "," << train.x[3 * i + 2] << "\n";
  rows.close();
  const auto r = hypertune::test::run_process(
      {"/usr/bin/python3", "-c",
       "import sys, numpy, xgboost\n"
       "b = xgboost.Booster(model_file=sys.argv[1])\n"
       "x = numpy.loadtxt(sys.argv[2], delimiter=',', ndmin=2)\n"
       "print(' '.join('%.6f' % v for v in b.predict(xgboost.DMatrix(x, missing=numpy.nan))))\n",
       dir.file("model.json"), dir.file("rows.csv")});
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const auto ours = b.predict(dtrain);
  std::istringstream theirs(r.out);
  for (size_t i = 0; i < 5; ++i) {
    double v = 0;
    REQUIRE(theirs >> v);
    CHECK(v == Approx(ours[i]).margin(1e-5));
  }
}

TEST_CASE("xgboost: bad parameters and shapes fail with XGBoost's reason", "[pipelines][gbt]") {
  const Data train = make_data(50, 6);
  CHECK_THROWS_WITH(Matrix(train.x, train.rows, 4), Catch::Contains("needs 200 values, got 150"));
  Matrix dtrain(train.x, train.rows, 3);
  CHECK_THROWS_WITH(dtrain.set_labels(std::vector<float>(3, 0.0f)), Catch::Contains("3 labels for 50 rows"));
  dtrain.set_labels(train.y);
  Booster b({{"objective", "binary:nonsense"}}, {&dtrain});
  try {
    b.boost(dtrain);
    FAIL("an unknown objective was accepted");
  } catch (const hypertune::Error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::StartsWith("xgboost: ") && Catch::Contains("nonsense"));
    CHECK_THAT(what, !Catch::Contains("[bt]"));  // no native stack trace
  }
}
