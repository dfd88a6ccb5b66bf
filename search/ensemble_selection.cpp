#include "search/ensemble_selection.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "base/rng.h"

namespace hypertune::search {
namespace {

void check(const EnsembleCandidates& c) {
  if (c.outputs.empty()) throw std::invalid_argument("ensemble selection: no candidates");
  if (c.rows == 0 || c.cols == 0) throw std::invalid_argument("ensemble selection: no rows");
  for (const auto* o : c.outputs) {
    if (o == nullptr || o->size() != c.rows * c.cols)
      throw std::invalid_argument("ensemble selection: a candidate's outputs are not rows x cols");
  }
}

std::vector<size_t> all_rows(size_t n) {
  std::vector<size_t> r(n);
  std::iota(r.begin(), r.end(), size_t{0});
  return r;
}

}  // namespace

std::vector<double> EnsembleSelection::weights() const {
  std::vector<double> w(counts.size(), 0.0);
  if (total > 0)
    for (size_t i = 0; i < counts.size(); ++i) w[i] = static_cast<double>(counts[i]) / total;
  return w;
}

size_t EnsembleSelection::members() const {
  return static_cast<size_t>(std::count_if(counts.begin(), counts.end(), [](int n) { return n > 0; }));
}

EnsembleSelection select_ensemble(const EnsembleCandidates& c, const SubsetLoss& loss, int iterations,
                                  std::vector<size_t> subset) {
  check(c);
  if (subset.empty()) subset = all_rows(c.rows);
  if (iterations < 1) iterations = 1;
  const size_t n = subset.size(), k = c.cols, m = c.outputs.size();
  // Each candidate's outputs on the subset, gathered once.
  std::vector<std::vector<float>> local(m, std::vector<float>(n * k));
  for (size_t j = 0; j < m; ++j) {
    const auto& src = *c.outputs[j];
    for (size_t r = 0; r < n; ++r)
      std::copy_n(src.begin() + static_cast<std::ptrdiff_t>(subset[r] * k), k,
                  local[j].begin() + static_cast<std::ptrdiff_t>(r * k));
  }
  std::vector<double> sum(n * k, 0.0);
  std::vector<float> trial(n * k);
  std::vector<int> counts(m, 0);
  EnsembleSelection best;
  best.counts = counts;
  for (int it = 1; it <= iterations; ++it) {
    const double inv = 1.0 / it;
    size_t pick = 0;
    double pick_loss = 0.0;
    for (size_t j = 0; j < m; ++j) {
      for (size_t e = 0; e < n * k; ++e) trial[e] = static_cast<float>((sum[e] + local[j][e]) * inv);
      const double l = loss(trial, subset);
      if (j == 0 || l < pick_loss) pick = j, pick_loss = l;
    }
    for (size_t e = 0; e < n * k; ++e) sum[e] += local[pick][e];
    ++counts[pick];
    best.trajectory.push_back(pick_loss);
    if (it == 1 || pick_loss < best.loss) {
      best.loss = pick_loss;
      best.counts = counts;
      best.total = it;
    }
  }
  return best;
}

std::vector<float> combine_outputs(const EnsembleCandidates& c, const std::vector<double>& weights,
                                   const std::vector<size_t>& subset_in) {
  check(c);
  if (weights.size() != c.outputs.size())
    throw std::invalid_argument("ensemble selection: one weight per candidate expected");
  const std::vector<size_t> subset = subset_in.empty() ? all_rows(c.rows) : subset_in;
  const size_t k = c.cols;
  std::vector<double> acc(subset.size() * k, 0.0);
  for (size_t j = 0; j < c.outputs.size(); ++j) {
    if (weights[j] == 0.0) continue;
    const auto& src = *c.outputs[j];
    for (size_t r = 0; r < subset.size(); ++r)
      for (size_t q = 0; q < k; ++q) acc[r * k + q] += weights[j] * src[subset[r] * k + q];
  }
  return {acc.begin(), acc.end()};
}

SelectionAssessment assess_selection(const EnsembleCandidates& c, const SubsetLoss& loss, int iterations, int folds,
                                     uint64_t seed) {
  check(c);
  folds = std::clamp(folds, 2, static_cast<int>(std::max<size_t>(2, c.rows)));
  if (c.rows < static_cast<size_t>(folds)) throw std::invalid_argument("ensemble selection: fewer rows than folds");
  // A seeded Fisher-Yates permutation (the project's own generator: the same on every platform).
  std::vector<size_t> perm = all_rows(c.rows);
  Rng rng(seed);
  for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[rng.next() % i]);
  SelectionAssessment a;
  a.folds = folds;
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> fit, held;
    for (size_t i = 0; i < perm.size(); ++i) (static_cast<int>(i % folds) == f ? held : fit).push_back(perm[i]);
    std::sort(fit.begin(), fit.end());
    std::sort(held.begin(), held.end());
    const auto sel = select_ensemble(c, loss, iterations, fit);
    a.ensemble_loss += loss(combine_outputs(c, sel.weights(), held), held);
    // The single model: the candidate with the lowest loss on the fitting rows.
    size_t pick = 0;
    double pick_loss = 0.0;
    for (size_t j = 0; j < c.outputs.size(); ++j) {
      std::vector<double> w(c.outputs.size(), 0.0);
      w[j] = 1.0;
      const double l = loss(combine_outputs(c, w, fit), fit);
      if (j == 0 || l < pick_loss) pick = j, pick_loss = l;
    }
    std::vector<double> w(c.outputs.size(), 0.0);
    w[pick] = 1.0;
    a.single_loss += loss(combine_outputs(c, w, held), held);
  }
  a.ensemble_loss /= folds;
  a.single_loss /= folds;
  return a;
}

}  // namespace hypertune::search
