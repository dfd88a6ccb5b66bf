#include "search/space.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include "base/error.h"

namespace hypertune::search {

namespace {

std::string format_double(double v) {
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// Relative tolerance for "step divides the range" and snapping to a step grid.
constexpr double kStepTolerance = 1e-9;

bool is_integral(double v) { return std::isfinite(v) && std::floor(v) == v; }

}  // namespace

std::string to_string(const Choice& c) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          return format_double(v);
        } else {
          return v;
        }
      },
      c);
}

bool operator==(const Choice& a, const Choice& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& va) {
        using T = std::decay_t<decltype(va)>;
        return va == std::get<T>(b);
      },
      a);
}

const char* to_string(ParamKind k) noexcept {
  switch (k) {
    case ParamKind::kFloat: return "float";
    case ParamKind::kInt: return "int";
    case ParamKind::kCategorical: return "categorical";
  }
  return "?";
}

Distribution Distribution::Float(double low, double high, bool log, std::optional<double> step) {
  Distribution d;
  d.kind = ParamKind::kFloat;
  d.low = low;
  d.high = high;
  d.log = log;
  d.step = step;
  return d;
}

Distribution Distribution::Int(int64_t low, int64_t high, bool log, int64_t step) {
  Distribution d;
  d.kind = ParamKind::kInt;
  d.low = static_cast<double>(low);
  d.high = static_cast<double>(high);
  d.log = log;
  d.step = static_cast<double>(step);
  return d;
}

Distribution Distribution::Categorical(std::vector<Choice> choices) {
  Distribution d;
  d.kind = ParamKind::kCategorical;
  d.low = 0;
  d.high = choices.empty() ? 0 : static_cast<double>(choices.size() - 1);
  d.choices = std::move(choices);
  return d;
}

std::optional<int64_t> Distribution::cardinality() const {
  switch (kind) {
    case ParamKind::kCategorical: return static_cast<int64_t>(choices.size());
    case ParamKind::kInt: {
      const double s = step.value_or(1.0);
      return static_cast<int64_t>(std::floor((high - low) / s + kStepTolerance)) + 1;
    }
    case ParamKind::kFloat:
      if (!step) return std::nullopt;
      return static_cast<int64_t>(std::floor((high - low) / *step + kStepTolerance)) + 1;
  }
  return std::nullopt;
}

double Distribution::value_at(int64_t i) const {
  if (kind == ParamKind::kCategorical) return static_cast<double>(i);
  const double s = step.value_or(1.0);
  return std::min(high, low + static_cast<double>(i) * s);
}

bool Distribution::contains(double v) const {
  if (!std::isfinite(v)) return false;
  switch (kind) {
    case ParamKind::kCategorical:
      return is_integral(v) && v >= 0 && v < static_cast<double>(choices.size());
    case ParamKind::kInt: {
      if (!is_integral(v) || v < low || v > high) return false;
      const double s = step.value_or(1.0);
      return std::fmod(v - low, s) == 0.0;
    }
    case ParamKind::kFloat: {
      if (v < low || v > high) return false;
      if (!step) return true;
      const double k = (v - low) / *step;
      return std::abs(k - std::round(k)) <= kStepTolerance * std::max(1.0, std::abs(k));
    }
  }
  return false;
}

double Distribution::clip(double v) const {
  if (std::isnan(v)) v = low;
  v = std::clamp(v, low, high);
  switch (kind) {
    case ParamKind::kCategorical: return std::round(v);
    case ParamKind::kInt: {
      const double s = step.value_or(1.0);
      const double k = std::round((v - low) / s);
      return std::min(low + k * s, low + std::floor((high - low) / s) * s);
    }
    case ParamKind::kFloat: {
      if (!step) return v;
      const double k = std::round((v - low) / *step);
      return std::min(high, low + k * *step);
    }
  }
  return v;
}

void SearchSpace::add(ParamSpec spec) {
  by_name_.emplace(spec.name, params_.size());
  params_.push_back(std::move(spec));
  order_.clear();
  groups_.clear();
  parent_.clear();
}

