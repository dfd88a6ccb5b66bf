#include "search/functions.h"

#include <cmath>
#include <numbers>

namespace hypertune::search {

namespace {

using std::numbers::pi;

double branin(std::span<const double> x) {
  const double a = 1.0, b = 5.1 / (4.0 * pi * pi), c = 5.0 / pi, r = 6.0, s = 10.0,
               t = 1.0 / (8.0 * pi);
  const double u = x[1] - b * x[0] * x[0] + c * x[0] - r;
  return a * u * u + s * (1 - t) * std::cos(x[0]) + s;
}

template <size_t D, size_t M>
double hartmann(std::span<const double> x, const double (&A)[4][M], const double (&P)[4][M]) {
  static constexpr double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  double sum = 0.0;
  for (size_t i = 0; i < 4; ++i) {
    double inner = 0.0;
    for (size_t j = 0; j < D; ++j) {
      const double d = x[j] - P[i][j];
      inner += A[i][j] * d * d;
    }
    sum += alpha[i] * std::exp(-inner);
  }
  return -sum;
}

double hartmann3(std::span<const double> x) {
  static constexpr double A[4][3] = {{3.0, 10, 30}, {0.1, 10, 35}, {3.0, 10, 30}, {0.1, 10, 35}};
  static constexpr double P[4][3] = {{0.3689, 0.1170, 0.2673},
                                     {0.4699, 0.4387, 0.7470},
                                     {0.1091, 0.8732, 0.5547},
                                     {0.0381, 0.5743, 0.8828}};
  return hartmann<3>(x, A, P);
}

double hartmann6(std::span<const double> x) {
  static constexpr double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                     {0.05, 10, 17, 0.1, 8, 14},
                                     {3, 3.5, 1.7, 10, 17, 8},
                                     {17, 8, 0.05, 10, 0.1, 14}};
  static constexpr double P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                                     {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                                     {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                                     {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
  return hartmann<6>(x, A, P);
}

double rosenbrock(std::span<const double> x) {
  double sum = 0.0;
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    const double a = x[i + 1] - x[i] * x[i];
    const double b = 1.0 - x[i];
    sum += 100.0 * a * a + b * b;
  }
  return sum;
}

double ackley(std::span<const double> x) {
  const double n = static_cast<double>(x.size());
  double sq = 0.0, cs = 0.0;
  for (double v : x) {
    sq += v * v;
    cs += std::cos(2.0 * pi * v);
  }
  return -20.0 * std::exp(-0.2 * std::sqrt(sq / n)) - std::exp(cs / n) + 20.0 + std::numbers::e;
}

double levy(std::span<const double> x) {
  const size_t d = x.size();
  auto w = [&](size_t i) { return 1.0 + (x[i] - 1.0) / 4.0; };
  const double w0 = w(0), wd = w(d - 1);
  double sum = std::pow(std::sin(pi * w0), 2);
  for (size_t i = 0; i + 1 < d; ++i) {
    const double wi = w(i);
    sum += (wi - 1) * (wi - 1) * (1 + 10 * std::pow(std::sin(pi * wi + 1), 2));
  }
  sum += (wd - 1) * (wd - 1) * (1 + std::pow(std::sin(2 * pi * wd), 2));
  return sum;
}

double styblinski_tang(std::span<const double> x) {
  double sum = 0.0;
  for (double v : x) sum += v * v * v * v - 16.0 * v * v + 5.0 * v;
  return sum / 2.0;
}

const std::vector<TestFunction>& registry() {
  static const std::vector<TestFunction> fns = [] {
    std::vector<TestFunction> v;
    v.push_back({"branin", 2, {-5, 15}, std::vector<std::pair<double, double>>{{-5, 10}, {0, 15}},
                 0.397887357729739, false, 10.0, &branin});
    v.push_back({"hartmann3", 3, {0, 1}, std::nullopt, -3.86278214782076, false, 1.0, &hartmann3});
    v.push_back({"hartmann6", 6, {0, 1}, std::nullopt, -3.32236801141551, false, 1.0, &hartmann6});
    v.push_back({"rosenbrock", 0, {-5, 10}, std::nullopt, 0.0, false, 100.0, &rosenbrock});
    v.push_back({"ackley", 0, {-32.768, 32.768}, std::nullopt, 0.0, false, 5.0, &ackley});
    v.push_back({"levy", 0, {-10, 10}, std::nullopt, 0.0, false, 5.0, &levy});
    v.push_back({"styblinski_tang", 0, {-5, 5}, std::nullopt, -39.16616570377142, true, 20.0,
                 &styblinski_tang});
    return v;
  }();
  return fns;
}

}  // namespace

const TestFunction* find_test_function(std::string_view name) noexcept {
  for (const auto& f : registry()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string> test_function_names() {
  std::vector<std::string> names;
  for (const auto& f : registry()) names.push_back(f.name);
  return names;
}

double multi_fidelity_value(const TestFunction& fn, std::span<const double> x, int64_t step) {
  // The bias is positive (curves approach f(x) from above, as losses do) and depends on x through
  // the normalised coordinates, so low-fidelity rankings differ somewhat from the final ones.
  double phase = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const auto [lo, hi] = fn.domain(i);
    const double u = hi > lo ? (x[i] - lo) / (hi - lo) : 0.0;
    phase += 1.7 * static_cast<double>(i + 1) * u;
  }
  const double bias = fn.fidelity_scale * (0.75 + 0.5 * std::sin(phase));
  const double t = static_cast<double>(step < 1 ? 1 : step);
  return fn.f(x) + bias / std::sqrt(t);
}

}  // namespace hypertune::search
