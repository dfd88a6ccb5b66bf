// The GP sampler: Bayesian optimisation with a Gaussian process (search/gp_model.h) and the log of
// expected improvement, for low-dimensional spaces with expensive trials.
//
// Per ask, once n_startup_trials trials are complete:
//  1. every complete trial's parameters are normalised to [0, 1] (log-warped for `log: true`;
//     ints and stepped floats as numbers on that scale; categoricals as choice indices) and its
//     loss standardised;
//  2. the kernel hyperparameters are refitted, warm-started from the previous ask's;
//  3. running trials are added at the model's own prediction (the kriging believer), which
//     shrinks the uncertainty around them so that parallel workers spread out;
//  4. log-EI is ranked over n_candidates random points; local searches start from the best
//     observed point and the best candidates: L-BFGS-B over the continuous inputs, then a
//     coordinate sweep over the discrete ones (each categorical choice; an int or a stepped float
//     one step either way), repeated until nothing improves;
//  5. the best point found is decoded (snapped to the parameters' legal values).
// Past max_observations complete trials the cost (cubic in n) is bounded by handing over to TPE,
// which has observed every trial all along.
// Determinism: the result depends on the observations, the running trials, the seed and the
// previous fit (the warm start): two studies told the same things in the same order ask the same.

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include <LBFGSB.h>

#include "base/error.h"
#include "base/rng.h"
#include "search/gp_model.h"
#include "search/sampler.h"

namespace hypertune::search {

namespace {

class GpSampler final : public Sampler {
 public:
  GpSampler(const SearchSpace& space, Direction dir, GpOptions opts)
      : space_(space), dir_(dir), opts_(opts), model_(categorical_flags(space)),
        tpe_(make_tpe_sampler(space, dir)) {
    for (size_t i = 0; i < space.size(); ++i) {
      if (space.parent_of(i)) {
        throw ConfigError("sampler.type",
                          "the gp sampler does not handle conditional parameters (`" +
                              space.params()[i].name +
                              "` has `when:`); use the tpe sampler for conditional spaces");
      }
    }
  }

  void observe(const FrozenTrial& trial) override {
    tpe_->observe(trial);
    if (trial.state == TrialState::kComplete && trial.value && std::isfinite(*trial.value) &&
        complete_params(trial.params)) {
      observed_[trial.number] = {encode(trial.params), to_loss(dir_, *trial.value)};
    } else {
      observed_.erase(trial.number);
    }
  }

  Params sample(const SampleRequest& req) override {
    const int n = static_cast<int>(observed_.size());
    if (n < opts_.n_startup_trials || space_.size() == 0) return random_params(req.seed);
    if (n > opts_.max_observations) return tpe_->sample(req);

    const int d = static_cast<int>(space_.size());
    Eigen::MatrixXd X(n, d);
    Eigen::VectorXd y(n);
    int row = 0;
    for (const auto& [number, obs] : observed_) {
      X.row(row) = obs.x.transpose();
      y[row] = obs.loss;
      ++row;
    }
    const double mu = y.mean();
    const double sd = std::sqrt((y.array() - mu).square().mean());
    y = (y.array() - mu) / (sd > 1e-12 ? sd : 1.0);
    const double best = y.minCoeff();
    Eigen::Index best_row = 0;
    y.minCoeff(&best_row);

    model_.fit(X, y, warm_, opts_.deterministic, warm_.theta.size() == d + 2 ? 50 : 200);
    warm_ = model_.hyper();

    // Kriging believer: running trials at the mean the model predicts for them.
    std::vector<Eigen::VectorXd> pending;
    for (const FrozenTrial& t : req.running) {
      if (complete_params(t.params) && !observed_.count(t.number)) pending.push_back(encode(t.params));
    }
    if (!pending.empty()) {
      const int m = static_cast<int>(pending.size());
      Eigen::MatrixXd Xp(m, d);
      for (int i = 0; i < m; ++i) Xp.row(i) = pending[i].transpose();
      Eigen::VectorXd mean, var;
      model_.predict(Xp, mean, var);
      Eigen::MatrixXd Xa(n + m, d);
      Xa << X, Xp;
      Eigen::VectorXd ya(n + m);
      ya << y, mean;
      if (!model_.condition(Xa, ya)) model_.condition(X, y);  // believer points too close: skip
    }

    Rng rng(req.seed);
    Eigen::VectorXd x = maximise(X.row(best_row).transpose(), best, rng);
    return decode(x);
  }

 private:
  struct Observation {
    Eigen::VectorXd x;
    double loss = 0;
  };

  static std::vector<bool> categorical_flags(const SearchSpace& space) {
    std::vector<bool> out;
    for (const auto& p : space.params()) out.push_back(p.dist.kind == ParamKind::kCategorical);
    return out;
  }

