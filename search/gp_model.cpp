#include "search/gp_model.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include <LBFGSB.h>

namespace hypertune::search::gp {

namespace {

constexpr double kSqrt5 = 2.2360679774997896964;
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))
constexpr double kSqrtHalfPi = 1.2533141373155002512;   // sqrt(pi / 2)
constexpr double kInvSqrt2 = 0.70710678118654752440;

// Bounds of the packed hyperparameters (log space): length scales from 0.01 to 100 on the unit
// cube, kernel variance from 1e-3 to 1e3 (targets are standardised), noise above the floor from
// about 1e-9 to 10.
constexpr double kLogWMin = -9.2, kLogWMax = 9.2;
constexpr double kLogSMin = -6.9, kLogSMax = 6.9;
constexpr double kLogNoiseMin = -20.7, kLogNoiseMax = 2.3;

// erfcx(t) = exp(t^2) erfc(t) for t >= 0; the asymptotic series where erfc would underflow.
double erfcx(double t) {
  if (t < 20.0) return std::exp(t * t) * std::erfc(t);
  const double u = 1.0 / (2.0 * t * t);  // 1 - u + 3u^2 - 15u^3 + 105u^4
  return (1.0 - u * (1.0 - 3.0 * u * (1.0 - 5.0 * u * (1.0 - 7.0 * u)))) / (t * std::sqrt(M_PI));
}

}  // namespace

double log_h(double z, double* phi_over_h) {
  if (z > -1.0) {
    const double phi = std::exp(-0.5 * z * z - kLogSqrt2Pi);
    const double Phi = 0.5 * std::erfc(-z * kInvSqrt2);
    const double h = phi + z * Phi;
    if (phi_over_h) *phi_over_h = Phi / h;
    return std::log(h);
  }
  // z <= -1: h = phi(z) * (1 - |z| * Phi(z)/phi(z)), the bracket computed without cancellation.
  const double a = -z;  // > 0
  double ratio;         // Phi(z) / phi(z)
  double bracket;       // h(z) / phi(z)
  if (a < 28.0) {
    ratio = kSqrtHalfPi * erfcx(a * kInvSqrt2);
    bracket = 1.0 - a * ratio;
  } else {
    const double v = 1.0 / (a * a);  // 1/z^2 - 3/z^4 + 15/z^6 - 105/z^8 + 945/z^10
    bracket = v * (1.0 - 3.0 * v * (1.0 - 5.0 * v * (1.0 - 7.0 * v * (1.0 - 9.0 * v))));
    ratio = (1.0 - v * (1.0 - 3.0 * v * (1.0 - 5.0 * v * (1.0 - 7.0 * v)))) / a;
  }
  if (phi_over_h) *phi_over_h = ratio / bracket;
  return -0.5 * z * z - kLogSqrt2Pi + std::log(bracket);
}

double log_ei(double mean, double var, double best, double* d_mean, double* d_var) {
  const double sigma = std::sqrt(std::max(var, 1e-300));
  const double z = (best - mean) / sigma;
  double r = 0;
  const double value = std::log(sigma) + log_h(z, &r);
  if (d_mean) *d_mean = -r / sigma;
  if (d_var) *d_var = (1.0 - z * r) / sigma * (0.5 / sigma);
  return value;
}

Hyper Hyper::initial(int dims) {
  Hyper h;
  h.theta = Eigen::VectorXd::Zero(dims + 2);
  h.theta[dims + 1] = std::log(1e-2);
  return h;
}

double Hyper::noise() const { return kNoiseFloor + std::exp(theta[theta.size() - 1]); }

Model::Model(std::vector<bool> categorical)
    : categorical_(std::move(categorical)),
      hyper_(Hyper::initial(static_cast<int>(categorical_.size()))) {}

