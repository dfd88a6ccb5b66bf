#pragma once
// Gaussian-process regression for the GP sampler (search/gp_sampler.cpp).
//
// Model: f ~ GP(0, k), y = f + noise, with a Matern-5/2 kernel and one length scale per input
// (automatic relevance determination):
//   k(a, b) = s * (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r),   r^2 = sum_j w_j d_j(a, b)^2,
// where w_j = 1 / l_j^2 and d_j = a_j - b_j for a continuous input, [a_j != b_j] for a categorical
// one (two different choices are always at distance one, scaled by that input's w_j). The noise
// variance is kNoiseFloor + exp(log_noise), learned unless the objective is declared
// deterministic. Hyperparameters are the maximum a posteriori point of the log marginal likelihood
// plus weak log priors (each w_j: -(0.1 / w + 0.1 w), peaked at length scale 1 on the unit cube;
// s: Gamma(2, 1); noise: Gamma(1.1, 30)), found by L-BFGS-B (LBFGS++) from a start the caller
// chooses (the previous fit: a warm start).
//
// Inputs live in [0, 1]^d (the sampler normalises them; categorical inputs hold a choice index),
// targets are standardised by the caller. Pure computation: no I/O. Thread-safety: none.

#include <cstdint>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

namespace hypertune::search::gp {

inline constexpr double kNoiseFloor = 1e-6;

// Packed hyperparameters: [log w_1 .. log w_d, log s, log_noise].
struct Hyper {
  Eigen::VectorXd theta;
  [[nodiscard]] static Hyper initial(int dims);  // w = 1, s = 1, noise = 0.01
  [[nodiscard]] int dims() const { return static_cast<int>(theta.size()) - 2; }
  [[nodiscard]] double noise() const;
};

struct FitStats {
  int evaluations = 0;    // log-posterior evaluations (each one Cholesky)
  double log_posterior = 0;
};

class Model {
 public:
  // categorical[j]: input j holds a choice index.
  explicit Model(std::vector<bool> categorical);

  // Sets the data and fits the hyperparameters from `start`, at most `max_iterations` L-BFGS-B
  // iterations. deterministic: the noise stays at the floor.
  FitStats fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Hyper& start,
               bool deterministic, int max_iterations);
  // Sets the data with the current hyperparameters, without a refit (the kriging believer's
  // pseudo-observations of running trials). False when the kernel matrix cannot be factorised.
  bool condition(const Eigen::MatrixXd& X, const Eigen::VectorXd& y);

  [[nodiscard]] const Hyper& hyper() const noexcept { return hyper_; }
  [[nodiscard]] int rows() const noexcept { return static_cast<int>(X_.rows()); }

  // Posterior mean and variance of the latent f at each row of Xs.
  void predict(const Eigen::MatrixXd& Xs, Eigen::VectorXd& mean, Eigen::VectorXd& var) const;
  // The same at one point, with gradients over the inputs (0 for categorical ones).
  void predict_grad(const Eigen::VectorXd& x, double& mean, double& var, Eigen::VectorXd& d_mean,
                    Eigen::VectorXd& d_var) const;

  // log p(y | X, theta) + log prior(theta) on the current data, with its gradient over theta
  // when `grad` is set; -infinity when the kernel matrix is not positive definite.
  [[nodiscard]] double log_posterior(const Eigen::VectorXd& theta, Eigen::VectorXd* grad) const;

 private:
  bool factorise();
  [[nodiscard]] double kernel_row(const Eigen::VectorXd& x, Eigen::VectorXd& k,
                                  Eigen::VectorXd* q) const;

  std::vector<bool> categorical_;
  Eigen::MatrixXd X_;
  Eigen::VectorXd y_;
  std::vector<Eigen::MatrixXd> d2_;  // per input: squared distances between the rows of X_
  Hyper hyper_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  Eigen::VectorXd alpha_;  // K^-1 y
};

// log E[max(best - f, 0)] for f ~ N(mean, var): the log of expected improvement below `best`,
// finite and smooth however far below the incumbent the mean lies (the log-EI of Ament et al.
// 2023), with its derivatives over mean and var when asked.
[[nodiscard]] double log_ei(double mean, double var, double best, double* d_mean = nullptr,
                            double* d_var = nullptr);
// log h(z) with h(z) = phi(z) + z Phi(z), and Phi(z) / h(z) (= d log h / dz), stable for all z.
[[nodiscard]] double log_h(double z, double* phi_over_h = nullptr);

}  // namespace hypertune::search::gp
