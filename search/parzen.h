#pragma once
// Parzen estimators as Optuna 3.1's TPE builds them: the densities l(x) and g(x) that TPE fits to
// the good and the bad observations. Used by search/tpe_model.h; public for tests and benchmarks.
//
// Model space (Optuna's "transformed" space), one Axis per parameter:
//   * log parameters are modelled in log space (int log over [log(low-0.5), log(high+0.5)]);
//   * int and stepped float parameters (not log) have a discrete mass: the kernel's probability of
//     the cell [x - step/2, x + step/2], the bounds widened by step/2;
//   * categorical parameters use Optuna's smoothed one-hot kernel (prior weight spread uniformly).
// Numeric kernels are Gaussians truncated to the axis bounds.
//
// An Estimator is a weighted mixture with one component per observation plus, when
// consider_prior (or when there are no observations), a prior component (centre of the range,
// sigma = range, weight prior_weight). Several axes share the component index (a product kernel:
// Optuna's multivariate TPE, bandwidth sigma0 * range with Scott's factor); one axis with
// `multivariate = false` uses Optuna's neighbour bandwidth rule and the magic clip.
//
// log_pdf() equals the full mixture to ~1e-10 relative. One numeric axis: components sorted by
// centre, in blocks; walking outward from the point, blocks whose bounded contribution is
// negligible are skipped and the walk stops once the rest provably is, other blocks are summed
// directly or by a Taylor expansion whose truncation bound meets the block's share of the
// tolerance. Several axes: every component, with vectorised exponentials and normalisers
// computed once per estimator. log_pdf_exact() is the plain sum over every component, in log
// space, the reference for tests.
//
// Not here: splitting observations, weights by age, choosing a candidate (search/tpe_model.h).
// Errors: hypertune::Error for inconsistent input (sizes, values outside an axis, several axes
// without multivariate). Thread-safety: log_pdf() fills caches; one Estimator per thread.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/rng.h"
#include "search/space.h"

namespace hypertune::search::parzen {

// How one parameter looks inside the estimator.
struct Axis {
  ParamKind kind = ParamKind::kFloat;
  bool log = false;
  double low = 0.0;  // model-space bounds (widened by step/2 for discrete axes)
  double high = 1.0;
  double step = 0.0;      // > 0: discrete cells of this width (int or stepped float, not log)
  int64_t n_choices = 0;  // categorical only
  Distribution dist;      // the parameter's own distribution, to snap samples to legal values

  [[nodiscard]] static Axis of(const Distribution& d);
  [[nodiscard]] bool categorical() const noexcept { return kind == ParamKind::kCategorical; }
  [[nodiscard]] bool discrete() const noexcept { return step > 0.0; }
  // Internal value (search/space.h) -> model space, and back (rounded and clipped like Optuna,
  // then Distribution::clip so the result is always a legal value).
  [[nodiscard]] double to_model(double internal) const;
  [[nodiscard]] double to_internal(double model) const;
};

struct Settings {
  bool consider_prior = true;
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  bool multivariate = false;  // Scott's bandwidth shared by all components (else neighbour rule)
  // Optuna 3.1's truncnorm.logpdf leaves out -log(sigma), so its continuous kernels are not
  // densities (optuna issue #5109, corrected upstream later by #5110). false reproduces 3.1
  // exactly, as TPE here does: on the benchmark problems it searches as well as or better than
  // the corrected kernels (bench/sampler_bench.cpp). true: proper densities.
  bool normalize_continuous = false;
};

// Optuna 3.1's default_weights(count)[rank], rank 0 being the oldest observation:
// a linear ramp from 1/count to 1 over the oldest count-25, then 25 ones.
[[nodiscard]] inline double default_weight(size_t rank, size_t count) noexcept {
  if (count <= 25 || rank + 25 >= count) return 1.0;
  const size_t ramp = count - 25;
  const double start = 1.0 / static_cast<double>(count);
  if (ramp == 1) return start;
  if (rank == ramp - 1) return 1.0;  // numpy.linspace pins the endpoint
  return start + static_cast<double>(rank) * ((1.0 - start) / static_cast<double>(ramp - 1));
}

// Standard normal pieces, accurate in the tails (exposed for tests).
[[nodiscard]] double ndtr(double x) noexcept;                      // Phi(x)
[[nodiscard]] double log_ndtr(double x) noexcept;                  // log Phi(x)
[[nodiscard]] double gauss_mass(double a, double b) noexcept;      // Phi(b) - Phi(a), a <= b
[[nodiscard]] double log_gauss_mass(double a, double b) noexcept;  // log(Phi(b) - Phi(a))
[[nodiscard]] double ndtri_exp(double log_p) noexcept;             // x with log Phi(x) = log_p
// Quantile u in [0, 1] of the standard normal truncated to [a, b].
[[nodiscard]] double truncnorm_ppf(double u, double a, double b) noexcept;

class Estimator {
 public:
  // columns[a][i]: model-space value of observation i on axis a (categorical: choice index);
  // weights[i] >= 0: unnormalised weight of observation i (Optuna's weights function output).
  // One numeric axis: columns sorted ascending are used as they are (no sort).
  Estimator(std::vector<Axis> axes, std::vector<std::vector<double>> columns,
            std::vector<double> weights, const Settings& settings);

