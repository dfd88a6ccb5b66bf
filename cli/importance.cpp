#include "cli/importance.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "base/error.h"

namespace hypertune::cli {

namespace {

struct Sample {
  const search::Params* params;
  double value;
};

// Group (bin or choice) of every sample for parameter `i`; -1 where the parameter is inactive.
std::vector<int> group_samples(const search::SearchSpace& space, size_t i, const std::vector<Sample>& samples,
                               int max_bins) {
  const auto& dist = space.params()[i].dist;
  std::vector<double> sorted;
  for (const auto& s : samples) {
    if ((*s.params)[i]) sorted.push_back(*(*s.params)[i]);
  }
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> distinct = sorted;
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());

  // Edges: a value belongs to the group of the number of edges <= it.
  std::vector<double> edges;
  if (dist.kind == search::ParamKind::kCategorical || distinct.size() <= static_cast<size_t>(max_bins)) {
    if (!distinct.empty()) edges.assign(distinct.begin() + 1, distinct.end());
  } else {
    // Equal-count bins; about sqrt(n) of them so that each bin mean rests on several trials.
    const auto n = sorted.size();
    const int bins = std::clamp(static_cast<int>(std::sqrt(static_cast<double>(n))), 2, max_bins);
    for (int b = 1; b < bins; ++b) {
      const double edge = sorted[n * static_cast<size_t>(b) / static_cast<size_t>(bins)];
      // Ties at a cut stay together: a repeated edge would leave an empty bin, which is harmless.
      if (edges.empty() || edge > edges.back()) edges.push_back(edge);
    }
  }
  std::vector<int> groups;
  groups.reserve(samples.size());
  for (const auto& s : samples) {
    const auto& v = (*s.params)[i];
    if (!v) {
      groups.push_back(-1);
    } else {
      groups.push_back(static_cast<int>(std::upper_bound(edges.begin(), edges.end(), *v) - edges.begin()));
    }
  }
  return groups;
}

}  // namespace

std::optional<Importance> parameter_importance(const search::SearchSpace& space,
                                               std::span<const search::FrozenTrial> trials,
                                               const ImportanceOptions& options) {
  if (options.max_bins < 2) {
    throw ConfigError("importance.max_bins", "expected an integer >= 2, got " + std::to_string(options.max_bins));
  }
  std::vector<Sample> samples;
  for (const auto& t : trials) {
    if (t.state != search::TrialState::kComplete || !t.value || !std::isfinite(*t.value)) continue;
    if (t.params.size() != space.size()) continue;
    samples.push_back({&t.params, *t.value});
  }
  const auto n = static_cast<int64_t>(samples.size());
  if (n < std::max<int64_t>(options.min_trials, 2)) return std::nullopt;

  double mean = 0.0;
  for (const auto& s : samples) mean += s.value;
  mean /= static_cast<double>(n);
  double ss_total = 0.0;
  for (const auto& s : samples) ss_total += (s.value - mean) * (s.value - mean);
  // Relative test: values like 1e12 + tiny float noise still count as constant.
  if (!(ss_total > 1e-24 * std::max(1.0, mean * mean) * static_cast<double>(n))) return std::nullopt;

  Importance out;
  out.trials = n;
  out.variance = ss_total / static_cast<double>(n);
  for (size_t i = 0; i < space.size(); ++i) {
    const auto groups = group_samples(space, i, samples, options.max_bins);
    // A conditional parameter is judged among the trials that set it, around their own mean:
    // whether it is set at all is its parent's doing, and the parent gets that credit.
    std::map<int, std::pair<int64_t, double>> sums;  // group -> (count, sum of values)
    int64_t n_active = 0;
    double active_sum = 0.0;
    for (size_t k = 0; k < samples.size(); ++k) {
      if (!(*samples[k].params)[i]) continue;
      auto& g = sums[groups[k]];
      ++g.first;
      g.second += samples[k].value;
      ++n_active;
      active_sum += samples[k].value;
    }
    double explained = 0.0;
    const auto k = static_cast<int64_t>(sums.size());
    if (k >= 2 && n_active > k) {
      const double active_mean = active_sum / static_cast<double>(n_active);
      double ss_active = 0.0;
      for (size_t j = 0; j < samples.size(); ++j) {
        if ((*samples[j].params)[i]) ss_active += (samples[j].value - active_mean) * (samples[j].value - active_mean);
      }
      double ss_between = 0.0;
      for (const auto& [id, g] : sums) {
        const double m = g.second / static_cast<double>(g.first);
        ss_between += static_cast<double>(g.first) * (m - active_mean) * (m - active_mean);
      }
      const double ms_within = std::max(0.0, ss_active - ss_between) / static_cast<double>(n_active - k);
      explained = std::clamp((ss_between - static_cast<double>(k - 1) * ms_within) / ss_total, 0.0, 1.0);
    }
    ParamImportance p;
    p.index = i;
    p.name = space.params()[i].name;
    p.explained = explained;
    p.active_trials = n_active;
    p.groups = static_cast<int>(k);
    out.params.push_back(std::move(p));
  }
  const double total = std::accumulate(out.params.begin(), out.params.end(), 0.0,
                                       [](double acc, const ParamImportance& p) { return acc + p.explained; });
  for (auto& p : out.params) p.importance = total > 0.0 ? p.explained / total : 0.0;
  std::stable_sort(out.params.begin(), out.params.end(),
                   [](const ParamImportance& a, const ParamImportance& b) { return a.importance > b.importance; });
  return out;
}

}  // namespace hypertune::cli
