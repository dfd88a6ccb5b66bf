#include "search/tpe_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "base/error.h"

namespace hypertune::search {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

std::string format_number(double v) {
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

TpeRank TpeRank::complete(double loss) noexcept {
  return {Tier::kComplete, 0, std::isnan(loss) ? kInf : loss};
}
TpeRank TpeRank::reported(int64_t step, double loss) noexcept {
  return {Tier::kReported, step, std::isnan(loss) ? kInf : loss};
}
TpeRank TpeRank::unreported() noexcept { return {Tier::kUnreported, 0, 0.0}; }

bool TpeRank::operator<(const TpeRank& other) const noexcept {
  if (tier != other.tier) return tier < other.tier;
  if (tier == Tier::kReported && step != other.step) return step > other.step;
  return loss < other.loss;
}

std::optional<TpeRank> tpe_rank(const FrozenTrial& trial, Direction dir) {
  switch (trial.state) {
    case TrialState::kComplete:
      if (!trial.value || std::isnan(*trial.value)) return std::nullopt;
      return TpeRank::complete(to_loss(dir, *trial.value));
    case TrialState::kPruned:
    case TrialState::kPaused:
      if (const auto last = trial.last_report()) {
        // Optuna ranks a NaN intermediate value as +inf whatever the direction.
        return TpeRank::reported(last->first,
                                 std::isnan(last->second) ? kInf : to_loss(dir, last->second));
      }
      return TpeRank::unreported();
    case TrialState::kWaiting:
    case TrialState::kRunning:
    case TrialState::kFail:
      return std::nullopt;
  }
  return std::nullopt;
}

size_t tpe_gamma(size_t n, double fraction, int cap) noexcept {
  const double g = std::min(std::ceil(fraction * static_cast<double>(n)), static_cast<double>(cap));
  return std::min(n, static_cast<size_t>(std::max(g, 0.0)));
}

Params sample_prior_params(const SearchSpace& space, Rng& rng) {
  Params p(space.size());
  for (size_t i : space.topological_order()) {
    if (space.is_active(i, p)) p[i] = sample_prior(space.params()[i].dist, rng);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------

TpeModel::TpeModel(std::shared_ptr<const SearchSpace> space, const TpeOptions& options)
    : space_(std::move(space)), options_(options) {
  const auto& params = space_->params();
  axes_.reserve(params.size());
  for (const auto& p : params) axes_.push_back(parzen::Axis::of(p.dist));
  by_value_.resize(params.size());

  auto single = [&](size_t i) {
    const auto& d = params[i].dist;
    return d.kind == ParamKind::kCategorical && d.choices.size() == 1;
  };
  auto make_unit = [&](const std::vector<size_t>& members, bool joint) {
    Unit u;
    u.joint = joint;
    for (size_t i : members) (single(i) ? u.fixed : u.params).push_back(i);
    if (!u.params.empty() || !u.fixed.empty()) units_.push_back(std::move(u));
  };
  if (!options_.multivariate) {
    for (size_t i : space_->topological_order()) make_unit({i}, false);
  } else if (options_.group) {
    for (const auto& g : space_->groups()) make_unit(g, true);
  } else {
    if (!space_->groups().empty()) make_unit(space_->groups()[0], true);
    for (size_t i : space_->topological_order()) {
      if (space_->parent_of(i)) make_unit({i}, false);
    }
  }
}

std::vector<double> TpeModel::to_model(const Params& params, int64_t number) const {
  const auto& specs = space_->params();
  if (params.size() != specs.size()) {
    throw Error("tpe: trial " + std::to_string(number) + " has " + std::to_string(params.size()) +
                " parameter values, the search space has " + std::to_string(specs.size()));
  }
  std::vector<double> model(params.size(), kNaN);
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i]) continue;
    if (!specs[i].dist.contains(*params[i])) {
      throw Error("tpe: trial " + std::to_string(number) + ": parameter '" + specs[i].name +
                  "' = " + format_number(*params[i]) + " is not a legal value of its " +
                  to_string(specs[i].dist.kind) + " distribution");
    }
    model[i] = axes_[i].to_model(*params[i]);
  }
  return model;
}

bool TpeModel::loss_less(uint32_t a, uint32_t b) const {
  const Entry& x = slots_[a];
  const Entry& y = slots_[b];
  if (x.rank < y.rank) return true;
  if (y.rank < x.rank) return false;
  return x.number < y.number;
}

void TpeModel::index_pending() {
  if (unindexed_.empty()) return;
  auto by_number = [&](uint32_t a, uint32_t b) { return slots_[a].number < slots_[b].number; };
  auto by_loss = [&](uint32_t a, uint32_t b) { return loss_less(a, b); };
  auto by_value = [](const ValueRef& a, const ValueRef& b) {
    return a.value < b.value || (a.value == b.value && a.number < b.number);
  };
  auto merge_in = [](auto& vec, auto added, auto less) {
    if (added.size() == 1) {  // the usual case in a running sweep: one insertion, no merge buffer
      vec.insert(std::upper_bound(vec.begin(), vec.end(), added[0], less), added[0]);
      return;
    }
    std::sort(added.begin(), added.end(), less);
    const auto old_size = static_cast<ptrdiff_t>(vec.size());
    vec.insert(vec.end(), added.begin(), added.end());
    std::inplace_merge(vec.begin(), vec.begin() + old_size, vec.end(), less);
  };
  merge_in(chrono_, unindexed_, by_number);
  merge_in(by_loss_, unindexed_, by_loss);
  for (size_t p = 0; p < axes_.size(); ++p) {
    if (axes_[p].categorical()) continue;
    std::vector<ValueRef> refs;
    for (uint32_t slot : unindexed_) {
      const double v = values(slot)[p];
      if (!std::isnan(v)) refs.push_back({v, slots_[slot].number, slot});
    }
    if (!refs.empty()) merge_in(by_value_[p], std::move(refs), by_value);
  }
  for (uint32_t slot : unindexed_) slots_[slot].indexed = true;
  unindexed_.clear();
}

void TpeModel::erase_sorted(uint32_t slot) {
  Entry& e = slots_[slot];
  if (!e.indexed) {
    unindexed_.erase(std::find(unindexed_.begin(), unindexed_.end(), slot));
    return;
  }
  e.indexed = false;
  const double* model = values(slot);
  auto by_number = [&](uint32_t s, int64_t n) { return slots_[s].number < n; };
  chrono_.erase(std::lower_bound(chrono_.begin(), chrono_.end(), e.number, by_number));
  by_loss_.erase(std::lower_bound(by_loss_.begin(), by_loss_.end(), slot,
                                  [&](uint32_t a, uint32_t b) { return loss_less(a, b); }));
  for (size_t p = 0; p < axes_.size(); ++p) {
    if (axes_[p].categorical() || std::isnan(model[p])) continue;
    auto& vec = by_value_[p];
    vec.erase(std::lower_bound(vec.begin(), vec.end(), ValueRef{model[p], e.number, slot},
                               [](const ValueRef& a, const ValueRef& b) {
                                 return a.value < b.value ||
                                        (a.value == b.value && a.number < b.number);
                               }));
  }
}

void TpeModel::upsert(int64_t number, const Params& params, TpeRank rank) {
  const std::vector<double> model = to_model(params, number);
  const size_t np = axes_.size();
  if (const auto it = slot_of_.find(number); it != slot_of_.end()) {
    erase_sorted(it->second);
    slots_[it->second].rank = rank;
    std::copy(model.begin(), model.end(),
              values_.begin() + static_cast<ptrdiff_t>(it->second * np));
    unindexed_.push_back(it->second);
    return;
  }
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
    values_.resize(values_.size() + np);
  }
  slots_[slot] = Entry{number, rank};
  std::copy(model.begin(), model.end(), values_.begin() + static_cast<ptrdiff_t>(slot * np));
  slot_of_.emplace(number, slot);
  unindexed_.push_back(slot);
}