double Model::log_posterior(const Eigen::VectorXd& theta, Eigen::VectorXd* grad) const {
  const int n = static_cast<int>(X_.rows());
  const int d = static_cast<int>(categorical_.size());
  const Eigen::ArrayXd w = theta.head(d).array().exp();
  const double s = std::exp(theta[d]);
  const double noise_raw = std::exp(theta[d + 1]);
  const double noise = kNoiseFloor + noise_raw;

  Eigen::MatrixXd r2 = Eigen::MatrixXd::Zero(n, n);
  for (int j = 0; j < d; ++j) r2.noalias() += w[j] * d2_[j];
  const Eigen::ArrayXXd r = r2.array().sqrt();
  const Eigen::ArrayXXd e = (-kSqrt5 * r).exp();
  const Eigen::ArrayXXd kf = s * (1.0 + kSqrt5 * r + (5.0 / 3.0) * r2.array()) * e;
  Eigen::MatrixXd K = kf.matrix();
  K.diagonal().array() += noise;
  const Eigen::LLT<Eigen::MatrixXd> llt(K);
  if (llt.info() != Eigen::Success) return -std::numeric_limits<double>::infinity();
  const Eigen::VectorXd alpha = llt.solve(y_);
  const Eigen::MatrixXd& L = llt.matrixLLT();
  double log_det_half = 0;
  for (int i = 0; i < n; ++i) log_det_half += std::log(L(i, i));
  const double lml = -0.5 * y_.dot(alpha) - log_det_half - n * kLogSqrt2Pi;
  const double prior = -(0.1 / w + 0.1 * w).sum() + (std::log(s) - s) +
                       (0.1 * std::log(noise) - 30.0 * noise);
  if (grad) {
    grad->resize(d + 2);
    Eigen::MatrixXd W = -llt.solve(Eigen::MatrixXd::Identity(n, n));
    W.noalias() += alpha * alpha.transpose();
    // dK / d log w_j = 0.5 w_j D2_j o P with P = s m'(r)/r = -5/3 s (1 + sqrt5 r) e.
    const Eigen::ArrayXXd G = W.array() * (-(5.0 / 3.0) * s * (1.0 + kSqrt5 * r) * e);
    for (int j = 0; j < d; ++j) {
      (*grad)[j] = 0.25 * w[j] * (G * d2_[j].array()).sum() + (0.1 / w[j] - 0.1 * w[j]);
    }
    (*grad)[d] = 0.5 * (W.array() * kf).sum() + (1.0 - s);
    (*grad)[d + 1] = (0.5 * W.trace() + (0.1 / noise - 30.0)) * noise_raw;
  }
  return lml + prior;
}

namespace {

// What LBFGS++ minimises: -log posterior. Remembers the best point it saw, because the solver
// throws when a line search fails (then the best point so far is kept).
struct NegLogPosterior {
  const Model& model;
  int evaluations = 0;
  double best_f = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_x;
  double operator()(const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    ++evaluations;
    const double v = model.log_posterior(x, &g);
    if (!std::isfinite(v)) {
      g.setZero();
      return 1e300;
    }
    g = -g;
    if (-v < best_f) best_f = -v, best_x = x;
    return -v;
  }
};

}  // namespace

FitStats Model::fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Hyper& start,
                    bool deterministic, int max_iterations) {
  X_ = X;
  y_ = y;
  const int n = static_cast<int>(X.rows());
  const int d = static_cast<int>(categorical_.size());
  d2_.assign(d, Eigen::MatrixXd(n, n));
  for (int j = 0; j < d; ++j) {
    for (int a = 0; a < n; ++a) {
      d2_[j](a, a) = 0;
      for (int b = a + 1; b < n; ++b) {
        const double diff = categorical_[j] ? (X(a, j) != X(b, j) ? 1.0 : 0.0) : X(a, j) - X(b, j);
        d2_[j](a, b) = d2_[j](b, a) = diff * diff;
      }
    }
  }
  Eigen::VectorXd lb(d + 2), ub(d + 2);
  lb.head(d).setConstant(kLogWMin);
  ub.head(d).setConstant(kLogWMax);
  lb[d] = kLogSMin, ub[d] = kLogSMax;
  lb[d + 1] = kLogNoiseMin, ub[d + 1] = kLogNoiseMax;
  if (deterministic) ub[d + 1] = kLogNoiseMin;
  Eigen::VectorXd theta =
      start.theta.size() == d + 2 ? start.theta : Hyper::initial(d).theta;
  theta = theta.cwiseMax(lb).cwiseMin(ub);

  LBFGSpp::LBFGSBParam<double> param;
  param.max_iterations = max_iterations;
  param.epsilon = 1e-5;
  param.epsilon_rel = 1e-5;
  param.past = 1;
  param.delta = 1e-6;
  LBFGSpp::LBFGSBSolver<double> solver(param);
  NegLogPosterior f{*this, 0, std::numeric_limits<double>::infinity(), {}};
  double fx = 0;
  try {
    (void)solver.minimize(f, theta, fx, lb, ub);
  } catch (const std::exception&) {
    // A failed line search ends the fit; the best point seen stands.
  }
  FitStats stats;
  stats.evaluations = f.evaluations;
  if (f.best_x.size() == d + 2) {
    hyper_.theta = f.best_x;
    stats.log_posterior = -f.best_f;
  }
  if (!factorise()) {
    // Only a degenerate start can get here (every evaluation failed): fall back to the default.
    hyper_ = Hyper::initial(d);
    if (!factorise()) throw std::runtime_error("gp: kernel matrix not positive definite");
  }
  return stats;
}

