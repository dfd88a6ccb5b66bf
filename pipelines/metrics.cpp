#include "pipelines/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hypertune::pipelines {

nlohmann::json classification_metrics(const float* probs, int64_t n, int64_t k,
                                      const int64_t* labels) {
  std::vector<int64_t> tp(static_cast<size_t>(k), 0), predicted(static_cast<size_t>(k), 0),
      actual(static_cast<size_t>(k), 0);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = probs + i * k;
    const auto pred = static_cast<int64_t>(std::max_element(row, row + k) - row);
    ++predicted[static_cast<size_t>(pred)];
    ++actual[static_cast<size_t>(labels[i])];
    if (pred == labels[i]) {
      ++correct;
      ++tp[static_cast<size_t>(pred)];
    }
  }
  double f1_sum = 0.0;
  int classes = 0;
  for (size_t c = 0; c < static_cast<size_t>(k); ++c) {
    if (predicted[c] == 0 && actual[c] == 0) continue;
    ++classes;
    const auto denom = static_cast<double>(predicted[c] + actual[c]);
    f1_sum += 2.0 * static_cast<double>(tp[c]) / denom;
  }
  nlohmann::json m;
  m["accuracy"] = n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  m["f1_macro"] = classes > 0 ? f1_sum / classes : 0.0;
  if (k == 2) {
    std::vector<double> scores(static_cast<size_t>(n));
    std::vector<int> truth(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      scores[static_cast<size_t>(i)] = probs[i * 2 + 1];
      truth[static_cast<size_t>(i)] = labels[i] == 1 ? 1 : 0;
    }
    m["roc_auc"] = roc_auc(scores, truth);
  }
  return m;
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& truth) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U: sum of the (tie-averaged) ranks of the positives.
  double rank_sum = 0.0;
  size_t positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double avg_rank = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t t = i; t <= j; ++t)
      if (truth[order[t]] == 1) {
        rank_sum += avg_rank;
        ++positives;
      }
    i = j + 1;
  }
  const size_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  const double p = static_cast<double>(positives);
  return (rank_sum - p * (p + 1.0) / 2.0) / (p * static_cast<double>(negatives));
}

nlohmann::json regression_metrics(const float* pred, const float* truth, int64_t n, double mean,
                                  double scale) {
  double se = 0.0, ae = 0.0, sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += truth[i] * scale + mean;
  const double avg = n > 0 ? sum / static_cast<double>(n) : 0.0;
  double ss_tot = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double y = truth[i] * scale + mean;
    const double e = (static_cast<double>(pred[i]) - truth[i]) * scale;
    se += e * e;
    ae += std::abs(e);
    ss_tot += (y - avg) * (y - avg);
  }
  const double dn = n > 0 ? static_cast<double>(n) : 1.0;
  nlohmann::json m;
  m["rmse"] = std::sqrt(se / dn);
  m["mae"] = ae / dn;
  m["r2"] = ss_tot > 0.0 ? 1.0 - se / ss_tot : 0.0;
  return m;
}

std::vector<std::string> metric_names(TaskKind task, bool binary) {
  std::vector<std::string> names = {"train_loss", "val_loss"};
  if (task == TaskKind::kClassification) {
    names.insert(names.end(), {"accuracy", "f1_macro"});
    if (binary) names.push_back("roc_auc");
  } else {
    names.insert(names.end(), {"rmse", "mae", "r2"});
  }
  return names;
}

}  // namespace hypertune::pipelines
