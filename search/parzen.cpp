#include "search/parzen.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <numeric>
#include <string>

#include "base/error.h"

namespace hypertune::search::parzen {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSigma0Magnitude = 0.2;  // Optuna's multivariate bandwidth factor
constexpr size_t kBlock = 32;

// log_pdf may drop at most this share of the mixture (and the block expansions err by less).
constexpr double kRelTol = 1e-10;

// Every kernel centre lies inside the axis bounds and every sigma is at most the range, so the
// truncation mass Z of any component is at least Phi(1) - 1/2; log(1/Z) is at most this. The
// upper bounds that decide which components to skip use it instead of the exact Z.
const double kLogInvZMax = -std::log(0.5 * std::erfc(-1.0 / std::numbers::sqrt2) - 0.5) + 1e-12;

// exp(x) for x <= 0 to within a few ulp, written so that loops over it vectorise (no libm call):
// x = k ln2 + r with |r| <= ln2/2, a degree-12 Taylor polynomial for exp(r) (truncation error
// < 2e-16 relative), 2^k assembled in the exponent bits. Below -708 it returns 0.
inline double exp_neg(double x) noexcept {
  constexpr double kLog2e = 1.4426950408889634;
  constexpr double kShift = 0x1.8p52;  // adding it rounds to an integer kept in the low bits
  // ln 2 split so that k * kLn2Hi is exact for |k| < 2^20 (fdlibm's constants).
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  const double xc = std::max(x, -708.0);
  const double t = xc * kLog2e + kShift;
  const double k = t - kShift;
  const double r = (xc - k * kLn2Hi) - k * kLn2Lo;
  double p = 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const int64_t ki = std::bit_cast<int64_t>(t) - std::bit_cast<int64_t>(kShift);
  const double scale = std::bit_cast<double>((ki + 1023) << 52);
  return x < -708.0 ? 0.0 : p * scale;
}

// Sum and maximum with four independent accumulators, so that the additions pipeline.
double sum4(const double* v, size_t n) noexcept {
  double a = 0.0, b = 0.0, c = 0.0, d = 0.0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a += v[i];
    b += v[i + 1];
    c += v[i + 2];
    d += v[i + 3];
  }
  for (; i < n; ++i) a += v[i];
  return (a + b) + (c + d);
}

double max4(const double* v, size_t n) noexcept {
  double a = -kInf, b = -kInf, c = -kInf, d = -kInf;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a = v[i] > a ? v[i] : a;
    b = v[i + 1] > b ? v[i + 1] : b;
    c = v[i + 2] > c ? v[i + 2] : c;
    d = v[i + 3] > d ? v[i + 3] : d;
  }
  for (; i < n; ++i) a = v[i] > a ? v[i] : a;
  return std::max(std::max(a, b), std::max(c, d));
}

// Phi(x) for x <= 0 by cubic Hermite interpolation (values and derivatives phi) on a 1/512 grid
// over [-8.5, 0]: absolute error < 1e-13. Used only for truncation normalisers Z >= 0.34, where
// absolute accuracy is relative accuracy; every other probability uses erfc.
class PhiTable {
 public:
  static constexpr double kStep = 1.0 / 512.0;
  static constexpr double kSpan = 8.5;
  PhiTable() {
    const auto n = static_cast<size_t>(kSpan / kStep) + 2;
    value_.resize(n);
    slope_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const double x = -static_cast<double>(i) * kStep;
      value_[i] = 0.5 * std::erfc(-x / std::numbers::sqrt2);
      // d Phi / d s along s = -x / kStep.
      slope_[i] = -kStep * std::exp(-0.5 * x * x) * 0.39894228040143267794;
    }
  }
  // x <= 0; written without branches so that loops over it vectorise.
  [[nodiscard]] double lower(double x) const noexcept {
    const double u = std::min(-x / kStep, kLast);
    const auto i = static_cast<int32_t>(u);
    const double s = u - static_cast<double>(i);
    const double s2 = s * s, s3 = s2 * s;
    const double v = (2 * s3 - 3 * s2 + 1) * value_[i] + (s3 - 2 * s2 + s) * slope_[i] +
                     (-2 * s3 + 3 * s2) * value_[i + 1] + (s3 - s2) * slope_[i + 1];
    return x > -kSpan ? v : 0.0;
  }

 private:
  static constexpr double kLast = kSpan / kStep;  // the last node; u never reaches past it
  std::vector<double> value_, slope_;
};

const PhiTable& phi_table() {
  static const PhiTable table;
  return table;
}

// Truncation normaliser Phi(b) - Phi(a) of a component whose centre lies in [a, b].
double normaliser(double a, double b) noexcept {
  if (a > 0.0 || b < 0.0) return gauss_mass(a, b);
  const PhiTable& t = phi_table();
  return 1.0 - t.lower(a) - t.lower(-b);
}

