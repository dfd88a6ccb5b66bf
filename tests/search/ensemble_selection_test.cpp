// Greedy ensemble selection with replacement: the weights it finds, its tie rules, and the held-out
// assessment that decides between an ensemble and the best single model.

#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "base/rng.h"
#include "search/ensemble_selection.h"

using namespace hypertune::search;

namespace {

// Mean squared error against `truth` (one column).
SubsetLoss mse(const std::vector<float>& truth) {
  return [&truth](const std::vector<float>& combined, const std::vector<size_t>& subset) {
    double s = 0.0;
    for (size_t r = 0; r < subset.size(); ++r) {
      const double d = combined[r] - truth[subset[r]];
      s += d * d;
    }
    return s / static_cast<double>(subset.size());
  };
}

std::vector<float> shifted(const std::vector<float>& truth, float by) {
  std::vector<float> v = truth;
  for (auto& x : v) x += by;
  return v;
}

EnsembleCandidates of(const std::vector<std::vector<float>>& outs) {
  EnsembleCandidates c;
  c.rows = outs.front().size();
  c.cols = 1;
  for (const auto& o : outs) c.outputs.push_back(&o);
  return c;
}

}  // namespace

TEST_CASE("selection with replacement finds the weights that cancel two biases", "[ensemble]") {
  std::vector<float> truth;
  for (int i = 0; i < 50; ++i) truth.push_back(static_cast<float>(i) * 0.1f);
  // A is 1 too high, B 2 too low: 2/3 A + 1/3 B is exact; C is worse than both.
  const std::vector<std::vector<float>> outs = {shifted(truth, 1.0f), shifted(truth, -2.0f), shifted(truth, 3.0f)};
  const auto sel = select_ensemble(of(outs), mse(truth), 10);
  REQUIRE(sel.total == 3);  // the earliest iteration with the lowest loss
  CHECK(sel.counts == std::vector<int>{2, 1, 0});
  CHECK(sel.loss == Approx(0.0).margin(1e-9));
  CHECK(sel.members() == 2);
  CHECK(sel.weights()[0] == Approx(2.0 / 3.0));
  // The trajectory: A alone (loss 1), then A+B (0.25), then exact.
  REQUIRE(sel.trajectory.size() == 10);
  CHECK(sel.trajectory[0] == Approx(1.0));
  CHECK(sel.trajectory[1] == Approx(0.25));
  // combine_outputs reproduces the chosen ensemble.
  const auto combined = combine_outputs(of(outs), sel.weights());
  for (size_t i = 0; i < truth.size(); ++i) CHECK(combined[i] == Approx(truth[i]).margin(1e-5));
}

TEST_CASE("a candidate better than any mix is chosen alone; ties go to the first candidate", "[ensemble]") {
  std::vector<float> truth(30, 1.0f);
  const std::vector<std::vector<float>> outs = {shifted(truth, 0.5f), truth, truth, shifted(truth, -0.5f)};
  const auto sel = select_ensemble(of(outs), mse(truth), 20);
  CHECK(sel.total == 1);
  CHECK(sel.counts == std::vector<int>{0, 1, 0, 0});  // index 1, not its identical twin at 2
  CHECK(sel.loss == 0.0);
}

TEST_CASE("selection on a subset sees only those rows", "[ensemble]") {
  std::vector<float> truth(20, 0.0f);
  std::vector<float> a(20, 0.0f), b(20, 0.0f);
  for (int i = 0; i < 10; ++i) a[i + 10] = 5.0f;  // A is wrong on rows 10..19 only
  for (int i = 0; i < 10; ++i) b[i] = 1.0f;       // B is wrong (less) on rows 0..9 only
  const std::vector<std::vector<float>> outs = {a, b};
  std::vector<size_t> first_half;
  for (size_t i = 0; i < 10; ++i) first_half.push_back(i);
  const auto on_first = select_ensemble(of(outs), mse(truth), 5, first_half);
  CHECK(on_first.counts == std::vector<int>{1, 0});
  const auto on_all = select_ensemble(of(outs), mse(truth), 5);
  CHECK(on_all.counts[1] >= 1);
}

TEST_CASE("assessment: held-out selection beats the single best when errors are independent", "[ensemble]") {
  hypertune::Rng rng(7);
  auto noise = [&] { return static_cast<float>((static_cast<double>(rng.next() % 20001) / 10000.0) - 1.0); };
  std::vector<float> truth(400);
  for (auto& t : truth) t = noise() * 3.0f;
  std::vector<std::vector<float>> outs(5, truth);
  for (auto& o : outs)
    for (auto& x : o) x += noise();
  const auto a = assess_selection(of(outs), mse(truth), 25, 2, 11);
  CHECK(a.folds == 2);
  // Averaging five independent errors of variance 1/3 leaves about a fifth of it.
  CHECK(a.ensemble_loss < 0.5 * a.single_loss);
  CHECK(a.single_loss == Approx(1.0 / 3.0).epsilon(0.25));
  // The same seed gives the same folds and figures.
  const auto again = assess_selection(of(outs), mse(truth), 25, 2, 11);
  CHECK(again.ensemble_loss == a.ensemble_loss);
  CHECK(again.single_loss == a.single_loss);
}

TEST_CASE("assessment: copies of one model give no ensemble gain", "[ensemble]") {
  std::vector<float> truth(100);
  for (size_t i = 0; i < truth.size(); ++i) truth[i] = static_cast<float>(i % 7);
  const std::vector<std::vector<float>> outs = {shifted(truth, 0.3f), shifted(truth, 0.3f)};
  const auto a = assess_selection(of(outs), mse(truth), 10, 3, 1);
  CHECK(a.ensemble_loss == Approx(a.single_loss));
}

TEST_CASE("ensemble selection refuses candidates of different shapes", "[ensemble]") {
  const std::vector<float> truth(10, 0.0f), short_one(9, 0.0f);
  EnsembleCandidates c;
  c.rows = 10;
  c.cols = 1;
  c.outputs = {&truth, &short_one};
  CHECK_THROWS_AS(select_ensemble(c, mse(truth), 3), std::invalid_argument);
  CHECK_THROWS_AS(select_ensemble(EnsembleCandidates{}, mse(truth), 3), std::invalid_argument);
}
