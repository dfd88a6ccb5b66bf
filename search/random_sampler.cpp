#include <cmath>

#include "base/rng.h"
#include "search/sampler.h"

namespace hypertune::search {

double sample_prior(const Distribution& d, Rng& rng) {
  switch (d.kind) {
    case ParamKind::kCategorical:
      return static_cast<double>(rng.below(d.choices.size()));
    case ParamKind::kInt: {
      if (d.log) {
        // Uniform in log space over [low - 0.5, high + 0.5], so each integer gets its log-width.
        const double lo = std::log(d.low - 0.5), hi = std::log(d.high + 0.5);
        return d.clip(std::round(std::exp(rng.uniform(lo, hi))));
      }
      const auto n = *d.cardinality();
      return d.value_at(static_cast<int64_t>(rng.below(static_cast<uint64_t>(n))));
    }
    case ParamKind::kFloat: {
      if (d.step) {
        const auto n = *d.cardinality();
        return d.value_at(static_cast<int64_t>(rng.below(static_cast<uint64_t>(n))));
      }
      if (d.log) return d.clip(std::exp(rng.uniform(std::log(d.low), std::log(d.high))));
      return d.clip(rng.uniform(d.low, d.high));
    }
  }
  return d.low;
}

namespace {

class RandomSampler final : public Sampler {
 public:
  explicit RandomSampler(const SearchSpace& space) : space_(space) {}

  void observe(const FrozenTrial&) override {}

  Params sample(const SampleRequest& req) override {
    Rng rng(req.seed);
    Params p(space_.size());
    for (size_t i : space_.topological_order()) {
      if (space_.is_active(i, p)) p[i] = sample_prior(space_.params()[i].dist, rng);
    }
    return p;
  }

 private:
  const SearchSpace& space_;
};

}  // namespace

std::unique_ptr<Sampler> make_random_sampler(const SearchSpace& space, Direction, RandomOptions) {
  return std::make_unique<RandomSampler>(space);
}

}  // namespace hypertune::search