  [[nodiscard]] bool complete_params(const Params& p) const {
    if (p.size() != space_.size()) return false;
    return std::all_of(p.begin(), p.end(), [](const auto& v) { return v.has_value(); });
  }

  [[nodiscard]] bool categorical(size_t i) const {
    return space_.params()[i].dist.kind == ParamKind::kCategorical;
  }
  // Discrete but ordered: an int or a stepped float (moved one step at a time).
  [[nodiscard]] bool stepped(size_t i) const {
    const Distribution& dist = space_.params()[i].dist;
    return dist.kind == ParamKind::kInt || (dist.kind == ParamKind::kFloat && dist.step);
  }

  [[nodiscard]] double encode1(size_t i, double v) const {
    const Distribution& dist = space_.params()[i].dist;
    if (dist.kind == ParamKind::kCategorical) return v;
    const double lo = dist.log ? std::log(dist.low) : dist.low;
    const double hi = dist.log ? std::log(dist.high) : dist.high;
    if (hi <= lo) return 0.5;
    return ((dist.log ? std::log(v) : v) - lo) / (hi - lo);
  }
  [[nodiscard]] double decode1(size_t i, double u) const {
    const Distribution& dist = space_.params()[i].dist;
    if (dist.kind == ParamKind::kCategorical) return dist.clip(std::round(u));
    u = std::clamp(u, 0.0, 1.0);
    const double lo = dist.log ? std::log(dist.low) : dist.low;
    const double hi = dist.log ? std::log(dist.high) : dist.high;
    const double v = lo + u * (hi - lo);
    return dist.clip(dist.log ? std::exp(v) : v);
  }
  [[nodiscard]] Eigen::VectorXd encode(const Params& p) const {
    Eigen::VectorXd x(static_cast<Eigen::Index>(space_.size()));
    for (size_t i = 0; i < space_.size(); ++i) x[static_cast<Eigen::Index>(i)] = encode1(i, *p[i]);
    return x;
  }
  [[nodiscard]] Params decode(const Eigen::VectorXd& x) const {
    Params p(space_.size());
    for (size_t i = 0; i < space_.size(); ++i) p[i] = decode1(i, x[static_cast<Eigen::Index>(i)]);
    return p;
  }
  // Snaps the discrete inputs of x to legal values (continuous ones stay as they are).
  void snap(Eigen::VectorXd& x) const {
    for (size_t i = 0; i < space_.size(); ++i) {
      const auto j = static_cast<Eigen::Index>(i);
      if (categorical(i) || stepped(i)) x[j] = encode1(i, decode1(i, x[j]));
    }
  }

  [[nodiscard]] Params random_params(uint64_t seed) const {
    Rng rng(seed);
    Params p(space_.size());
    for (size_t i : space_.topological_order()) p[i] = sample_prior(space_.params()[i].dist, rng);
    return p;
  }

  [[nodiscard]] double acquisition(const Eigen::VectorXd& x, double best) const {
    Eigen::MatrixXd one = x.transpose();
    Eigen::VectorXd mean, var;
    model_.predict(one, mean, var);
    return gp::log_ei(mean[0], var[0], best);
  }

  // -log-EI over the continuous inputs of a point whose other inputs stay fixed.
  struct ContinuousObjective {
    const gp::Model& model;
    const std::vector<Eigen::Index>& dims;
    Eigen::VectorXd full;
    double best;
    double best_f = std::numeric_limits<double>::infinity();
    Eigen::VectorXd best_x;
    double operator()(const Eigen::VectorXd& z, Eigen::VectorXd& g) {
      for (size_t k = 0; k < dims.size(); ++k) full[dims[k]] = z[static_cast<Eigen::Index>(k)];
      double mean = 0, var = 0, dm = 0, dv = 0;
      Eigen::VectorXd gm, gv;
      model.predict_grad(full, mean, var, gm, gv);
      const double f = -gp::log_ei(mean, var, best, &dm, &dv);
      g.resize(static_cast<Eigen::Index>(dims.size()));
      for (size_t k = 0; k < dims.size(); ++k) g[static_cast<Eigen::Index>(k)] = -(dm * gm[dims[k]] + dv * gv[dims[k]]);
      if (!std::isfinite(f)) {
        g.setZero();
        return 1e300;
      }
      if (f < best_f) best_f = f, best_x = z;
      return f;
    }
  };

