// make_bohb_sampler: BOHB's model-based half with TPE models, one per budget.
//
// Every intermediate value is an observation "params -> loss at that budget" for the model of
// budget = step (observe_report, and the reports carried by observe() snapshots, which is how a
// resumed study rebuilds the models; the first value of a (trial, step) wins). A COMPLETE trial
// that never reported is an observation at the largest possible budget (INT64_MAX).
//
// sample(): with probability random_fraction (BOHB's rho, drawn from the request's seed) the
// configuration is random; otherwise it comes from the model of the largest budget holding at
// least min_points_in_model observations (default: number of parameters + 1), or is random when
// no budget has that many. The chosen model uses the TPE options (split, liars, estimators) but
// not n_startup_trials: min_points_in_model plays that role.
//
// SampleRequest::budget is information only: the model is chosen by the data, as in BOHB, not by
// the budget the new trial starts with.
//
// Parameters of a trial are learnt from sample() (by request.trial_number), from the running
// trials of a request and from observe(); reports that arrive before the parameters are known
// wait until they are.

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/rng.h"
#include "search/sampler.h"
#include "search/tpe_model.h"

namespace hypertune::search {

namespace {

constexpr int64_t kFullBudget = std::numeric_limits<int64_t>::max();

class BohbSampler final : public Sampler {
 public:
  BohbSampler(std::shared_ptr<const SearchSpace> space, Direction dir, const BohbOptions& opts,
              size_t min_points)
      : space_(std::move(space)), dir_(dir), opts_(opts), min_points_(min_points) {}

  void observe(const FrozenTrial& trial) override {
    if (trial.params.size() == space_->size()) remember(trial.number, trial.params);
    for (const auto& [step, value] : trial.intermediate) record(trial.number, step, value);
    if (trial.state == TrialState::kComplete && trial.value && trial.intermediate.empty()) {
      record(trial.number, kFullBudget, *trial.value);
    }
  }

  void observe_report(int64_t trial_number, int64_t step, double value) override {
    record(trial_number, step, value);
  }

  [[nodiscard]] Params sample(const SampleRequest& request) override {
    for (const auto& t : request.running) {
      if (t.params.size() == space_->size()) remember(t.number, t.params);
    }
    Rng rng(request.seed);
    TpeModel* model = nullptr;
    if (!(rng.uniform() < opts_.random_fraction)) {
      for (auto it = models_.rbegin(); it != models_.rend(); ++it) {
        if (it->second.size() >= min_points_) {
          model = &it->second;
          break;
        }
      }
    }
    const std::span<const FrozenTrial> liars =
        opts_.tpe.constant_liar ? request.running : std::span<const FrozenTrial>{};
    Params p = model ? model->propose(rng, liars, request.trial_number)
                     : sample_prior_params(*space_, rng);
    remember(request.trial_number, p);
    return p;
  }

 private:
  void remember(int64_t number, const Params& params) {
    if (!params_.try_emplace(number, params).second) return;
    const auto it = pending_.find(number);
    if (it == pending_.end()) return;
    const auto reports = std::move(it->second);
    pending_.erase(it);
    for (const auto& [step, value] : reports) record(number, step, value);
  }

  void record(int64_t number, int64_t step, double value) {
    const auto known = params_.find(number);
    if (known == params_.end()) {
      pending_[number].emplace_back(step, value);
      return;
    }
    auto& model = models_.try_emplace(step, space_, opts_.tpe).first->second;
    if (model.contains(number)) return;
    model.upsert(number, known->second, TpeRank::complete(to_loss(dir_, value)));
  }

  std::shared_ptr<const SearchSpace> space_;
  Direction dir_;
  BohbOptions opts_;
  size_t min_points_;
  std::map<int64_t, TpeModel> models_;  // by budget (step)
  std::unordered_map<int64_t, Params> params_;
  std::unordered_map<int64_t, std::vector<std::pair<int64_t, double>>> pending_;
};

}  // namespace

std::unique_ptr<Sampler> make_bohb_sampler(const SearchSpace& space, Direction dir,
                                           BohbOptions opts) {
  require_finalized(space, "bohb");
  validate_tpe_options(opts.tpe, "sampler.bohb.tpe");
  if (!(opts.random_fraction >= 0.0 && opts.random_fraction <= 1.0)) {
    throw ConfigError("sampler.bohb.random_fraction",
                      "must be in [0, 1], got " + format_number(opts.random_fraction));
  }
  if (opts.min_points_in_model && *opts.min_points_in_model < 1) {
    throw ConfigError("sampler.bohb.min_points_in_model",
                      "must be >= 1, got " + std::to_string(*opts.min_points_in_model));
  }
  const size_t min_points =
      opts.min_points_in_model ? static_cast<size_t>(*opts.min_points_in_model) : space.size() + 1;
  return std::make_unique<BohbSampler>(std::make_shared<const SearchSpace>(space), dir, opts,
                                       min_points);
}

}  // namespace hypertune::search
