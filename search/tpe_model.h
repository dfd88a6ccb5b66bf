#pragma once
// The model behind make_tpe_sampler and make_bohb_sampler: an incremental store of ranked
// observations and Optuna 3.1's TPE proposal from it.
//
// Split (Optuna 3.1 _split_observation_pairs): with n stored observations, the gamma(n) =
// min(ceil(gamma_fraction * n), gamma_cap) best by TpeRank form the "below" set, the rest plus
// the liars (in-flight trials, ranked worst and not counted in n) the "above" set. Weights follow
// Optuna's default ramp in trial-number order within each set, after dropping the trials where
// the sampled parameters are inactive.
//
// Proposal, parents first so a conditional parameter is only sampled when active:
//   * univariate (multivariate = false): every parameter on its own;
//   * multivariate + group: one joint model per co-active group of SearchSpace::groups(),
//     fitted on the trials where that group was active;
//   * multivariate without group: the unconditional parameters jointly, every conditional
//     parameter on its own (Optuna samples what lies outside its intersection space univariately).
// For each: Parzen estimators l (below) and g (above), n_ei_candidates draws from l, the one with
// the largest log l - log g (first on ties). A categorical parameter with one choice is set
// directly. Kernels are exactly Optuna 3.1's, including its unnormalised continuous kernels
// (parzen::Settings::normalize_continuous).
//
// Cost: upsert/erase only record the change; the sorted indices (trial number, rank, and one
// per numeric parameter by value) catch up at the next propose(): the k observations changed
// since the last one are sorted and merged in, O(n + k log k). So one upsert per trial costs one
// O(n) merge, and replaying 100,000 stored trials at a restart costs one sort, not 100,000
// insertions. propose() is then O(n) per parameter to assemble the estimators plus the density
// evaluations (see search/parzen.h).
//
// Not here: the startup phase (the samplers decide when to use the model), seeds, trial states.
// Errors: hypertune::Error when a trial's parameters do not fit the space.
// Thread-safety: none.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "search/parzen.h"
#include "base/rng.h"
#include "search/sampler.h"
#include "search/space.h"
#include "search/trial.h"

namespace hypertune::search {

// Where an observation ranks in the split (Optuna 3.1): complete trials by loss; then pruned or
// paused trials, the larger last reported step first, then that step's loss (NaN = +inf); then
// those that never reported. Equal ranks: the lower trial number first.
struct TpeRank {
  enum class Tier : uint8_t { kComplete = 0, kReported = 1, kUnreported = 2 };
  Tier tier = Tier::kComplete;
  int64_t step = 0;   // kReported: the last reported step
  double loss = 0.0;  // kComplete / kReported

  [[nodiscard]] static TpeRank complete(double loss) noexcept;
  [[nodiscard]] static TpeRank reported(int64_t step, double loss) noexcept;
  [[nodiscard]] static TpeRank unreported() noexcept;
  [[nodiscard]] bool operator<(const TpeRank& other) const noexcept;
  [[nodiscard]] bool operator==(const TpeRank& other) const noexcept = default;
};

// The rank of a trial snapshot; nullopt when TPE does not learn from it: FAIL, WAITING, RUNNING,
// or COMPLETE without a value or with NaN (Optuna records a NaN objective as a failure).
[[nodiscard]] std::optional<TpeRank> tpe_rank(const FrozenTrial& trial, Direction dir);

// gamma(n) = min(ceil(fraction * n), cap), computed like Optuna (in double precision).
[[nodiscard]] size_t tpe_gamma(size_t n, double fraction, int cap) noexcept;

// Shortest text that reads back as the same double ("0.1", "1e-05").
[[nodiscard]] std::string format_number(double v);

// Throws ConfigError("<where>.<key>", ...) for TPE options that cannot work.
void validate_tpe_options(const TpeOptions& options, const std::string& where);
// Throws ConfigError("space", ...) unless the space is non-empty and finalized.
void require_finalized(const SearchSpace& space, const char* sampler);

// One value per active parameter drawn from the prior, parents first (the random sampler's draw).
[[nodiscard]] Params sample_prior_params(const SearchSpace& space, Rng& rng);

class TpeModel {
 public:
  TpeModel(std::shared_ptr<const SearchSpace> space, const TpeOptions& options);

  // Inserts or replaces the observation of trial `number`. Present values are the active
  // parameters; each must be legal for its distribution.
  void upsert(int64_t number, const Params& params, TpeRank rank);
  // Removes trial `number`; false if it was not stored.
  bool erase(int64_t number);
  [[nodiscard]] bool contains(int64_t number) const { return slot_of_.contains(number); }
  // n: the number of stored observations.
  [[nodiscard]] size_t size() const noexcept { return slot_of_.size(); }

  // TPE proposal for every active parameter. `liars` join the above set as the worst
  // observations; a liar numbered `self` or already stored is skipped.
  [[nodiscard]] Params propose(Rng& rng, std::span<const FrozenTrial> liars, int64_t self);

 private:
  struct Entry {
    int64_t number = 0;
    TpeRank rank;
    bool indexed = false;  // present in chrono_, by_loss_ and by_value_
  };
  struct ValueRef {
    double value;
    int64_t number;
    uint32_t slot;
  };
  struct Liar {
    int64_t number;
    std::vector<double> model;
  };
  struct Unit {
    std::vector<size_t> params;  // sampled by one estimator pair
    std::vector<size_t> fixed;   // single-choice categoricals set directly
    bool joint = false;          // multivariate bandwidth, shared components
  };

  [[nodiscard]] std::vector<double> to_model(const Params& params, int64_t number) const;
  // Model-space values of a stored trial, one per parameter (NaN when inactive).
  [[nodiscard]] const double* values(uint32_t slot) const { return &values_[slot * axes_.size()]; }
  [[nodiscard]] bool loss_less(uint32_t a, uint32_t b) const;
  void erase_sorted(uint32_t slot);
  // Merges the slots in unindexed_ into the sorted indices.
  void index_pending();
  void sample_unit(const Unit& unit, size_t n_below, const std::vector<Liar>& liars, Rng& rng,
                   Params& out);

  std::shared_ptr<const SearchSpace> space_;
  TpeOptions options_;
  std::vector<parzen::Axis> axes_;
  std::vector<Unit> units_;

  std::vector<Entry> slots_;
  std::vector<double> values_;  // slots_.size() x parameters
  std::vector<uint32_t> free_slots_;
  std::unordered_map<int64_t, uint32_t> slot_of_;
  std::vector<uint32_t> chrono_;                 // slots by trial number
  std::vector<uint32_t> by_loss_;                // slots by (rank, number)
  std::vector<std::vector<ValueRef>> by_value_;  // numeric parameter -> active slots by value
  std::vector<uint32_t> unindexed_;              // live slots not in the indices yet

  // Scratch reused by propose().
  std::vector<uint8_t> below_;
  std::vector<double> slot_weight_;
};

}  // namespace hypertune::search