std::optional<size_t> SearchSpace::index_of(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<SpaceIssue> SearchSpace::validate() const {
  std::vector<SpaceIssue> issues;
  auto issue = [&](const std::string& path, std::string msg) {
    issues.push_back({path, std::move(msg)});
  };
  std::unordered_map<std::string, int> seen;
  for (const auto& p : params_) {
    if (++seen[p.name] == 2) issue(p.name, "parameter defined twice");
  }
  if (params_.empty()) issue("", "the search space has no parameters");

  for (const auto& p : params_) {
    const auto& d = p.dist;
    const std::string& n = p.name;
    if (n.empty()) issue(n, "parameter name is empty");
    if (d.kind == ParamKind::kCategorical) {
      if (d.choices.empty()) issue(n + ".values", "a categorical parameter needs at least one value");
      // One hash lookup per value (200,000 values validate in well under a second): the key is
      // the value's type and exact value, equal exactly when operator== says so (0.0 == -0.0;
      // a NaN equals nothing and gets no key).
      std::unordered_map<std::string, size_t> first_at;
      first_at.reserve(d.choices.size());
      for (size_t i = 0; i < d.choices.size(); ++i) {
        const Choice& c = d.choices[i];
        std::string key(1, static_cast<char>('0' + c.index()));
        if (const double* v = std::get_if<double>(&c)) {
          if (std::isnan(*v)) continue;
          char buf[40];
          std::snprintf(buf, sizeof buf, "%a", *v == 0.0 ? 0.0 : *v);
          key += buf;
        } else {
          key += to_string(c);
        }
        const auto [it, inserted] = first_at.emplace(std::move(key), i);
        if (!inserted) {
          issue(n + ".values", "value '" + to_string(c) + "' appears twice (positions " +
                                   std::to_string(it->second + 1) + " and " + std::to_string(i + 1) + ")");
        }
      }
    } else {
      if (!std::isfinite(d.low)) issue(n + ".low", "low must be a finite number");
      if (!std::isfinite(d.high)) issue(n + ".high", "high must be a finite number");
      if (d.kind == ParamKind::kInt) {
        if (!is_integral(d.low)) issue(n + ".low", "an int parameter needs an integer low, got " + format_double(d.low));
        if (!is_integral(d.high)) issue(n + ".high", "an int parameter needs an integer high, got " + format_double(d.high));
      }
      if (!(d.low < d.high)) {
        issue(n + ".low", "low (" + format_double(d.low) + ") must be less than high (" +
                              format_double(d.high) + ")");
      } else if (std::isfinite(d.low) && std::isfinite(d.high) && !std::isfinite(d.high - d.low)) {
        // The samplers draw low + (high - low) * u: a width that overflows gives high or inf.
        issue(n + ".high", "the range from " + format_double(d.low) + " to " + format_double(d.high) +
                               " is wider than a double can hold (high - low overflows)");
      }
      if (d.log && !(d.low > 0)) {
        issue(n + ".low", "log: true needs low > 0, got " + format_double(d.low));
      }
      if (d.step) {
        const double s = *d.step;
        if (!(s > 0) || !std::isfinite(s)) {
          issue(n + ".step", "step must be a positive number, got " + format_double(s));
        } else if (d.kind == ParamKind::kInt && !is_integral(s)) {
          issue(n + ".step", "an int parameter needs an integer step, got " + format_double(s));
        } else if (d.low < d.high) {
          const double k = (d.high - d.low) / s;
          if (std::abs(k - std::round(k)) > kStepTolerance * std::max(1.0, k)) {
            issue(n + ".step", "step " + format_double(s) + " does not divide the range [" +
                                   format_double(d.low) + ", " + format_double(d.high) + "]");
          }
          if (d.log && !(d.kind == ParamKind::kInt && s == 1.0)) {
            issue(n + ".step", "step cannot be combined with log: true");
          }
        }
      }
    }
    if (p.when) {
      const auto parent = index_of(p.when->parent);
      if (!parent) {
        issue(n + ".when", "unknown parent parameter '" + p.when->parent + "'");
      } else if (params_[*parent].dist.kind != ParamKind::kCategorical) {
        issue(n + ".when", "parent '" + p.when->parent + "' must be a categorical parameter, it is " +
                               to_string(params_[*parent].dist.kind));
      } else if (*parent == index_of(n).value_or(~size_t{0})) {
        issue(n + ".when", "a parameter cannot depend on itself");
      } else {
        const auto& choices = params_[*parent].dist.choices;
        if (p.when->values.empty()) issue(n + ".when", "the condition lists no values");
        for (int64_t v : p.when->values) {
          if (v < 0 || v >= static_cast<int64_t>(choices.size())) {
            issue(n + ".when", "condition value index " + std::to_string(v) + " is not a value of '" +
                                   p.when->parent + "'");
          }
        }
      }
    }
  }

  // Cycles: follow parent links; a chain longer than the number of parameters loops.
  for (size_t i = 0; i < params_.size(); ++i) {
    size_t cur = i;
    size_t hops = 0;
    while (params_[cur].when && hops <= params_.size()) {
      const auto parent = index_of(params_[cur].when->parent);
      if (!parent) break;
      cur = *parent;
      ++hops;
    }
    if (hops > params_.size()) {
      issue(params_[i].name + ".when", "conditions form a cycle through '" + params_[i].name + "'");
    }
  }
  return issues;
}

void SearchSpace::finalize() {
  const auto issues = validate();
  if (!issues.empty()) {
    std::string msg = "invalid search space:";
    for (const auto& is : issues) msg += "\n  space." + is.path + ": " + is.message;
    throw ConfigError("space", msg);
  }
  const size_t n = params_.size();
  parent_.assign(n, std::nullopt);
  for (size_t i = 0; i < n; ++i) {
    if (params_[i].when) parent_[i] = *index_of(params_[i].when->parent);
  }
  // Depth-first topological order, keeping declaration order among siblings.
  order_.clear();
  std::vector<int> depth(n, -1);
  std::function<int(size_t)> depth_of = [&](size_t i) -> int {
    if (depth[i] >= 0) return depth[i];
    depth[i] = parent_[i] ? depth_of(*parent_[i]) + 1 : 0;
    return depth[i];
  };
  for (size_t i = 0; i < n; ++i) depth_of(i);
  order_.resize(n);
  for (size_t i = 0; i < n; ++i) order_[i] = i;
  std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) { return depth[a] < depth[b]; });

  // Groups: parameters with the same chain of conditions are always active together.
  auto chain_key = [&](size_t i) {
    std::string key;
    for (std::optional<size_t> cur = i; params_[*cur].when; cur = parent_[*cur]) {
      std::vector<int64_t> vals = params_[*cur].when->values;
      std::sort(vals.begin(), vals.end());
      key += params_[*cur].when->parent + "=";
      for (auto v : vals) key += std::to_string(v) + ",";
      key += ";";
    }
    return key;
  };
  groups_.clear();
  std::vector<std::string> keys;
  groups_.emplace_back();  // group 0: unconditional
  keys.emplace_back();
  for (size_t i : order_) {
    const std::string key = chain_key(i);
    auto it = std::find(keys.begin(), keys.end(), key);
    if (it == keys.end()) {
      keys.push_back(key);
      groups_.push_back({i});
    } else {
      groups_[static_cast<size_t>(it - keys.begin())].push_back(i);
    }
  }
}

