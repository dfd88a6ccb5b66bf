#include <algorithm>
#include <map>
#include <unordered_set>

#include "base/error.h"
#include "base/rng.h"
#include "search/sampler.h"

namespace hypertune::search {

namespace {

// Grids larger than this are refused: a sweep could never visit them all.
constexpr size_t kMaxGridPoints = 10'000'000;

class GridSampler final : public Sampler {
 public:
  GridSampler(const SearchSpace& space, uint64_t seed, GridOptions opts) : space_(space) {
    for (const auto& p : space.params()) {
      if (!p.dist.cardinality()) {
        throw ConfigError("space." + p.name,
                          "the grid sampler needs a finite parameter: give this float a `step`");
      }
    }
    Params current(space.size());
    enumerate(0, current);
    if (opts.shuffle) {
      Rng rng(seed);
      for (size_t i = points_.size(); i > 1; --i) {
        std::swap(points_[i - 1], points_[rng.below(i)]);
      }
    }
    for (size_t i = 0; i < points_.size(); ++i) index_.emplace(points_[i], i);
    used_.assign(points_.size(), false);
  }

  void observe(const FrozenTrial& t) override {
    // RUNNING again (a resumed paused trial) stays used: its grid point is taken either way.
    if (auto it = index_.find(t.params); it != index_.end()) mark(it->second);
  }

  Params sample(const SampleRequest& req) override {
    for (const auto& t : req.running) {
      if (auto it = index_.find(t.params); it != index_.end()) mark(it->second);
    }
    while (next_ < points_.size() && used_[next_]) ++next_;
    if (next_ >= points_.size()) {
      // Every point was handed out: repeat one (the study stops at exhausted() unless told not to).
      return points_[req.trial_number % static_cast<int64_t>(points_.size())];
    }
    mark(next_);
    return points_[next_];
  }

  bool exhausted() const override { return used_count_ >= points_.size(); }

 private:
  void mark(size_t i) {
    if (!used_[i]) {
      used_[i] = true;
      ++used_count_;
    }
  }

  void enumerate(size_t pos, Params& current) {
    const auto& order = space_.topological_order();
    if (pos == order.size()) {
      if (points_.size() >= kMaxGridPoints) {
        throw ConfigError("space", "the grid has more than " + std::to_string(kMaxGridPoints) +
                                       " points; use coarser steps or another sampler");
      }
      points_.push_back(current);
      return;
    }
    const size_t i = order[pos];
    if (!space_.is_active(i, current)) {
      current[i].reset();
      enumerate(pos + 1, current);
      return;
    }
    const auto& d = space_.params()[i].dist;
    const int64_t n = *d.cardinality();
    for (int64_t k = 0; k < n; ++k) {
      current[i] = d.value_at(k);
      enumerate(pos + 1, current);
    }
    current[i].reset();
  }

  const SearchSpace& space_;
  std::vector<Params> points_;
  std::map<Params, size_t> index_;
  std::vector<bool> used_;
  size_t used_count_ = 0;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<Sampler> make_grid_sampler(const SearchSpace& space, Direction, uint64_t seed,
                                           GridOptions opts) {
  return std::make_unique<GridSampler>(space, seed, opts);
}

}  // namespace hypertune::search