// Normalisers of n components of one axis: z[i] = Phi((high - mu_i) / s_i) - Phi((low - mu_i) /
// s_i) with inv[i] = 1 / s_i. Centres lie inside [low, high] (the estimator checks its input).
void normalisers(const double* mu, const double* inv, size_t n, double low, double high,
                 double* z) noexcept {
  const PhiTable& t = phi_table();
  for (size_t i = 0; i < n; ++i) {
    z[i] = 1.0 - t.lower((low - mu[i]) * inv[i]) - t.lower((mu[i] - high) * inv[i]);
  }
}

double log_add_exp(double p, double q) {
  const double m = std::max(p, q);
  if (m == -kInf) return -kInf;
  return m + std::log1p(std::exp(-std::abs(p - q)));
}

double log_diff_exp(double lp, double lq) { return lp + std::log1p(-std::exp(lq - lp)); }

// Lower-tail inverse, log_p < log(1/2): starts from Abramowitz & Stegun 26.2.23 (written in terms
// of log p, so it never underflows) and polishes with Halley steps on log Phi (cubic convergence:
// two steps from the 4.5e-4 start reach double precision).
double ndtri_exp_lower(double log_p) {
  const double t = std::sqrt(-2.0 * log_p);
  double x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
                       (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t));
  for (int iter = 0; iter < 60; ++iter) {
    const double lf = log_ndtr(x);
    const double g = lf - log_p;
    const double h = std::exp(-0.5 * x * x - kLogSqrt2Pi - lf);  // (log Phi)' = phi / Phi
    // Halley's step (g'' = -h (x + h)); the plain Newton step is the fallback.
    const double denom = 2.0 * h * h + g * h * (x + h);
    double dx = denom > 0.0 ? 2.0 * g * h / denom : g / h;
    if (!std::isfinite(dx)) dx = g / h;
    x -= dx;
    if (!(std::abs(dx) > 1e-15 * (1.0 + std::abs(x)))) break;
  }
  return x;
}

// x with Phi(x) = p for 0 < p <= 1/2 (p > 1e-300): the same start, Halley steps on
// f(x) = Phi(x) - p (f' = phi, f'' = -x phi); the lower tail of Phi is accurate through erfc.
double ndtri_lower(double p) {
  const double t = std::sqrt(-2.0 * std::log(p));
  double x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
                       (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t));
  for (int iter = 0; iter < 20; ++iter) {
    const double f = ndtr(x) - p;
    const double phi = std::exp(-0.5 * x * x) * kInvSqrt2Pi;
    const double dx = 2.0 * f / (2.0 * phi + x * f);
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
  // Phi(-8.5) < 1e-17 cannot change 1 - ... in double precision: skip those erfc calls.
  return 1.0 - (a < -8.5 ? 0.0 : ndtr(a)) - (b > 8.5 ? 0.0 : ndtr(-b));
}

