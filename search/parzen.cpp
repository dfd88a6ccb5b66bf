#include "search/parzen.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <string>

#include "search/error.h"

namespace hypertune::search::parzen {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSigma0Magnitude = 0.2;  // Optuna's multivariate bandwidth factor
constexpr size_t kBlock = 32;

// log_pdf may drop at most this share of the mixture.
constexpr double kRelTol = 1e-12;
// A component below exp(-kLogSkip) of the largest one is dropped (with up to 1e5 components that
// still leaves the sum exact to ~1e-11).
constexpr double kLogSkip = 37.0;

// Every kernel centre lies inside the axis bounds and every sigma is at most the range, so the
// truncation mass Z of any component is at least Phi(1) - 1/2; log(1/Z) is at most this. The
// upper bounds that decide which components to skip use it instead of the exact Z.
const double kLogInvZMax = -std::log(0.5 * std::erfc(-1.0 / std::numbers::sqrt2) - 0.5) + 1e-12;

double log_add_exp(double p, double q) {
  const double m = std::max(p, q);
  if (m == -kInf) return -kInf;
  return m + std::log1p(std::exp(-std::abs(p - q)));
}

double log_diff_exp(double lp, double lq) { return lp + std::log1p(-std::exp(lq - lp)); }

// Lower-tail inverse, log_p < log(1/2): starts from Abramowitz & Stegun 26.2.23 (written in terms
// of log p, so it never underflows) and polishes with Newton steps on log Phi, which is concave:
// after the first step the iterates approach the root monotonically.
double ndtri_exp_lower(double log_p) {
  const double t = std::sqrt(-2.0 * log_p);
  double x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
                       (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t));
  for (int iter = 0; iter < 60; ++iter) {
    const double lf = log_ndtr(x);
    const double slope = std::exp(-0.5 * x * x - kLogSqrt2Pi - lf);
    const double dx = (lf - log_p) / slope;
    x -= dx;
    if (!(std::abs(dx) > 1e-15 * (1.0 + std::abs(x)))) break;
  }
  return x;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Axis

Axis Axis::of(const Distribution& d) {
  Axis ax;
  ax.kind = d.kind;
  ax.dist = d;
  switch (d.kind) {
    case ParamKind::kCategorical:
      ax.n_choices = static_cast<int64_t>(d.choices.size());
      ax.low = 0.0;
      ax.high = static_cast<double>(std::max<int64_t>(ax.n_choices - 1, 0));
      break;
    case ParamKind::kFloat:
      if (d.log) {
        ax.log = true;
        ax.low = std::log(d.low);
        ax.high = std::log(d.high);
      } else if (d.step) {
        ax.step = *d.step;
        ax.low = d.low - 0.5 * ax.step;
        ax.high = d.high + 0.5 * ax.step;
      } else {
        ax.low = d.low;
        ax.high = d.high;
      }
      break;
    case ParamKind::kInt:
      if (d.log) {
        ax.log = true;
        ax.low = std::log(d.low - 0.5);
        ax.high = std::log(d.high + 0.5);
      } else {
        ax.step = d.step.value_or(1.0);
        ax.low = d.low - 0.5 * ax.step;
        ax.high = d.high + 0.5 * ax.step;
      }
      break;
  }
  return ax;
}

double Axis::to_model(double internal) const { return log ? std::log(internal) : internal; }

double Axis::to_internal(double model) const {
  if (categorical()) return model;
  double v = log ? std::exp(model) : model;
  if (kind == ParamKind::kInt || dist.step) {
    // Optuna rounds half to even (numpy.round); nearbyint does the same in the default mode.
    const double g = dist.step.value_or(1.0);
    v = dist.low + std::nearbyint((v - dist.low) / g) * g;
  }
  return dist.clip(std::clamp(v, dist.low, dist.high));
}

// ---------------------------------------------------------------------------------------------
// Normal distribution helpers

double default_weight(size_t rank, size_t count) noexcept {
  if (count <= 25 || rank >= count - 25) return 1.0;
  const size_t ramp = count - 25;
  const double start = 1.0 / static_cast<double>(count);
  if (ramp == 1) return start;
  if (rank == ramp - 1) return 1.0;  // numpy.linspace pins the endpoint
  return start + static_cast<double>(rank) * ((1.0 - start) / static_cast<double>(ramp - 1));
}

double ndtr(double x) noexcept { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

double log_ndtr(double x) noexcept {
  if (x > 6.0) return std::log1p(-ndtr(-x));
  if (x > -37.0) return std::log(ndtr(x));
  // Asymptotic series of the lower tail: Phi(x) = phi(x)/(-x) * sum_k (-1)^k (2k-1)!! / x^(2k).
  const double inv_x2 = 1.0 / (x * x);
  double total = 1.0;
  double term = 1.0;
  for (int k = 1; k < 64; ++k) {
    term *= -static_cast<double>(2 * k - 1) * inv_x2;
    const double next = total + term;
    if (next == total) break;
    total = next;
  }
  return -0.5 * x * x - std::log(-x) - kLogSqrt2Pi + std::log(total);
}

double gauss_mass(double a, double b) noexcept {
  // Work in whichever tail keeps the difference of two small numbers.
  if (b <= 0.0) return ndtr(b) - ndtr(a);
  if (a > 0.0) return ndtr(-a) - ndtr(-b);
  return 1.0 - ndtr(a) - ndtr(-b);
}

double log_gauss_mass(double a, double b) noexcept {
  if (b <= 0.0) return log_diff_exp(log_ndtr(b), log_ndtr(a));
  if (a > 0.0) return log_diff_exp(log_ndtr(-a), log_ndtr(-b));
  return std::log1p(-ndtr(a) - ndtr(-b));
}

double ndtri_exp(double log_p) noexcept {
  if (std::isnan(log_p)) return kNaN;
  if (log_p >= 0.0) return kInf;
  if (log_p == -kInf) return -kInf;
  if (log_p < -std::numbers::ln2) return ndtri_exp_lower(log_p);
  // Upper half: invert the complement 1 - p = -expm1(log p), which keeps its digits.
  return -ndtri_exp_lower(std::log(-std::expm1(log_p)));
}

double truncnorm_ppf(double u, double a, double b) noexcept {
  if (!(u > 0.0)) return a;
  if (u >= 1.0) return b;
  const double log_mass = log_gauss_mass(a, b);
  double x;
  if (a < 0.0) {
    x = ndtri_exp(log_add_exp(log_ndtr(a), std::log(u) + log_mass));
  } else {
    x = -ndtri_exp(log_add_exp(log_ndtr(-b), std::log1p(-u) + log_mass));
  }
  return std::clamp(x, a, b);
}

// ---------------------------------------------------------------------------------------------
// Estimator: construction

Estimator::Estimator(std::vector<Axis> axes, std::vector<std::vector<double>> columns,
                     std::vector<double> weights, const Settings& settings)
    : axes_(std::move(axes)), settings_(settings) {
  const size_t d = axes_.size();
  if (d == 0) throw Error("parzen: an estimator needs at least one axis");
  if (columns.size() != d) {
    throw Error("parzen: " + std::to_string(columns.size()) + " columns for " + std::to_string(d) +
                " axes");
  }
  if (d > 1 && !settings.multivariate) {
    throw Error("parzen: " + std::to_string(d) +
                " axes share components only with the multivariate bandwidth");
  }
  n_obs_ = weights.size();
  for (size_t a = 0; a < d; ++a) {
    if (columns[a].size() != n_obs_) {
      throw Error("parzen: axis " + std::to_string(a) + " has " + std::to_string(columns[a].size()) +
                  " observations, the weights " + std::to_string(n_obs_));
    }
    const Axis& ax = axes_[a];
    for (size_t i = 0; i < n_obs_; ++i) {
      const double v = columns[a][i];
      const bool ok = ax.categorical()
                          ? (v >= 0.0 && v < static_cast<double>(ax.n_choices) && std::floor(v) == v)
                          : (v >= ax.low && v <= ax.high);
      if (!ok) {
        throw Error("parzen: observation " + std::to_string(i) + " on axis " + std::to_string(a) +
                    " is " + std::to_string(v) + ", outside the axis [" + std::to_string(ax.low) +
                    ", " + std::to_string(ax.high) + "]");
      }
    }
  }
  for (size_t i = 0; i < n_obs_; ++i) {
    if (!(weights[i] >= 0.0) || !std::isfinite(weights[i])) {
      throw Error("parzen: weight " + std::to_string(i) + " is " + std::to_string(weights[i]) +
                  ", expected a finite number >= 0");
    }
  }

  // One numeric axis: keep components sorted by centre (ties in input order, like a stable
  // argsort), which both the neighbour bandwidth rule and the block walk need.
  sorted_path_ = d == 1 && !axes_[0].categorical();
  if (sorted_path_ && !std::is_sorted(columns[0].begin(), columns[0].end())) {
    std::vector<size_t> perm(n_obs_);
    std::iota(perm.begin(), perm.end(), size_t{0});
    const auto& col = columns[0];
    std::stable_sort(perm.begin(), perm.end(), [&](size_t x, size_t y) { return col[x] < col[y]; });
    std::vector<double> c(n_obs_), w(n_obs_);
    for (size_t k = 0; k < n_obs_; ++k) {
      c[k] = col[perm[k]];
      w[k] = weights[perm[k]];
    }
    columns[0] = std::move(c);
    weights = std::move(w);
  }

  prior_ = settings.consider_prior || n_obs_ == 0;
  m_ = n_obs_ + (prior_ ? 1 : 0);
  w_.assign(m_, 0.0);
  std::copy(weights.begin(), weights.end(), w_.begin());
  if (prior_) w_[n_obs_] = settings.prior_weight;
  const double total = std::accumulate(w_.begin(), w_.end(), 0.0);
  if (!(total > 0.0) || !std::isfinite(total)) {
    throw Error("parzen: the component weights sum to " + std::to_string(total) +
                ", expected a positive finite number");
  }
  log_w_.resize(m_);
  cum_w_.resize(m_);
  double run = 0.0;
  for (size_t i = 0; i < m_; ++i) {
    w_[i] /= total;
    log_w_[i] = std::log(w_[i]);
    run += w_[i];
    cum_w_[i] = run;
  }

  num_.resize(d);
  cat_.resize(d);
  for (size_t a = 0; a < d; ++a) {
    const Axis& ax = axes_[a];
    if (ax.categorical()) {
      CategoricalAxis& ca = cat_[a];
      ca.obs.resize(n_obs_);
      for (size_t i = 0; i < n_obs_; ++i) ca.obs[i] = static_cast<int32_t>(columns[a][i]);
      const double c = static_cast<double>(ax.n_choices);
      const double value = settings.prior_weight / static_cast<double>(prior_ ? n_obs_ + 1 : n_obs_);
      ca.hit = (value + 1.0) / (c * value + 1.0);
      ca.miss = value / (c * value + 1.0);
      if (d == 1) {
        std::vector<double> p(static_cast<size_t>(ax.n_choices), 0.0);
        double w_obs = 0.0;
        for (size_t i = 0; i < n_obs_; ++i) {
          p[static_cast<size_t>(ca.obs[i])] += w_[i] * (ca.hit - ca.miss);
          w_obs += w_[i];
        }
        ca.log_p.resize(p.size());
        for (size_t k = 0; k < p.size(); ++k) {
          p[k] += w_obs * ca.miss + (prior_ ? w_[n_obs_] / c : 0.0);
          ca.log_p[k] = std::log(p[k]);
        }
      }
      continue;
    }

    NumericAxis& na = num_[a];
    const double range = ax.high - ax.low;
    na.mu.resize(m_);
    na.sigma.resize(m_);
    std::copy(columns[a].begin(), columns[a].end(), na.mu.begin());
    const double prior_mu = 0.5 * (ax.low + ax.high);
    if (prior_) na.mu[n_obs_] = prior_mu;

    if (settings.multivariate) {
      // Scott's rule as in the BOHB paper: one bandwidth for every component of the axis.
      const double n = static_cast<double>(std::max<size_t>(n_obs_, 1));
      const double sigma0 = kSigma0Magnitude * std::pow(n, -1.0 / (static_cast<double>(d) + 4.0));
      std::fill(na.sigma.begin(), na.sigma.end(), sigma0 * range);
    } else {
      // Neighbour rule over the sorted centres, the prior's centre included (after equal
      // observations, as the prior comes last in Optuna's array).
      const auto& col = columns[a];
      const size_t pos = prior_ ? static_cast<size_t>(
                                      std::upper_bound(col.begin(), col.end(), prior_mu) - col.begin())
                                : n_obs_;
      std::vector<double> s(m_ + 2);
      s[0] = ax.low;
      for (size_t k = 0; k < m_; ++k) {
        s[k + 1] = !prior_ || k < pos ? col[k] : (k == pos ? prior_mu : col[k - 1]);
      }
      s[m_ + 1] = ax.high;
      std::vector<double> sorted_sigma(m_);
      for (size_t k = 0; k < m_; ++k) sorted_sigma[k] = std::max(s[k + 1] - s[k], s[k + 2] - s[k + 1]);
      if (!settings.consider_endpoints && m_ >= 2) {
        sorted_sigma[0] = s[2] - s[1];
        sorted_sigma[m_ - 1] = s[m_] - s[m_ - 1];
      }
      for (size_t k = 0; k < m_; ++k) {
        if (!prior_ || k < pos) {
          na.sigma[k] = sorted_sigma[k];
        } else if (k == pos) {
          na.sigma[n_obs_] = sorted_sigma[k];
        } else {
          na.sigma[k - 1] = sorted_sigma[k];
        }
      }
    }
    const double max_sigma = range;
    const double min_sigma = settings.consider_magic_clip
                                 ? range / std::min(100.0, 1.0 + static_cast<double>(m_))
                                 : 1e-12;
    for (double& sg : na.sigma) sg = std::clamp(sg, min_sigma, max_sigma);
    if (prior_) na.sigma[n_obs_] = range;
    na.inv_sigma.resize(m_);
    na.log_sigma.resize(m_);
    for (size_t i = 0; i < m_; ++i) {
      na.inv_sigma[i] = 1.0 / na.sigma[i];
      // The continuous kernel's -log(sigma); zero when reproducing Optuna 3.1's unscaled logpdf.
      na.log_sigma[i] = settings.normalize_continuous ? std::log(na.sigma[i]) : 0.0;
    }

    na.shared_sigma = n_obs_ > 0 && std::all_of(na.sigma.begin(), na.sigma.begin() + n_obs_,
                                                [&](double sg) { return sg == na.sigma[0]; });
    na.log_z.assign(m_, kNaN);
    if (ax.discrete() && na.shared_sigma && !sorted_path_) {
      na.cells = std::llround((ax.high - ax.low) / ax.step);
      if (na.cells >= 1 && na.cells <= (int64_t{1} << 15)) {
        na.cell_table.assign(static_cast<size_t>(2 * na.cells - 1), kNaN);
      }
    }
  }

  if (sorted_path_) {
    const auto& na = num_[0];
    const size_t nb = (n_obs_ + kBlock - 1) / kBlock;
    blocks_.resize(nb);
    for (size_t b = 0; b < nb; ++b) {
      const size_t lo = b * kBlock, hi = std::min(n_obs_, lo + kBlock);
      Block& bl = blocks_[b];
      bl.mu_lo = na.mu[lo];
      bl.mu_hi = na.mu[hi - 1];
      bl.sigma_lo = kInf;
      bl.sigma_hi = 0.0;
      double wsum = 0.0;
      for (size_t i = lo; i < hi; ++i) {
        bl.sigma_lo = std::min(bl.sigma_lo, na.sigma[i]);
        bl.sigma_hi = std::max(bl.sigma_hi, na.sigma[i]);
        wsum += w_[i];
      }
      bl.weight = wsum;
    }
    auto merge = [](Block acc, const Block& b) {
      acc.mu_lo = std::min(acc.mu_lo, b.mu_lo);
      acc.mu_hi = std::max(acc.mu_hi, b.mu_hi);
      acc.sigma_lo = std::min(acc.sigma_lo, b.sigma_lo);
      acc.sigma_hi = std::max(acc.sigma_hi, b.sigma_hi);
      acc.weight += b.weight;
      return acc;
    };
    prefix_ = blocks_;
    suffix_ = blocks_;
    for (size_t b = 1; b < nb; ++b) prefix_[b] = merge(prefix_[b - 1], blocks_[b]);
    for (size_t b = nb; b-- > 1;) suffix_[b - 1] = merge(suffix_[b], blocks_[b - 1]);
    block_ready_.assign(nb, 0);
    coef_.assign(n_obs_, 0.0);
  }
}

// ---------------------------------------------------------------------------------------------
// Estimator: sampling

void Estimator::sample(Rng& rng, size_t count, std::vector<std::vector<double>>& out) const {
  const size_t d = axes_.size();
  std::vector<size_t> comp(count);
  for (size_t k = 0; k < count; ++k) {
    // First component whose cumulative weight exceeds u (numpy's choice with p=weights).
    const double u = rng.uniform() * cum_w_.back();
    const auto it = std::upper_bound(cum_w_.begin(), cum_w_.end(), u);
    comp[k] = std::min(static_cast<size_t>(it - cum_w_.begin()), m_ - 1);
  }
  out.assign(d, std::vector<double>(count));
  for (size_t a = 0; a < d; ++a) {
    const Axis& ax = axes_[a];
    for (size_t k = 0; k < count; ++k) {
      const double u = rng.uniform();
      const size_t i = comp[k];
      if (ax.categorical()) {
        const auto& ca = cat_[a];
        const int64_t c = ax.n_choices;
        const bool is_prior = i >= n_obs_;
        double cum = 0.0;
        int64_t idx = 0;
        for (int64_t j = 0; j < c; ++j) {
          cum += is_prior ? 1.0 / static_cast<double>(c) : (ca.obs[i] == j ? ca.hit : ca.miss);
          if (cum < u) ++idx;
        }
        out[a][k] = static_cast<double>(std::min(idx, c - 1));
      } else {
        const auto& na = num_[a];
        const double mu = na.mu[i], sg = na.sigma[i];
        const double x = truncnorm_ppf(u, (ax.low - mu) / sg, (ax.high - mu) / sg) * sg + mu;
        out[a][k] = ax.to_internal(std::clamp(x, ax.low, ax.high));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Estimator: densities

double Estimator::component_log_kernel(size_t a, size_t i, double x) const {
  const Axis& ax = axes_[a];
  if (ax.categorical()) {
    if (i >= n_obs_) return -std::log(static_cast<double>(ax.n_choices));
    const auto& ca = cat_[a];
    return std::log(ca.obs[i] == static_cast<int32_t>(x) ? ca.hit : ca.miss);
  }
  const auto& na = num_[a];
  const double mu = na.mu[i], sg = na.sigma[i];
  const double log_z = log_gauss_mass((ax.low - mu) / sg, (ax.high - mu) / sg);
  if (ax.discrete()) {
    const double lo = std::max(x - 0.5 * ax.step, ax.low);
    const double hi = std::min(x + 0.5 * ax.step, ax.high);
    return log_gauss_mass((lo - mu) / sg, (hi - mu) / sg) - log_z;
  }
  if (x < ax.low || x > ax.high) return -kInf;
  const double z = (x - mu) / sg;
  return -0.5 * z * z - na.log_sigma[i] - kLogSqrt2Pi - log_z;
}

double Estimator::log_pdf_exact(std::span<const double> point) const {
  if (point.size() != axes_.size()) {
    throw Error("parzen: a point has " + std::to_string(point.size()) + " values for " +
                std::to_string(axes_.size()) + " axes");
  }
  std::vector<double> xm(point.size());
  for (size_t a = 0; a < point.size(); ++a) xm[a] = axes_[a].to_model(point[a]);
  return exact_model(xm);
}

double Estimator::exact_model(std::span<const double> xm) const {
  double best = -kInf;
  std::vector<double> t(m_);
  for (size_t i = 0; i < m_; ++i) {
    t[i] = log_w_[i];
    for (size_t a = 0; a < xm.size(); ++a) t[i] += component_log_kernel(a, i, xm[a]);
    best = std::max(best, t[i]);
  }
  if (best == -kInf) return -kInf;
  double s = 0.0;
  for (double v : t) s += std::exp(v - best);
  return best + std::log(s);
}

double Estimator::log_z(size_t a, size_t i) {
  NumericAxis& na = num_[a];
  double& lz = na.log_z[i];
  if (std::isnan(lz)) {
    const Axis& ax = axes_[a];
    lz = log_gauss_mass((ax.low - na.mu[i]) / na.sigma[i], (ax.high - na.mu[i]) / na.sigma[i]);
  }
  return lz;
}

double Estimator::cell_log_mass(size_t a, size_t i, double x) {
  const Axis& ax = axes_[a];
  NumericAxis& na = num_[a];
  const double half = 0.5 * ax.step;
  const double mu = na.mu[i], sg = na.sigma[i];
  if (i < n_obs_ && !na.cell_table.empty() && x - half >= ax.low && x + half <= ax.high) {
    // Centres and legal points both lie on the step grid, and every observation shares sigma:
    // the cell mass depends only on the offset in steps.
    const int64_t j = std::llround((x - mu) / ax.step);
    const int64_t idx = j + na.cells - 1;
    if (idx >= 0 && idx < static_cast<int64_t>(na.cell_table.size())) {
      double& v = na.cell_table[static_cast<size_t>(idx)];
      if (std::isnan(v)) {
        const double off = static_cast<double>(j) * ax.step;
        v = log_gauss_mass((off - half) / sg, (off + half) / sg);
      }
      return v;
    }
  }
  const double lo = std::max(x - half, ax.low), hi = std::min(x + half, ax.high);
  return log_gauss_mass((lo - mu) / sg, (hi - mu) / sg);
}

double Estimator::generic_log_pdf(std::span<const double> x, std::vector<double>& u) {
  // Pass 1: every term of each component's log density except the truncation normalisers
  // (-log Z is in [0, kLogInvZMax] per numeric axis), so u[i] <= true[i] <= u[i] + slack.
  u.assign(log_w_.begin(), log_w_.end());
  size_t n_num = 0;
  for (size_t a = 0; a < axes_.size(); ++a) {
    const Axis& ax = axes_[a];
    if (ax.categorical()) {
      const auto& ca = cat_[a];
      const auto c = static_cast<int32_t>(x[a]);
      const double lh = std::log(ca.hit), lm = std::log(ca.miss);
      const int32_t* obs = ca.obs.data();
      double* up = u.data();
      for (size_t i = 0; i < n_obs_; ++i) up[i] += obs[i] == c ? lh : lm;
      if (prior_) u[n_obs_] -= std::log(static_cast<double>(ax.n_choices));
      continue;
    }
    ++n_num;
    const auto& na = num_[a];
    if (!ax.discrete() && (x[a] < ax.low || x[a] > ax.high)) return -kInf;
    if (ax.discrete()) {
      for (size_t i = 0; i < m_; ++i) u[i] += cell_log_mass(a, i, x[a]);
      continue;
    }
    // The constant -log(sqrt(2 pi)) is the same for every component; pass 2 adds it.
    const double xa = x[a];
    const double* mu = na.mu.data();
    const double* inv = na.inv_sigma.data();
    const double* lsg = na.log_sigma.data();
    double* up = u.data();
    for (size_t i = 0; i < m_; ++i) {
      const double z = (xa - mu[i]) * inv[i];
      up[i] += -0.5 * z * z - lsg[i];
    }
  }
  double top = -kInf;
  for (double v : u) top = std::max(top, v);
  if (top == -kInf) return -kInf;
  const double slack = static_cast<double>(n_num) * kLogInvZMax;
  const double floor = top - slack - kLogSkip;

  // Pass 2: exact terms for the components that can matter.
  double best = -kInf;
  for (size_t i = 0; i < m_; ++i) {
    if (u[i] < floor) {
      u[i] = -kInf;
      continue;
    }
    double t = u[i];
    for (size_t a = 0; a < axes_.size(); ++a) {
      if (axes_[a].categorical()) continue;
      t -= log_z(a, i);
      if (!axes_[a].discrete()) t -= kLogSqrt2Pi;
    }
    u[i] = t;
    best = std::max(best, t);
  }
  if (best == -kInf) return -kInf;
  double s = 0.0;
  for (double v : u) {
    if (v != -kInf) s += std::exp(v - best);
  }
  return best + std::log(s);
}

void Estimator::prepare_block(size_t b) {
  const Axis& ax = axes_[0];
  const auto& na = num_[0];
  const size_t lo = b * kBlock, hi = std::min(n_obs_, lo + kBlock);
  for (size_t i = lo; i < hi; ++i) {
    const double sg = na.sigma[i];
    const double z = gauss_mass((ax.low - na.mu[i]) / sg, (ax.high - na.mu[i]) / sg);
    coef_[i] = ax.discrete() ? w_[i] / z : w_[i] * kInvSqrt2Pi * std::exp(-na.log_sigma[i]) / z;
  }
  block_ready_[b] = 1;
}

double Estimator::kernel(size_t i, double x, double lo, double hi) {
  // Linear-space kernel times weight for one numeric axis; `i` may be the prior.
  const Axis& ax = axes_[0];
  const auto& na = num_[0];
  const double mu = na.mu[i], sg = na.sigma[i];
  double coef;
  if (i < n_obs_) {
    coef = coef_[i];
  } else {
    const double z = gauss_mass((ax.low - mu) / sg, (ax.high - mu) / sg);
    coef = ax.discrete() ? w_[i] / z : w_[i] * kInvSqrt2Pi * std::exp(-na.log_sigma[i]) / z;
  }
  if (ax.discrete()) return coef * gauss_mass((lo - mu) / sg, (hi - mu) / sg);
  const double zz = (x - mu) / sg;
  return coef * std::exp(-0.5 * zz * zz);
}

double Estimator::sorted_log_pdf(double x) {
  const Axis& ax = axes_[0];
  const auto& na = num_[0];
  if (!ax.discrete() && (x < ax.low || x > ax.high)) return -kInf;
  const double half = 0.5 * ax.step;
  const double lo = ax.discrete() ? std::max(x - half, ax.low) : x;
  const double hi = ax.discrete() ? std::min(x + half, ax.high) : x;

  auto eval_block = [&](size_t b) {
    if (!block_ready_[b]) prepare_block(b);
    const size_t first = b * kBlock, last = std::min(n_obs_, first + kBlock);
    double s = 0.0;
    if (ax.discrete()) {
      for (size_t i = first; i < last; ++i) {
        s += coef_[i] * gauss_mass((lo - na.mu[i]) / na.sigma[i], (hi - na.mu[i]) / na.sigma[i]);
      }
    } else {
      for (size_t i = first; i < last; ++i) {
        const double z = (x - na.mu[i]) / na.sigma[i];
        s += coef_[i] * std::exp(-0.5 * z * z);
      }
    }
    return s;
  };
  // Upper bound (log) on the contribution of the components summarised by `bl`, all at least
  // `dist` away from x: max over sigma in the block's range of the kernel at that distance.
  auto log_bound = [&](const Block& bl, double dist) {
    if (!(bl.weight > 0.0)) return -kInf;
    double de = std::max(dist, 0.0);
    if (ax.discrete()) de = std::max(0.0, de - half);
    // phi(d/s)/s peaks at s = d; without the 1/s factor the kernel grows with s.
    const bool scaled = ax.discrete() || settings_.normalize_continuous;
    const double sg = scaled ? std::clamp(de, bl.sigma_lo, bl.sigma_hi) : bl.sigma_hi;
    double lk = -0.5 * (de / sg) * (de / sg) - (scaled ? std::log(sg) : 0.0) - kLogSqrt2Pi;
    if (ax.discrete()) lk = std::min(0.0, lk + std::log(ax.step));
    return std::log(bl.weight) + lk + kLogInvZMax;
  };

  double s = prior_ ? kernel(n_obs_, x, lo, hi) : 0.0;
  const size_t nb = blocks_.size();
  if (nb == 0) return std::log(s);
  // r: first block reaching x; blocks before it lie entirely left of x.
  const size_t r = static_cast<size_t>(
      std::partition_point(blocks_.begin(), blocks_.end(), [&](const Block& bl) { return bl.mu_hi < x; }) -
      blocks_.begin());
  if (r < nb) s += eval_block(r);
  if (r > 0) s += eval_block(r - 1);
  if (!(s > std::numeric_limits<double>::min())) {
    // Nothing sizeable nearby (no prior, tiny bandwidths): sum everything in log space.
    const double xm[1] = {x};
    return exact_model(xm);
  }
  const double log_tol_rest = std::log(kRelTol * s / 4.0);
  const double log_tol_block = std::log(kRelTol * s / (2.0 * static_cast<double>(nb)));
  double extra = 0.0;
  for (size_t b = r + 1; b < nb; ++b) {
    const double dist = blocks_[b].mu_lo - x;
    if (log_bound(suffix_[b], dist) <= log_tol_rest) break;
    if (log_bound(blocks_[b], dist) <= log_tol_block) continue;
    extra += eval_block(b);
  }
  for (size_t b = r >= 1 ? r - 1 : 0; b-- > 0;) {
    const double dist = x - blocks_[b].mu_hi;
    if (log_bound(prefix_[b], dist) <= log_tol_rest) break;
    if (log_bound(blocks_[b], dist) <= log_tol_block) continue;
    extra += eval_block(b);
  }
  return std::log(s + extra);
}

void Estimator::log_pdf(const std::vector<std::vector<double>>& points, std::span<double> out) {
  const size_t d = axes_.size();
  if (points.size() != d) {
    throw Error("parzen: points have " + std::to_string(points.size()) + " axes, the estimator " +
                std::to_string(d));
  }
  for (size_t a = 0; a < d; ++a) {
    if (points[a].size() < out.size()) {
      throw Error("parzen: axis " + std::to_string(a) + " has " + std::to_string(points[a].size()) +
                  " points, " + std::to_string(out.size()) + " requested");
    }
  }
  std::vector<double> xm(d), scratch;
  for (size_t k = 0; k < out.size(); ++k) {
    for (size_t a = 0; a < d; ++a) xm[a] = axes_[a].to_model(points[a][k]);
    if (sorted_path_) {
      out[k] = sorted_log_pdf(xm[0]);
    } else if (d == 1) {
      const auto c = static_cast<int64_t>(xm[0]);
      out[k] = c >= 0 && c < axes_[0].n_choices ? cat_[0].log_p[static_cast<size_t>(c)] : -kInf;
    } else {
      out[k] = generic_log_pdf(xm, scratch);
    }
  }
}

}  // namespace hypertune::search::parzen
