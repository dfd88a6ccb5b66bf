// make_tpe_sampler: Optuna 3.1's TPE over an incremental observation store (search/tpe_model.h).
//
// Observations: COMPLETE trials with a value, PRUNED and PAUSED trials (ranked by their last
// report); a snapshot in any other state removes the trial (a PAUSED trial that runs again
// leaves the model, FAIL trials never enter it). Until n_startup_trials observations exist every
// parameter is drawn from its prior, as Optuna's random sampler does.

#include <cmath>
#include <memory>
#include <string>

#include "base/error.h"
#include "base/rng.h"
#include "search/sampler.h"
#include "search/tpe_model.h"

namespace hypertune::search {

namespace {

class TpeSampler final : public Sampler {
 public:
  TpeSampler(std::shared_ptr<const SearchSpace> space, Direction dir, const TpeOptions& opts)
      : space_(space), dir_(dir), opts_(opts), model_(std::move(space), opts) {}

  void observe(const FrozenTrial& trial) override {
    if (const auto rank = tpe_rank(trial, dir_)) {
      model_.upsert(trial.number, trial.params, *rank);
    } else {
      model_.erase(trial.number);
    }
  }

  [[nodiscard]] Params sample(const SampleRequest& request) override {
    Rng rng(request.seed);
    if (model_.size() < static_cast<size_t>(opts_.n_startup_trials)) {
      return sample_prior_params(*space_, rng);
    }
    const std::span<const FrozenTrial> liars =
        opts_.constant_liar ? request.running : std::span<const FrozenTrial>{};
    return model_.propose(rng, liars, request.trial_number);
  }

 private:
  std::shared_ptr<const SearchSpace> space_;
  Direction dir_;
  TpeOptions opts_;
  TpeModel model_;
};

}  // namespace

void validate_tpe_options(const TpeOptions& o, const std::string& where) {
  auto bad = [&](const std::string& key, const std::string& what) {
    throw ConfigError(where + "." + key, what);
  };
  if (o.n_startup_trials < 0) {
    bad("n_startup_trials", "must be >= 0, got " + std::to_string(o.n_startup_trials));
  }
  if (o.n_ei_candidates < 1) {
    bad("n_ei_candidates", "must be >= 1, got " + std::to_string(o.n_ei_candidates));
  }
  if (!(o.prior_weight > 0.0) || !std::isfinite(o.prior_weight)) {
    bad("prior_weight", "must be a positive number, got " + format_number(o.prior_weight));
  }
  if (!(o.gamma_fraction > 0.0 && o.gamma_fraction <= 1.0)) {
    bad("gamma_fraction", "must be in (0, 1], got " + format_number(o.gamma_fraction));
  }
  if (o.gamma_cap < 1) bad("gamma_cap", "must be >= 1, got " + std::to_string(o.gamma_cap));
  if (o.group && !o.multivariate) {
    bad("group", "group: true needs multivariate: true (groups are sampled jointly)");
  }
}

void require_finalized(const SearchSpace& space, const char* sampler) {
  if (space.size() == 0 || space.topological_order().size() != space.size()) {
    throw ConfigError("space", std::string("the ") + sampler +
                                   " sampler needs a non-empty, finalized search space");
  }
}

std::unique_ptr<Sampler> make_tpe_sampler(const SearchSpace& space, Direction dir,
                                          TpeOptions opts) {
  require_finalized(space, "tpe");
  validate_tpe_options(opts, "sampler.tpe");
  return std::make_unique<TpeSampler>(std::make_shared<const SearchSpace>(space), dir, opts);
}

}  // namespace hypertune::search