bool TpeModel::erase(int64_t number) {
  const auto it = slot_of_.find(number);
  if (it == slot_of_.end()) return false;
  erase_sorted(it->second);
  free_slots_.push_back(it->second);
  slot_of_.erase(it);
  return true;
}

Params TpeModel::propose(Rng& rng, std::span<const FrozenTrial> liars, int64_t self) {
  index_pending();
  const size_t n = size();
  const size_t n_below = tpe_gamma(n, options_.gamma_fraction, options_.gamma_cap);
  below_.assign(slots_.size(), 0);
  for (size_t k = 0; k < n_below; ++k) below_[by_loss_[k]] = 1;

  std::vector<Liar> lie;
  for (const auto& t : liars) {
    if (t.number == self || contains(t.number) || t.params.size() != space_->size()) continue;
    lie.push_back({t.number, to_model(t.params, t.number)});
  }
  std::sort(lie.begin(), lie.end(),
            [](const Liar& a, const Liar& b) { return a.number < b.number; });

  Params out(space_->size());
  for (const Unit& unit : units_) {
    const size_t first = unit.params.empty() ? unit.fixed.front() : unit.params.front();
    if (!space_->is_active(first, out)) continue;
    for (size_t f : unit.fixed) out[f] = 0.0;
    if (!unit.params.empty()) sample_unit(unit, n_below, lie, rng, out);
  }
  return out;
}