  [[nodiscard]] size_t dims() const noexcept { return axes_.size(); }
  [[nodiscard]] size_t observations() const noexcept { return n_observations_; }
  [[nodiscard]] size_t components() const noexcept { return m_; }

  // Draws `count` points from the mixture; out[a][k] is point k's internal value on axis a.
  void sample(Rng& rng, size_t count, std::vector<std::vector<double>>& out) const;

  // log density (mass for discrete axes) at internal points points[a][k], k < out.size().
  void log_pdf(const std::vector<std::vector<double>>& points, std::span<double> out);

  // The plain log-sum-exp over every component at one internal point (one value per axis).
  [[nodiscard]] double log_pdf_exact(std::span<const double> point) const;

 private:
  struct NumericAxis {
    std::vector<double> mu, sigma;  // per component, prior last
    std::vector<double> inv_sigma;
    std::vector<double> cell_table;  // discrete, shared sigma: log cell mass by offset (lazy, NaN)
    int64_t cells = 0;               // number of legal values when cell_table is used
  };
  struct CategoricalAxis {
    std::vector<int32_t> obs;      // choice of each observation component
    double hit = 0.0, miss = 0.0;  // row probabilities of an observation component
    std::vector<double> log_p;     // one axis only: log of the mixture's probability per choice
  };
  struct Block {
    double mu_lo = 0, mu_hi = 0, sigma_lo = 0, sigma_hi = 0, weight = 0;
    double log_weight = 0, log_sigma_lo = 0, log_sigma_hi = 0;
  };
  // Taylor expansion of a block of equal-bandwidth continuous kernels around its centre c:
  // sum_i coef_i exp(-(t - d_i)^2 / 2) = exp(-t^2 / 2) sum_k t^k m_k, t = (x - c) / sigma,
  // d_i = (mu_i - c) / sigma, m_k = sum_i coef_i exp(-d_i^2 / 2) d_i^k / k!.
  static constexpr size_t kTerms = 24;
  struct Expansion {
    bool ready = false, usable = false;
    int uses = 0;
    double centre = 0, inv_sigma = 0, radius = 0, abs_sum = 0;  // radius = max |d_i|
    double m[kTerms] = {};
  };

  void build_blocks();
  void build_generic();
  [[nodiscard]] double component_log_kernel(size_t a, size_t i, double x) const;
  [[nodiscard]] double cell_log_mass(size_t a, size_t i, double x) const;
  [[nodiscard]] double exact_model(std::span<const double> xm) const;
  [[nodiscard]] double prior_kernel(double x, double lo, double hi) const;
  [[nodiscard]] double log_scale(size_t a, size_t i) const;
  void prepare_block(size_t b);
  void prepare_expansion(size_t b);
  [[nodiscard]] double sorted_log_pdf(double x);
  [[nodiscard]] double sorted_log_pdf_uncached(double x);
  [[nodiscard]] double generic_log_pdf(std::span<const double> x, std::vector<double>& scratch);

  std::vector<Axis> axes_;
  Settings settings_;
  size_t n_observations_ = 0;
  size_t n_obs_ = 0;  // observation components (fewer than observations once merged); prior next
  size_t m_ = 0;      // components, prior included
  bool prior_ = false;
  std::vector<double> w_;             // normalised weights
  std::vector<NumericAxis> num_;      // indexed by axis (empty for categorical axes)
  std::vector<CategoricalAxis> cat_;  // indexed by axis (empty for numeric axes)

  // One numeric axis: observation components sorted by centre (equal ones merged), grouped in
  // blocks with their extents; per-component factor w / (sigma sqrt(2 pi) Z) (continuous) or
  // w / Z (discrete), filled a block at a time on first use.
  bool sorted_path_ = false;
  std::vector<Block> blocks_, prefix_, suffix_;  // prefix_[b]: blocks 0..b; suffix_[b]: b..end
  std::vector<uint8_t> block_ready_;
  std::vector<double> coef_;
  std::vector<Expansion> expansion_;
  // Discrete axis: bandwidth class of each component and, per class, the cell mass by offset
  // (NaN until needed); the centres' grid indices are in grid_[0].
  static constexpr uint8_t kNoClass = 255;
  static constexpr size_t kMaxClasses = 16;
  std::vector<uint8_t> cell_class_;
  std::vector<std::vector<double>> cell_mass_;
  double prior_norm_ = 0.0;                      // truncation normaliser of the prior component
  std::vector<std::pair<double, double>> memo_;  // densities already computed: (x, log density)

  // Several axes: per-component constant of the log density, and for discrete axes with a shared
  // bandwidth the grid index of each observation component's centre.
  std::vector<double> comp_const_;
  std::vector<std::vector<int32_t>> grid_;
  // Continuous axes whose observation components share sigma: centres pre-scaled by
  // sqrt(1/2) / sigma, so that a kernel's exponent is -(x' - mu')^2.
  struct ScaledAxis {
    size_t axis;
    double scale;
    std::vector<double> mu;
  };
  std::vector<ScaledAxis> scaled_;
  std::vector<uint8_t> in_scaled_;  // per axis
};

}  // namespace hypertune::search::parzen
