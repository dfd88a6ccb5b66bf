#pragma once
// Greedy ensemble selection with replacement (Caruana, Niculescu-Mizil, Crew and Ksikes, ICML 2004),
// as auto-sklearn and AutoGluon use it to combine the models a search produced.
//
// Each candidate is a matrix of validation outputs (rows x cols, row-major: class probabilities or
// predicted values) on the same rows. Starting from an empty ensemble, every iteration adds the
// candidate (again, if already in) whose inclusion gives the weighted mean with the lowest loss;
// the result is the iteration with the lowest loss (the earliest on ties), so the weights are
// multiples of 1/iterations. Ties between candidates go to the lowest index: give candidates best
// first, and a one-member ensemble is the best single model.
//
// Selecting on the same rows that score the result is optimistic. assess_selection() measures
// both choices honestly: the rows are split into folds, selection (and, for the single model, the
// choice of the best candidate) runs on all but one fold and is scored on that fold.
//
// Not here: metrics (the caller's loss), files, models. Thread-safety: pure functions.
// Errors: std::invalid_argument for candidates of different shapes, no candidates, no rows.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace hypertune::search {

struct EnsembleCandidates {
  size_t rows = 0, cols = 0;
  std::vector<const std::vector<float>*> outputs;  // each rows x cols; not owned
};

// Loss of combined outputs (subset.size() x cols, row-major, in the order of `subset`) on the
// rows `subset` (indices into the candidates' rows). Lower is better.
using SubsetLoss = std::function<double(const std::vector<float>& combined, const std::vector<size_t>& subset)>;

struct EnsembleSelection {
  std::vector<int> counts;          // per candidate: how often it was added (weight = count / total)
  int total = 0;                    // sum of counts: the chosen iteration
  double loss = 0.0;                // loss of the chosen ensemble on the selection rows
  std::vector<double> trajectory;   // loss after each iteration
  [[nodiscard]] std::vector<double> weights() const;  // counts / total
  [[nodiscard]] size_t members() const;               // candidates with a positive count
};

// Selection on the rows `subset` (all rows when empty), up to `iterations` additions.
[[nodiscard]] EnsembleSelection select_ensemble(const EnsembleCandidates& c, const SubsetLoss& loss,
                                                int iterations, std::vector<size_t> subset = {});

// The weighted mean of the candidates' outputs on `subset` (all rows when empty).
[[nodiscard]] std::vector<float> combine_outputs(const EnsembleCandidates& c, const std::vector<double>& weights,
                                                 const std::vector<size_t>& subset = {});

struct SelectionAssessment {
  double ensemble_loss = 0.0;  // mean over folds of the held-out loss of selection on the rest
  double single_loss = 0.0;    // the same for picking the single candidate with the lowest loss
  int folds = 0;
};

// Rows are assigned to `folds` folds by a permutation seeded with `seed`.
[[nodiscard]] SelectionAssessment assess_selection(const EnsembleCandidates& c, const SubsetLoss& loss,
                                                   int iterations, int folds, uint64_t seed);

}  // namespace hypertune::search
