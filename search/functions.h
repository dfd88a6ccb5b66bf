#pragma once
// Analytic test objectives for tests, examples and benchmarks (trial kind `function: NAME`).
// Pure math, no I/O. Each takes x1..xd; fixed-dimension functions check d.
//
// Multi-fidelity variant: value(x, step) converges to f(x) as step grows, with a bias that
// shrinks like 1/sqrt(step) and depends on x (so low-fidelity rankings are informative but not
// exact, as with real learning curves). value(x, step) == f(x) + bias(x) / sqrt(step).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hypertune::search {

struct TestFunction {
  std::string name;
  int dim = 0;                        // 0: any dimension >= 2 (rosenbrock, ackley, ...)
  std::pair<double, double> bounds;   // default domain of every coordinate
  std::optional<std::vector<std::pair<double, double>>> per_dim_bounds;  // when coordinates differ
  double optimum = 0.0;               // global minimum value (per coordinate if optimum_per_dim)
  bool optimum_per_dim = false;       // styblinski_tang: the minimum scales with the dimension
  double fidelity_scale = 1.0;        // size of the low-fidelity bias (multi_fidelity_value)
  double (*f)(std::span<const double> x) = nullptr;

  [[nodiscard]] double optimum_for(size_t d) const {
    return optimum_per_dim ? optimum * static_cast<double>(d) : optimum;
  }
  [[nodiscard]] std::pair<double, double> domain(size_t i) const {
    return per_dim_bounds ? (*per_dim_bounds)[i] : bounds;
  }
};

// The function with this name, or nullptr.
[[nodiscard]] const TestFunction* find_test_function(std::string_view name) noexcept;
[[nodiscard]] std::vector<std::string> test_function_names();

// f(x) + bias(x)/sqrt(step); step >= 1.
[[nodiscard]] double multi_fidelity_value(const TestFunction& fn, std::span<const double> x,
                                          int64_t step);

}  // namespace hypertune::search