double log_gauss_mass(double a, double b) noexcept {
  if (b <= 0.0) return log_diff_exp(log_ndtr(b), log_ndtr(a));
  if (a > 0.0) return log_diff_exp(log_ndtr(-a), log_ndtr(-b));
  const double tails = (a < -8.5 ? 0.0 : ndtr(a)) + (b > 8.5 ? 0.0 : ndtr(-b));
  return std::log1p(-tails);
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
  if (a > -30.0 && b < 30.0) {
    // Probabilities stay far from underflow: invert in linear space, from whichever side keeps
    // the smaller tail (p + q = 1), with Halley steps on Phi(x) - p.
    const double mass = gauss_mass(a, b);
    if (mass > 1e-250) {
      const double p = ndtr(a) + u * mass;
      const double q = ndtr(-b) + (1.0 - u) * mass;
      const double x = p <= q ? ndtri_lower(p) : -ndtri_lower(q);
      return std::clamp(x, a, b);
    }
  }
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
  n_observations_ = n_obs_;
  for (size_t a = 0; a < d; ++a) {
    if (columns[a].size() != n_obs_) {
      throw Error("parzen: axis " + std::to_string(a) + " has " +
                  std::to_string(columns[a].size()) + " observations, the weights " +
                  std::to_string(n_obs_));
    }
    const Axis& ax = axes_[a];
    // Count first (a loop without branches), name the culprit only when there is one.
    const double* col = columns[a].data();
    size_t bad = 0;
    if (ax.categorical()) {
      const double top = static_cast<double>(ax.n_choices);
      for (size_t i = 0; i < n_obs_; ++i)
        bad += !(col[i] >= 0.0) | !(col[i] < top) | (std::floor(col[i]) != col[i]);
    } else {
      for (size_t i = 0; i < n_obs_; ++i) bad += !(col[i] >= ax.low) | !(col[i] <= ax.high);
    }
    for (size_t i = 0; bad > 0 && i < n_obs_; ++i) {
      const double v = col[i];
      const bool ok = ax.categorical() ? (v >= 0.0 && v < static_cast<double>(ax.n_choices) &&
                                          std::floor(v) == v)
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
  w_ = std::move(weights);
  if (prior_) w_.push_back(settings.prior_weight);
  const double total = std::accumulate(w_.begin(), w_.end(), 0.0);
  if (!(total > 0.0) || !std::isfinite(total)) {
    throw Error("parzen: the component weights sum to " + std::to_string(total) +
                ", expected a positive finite number");
  }
  const double inv_total = 1.0 / total;
  for (double& w : w_) w *= inv_total;

  num_.resize(d);
  cat_.resize(d);
  for (size_t a = 0; a < d; ++a) {
    const Axis& ax = axes_[a];
    if (ax.categorical()) {
      CategoricalAxis& ca = cat_[a];
      ca.obs.resize(n_obs_);
      for (size_t i = 0; i < n_obs_; ++i) ca.obs[i] = static_cast<int32_t>(columns[a][i]);
      const double c = static_cast<double>(ax.n_choices);
      const double value =
          settings.prior_weight / static_cast<double>(prior_ ? n_obs_ + 1 : n_obs_);
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
    const double prior_mu = 0.5 * (ax.low + ax.high);
    na.mu = std::move(columns[a]);
    if (prior_) na.mu.push_back(prior_mu);
    na.sigma.resize(m_);
    const double max_sigma = range;
    const double min_sigma = settings.consider_magic_clip
                                 ? range / std::min(100.0, 1.0 + static_cast<double>(m_))
                                 : 1e-12;

    if (settings.multivariate) {
      // Scott's rule as in the BOHB paper: one bandwidth for every component of the axis.
      const double n = static_cast<double>(std::max<size_t>(n_obs_, 1));
      const double sigma0 = kSigma0Magnitude * std::pow(n, -1.0 / (static_cast<double>(d) + 4.0));
      std::fill(na.sigma.begin(), na.sigma.end(), std::clamp(sigma0 * range, min_sigma, max_sigma));
    } else {
      // Neighbour rule over the sorted centres with the prior's centre inserted (after equal
      // observations, as the prior comes last in Optuna's array); the bounds close the ends.
      const double* col = na.mu.data();
      const size_t pos =
          prior_ ? static_cast<size_t>(std::upper_bound(col, col + n_obs_, prior_mu) - col)
                 : n_obs_;
      thread_local std::vector<double> seq;  // bounds and sorted centres: seq[k + 1] is centre k
      seq.resize(m_ + 2);
      seq[0] = ax.low;
      std::copy(col, col + pos, seq.begin() + 1);
      if (prior_) seq[pos + 1] = prior_mu;
      std::copy(col + pos, col + n_obs_,
                seq.begin() + static_cast<ptrdiff_t>(pos + (prior_ ? 2 : 1)));
      seq[m_ + 1] = ax.high;
      const double* q = seq.data();
      auto neighbour = [&](size_t k) { return std::max(q[k + 1] - q[k], q[k + 2] - q[k + 1]); };
      const size_t shift = prior_ ? 1 : 0;
      for (size_t i = 0; i < pos; ++i) na.sigma[i] = neighbour(i);
      for (size_t i = pos; i < n_obs_; ++i) na.sigma[i] = neighbour(i + shift);
      if (!settings.consider_endpoints && m_ >= 2) {
        // The outermost centres use their inner gap only.
        if (pos > 0 || !prior_) na.sigma[0] = q[2] - q[1];
        if (pos < n_obs_ || !prior_) na.sigma[n_obs_ - 1] = q[m_] - q[m_ - 1];
      }
      for (size_t i = 0; i < n_obs_; ++i)
        na.sigma[i] = std::clamp(na.sigma[i], min_sigma, max_sigma);
    }
    if (prior_) na.sigma[n_obs_] = range;
  }

  if (sorted_path_ && n_obs_ > 1) {
    // Components with the same centre and bandwidth are one kernel with the summed weight
    // (frequent on discrete axes: a thousand observations of 21 values leave ~60 components).
    NumericAxis& na = num_[0];
    size_t out = 0;
    for (size_t i = 0; i < n_obs_; ++i) {
      if (out > 0 && na.mu[i] == na.mu[out - 1] && na.sigma[i] == na.sigma[out - 1]) {
        w_[out - 1] += w_[i];
        continue;
      }
      na.mu[out] = na.mu[i];
      na.sigma[out] = na.sigma[i];
      w_[out] = w_[i];
      ++out;
    }
    for (size_t k = n_obs_; k < m_; ++k, ++out) {  // the prior moves down
      na.mu[out] = na.mu[k];
      na.sigma[out] = na.sigma[k];
      w_[out] = w_[k];
    }
    n_obs_ -= m_ - out;
    m_ = out;
    na.mu.resize(m_);
    na.sigma.resize(m_);
    w_.resize(m_);
  }

  for (size_t a = 0; a < d; ++a) {
    if (axes_[a].categorical()) continue;
    NumericAxis& na = num_[a];
    na.inv_sigma.resize(m_);
    double last = 0.0, last_inv = 0.0;  // runs of equal bandwidths are the rule: divide once each
    for (size_t i = 0; i < m_; ++i) {
      if (na.sigma[i] != last) {
        last = na.sigma[i];
        last_inv = 1.0 / last;
      }
      na.inv_sigma[i] = last_inv;
    }
  }

  if (sorted_path_) {
    build_blocks();
  } else if (d > 1) {
    build_generic();
  }
}

void Estimator::build_blocks() {
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
    bl.weight = 0.0;
    for (size_t i = lo; i < hi; ++i) {
      bl.sigma_lo = std::min(bl.sigma_lo, na.sigma[i]);
      bl.sigma_hi = std::max(bl.sigma_hi, na.sigma[i]);
      bl.weight += w_[i];
    }
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
  for (auto* v : {&blocks_, &prefix_, &suffix_}) {
    for (Block& bl : *v) {
      bl.log_weight = std::log(bl.weight);
      bl.log_sigma_lo = std::log(bl.sigma_lo);
      bl.log_sigma_hi = std::log(bl.sigma_hi);
    }
  }
  block_ready_.assign(nb, 0);
  coef_.assign(n_obs_, 0.0);
  expansion_.assign(nb, Expansion{});
  const Axis& ax = axes_[0];
  NumericAxis& nm = num_[0];
  if (ax.discrete()) {
    // Few distinct bandwidths (the magic clip's floor, a handful of gaps): one table of cell
    // masses by offset for each, filled as offsets come up.
    nm.cells = std::llround((ax.high - ax.low) / ax.step);
    if (nm.cells >= 1 && nm.cells <= 4096) {
      std::vector<double> classes;
      cell_class_.assign(n_obs_, kNoClass);
      grid_.assign(1, std::vector<int32_t>(n_obs_));
      for (size_t i = 0; i < n_obs_; ++i) {
        grid_[0][i] = static_cast<int32_t>(std::nearbyint((nm.mu[i] - ax.dist.low) / ax.step));
        auto it = std::find(classes.begin(), classes.end(), nm.sigma[i]);
        if (it == classes.end() && classes.size() < kMaxClasses) {
          classes.push_back(nm.sigma[i]);
          it = classes.end() - 1;
        }
        if (it != classes.end()) cell_class_[i] = static_cast<uint8_t>(it - classes.begin());
      }
      cell_mass_.assign(classes.size(),
                        std::vector<double>(static_cast<size_t>(2 * nm.cells - 1), kNaN));
    }
  }
  if (prior_) {
    const Axis& ax = axes_[0];
    const double mu = na.mu[n_obs_], sg = na.sigma[n_obs_];
    prior_norm_ = normaliser((ax.low - mu) / sg, (ax.high - mu) / sg);
  }
}

__attribute__((target_clones("avx2", "default"))) void Estimator::prepare_expansion(size_t b) {
  Expansion& e = expansion_[b];
  e.ready = true;
  const Block& bl = blocks_[b];
  if (axes_[0].discrete() || bl.sigma_lo != bl.sigma_hi) return;
  if (!block_ready_[b]) prepare_block(b);
  const auto& na = num_[0];
  e.usable = true;
  e.centre = 0.5 * (bl.mu_lo + bl.mu_hi);
  e.inv_sigma = 1.0 / bl.sigma_lo;
  e.radius = 0.5 * (bl.mu_hi - bl.mu_lo) * e.inv_sigma;
  const size_t first = b * kBlock, n = std::min(n_obs_, first + kBlock) - first;
  double d[kBlock], term[kBlock];
  for (size_t k = 0; k < n; ++k) {
    d[k] = (na.mu[first + k] - e.centre) * e.inv_sigma;
    term[k] = coef_[first + k] * exp_neg(-0.5 * d[k] * d[k]);
  }
  static constexpr auto kInvFactor = [] {
    std::array<double, kTerms + 1> f{};
    for (size_t k = 1; k <= kTerms; ++k) f[k] = 1.0 / static_cast<double>(k);
    return f;
  }();
  for (size_t j = 0; j < kTerms; ++j) {
    double s0 = 0.0, s1 = 0.0;
    size_t k = 0;
    for (; k + 1 < n; k += 2) {
      s0 += term[k];
      s1 += term[k + 1];
    }
    if (k < n) s0 += term[k];
    e.m[j] = s0 + s1;
    for (k = 0; k < n; ++k) term[k] *= d[k] * kInvFactor[j + 1];
  }
  e.abs_sum = e.m[0];
}

void Estimator::build_generic() {
  // Everything in a component's log density that does not depend on the point: log weight,
  // normalisers and bandwidth terms (multiplied out, one log per component), the prior's
  // categorical rows.
  const size_t d = axes_.size();
  std::vector<double> factor(w_);
  double log_const = 0.0;
  grid_.assign(d, {});
  for (size_t a = 0; a < d; ++a) {
    const Axis& ax = axes_[a];
    if (ax.categorical()) continue;
    NumericAxis& na = num_[a];
    const double* mu = na.mu.data();
    const double* inv = na.inv_sigma.data();
    const bool scaled = !ax.discrete() && settings_.normalize_continuous;
    std::vector<double> z(m_);
    normalisers(mu, inv, m_, ax.low, ax.high, z.data());
    for (size_t i = 0; i < m_; ++i) factor[i] *= (scaled ? inv[i] : 1.0) / z[i];
    if (!ax.discrete()) log_const -= kLogSqrt2Pi;
    const bool shared = n_obs_ > 0 && std::all_of(na.sigma.begin(), na.sigma.begin() + n_obs_,
                                                  [&](double sg) { return sg == na.sigma[0]; });
    if (ax.discrete() && shared) {
      na.cells = std::llround((ax.high - ax.low) / ax.step);
      if (na.cells >= 1 && na.cells <= (int64_t{1} << 15)) {
        const auto size = static_cast<size_t>(2 * na.cells - 1);
        na.cell_table.assign(size, kNaN);
        if (size <= m_) {
          // Cheaper to fill than to test for every component and candidate.
          const double half = 0.5 * ax.step;
          for (size_t j = 0; j < size; ++j) {
            const double off =
                (static_cast<double>(j) - static_cast<double>(na.cells - 1)) * ax.step;
            na.cell_table[j] = log_gauss_mass((off - half) * inv[0], (off + half) * inv[0]);
          }
        }
        grid_[a].resize(n_obs_);
        for (size_t i = 0; i < n_obs_; ++i) {
          grid_[a][i] = static_cast<int32_t>(std::nearbyint((mu[i] - ax.dist.low) / ax.step));
        }
      }
    }
  }
  in_scaled_.assign(d, 0);
  for (size_t a = 0; a < d; ++a) {
    const Axis& ax = axes_[a];
    if (ax.categorical() || ax.discrete() || n_obs_ == 0) continue;
    const NumericAxis& na = num_[a];
    if (!std::all_of(na.sigma.begin(), na.sigma.begin() + n_obs_,
                     [&](double sg) { return sg == na.sigma[0]; })) {
      continue;
    }
    ScaledAxis sa{a, std::sqrt(0.5) * na.inv_sigma[0], std::vector<double>(n_obs_)};
    for (size_t i = 0; i < n_obs_; ++i) sa.mu[i] = na.mu[i] * sa.scale;
    scaled_.push_back(std::move(sa));
    in_scaled_[a] = 1;
  }
  comp_const_.resize(m_);
  for (size_t i = 0; i < m_; ++i) comp_const_[i] = std::log(factor[i]) + log_const;
  for (size_t a = 0; a < d; ++a) {
    if (axes_[a].categorical() && prior_) {
      comp_const_[n_obs_] -= std::log(static_cast<double>(axes_[a].n_choices));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Estimator: sampling

void Estimator::sample(Rng& rng, size_t count, std::vector<std::vector<double>>& out) const {
  const size_t d = axes_.size();
  std::vector<double> cum(m_);
  double run = 0.0;
  for (size_t i = 0; i < m_; ++i) cum[i] = run += w_[i];
  std::vector<size_t> comp(count);
  for (size_t k = 0; k < count; ++k) {
    // First component whose cumulative weight exceeds u (numpy's choice with p=weights).
    const double u = rng.uniform() * cum.back();
    const auto it = std::upper_bound(cum.begin(), cum.end(), u);
    comp[k] = std::min(static_cast<size_t>(it - cum.begin()), m_ - 1);
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
  if (ax.discrete()) return cell_log_mass(a, i, x) - log_z;
  if (x < ax.low || x > ax.high) return -kInf;
  const double z = (x - mu) / sg;
  return -0.5 * z * z - log_scale(a, i) - kLogSqrt2Pi - log_z;
}

double Estimator::log_scale(size_t a, size_t i) const {
  // A continuous kernel's log(sigma); 0 when reproducing Optuna 3.1's unscaled logpdf.
  return settings_.normalize_continuous ? std::log(num_[a].sigma[i]) : 0.0;
}

double Estimator::cell_log_mass(size_t a, size_t i, double x) const {
  const Axis& ax = axes_[a];
  const auto& na = num_[a];
  const double half = 0.5 * ax.step;
  const double lo = std::max(x - half, ax.low), hi = std::min(x + half, ax.high);
  return log_gauss_mass((lo - na.mu[i]) / na.sigma[i], (hi - na.mu[i]) / na.sigma[i]);
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
    t[i] = std::log(w_[i]);
    for (size_t a = 0; a < xm.size(); ++a) t[i] += component_log_kernel(a, i, xm[a]);
    best = std::max(best, t[i]);
  }
  if (best == -kInf) return -kInf;
  double s = 0.0;
  for (double v : t) s += std::exp(v - best);
  return best + std::log(s);
}

// The hot loops also get an AVX2 build, picked at load time on CPUs that have it. Without FMA
// contraction (ISO C++ mode) each element sees the same IEEE operations either way and the
// reductions are written out in a fixed order, so proposals are identical on every x86-64 CPU.
__attribute__((target_clones("avx2", "default"))) double Estimator::generic_log_pdf(
    std::span<const double> x, std::vector<double>& scratch) {
  const size_t n = n_obs_;
  for (size_t a = 0; a < axes_.size(); ++a) {
    const Axis& ax = axes_[a];
    if (!ax.categorical() && !ax.discrete() && (x[a] < ax.low || x[a] > ax.high)) return -kInf;
  }
  // The prior component on its own (its bandwidths differ from the observations').
  double prior_term = -kInf;
  if (prior_) {
    prior_term = comp_const_[n];
    for (size_t a = 0; a < axes_.size(); ++a) {
      const Axis& ax = axes_[a];
      if (ax.categorical()) continue;
      if (ax.discrete()) {
        prior_term += cell_log_mass(a, n, x[a]);
      } else {
        const double z = (x[a] - num_[a].mu[n]) * num_[a].inv_sigma[n];
        prior_term -= 0.5 * z * z;
      }
    }
  }

  scratch.resize(n);
  double* up = scratch.data();
  const double* cc = comp_const_.data();
  // Continuous axes with a shared bandwidth, up to four per pass over the components.
  size_t done = 0;
  if (scaled_.empty()) std::copy(cc, cc + n, up);
  while (done < scaled_.size()) {
    const size_t take = std::min<size_t>(4, scaled_.size() - done);
    const double* base = done == 0 ? cc : up;
    const ScaledAxis* sa = &scaled_[done];
    const double x0 = x[sa[0].axis] * sa[0].scale;
    const double* m0 = sa[0].mu.data();
    if (take == 1) {
      for (size_t i = 0; i < n; ++i) {
        const double d0 = x0 - m0[i];
        up[i] = base[i] - d0 * d0;
      }
    } else if (take == 2) {
      const double x1 = x[sa[1].axis] * sa[1].scale;
      const double* m1 = sa[1].mu.data();
      for (size_t i = 0; i < n; ++i) {
        const double d0 = x0 - m0[i], d1 = x1 - m1[i];
        up[i] = base[i] - (d0 * d0 + d1 * d1);
      }
    } else if (take == 3) {
      const double x1 = x[sa[1].axis] * sa[1].scale, x2 = x[sa[2].axis] * sa[2].scale;
      const double *m1 = sa[1].mu.data(), *m2 = sa[2].mu.data();
      for (size_t i = 0; i < n; ++i) {
        const double d0 = x0 - m0[i], d1 = x1 - m1[i], d2 = x2 - m2[i];
        up[i] = base[i] - (d0 * d0 + d1 * d1 + d2 * d2);
      }
    } else {
      const double x1 = x[sa[1].axis] * sa[1].scale, x2 = x[sa[2].axis] * sa[2].scale;
      const double x3 = x[sa[3].axis] * sa[3].scale;
      const double *m1 = sa[1].mu.data(), *m2 = sa[2].mu.data(), *m3 = sa[3].mu.data();
      for (size_t i = 0; i < n; ++i) {
        const double d0 = x0 - m0[i], d1 = x1 - m1[i], d2 = x2 - m2[i], d3 = x3 - m3[i];
        up[i] = base[i] - ((d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3));
      }
    }
    done += take;
  }

  for (size_t a = 0; a < axes_.size(); ++a) {
    const Axis& ax = axes_[a];
    if (ax.categorical()) {
      const auto& ca = cat_[a];
      const auto c = static_cast<int32_t>(x[a]);
      const double lh = std::log(ca.hit), lm = std::log(ca.miss);
      const int32_t* obs = ca.obs.data();
      for (size_t i = 0; i < n; ++i) up[i] += obs[i] == c ? lh : lm;
      continue;
    }
    if (in_scaled_[a]) continue;
    NumericAxis& na = num_[a];
    if (!ax.discrete()) {
      const double xa = x[a];
      const double* mu = na.mu.data();
      const double* inv = na.inv_sigma.data();
      for (size_t i = 0; i < n; ++i) {
        const double z = (xa - mu[i]) * inv[i];
        up[i] -= 0.5 * z * z;
      }
      continue;
    }
    const double kxd = std::nearbyint((x[a] - ax.dist.low) / ax.step);
    const bool on_grid = !na.cell_table.empty() && kxd >= 0.0 &&
                         kxd < static_cast<double>(na.cells) &&
                         std::abs(x[a] - (ax.dist.low + kxd * ax.step)) <= 1e-9 * ax.step;
    if (!on_grid) {
      for (size_t i = 0; i < n; ++i) up[i] += cell_log_mass(a, i, x[a]);
      continue;
    }
    // Legal points and centres lie on the step grid and the observations share sigma: the
    // cell mass depends only on the offset in steps.
    const auto kx = static_cast<int32_t>(kxd) + static_cast<int32_t>(na.cells) - 1;
    const int32_t* g = grid_[a].data();
    double* table = na.cell_table.data();
    const double half = 0.5 * ax.step, inv = na.inv_sigma[0];
    for (size_t i = 0; i < n; ++i) {
      const int32_t j = kx - g[i];
      double v = table[j];
      if (std::isnan(v)) {
        const double off = static_cast<double>(j - (na.cells - 1)) * ax.step;
        v = table[j] = log_gauss_mass((off - half) * inv, (off + half) * inv);
      }
      up[i] += v;
    }
  }
  const double top = std::max(max4(up, n), prior_term);
  if (top == -kInf) return -kInf;
  for (size_t i = 0; i < n; ++i) up[i] = exp_neg(up[i] - top);
  const double s = sum4(up, n) + (prior_ ? std::exp(prior_term - top) : 0.0);
  return top + std::log(s);
}

void Estimator::prepare_block(size_t b) {
  const Axis& ax = axes_[0];
  const auto& na = num_[0];
  const size_t lo = b * kBlock, hi = std::min(n_obs_, lo + kBlock);
  double z[kBlock];
  normalisers(&na.mu[lo], &na.inv_sigma[lo], hi - lo, ax.low, ax.high, z);
  for (size_t i = lo; i < hi; ++i) {
    const double scale = settings_.normalize_continuous ? na.inv_sigma[i] : 1.0;
    coef_[i] = ax.discrete() ? w_[i] / z[i - lo] : w_[i] * kInvSqrt2Pi * scale / z[i - lo];
  }
  block_ready_[b] = 1;
}

double Estimator::prior_kernel(double x, double lo, double hi) const {
  const Axis& ax = axes_[0];
  const auto& na = num_[0];
  const size_t i = n_obs_;
  const double mu = na.mu[i], sg = na.sigma[i];
  if (ax.discrete()) return w_[i] / prior_norm_ * gauss_mass((lo - mu) / sg, (hi - mu) / sg);
  const double zz = (x - mu) / sg;
  const double scale = settings_.normalize_continuous ? 1.0 / sg : 1.0;
  return w_[i] * kInvSqrt2Pi * scale * std::exp(-0.5 * zz * zz) / prior_norm_;
}

double Estimator::sorted_log_pdf(double x) {
  const Axis& ax = axes_[0];
  if (!ax.discrete() && (x < ax.low || x > ax.high)) return -kInf;
  // Candidates repeat (always so on discrete axes): reuse what was computed.
  for (const auto& [px, v] : memo_) {
    if (px == x) return v;
  }
  const double v = sorted_log_pdf_uncached(x);
  memo_.emplace_back(x, v);
  return v;
}

__attribute__((target_clones("avx2", "default"))) double Estimator::sorted_log_pdf_uncached(
    double x) {
  const Axis& ax = axes_[0];
  const auto& na = num_[0];
  const double half = 0.5 * ax.step;
  const double lo = ax.discrete() ? std::max(x - half, ax.low) : x;
  const double hi = ax.discrete() ? std::min(x + half, ax.high) : x;
  const double log_step = ax.discrete() ? std::log(ax.step) : 0.0;
  const bool scaled = ax.discrete() || settings_.normalize_continuous;

  int32_t kx = 0;
  bool on_grid = false;
  if (ax.discrete() && !cell_mass_.empty()) {
    const double kxd = std::nearbyint((x - ax.dist.low) / ax.step);
    on_grid = kxd >= 0.0 && kxd < static_cast<double>(na.cells) &&
              std::abs(x - (ax.dist.low + kxd * ax.step)) <= 1e-9 * ax.step;
    kx = static_cast<int32_t>(kxd) + static_cast<int32_t>(na.cells) - 1;
  }
  auto eval_block = [&](size_t b) __attribute__((always_inline)) {
    if (!block_ready_[b]) prepare_block(b);
    const size_t first = b * kBlock, last = std::min(n_obs_, first + kBlock);
    const double* mu = na.mu.data();
    const double* inv = na.inv_sigma.data();
    const double* coef = coef_.data();
    double terms[kBlock];
    const size_t n = last - first;
    if (ax.discrete()) {
      for (size_t k = 0; k < n; ++k) {
        const size_t i = first + k;
        const int cls = on_grid ? cell_class_[i] : kNoClass;
        double mass;
        if (cls != kNoClass) {
          // Centre and point on the step grid, a bandwidth shared with other components: the
          // mass depends on the offset in steps only.
          const int32_t j = kx - grid_[0][i];
          double& memo = cell_mass_[static_cast<size_t>(cls)][static_cast<size_t>(j)];
          if (std::isnan(memo)) {
            const double off = static_cast<double>(j - (num_[0].cells - 1)) * ax.step;
            memo = gauss_mass((off - half) * inv[i], (off + half) * inv[i]);
          }
          mass = memo;
        } else {
          mass = gauss_mass((lo - mu[i]) * inv[i], (hi - mu[i]) * inv[i]);
        }
        terms[k] = coef[i] * mass;
      }
    } else {
      for (size_t k = 0; k < n; ++k) {
        const double z = (x - mu[first + k]) * inv[first + k];
        terms[k] = coef[first + k] * exp_neg(-0.5 * z * z);
      }
    }
    return sum4(terms, n);
  };
  // Upper bound (log) on the contribution of the components summarised by `bl`, all at least
  // `dist` away from x: the largest kernel value at that distance over the block's bandwidths.
  auto log_bound = [&](const Block& bl, double dist) __attribute__((always_inline)) {
    double de = std::max(dist, 0.0);
    if (ax.discrete()) de = std::max(0.0, de - half);
    double sg, log_sg;
    if (!scaled || de >= bl.sigma_hi) {
      // phi(d/s)/s peaks at s = d; without the 1/s factor the kernel grows with s.
      sg = bl.sigma_hi;
      log_sg = scaled ? bl.log_sigma_hi : 0.0;
    } else if (de <= bl.sigma_lo) {
      sg = bl.sigma_lo;
      log_sg = bl.log_sigma_lo;
    } else {
      sg = de;
      log_sg = std::log(de);
    }
    double lk = -0.5 * (de / sg) * (de / sg) - log_sg - kLogSqrt2Pi;
    if (ax.discrete()) lk = std::min(0.0, lk + log_step);
    return bl.log_weight + lk + kLogInvZMax;
  };

  double s = prior_ ? prior_kernel(x, lo, hi) : 0.0;
  const size_t nb = blocks_.size();
  if (nb == 0) return std::log(s);
  // r: first block reaching x; blocks before it lie entirely left of x.
  const size_t r =
      static_cast<size_t>(std::partition_point(blocks_.begin(), blocks_.end(),
                                               [&](const Block& bl) { return bl.mu_hi < x; }) -
                          blocks_.begin());
  // The block holding x (or the nearer neighbour at the ends) directly: a lower bound on the
  // density that sizes every other block's error budget.
  const size_t near =
      r == nb ? nb - 1 : (r > 0 && x - blocks_[r - 1].mu_hi < blocks_[r].mu_lo - x ? r - 1 : r);
  s += eval_block(near);
  if (!(s > std::numeric_limits<double>::min())) {
    // Nothing sizeable nearby (no prior, tiny bandwidths): sum everything in log space.
    const double xm[1] = {x};
    return exact_model(xm);
  }
  // Whatever is skipped adds up to at most kRelTol * s: a quarter for each side's remainder,
  // half for the blocks skipped one by one.
  const double log_tol_rest = std::log(kRelTol * s / 4.0);
  const double log_tol_block = std::log(kRelTol * s / (2.0 * static_cast<double>(nb)));
  const double tol_block = kRelTol * s / (2.0 * static_cast<double>(nb));
  // A block that is neither negligible nor next to x: its Taylor expansion when the truncation
  // error bound A exp(-t^2/2 + |t| r) (|t| r)^p / p! meets the block's share of the tolerance.
  auto approx_block = [&](size_t b) __attribute__((always_inline)) {
    // Setting up an expansion costs about one direct evaluation: only for blocks used again.
    if (!expansion_[b].ready) {
      if (expansion_[b].uses++ == 0) return eval_block(b);
      prepare_expansion(b);
    }
    const Expansion& e = expansion_[b];
    if (!e.usable) return eval_block(b);
    const double t = (x - e.centre) * e.inv_sigma;
    const double tr = std::abs(t) * e.radius;
    double bound = e.abs_sum * std::exp(-0.5 * t * t + tr);
    size_t p = 0;
    while (p < kTerms && bound > tol_block) {
      ++p;
      bound *= tr / static_cast<double>(p);
    }
    if (bound > tol_block) return eval_block(b);
    double acc = 0.0;
    for (size_t k = p; k-- > 0;) acc = acc * t + e.m[k];
    return acc * std::exp(-0.5 * t * t);
  };
  double extra = 0.0;
  for (size_t b = r; b < nb; ++b) {
    if (b == near) continue;
    const double dist = blocks_[b].mu_lo - x;
    if (log_bound(suffix_[b], dist) <= log_tol_rest) break;
    if (log_bound(blocks_[b], dist) <= log_tol_block) continue;
    extra += approx_block(b);
  }
  for (size_t b = r; b-- > 0;) {
    if (b == near) continue;
    const double dist = x - blocks_[b].mu_hi;
    if (log_bound(prefix_[b], dist) <= log_tol_rest) break;
    if (log_bound(blocks_[b], dist) <= log_tol_block) continue;
    extra += approx_block(b);
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