void TpeModel::sample_unit(const Unit& unit, size_t n_below, const std::vector<Liar>& liars,
                           Rng& rng, Params& out) {
  const auto& P = unit.params;
  const size_t d = P.size();
  auto active = [&](const double* model) {
    for (size_t p : P) {
      if (std::isnan(model[p])) return false;
    }
    return true;
  };

  std::vector<parzen::Axis> axes;
  axes.reserve(d);
  for (size_t p : P) axes.push_back(axes_[p]);

  // Below: the best n_below trials where the unit is active, in trial-number order.
  std::vector<uint32_t> below;
  for (size_t k = 0; k < n_below; ++k) {
    if (active(values(by_loss_[k]))) below.push_back(by_loss_[k]);
  }
  std::sort(below.begin(), below.end(),
            [&](uint32_t a, uint32_t b) { return slots_[a].number < slots_[b].number; });
  std::vector<std::vector<double>> below_cols(d, std::vector<double>(below.size()));
  std::vector<double> below_w(below.size());
  for (size_t r = 0; r < below.size(); ++r) {
    for (size_t a = 0; a < d; ++a) below_cols[a][r] = values(below[r])[P[a]];
    below_w[r] = parzen::default_weight(r, below.size());
  }

  // Above: every other stored trial where the unit is active, and the active liars.
  std::vector<const Liar*> live;
  for (const Liar& l : liars) {
    if (active(l.model.data())) live.push_back(&l);
  }
  // Visits the above set in trial-number order: f(model, slot or UINT32_MAX, liar index).
  auto for_each_above_by_number = [&](auto&& f) {
    size_t j = 0;
    for (uint32_t s : chrono_) {
      const int64_t number = slots_[s].number;
      while (j < live.size() && live[j]->number < number) {
        f(live[j]->model.data(), UINT32_MAX, j);
        ++j;
      }
      const double* model = values(s);
      if (!below_[s] && active(model)) f(model, s, size_t{0});
    }
    for (; j < live.size(); ++j) f(live[j]->model.data(), UINT32_MAX, j);
  };

  std::vector<std::vector<double>> above_cols(d);
  std::vector<double> above_w;
  if (d == 1 && !axes[0].categorical()) {
    // One numeric parameter: hand the estimator its centres already sorted, from the value index;
    // the weights (by age) come from a pass in trial-number order.
    const size_t p = P[0];
    const auto& sorted = by_value_[p];
    const size_t count = sorted.size() - below.size() + live.size();
    std::vector<double> liar_w(live.size(), 1.0);
    const bool ramp = count > 25;
    if (ramp) {
      // parzen::default_weight(r, count), unrolled: a ramp over the oldest count - 25.
      slot_weight_.resize(slots_.size());
      const size_t ramp_len = count - 25;
      const double start = 1.0 / static_cast<double>(count);
      const double step = ramp_len > 1 ? (1.0 - start) / static_cast<double>(ramp_len - 1) : 0.0;
      size_t r = 0;
      for_each_above_by_number([&](const double*, uint32_t s, size_t j) {
        const double w = r + 1 < ramp_len ? start + static_cast<double>(r) * step
                                          : (r + 1 == ramp_len && ramp_len == 1 ? start : 1.0);
        ++r;
        if (s == UINT32_MAX) {
          liar_w[j] = w;
        } else {
          slot_weight_[s] = w;
        }
      });
    }
    std::vector<size_t> order(live.size());
    for (size_t j = 0; j < live.size(); ++j) order[j] = j;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const double va = live[a]->model[p], vb = live[b]->model[p];
      return va < vb || (va == vb && live[a]->number < live[b]->number);
    });
    auto& col = above_cols[0];
    col.resize(count + 1);  // + 1: room for the prior, which the estimator appends
    above_w.resize(count + 1);
    double* cv = col.data();
    double* wv = above_w.data();
    const uint8_t* is_below = below_.data();
    const double* sw = slot_weight_.data();
    size_t n = 0, j = 0;
    for (const ValueRef& ref : sorted) {
      while (j < order.size() &&
             (live[order[j]]->model[p] < ref.value ||
              (live[order[j]]->model[p] == ref.value && live[order[j]]->number < ref.number))) {
        cv[n] = live[order[j]]->model[p];
        wv[n++] = liar_w[order[j]];
        ++j;
      }
      if (is_below[ref.slot]) continue;
      cv[n] = ref.value;
      wv[n++] = ramp ? sw[ref.slot] : 1.0;
    }
    for (; j < order.size(); ++j) {
      cv[n] = live[order[j]]->model[p];
      wv[n++] = liar_w[order[j]];
    }
    col.resize(n);
    above_w.resize(n);
  } else {
    for_each_above_by_number([&](const double* model, uint32_t, size_t) {
      for (size_t a = 0; a < d; ++a) above_cols[a].push_back(model[P[a]]);
    });
    above_w.resize(above_cols[0].size());
    for (size_t r = 0; r < above_w.size(); ++r)
      above_w[r] = parzen::default_weight(r, above_w.size());
  }

  parzen::Settings settings;
  settings.consider_prior = options_.consider_prior;
  settings.prior_weight = options_.prior_weight;
  settings.consider_magic_clip = options_.consider_magic_clip;
  settings.consider_endpoints = options_.consider_endpoints;
  settings.multivariate = unit.joint;
  settings.normalize_continuous = false;  // Optuna 3.1 as released (see search/parzen.h)
  parzen::Estimator l(axes, std::move(below_cols), std::move(below_w), settings);
  parzen::Estimator g(std::move(axes), std::move(above_cols), std::move(above_w), settings);

  const auto n_ei = static_cast<size_t>(options_.n_ei_candidates);
  std::vector<std::vector<double>> cand;
  l.sample(rng, n_ei, cand);
  std::vector<double> log_l(n_ei), log_g(n_ei);
  l.log_pdf(cand, log_l);
  g.log_pdf(cand, log_g);
  size_t best = 0;
  double best_score = -kInf;
  for (size_t k = 0; k < n_ei; ++k) {
    const double score = log_l[k] - log_g[k];
    if (score > best_score) {
      best_score = score;
      best = k;
    }
  }
  for (size_t a = 0; a < d; ++a) out[P[a]] = cand[a][best];
}

}  // namespace hypertune::search