bool SearchSpace::is_active(size_t i, const Params& p) const {
  const auto& spec = params_[i];
  if (!spec.when) return true;
  const size_t parent = parent_.empty() ? *index_of(spec.when->parent) : *parent_[i];
  if (parent >= p.size() || !p[parent]) return false;
  const auto v = static_cast<int64_t>(*p[parent]);
  if (std::find(spec.when->values.begin(), spec.when->values.end(), v) == spec.when->values.end()) {
    return false;
  }
  return is_active(parent, p);
}

bool SearchSpace::is_valid(const Params& p) const {
  if (p.size() != params_.size()) return false;
  for (size_t i = 0; i < params_.size(); ++i) {
    const bool active = is_active(i, p);
    if (active != p[i].has_value()) return false;
    if (active && !params_[i].dist.contains(*p[i])) return false;
  }
  return true;
}

Choice SearchSpace::external(size_t i, double internal) const {
  const auto& d = params_[i].dist;
  switch (d.kind) {
    case ParamKind::kCategorical: return d.choices.at(static_cast<size_t>(internal));
    case ParamKind::kInt: return static_cast<int64_t>(std::llround(internal));
    case ParamKind::kFloat: return internal;
  }
  return internal;
}

std::optional<double> SearchSpace::internal(size_t i, const Choice& external) const {
  const auto& d = params_[i].dist;
  if (d.kind == ParamKind::kCategorical) {
    for (size_t k = 0; k < d.choices.size(); ++k) {
      if (d.choices[k] == external) return static_cast<double>(k);
    }
    // Numbers written as 1 vs 1.0 still match.
    const double* ext_d = std::get_if<double>(&external);
    const int64_t* ext_i = std::get_if<int64_t>(&external);
    for (size_t k = 0; k < d.choices.size(); ++k) {
      if (ext_d && std::holds_alternative<int64_t>(d.choices[k]) &&
          static_cast<double>(std::get<int64_t>(d.choices[k])) == *ext_d) {
        return static_cast<double>(k);
      }
      if (ext_i && std::holds_alternative<double>(d.choices[k]) &&
          std::get<double>(d.choices[k]) == static_cast<double>(*ext_i)) {
        return static_cast<double>(k);
      }
    }
    return std::nullopt;
  }
  double v;
  if (const auto* pi = std::get_if<int64_t>(&external)) {
    v = static_cast<double>(*pi);
  } else if (const auto* pd = std::get_if<double>(&external)) {
    v = *pd;
  } else {
    return std::nullopt;
  }
  if (!d.contains(v)) return std::nullopt;
  return v;
}

std::string SearchSpace::signature() const {
  std::ostringstream out;
  for (const auto& p : params_) {
    const auto& d = p.dist;
    out << p.name << ':' << to_string(d.kind);
    if (d.kind == ParamKind::kCategorical) {
      out << '[';
      for (const auto& c : d.choices) out << c.index() << '=' << to_string(c) << ',';
      out << ']';
    } else {
      out << '[' << format_double(d.low) << ',' << format_double(d.high) << ']';
      if (d.log) out << "log";
      if (d.step) out << "step=" << format_double(*d.step);
    }
    if (p.when) {
      out << " when " << p.when->parent << " in {";
      for (auto v : p.when->values) out << v << ',';
      out << '}';
    }
    out << ';';
  }
  return out.str();
}

}  // namespace hypertune::search