  // One local search from x: returns the point and its log-EI.
  std::pair<Eigen::VectorXd, double> local_search(Eigen::VectorXd x, double best) const {
    std::vector<Eigen::Index> cont;
    for (size_t i = 0; i < space_.size(); ++i) {
      if (!categorical(i)) cont.push_back(static_cast<Eigen::Index>(i));
    }
    double value = acquisition(x, best);
    for (int round = 0; round < 4; ++round) {
      bool moved = false;
      if (!cont.empty()) {
        ContinuousObjective f{model_, cont, x, best, std::numeric_limits<double>::infinity(), {}};
        Eigen::VectorXd z(static_cast<Eigen::Index>(cont.size()));
        for (size_t k = 0; k < cont.size(); ++k) z[static_cast<Eigen::Index>(k)] = x[cont[k]];
        LBFGSpp::LBFGSBParam<double> param;
        param.max_iterations = 30;
        param.epsilon = 1e-6;
        param.epsilon_rel = 1e-6;
        param.past = 1;
        param.delta = 1e-8;
        LBFGSpp::LBFGSBSolver<double> solver(param);
        double fx = 0;
        try {
          (void)solver.minimize(f, z, fx, Eigen::VectorXd::Zero(z.size()),
                                Eigen::VectorXd::Ones(z.size()));
        } catch (const std::exception&) {
          // A failed line search: keep the best point seen.
        }
        if (f.best_x.size() == z.size()) {
          Eigen::VectorXd cand = x;
          for (size_t k = 0; k < cont.size(); ++k) cand[cont[k]] = f.best_x[static_cast<Eigen::Index>(k)];
          snap(cand);
          const double v = acquisition(cand, best);
          if (v > value + 1e-12) x = cand, value = v, moved = true;
        }
      }
      // Coordinate sweep over the discrete inputs.
      for (size_t i = 0; i < space_.size(); ++i) {
        const auto j = static_cast<Eigen::Index>(i);
        const Distribution& dist = space_.params()[i].dist;
        std::vector<double> options;
        if (categorical(i)) {
          for (size_t c = 0; c < dist.choices.size(); ++c) options.push_back(static_cast<double>(c));
        } else if (stepped(i)) {
          const double v = decode1(i, x[j]);
          const double step = dist.step.value_or(1.0);
          for (double u : {v - step, v + step}) {
            if (u >= dist.low - 1e-9 && u <= dist.high + 1e-9) options.push_back(encode1(i, dist.clip(u)));
          }
        }
        for (double u : options) {
          if (u == x[j]) continue;
          Eigen::VectorXd cand = x;
          cand[j] = u;
          const double v = acquisition(cand, best);
          if (v > value + 1e-12) x = cand, value = v, moved = true;
        }
      }
      if (!moved) break;
    }
    return {x, value};
  }

  Eigen::VectorXd maximise(const Eigen::VectorXd& best_observed, double best, Rng& rng) const {
    const auto d = static_cast<Eigen::Index>(space_.size());
    const int m = std::max(1, opts_.n_candidates);
    Eigen::MatrixXd C(m, d);
    for (int c = 0; c < m; ++c) {
      for (Eigen::Index j = 0; j < d; ++j) {
        const size_t i = static_cast<size_t>(j);
        C(c, j) = categorical(i)
                      ? static_cast<double>(rng.below(space_.params()[i].dist.choices.size()))
                      : rng.uniform();
      }
      Eigen::VectorXd row = C.row(c).transpose();
      snap(row);
      C.row(c) = row.transpose();
    }
    Eigen::VectorXd mean, var;
    model_.predict(C, mean, var);
    std::vector<double> score(static_cast<size_t>(m));
    for (int c = 0; c < m; ++c) score[static_cast<size_t>(c)] = gp::log_ei(mean[c], var[c], best);
    std::vector<int> order(static_cast<size_t>(m));
    std::iota(order.begin(), order.end(), 0);
    const int starts = std::min(m, std::max(0, opts_.n_local_searches - 1));
    std::partial_sort(order.begin(), order.begin() + starts, order.end(), [&](int a, int b) {
      return score[static_cast<size_t>(a)] > score[static_cast<size_t>(b)] ||
             (score[static_cast<size_t>(a)] == score[static_cast<size_t>(b)] && a < b);
    });
    Eigen::VectorXd best_x = C.row(order[0]).transpose();
    double best_v = score[static_cast<size_t>(order[0])];
    auto consider = [&](const Eigen::VectorXd& start) {
      auto [x, v] = local_search(start, best);
      if (v > best_v) best_x = x, best_v = v;
    };
    consider(best_observed);
    for (int k = 0; k < starts; ++k) consider(C.row(order[static_cast<size_t>(k)]).transpose());
    return best_x;
  }

  const SearchSpace& space_;
  Direction dir_;
  GpOptions opts_;
  gp::Model model_;
  gp::Hyper warm_;
  std::unique_ptr<Sampler> tpe_;
  std::map<int64_t, Observation> observed_;
};

}  // namespace

std::unique_ptr<Sampler> make_gp_sampler(const SearchSpace& space, Direction dir, GpOptions opts) {
  if (opts.n_startup_trials < 1) opts.n_startup_trials = 1;
  return std::make_unique<GpSampler>(space, dir, opts);
}

}  // namespace hypertune::search
