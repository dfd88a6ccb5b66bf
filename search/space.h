#pragma once
// Search spaces: typed parameter distributions and their activation conditions.
//
// A SearchSpace is built from a config file (scheduler/config) or in code, then validated once.
// Every parameter value inside the search layer uses the *internal representation*, a double:
//   float       -> the value itself (not log-transformed; samplers transform as they need),
//   int         -> the integer value as a double,
//   categorical -> the index of the choice in `choices`.
// A trial's parameters are a Params vector aligned with SearchSpace::params(); an inactive
// conditional parameter is std::nullopt (absent from the trial), never a dummy value.
//
// Not here: parsing (scheduler/config), I/O of any kind.
// Thread-safety: a SearchSpace is immutable after finalize(); share it freely across threads.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace hypertune::search {

// A categorical choice as the user wrote it.
using Choice = std::variant<bool, int64_t, double, std::string>;

[[nodiscard]] std::string to_string(const Choice& c);
[[nodiscard]] bool operator==(const Choice& a, const Choice& b);

enum class ParamKind { kFloat, kInt, kCategorical };
[[nodiscard]] const char* to_string(ParamKind k) noexcept;

struct Distribution {
  ParamKind kind = ParamKind::kFloat;
  double low = 0.0;                 // float/int: inclusive lower bound
  double high = 1.0;                // float/int: inclusive upper bound
  bool log = false;                 // float/int: sample uniformly in log space
  std::optional<double> step;       // float: grid step; int: step (default 1)
  std::vector<Choice> choices;      // categorical only

  [[nodiscard]] static Distribution Float(double low, double high, bool log = false,
                                          std::optional<double> step = std::nullopt);
  [[nodiscard]] static Distribution Int(int64_t low, int64_t high, bool log = false, int64_t step = 1);
  [[nodiscard]] static Distribution Categorical(std::vector<Choice> choices);

  // Number of distinct values when finite (int, stepped float, categorical); nullopt for continuous.
  [[nodiscard]] std::optional<int64_t> cardinality() const;
  // True when an internal value is a legal value of this distribution.
  [[nodiscard]] bool contains(double internal) const;
  // Snaps an internal value to the nearest legal value (clamps, rounds to step / integer / index).
  [[nodiscard]] double clip(double internal) const;
  // The i-th value of a finite distribution, 0 <= i < cardinality().
  [[nodiscard]] double value_at(int64_t i) const;
};

// Active only when `parent` (a categorical) takes one of `values` (choice indices).
struct Condition {
  std::string parent;
  std::vector<int64_t> values;
};

struct ParamSpec {
  std::string name;
  Distribution dist;
  std::optional<Condition> when;
};

using Params = std::vector<std::optional<double>>;

// One problem found by SearchSpace::validate(): a key path below the space ("lr.low") and a message.
struct SpaceIssue {
  std::string path;
  std::string message;
};

class SearchSpace {
 public:
  SearchSpace() = default;

  // Adds a parameter; order of addition is kept for display, evaluation order is topological.
  void add(ParamSpec spec);

  // Checks every rule (low < high, log needs low > 0, step divides the range, unique choices,
  // `when` names an existing categorical parent with valid values, no cycles) and returns every
  // problem found. Empty means valid; finalize() then orders parameters parents-first.
  [[nodiscard]] std::vector<SpaceIssue> validate() const;
  // Validates, throws ConfigError("space", ...) listing all issues if any, then freezes the order.
  void finalize();

  [[nodiscard]] const std::vector<ParamSpec>& params() const noexcept { return params_; }
  [[nodiscard]] size_t size() const noexcept { return params_.size(); }
  [[nodiscard]] std::optional<size_t> index_of(const std::string& name) const;
  // Parameter indices, parents before children.
  [[nodiscard]] const std::vector<size_t>& topological_order() const noexcept { return order_; }
  // Index of the parent of parameter i, if conditional.
  [[nodiscard]] std::optional<size_t> parent_of(size_t i) const { return parent_[i]; }

  // Whether parameter i is active given the (possibly partial) assignment: its parent is set and
  // takes one of the condition's values, recursively.
  [[nodiscard]] bool is_active(size_t i, const Params& p) const;

  // Checks a complete assignment: active parameters present and legal, inactive ones absent.
  [[nodiscard]] bool is_valid(const Params& p) const;

  // Groups of parameters that are always active together (same chain of conditions), in
  // topological order of their conditions. Unconditional parameters form group 0 (possibly empty).
  [[nodiscard]] const std::vector<std::vector<size_t>>& groups() const noexcept { return groups_; }

  // User-facing value of parameter i for an internal value.
  [[nodiscard]] Choice external(size_t i, double internal) const;
  // Internal value from a user-facing one; nullopt if not a legal value.
  [[nodiscard]] std::optional<double> internal(size_t i, const Choice& external) const;

  // Stable text that identifies the space (names, kinds, bounds, choices, conditions).
  [[nodiscard]] std::string signature() const;

 private:
  std::vector<ParamSpec> params_;
  std::unordered_map<std::string, size_t> by_name_;
  std::vector<size_t> order_;
  std::vector<std::optional<size_t>> parent_;
  std::vector<std::vector<size_t>> groups_;
};

}  // namespace hypertune::search
