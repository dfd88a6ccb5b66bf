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
// log_pdf() equals the full mixture up to ~1e-12 relative: it skips only components whose total
// contribution is provably below that (a walk over blocks of components sorted by centre for one
// numeric axis; an upper-bound filter over all components for several axes). log_pdf_exact() is
// the plain sum over every component, the reference for tests.
//
// Not here: splitting observations, weights by age, choosing a candidate (search/tpe_model.h).
// Errors: hypertune::Error for inconsistent input (sizes, values outside an axis, several axes
// without multivariate). Thread-safety: log_pdf() caches normalisers; one Estimator per thread.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "search/rng.h"
#include "search/space.h"

namespace hypertune::search::parzen {

// How one parameter looks inside the estimator.
struct Axis {
  ParamKind kind = ParamKind::kFloat;
  bool log = false;
  double low = 0.0;   // model-space bounds (widened by step/2 for discrete axes)
  double high = 1.0;
  double step = 0.0;  // > 0: discrete cells of this width (int or stepped float, not log)
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
  // Continuous kernels are densities, 1/sigma included. false reproduces Optuna 3.1 exactly: its
  // truncnorm.logpdf leaves out -log(sigma) (optuna issue #5109, fixed upstream in #5110).
  bool normalize_continuous = true;
};

// Optuna 3.1's default_weights(count)[rank], rank 0 being the oldest observation:
// a linear ramp from 1/count to 1 over the oldest count-25, then 25 ones.
[[nodiscard]] double default_weight(size_t rank, size_t count) noexcept;

// Standard normal pieces, accurate in the tails (exposed for tests).
[[nodiscard]] double ndtr(double x) noexcept;                       // Phi(x)
[[nodiscard]] double log_ndtr(double x) noexcept;                   // log Phi(x)
[[nodiscard]] double gauss_mass(double a, double b) noexcept;       // Phi(b) - Phi(a), a <= b
[[nodiscard]] double log_gauss_mass(double a, double b) noexcept;   // log(Phi(b) - Phi(a))
[[nodiscard]] double ndtri_exp(double log_p) noexcept;              // x with log Phi(x) = log_p
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
  [[nodiscard]] size_t observations() const noexcept { return n_obs_; }
  [[nodiscard]] size_t components() const noexcept { return m_; }

  // Draws `count` points from the mixture; out[a][k] is point k's internal value on axis a.
  void sample(Rng& rng, size_t count, std::vector<std::vector<double>>& out) const;

  // log density (mass for discrete axes) at internal points points[a][k], k < out.size().
  void log_pdf(const std::vector<std::vector<double>>& points, std::span<double> out);

  // The plain log-sum-exp over every component at one internal point (one value per axis).
  [[nodiscard]] double log_pdf_exact(std::span<const double> point) const;

 private:
  struct NumericAxis {
    std::vector<double> mu, sigma;    // per component, prior last
    std::vector<double> inv_sigma, log_sigma;
    std::vector<double> log_z;        // log normaliser per component, lazily filled (NaN = unknown)
    bool shared_sigma = false;        // every observation component has sigma[0]
    std::vector<double> cell_table;   // discrete + shared sigma: log cell mass by offset (lazy)
    int64_t cells = 0;                // number of legal values when cell_table is used
  };
  struct CategoricalAxis {
    std::vector<int32_t> obs;  // choice of each observation component
    double hit = 0.0, miss = 0.0;  // linear row probabilities of an observation component
    std::vector<double> log_p;     // one axis only: log of the mixture's probability per choice
  };
  struct Block {
    double mu_lo, mu_hi, sigma_lo, sigma_hi, weight;
  };

  [[nodiscard]] double component_log_kernel(size_t a, size_t i, double x) const;
  [[nodiscard]] double exact_model(std::span<const double> xm) const;
  [[nodiscard]] double log_z(size_t a, size_t i);
  [[nodiscard]] double kernel(size_t i, double x, double lo, double hi);  // one numeric axis
  void prepare_block(size_t b);
  [[nodiscard]] double sorted_log_pdf(double x);
  [[nodiscard]] double generic_log_pdf(std::span<const double> x, std::vector<double>& scratch);
  [[nodiscard]] double cell_log_mass(size_t a, size_t i, double x);

  std::vector<Axis> axes_;
  Settings settings_;
  size_t n_obs_ = 0;
  size_t m_ = 0;  // components, prior included
  bool prior_ = false;
  std::vector<double> w_, log_w_, cum_w_;
  std::vector<NumericAxis> num_;         // indexed by axis (empty for categorical axes)
  std::vector<CategoricalAxis> cat_;     // indexed by axis (empty for numeric axes)

  // One numeric axis: observation components sorted by centre, grouped in blocks, with the
  // per-component factor w / (sigma sqrt(2 pi) Z) (continuous) or w / Z (discrete), lazily.
  bool sorted_path_ = false;
  std::vector<Block> blocks_, prefix_, suffix_;  // prefix_[b]: blocks 0..b; suffix_[b]: b..end
  std::vector<uint8_t> block_ready_;
  std::vector<double> coef_;
};

}  // namespace hypertune::search::parzen