bool Model::condition(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
  X_ = X;
  y_ = y;
  d2_.clear();  // log_posterior() needs fit() again
  return factorise();
}

bool Model::factorise() {
  const int n = static_cast<int>(X_.rows());
  Eigen::MatrixXd K(n, n);
  Eigen::VectorXd k;
  for (int a = 0; a < n; ++a) {
    (void)kernel_row(X_.row(a).transpose(), k, nullptr);
    K.row(a) = k.transpose();
  }
  K.diagonal().array() += hyper_.noise();
  llt_.compute(K);
  if (llt_.info() != Eigen::Success) return false;
  alpha_ = llt_.solve(y_);
  return true;
}

// k(x, X_i) for every row i; q_i = s m'(r)/r when asked (the gradient's factor). Returns s.
double Model::kernel_row(const Eigen::VectorXd& x, Eigen::VectorXd& k, Eigen::VectorXd* q) const {
  const int n = static_cast<int>(X_.rows());
  const int d = static_cast<int>(categorical_.size());
  const Eigen::VectorXd& t = hyper_.theta;
  const double s = std::exp(t[d]);
  const Eigen::ArrayXd w = t.head(d).array().exp();
  k.resize(n);
  if (q) q->resize(n);
  for (int i = 0; i < n; ++i) {
    double r2 = 0;
    for (int j = 0; j < d; ++j) {
      const double diff = categorical_[j] ? (x[j] != X_(i, j) ? 1.0 : 0.0) : x[j] - X_(i, j);
      r2 += w[j] * diff * diff;
    }
    const double r = std::sqrt(r2);
    const double e = std::exp(-kSqrt5 * r);
    k[i] = s * (1.0 + kSqrt5 * r + (5.0 / 3.0) * r2) * e;
    if (q) (*q)[i] = -(5.0 / 3.0) * s * (1.0 + kSqrt5 * r) * e;
  }
  return s;
}

void Model::predict(const Eigen::MatrixXd& Xs, Eigen::VectorXd& mean, Eigen::VectorXd& var) const {
  const int m = static_cast<int>(Xs.rows());
  const int n = static_cast<int>(X_.rows());
  Eigen::MatrixXd Ks(n, m);
  Eigen::VectorXd k;
  double s = 0;
  for (int c = 0; c < m; ++c) {
    s = kernel_row(Xs.row(c).transpose(), k, nullptr);
    Ks.col(c) = k;
  }
  mean = Ks.transpose() * alpha_;
  llt_.matrixL().solveInPlace(Ks);  // V = L^-1 Ks: var = s - |V_c|^2
  var = (s - Ks.colwise().squaredNorm().array()).max(1e-12).matrix();
}

void Model::predict_grad(const Eigen::VectorXd& x, double& mean, double& var,
                         Eigen::VectorXd& d_mean, Eigen::VectorXd& d_var) const {
  const int n = static_cast<int>(X_.rows());
  const int d = static_cast<int>(categorical_.size());
  Eigen::VectorXd k, q;
  const double s = kernel_row(x, k, &q);
  const Eigen::VectorXd kinv_k = llt_.solve(k);
  mean = k.dot(alpha_);
  var = std::max(s - k.dot(kinv_k), 1e-12);
  d_mean = Eigen::VectorXd::Zero(d);
  d_var = Eigen::VectorXd::Zero(d);
  for (int j = 0; j < d; ++j) {
    if (categorical_[j]) continue;
    const double wj = std::exp(hyper_.theta[j]);
    double gm = 0, gv = 0;
    for (int i = 0; i < n; ++i) {
      const double dk = q[i] * wj * (x[j] - X_(i, j));
      gm += dk * alpha_[i];
      gv += dk * kinv_k[i];
    }
    d_mean[j] = gm;
    d_var[j] = -2.0 * gv;
  }
}

}  // namespace hypertune::search::gp
