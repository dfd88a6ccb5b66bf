#include "scheduler/schema.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace hypertune::scheduler::schema {

// ---------------------------------------------------------------------------------------------
// Field builders

Field Field::make(std::string key, Type type, std::string description) {
  Field f;
  f.key = std::move(key);
  f.type = type;
  f.description = std::move(description);
  return f;
}

Field Field::section(std::string key, std::string description, std::vector<Field> fields) {
  Field f = make(std::move(key), Type::kSection, std::move(description));
  f.fields = std::move(fields);
  return f;
}

Field Field::with_default(Default value) const {
  Field f = *this;
  f.default_value = std::move(value);
  return f;
}

Field Field::with_default_note(std::string note) const {
  Field f = *this;
  f.default_note = std::move(note);
  return f;
}

Field Field::is_required() const {
  Field f = *this;
  f.required = true;
  return f;
}

Field Field::at_least(double low) const {
  Field f = *this;
  f.min = low;
  f.min_exclusive = false;
  return f;
}

Field Field::above(double low) const {
  Field f = *this;
  f.min = low;
  f.min_exclusive = true;
  return f;
}

Field Field::at_most(double high) const {
  Field f = *this;
  f.max = high;
  return f;
}

Field Field::with_min_items(size_t n) const {
  Field f = *this;
  f.min_items = n;
  return f;
}

Field Field::one_of(std::vector<std::string> allowed) const {
  Field f = *this;
  f.choices = std::move(allowed);
  return f;
}

Field Field::only_for(std::vector<std::string> variant_names) const {
  Field f = *this;
  f.variants = std::move(variant_names);
  return f;
}

Field Field::with_example(std::string yaml) const {
  Field f = *this;
  f.example = std::move(yaml);
  return f;
}

Field Field::known_elsewhere_as(std::vector<std::string> names) const {
  Field f = *this;
  f.aliases = std::move(names);
  return f;
}

bool Field::applies_to(const std::string& variant) const {
  if (variants.empty()) return true;
  return std::find(variants.begin(), variants.end(), variant) != variants.end();
}

const Field* Field::find(std::string_view k, const std::string& variant) const {
  for (const auto& f : fields) {
    if (f.key == k && f.applies_to(variant)) return &f;
  }
  return nullptr;
}

void Context::add(std::string path, Location at, std::string message) {
  issues.push_back({std::move(path), at, std::move(message)});
}

Location Context::locate(const std::string& path) const { return schema::locate(locations, path); }

Location locate(const std::map<std::string, Location>& locations, const std::string& path) {
  std::string p = path;
  while (true) {
    auto it = locations.find(p);
    if (it != locations.end()) return it->second;
    if (p.empty()) return {};
    // Strip the last component: ".key" or "[i]".
    const size_t cut = p.find_last_of(".[");
    p = cut == std::string::npos ? std::string() : p.substr(0, cut);
  }
}

std::string child_path(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string p = parent;
  p += '.';
  p += key;
  return p;
}

std::string item_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

// ---------------------------------------------------------------------------------------------
// Scalars

std::optional<int64_t> parse_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && s[1] == 'o') {
    base = 8;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  uint64_t magnitude = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(INT64_MAX);
  if (negative) {
    if (magnitude > kMaxPositive + 1) return std::nullopt;
    return magnitude == kMaxPositive + 1 ? INT64_MIN : -static_cast<int64_t>(magnitude);
  }
  if (magnitude > kMaxPositive) return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

std::optional<double> parse_number(std::string_view s) {
  if (auto i = parse_int(s)) return static_cast<double>(*i);
  // [-+]? ( digits [. digits?] | . digits ) ([eE] [-+]? digits)?  -- checked by hand so that
  // from_chars' extras (inf, nan, hex floats) are not accepted.
  std::string_view body = s;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) body.remove_prefix(1);
  size_t i = 0;
  size_t digits = 0;
  while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != body.size()) return std::nullopt;
  double v = 0;
  const auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec != std::errc() || ptr != body.data() + body.size() || !std::isfinite(v)) return std::nullopt;
  return s.front() == '-' ? -v : v;
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  if (text.empty()) return std::nullopt;
  constexpr double kLimitMs = 1e15;  // ~31,000 years: anything larger is a typo
  if (auto seconds = parse_number(text)) {
    if (*seconds < 0 || *seconds * 1000.0 > kLimitMs) return std::nullopt;
    return std::chrono::milliseconds(std::llround(*seconds * 1000.0));
  }
  struct Unit {
    std::string_view name;
    double ms;
  };
  // Largest first: a duration lists its units in this order, each once ("1h30m", not "30m1h").
  static constexpr std::array<Unit, 5> kUnits = {
      Unit{"d", 86'400'000.0}, Unit{"h", 3'600'000.0}, Unit{"m", 60'000.0}, Unit{"s", 1'000.0},
      Unit{"ms", 1.0}};
  double total = 0;
  size_t next_unit = 0;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t num_start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    const auto number = parse_number(text.substr(num_start, i - num_start));
    const size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (!number || unit.empty()) return std::nullopt;
    size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].name != unit) ++u;
    if (u == kUnits.size()) return std::nullopt;
    total += *number * kUnits[u].ms;
    next_unit = u + 1;
    while (i < text.size() && text[i] == ' ') ++i;
  }
  if (total > kLimitMs) return std::nullopt;
  return std::chrono::milliseconds(std::llround(total));
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const std::array<std::pair<const char*, int64_t>, 5> units = {
      {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};
  for (const auto& [name, size] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Suggestions

size_t edit_distance(std::string_view a, std::string_view b) {
  // Lowrance-Wagner: the unrestricted Damerau-Levenshtein distance.
  const size_t m = a.size();
  const size_t n = b.size();
  const size_t max_dist = m + n;
  std::vector<std::vector<size_t>> d(m + 2, std::vector<size_t>(n + 2, 0));
  d[0][0] = max_dist;
  for (size_t i = 0; i <= m; ++i) {
    d[i + 1][0] = max_dist;
    d[i + 1][1] = i;
  }
  for (size_t j = 0; j <= n; ++j) {
    d[0][j + 1] = max_dist;
    d[1][j + 1] = j;
  }
  std::array<size_t, 256> last_row{};  // last row where each character was seen in `a`
  for (size_t i = 1; i <= m; ++i) {
    size_t last_match_col = 0;
    for (size_t j = 1; j <= n; ++j) {
      const size_t k = last_row[static_cast<unsigned char>(b[j - 1])];
      const size_t l = last_match_col;
      size_t cost = 1;
      if (a[i - 1] == b[j - 1]) {
        cost = 0;
        last_match_col = j;
      }
      d[i + 1][j + 1] = std::min({d[i][j] + cost, d[i + 1][j] + 1, d[i][j + 1] + 1,
                                  d[k][l] + (i - k - 1) + 1 + (j - l - 1)});
    }
    last_row[static_cast<unsigned char>(a[i - 1])] = i;
  }
  return d[m + 1][n + 1];
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string w = lower(word);
  std::optional<std::string> best;
  size_t best_distance = SIZE_MAX;
  for (const auto& candidate : candidates) {
    const size_t dist = edit_distance(w, lower(candidate));
    // A third of the longer word (1 to 3 edits) reads as a typo; more is another word.
    const size_t longest = std::max(w.size(), candidate.size());
    const size_t allowed = std::clamp<size_t>(longest / 3, 1, 3);
    if (dist > allowed || dist >= std::min(w.size(), candidate.size())) continue;
    if (dist < best_distance) {
      best_distance = dist;
      best = candidate;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Checking

namespace {

Location location_of(const YAML::Node& n, Location fallback) {
  const YAML::Mark m = n.Mark();
  if (m.is_null() || m.line < 0) return fallback;
  return {m.line + 1, m.column + 1};
}

bool is_quoted(const YAML::Node& n) { return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str"; }

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  std::string s = n.Scalar();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return "'" + s + "'";
}

std::string join(const std::vector<std::string>& items, std::string_view sep,
                 std::string_view quote = "") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += quote;
    out += items[i];
    out += quote;
  }
  return out;
}

std::string format_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// "an integer >= 1", "a number in [0, 100]", "a duration > 0s": used by errors and docs alike.
std::string bounds_text(const Field& f) {
  auto show = [&](double v) {
    if (f.type == Type::kDuration) {
      return format_duration(std::chrono::milliseconds(std::llround(v * 1000.0)));
    }
    return format_number(v);
  };
  if (f.min && f.max) {
    return std::string(" in ") + (f.min_exclusive ? "(" : "[") + show(*f.min) + ", " + show(*f.max) +
           "]";
  }
  if (f.min) return std::string(f.min_exclusive ? " > " : " >= ") + show(*f.min);
  if (f.max) return " <= " + show(*f.max);
  return "";
}

std::string expected_text(const Field& f) {
  switch (f.type) {
    case Type::kString: return "a string";
    case Type::kPath: return "a file path";
    case Type::kInt: return "an integer" + bounds_text(f);
    case Type::kNumber: return "a number" + bounds_text(f);
    case Type::kBool: return "true or false";
    case Type::kDuration:
      return "a duration (seconds, or like \"90s\", \"10m\", \"1h30m\")" + bounds_text(f);
    case Type::kEnum: return "one of " + join(f.choices, ", ");
    case Type::kStringList: return "a list of strings";
    case Type::kScalarList: return "a list of values";
    case Type::kScalarOrList: return "a value or a list of values";
    case Type::kStringMap: return "a map of names to strings";
    case Type::kMapOf: return "a map of names to entries";
    case Type::kSection: {
      std::string s = "a map";
      if (!f.shorthand_key.empty()) s += " or a " + f.shorthand_key + " name";
      if (!f.sequence_shorthand_key.empty()) s += " or a list of " + f.sequence_shorthand_key;
      return s;
    }
    case Type::kAny: return "a value";
  }
  return "a value";
}

bool in_bounds(const Field& f, double v) {
  if (f.min && (f.min_exclusive ? !(v > *f.min) : !(v >= *f.min))) return false;
  if (f.max && !(v <= *f.max)) return false;
  return true;
}

// A scalar as YAML's core schema types it; quoted scalars stay strings.
Json typed_scalar(const YAML::Node& n) {
  if (n.IsNull()) return nullptr;
  const std::string& s = n.Scalar();
  if (is_quoted(n)) return s;
  if (auto b = parse_bool(s)) return *b;
  if (auto i = parse_int(s)) return *i;
  if (auto d = parse_number(s)) return *d;
  return s;
}

Json default_json(const Field& f) {
  return std::visit(
      [](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else {
          return v;
        }
      },
      f.default_value);
}

struct Entry {
  std::string key;
  Location key_at;
  YAML::Node value;
};

// The entries of a map node, with non-scalar and repeated keys reported and dropped.
std::vector<Entry> map_entries(const YAML::Node& node, const std::string& path, Location at,
                               Context& ctx) {
  std::vector<Entry> entries;
  std::map<std::string, Location> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node k = it->first;  // copies: the iterator's pair is a temporary
    const Location key_at = location_of(k, at);
    if (!k.IsScalar()) {
      ctx.add(path, key_at, "keys must be names, got " + describe(k));
      continue;
    }
    const std::string& key = k.Scalar();
    auto [pos, inserted] = seen.emplace(key, key_at);
    if (!inserted) {
      ctx.add(child_path(path, key), key_at,
              "key `" + key + "` is given twice (first at line " + std::to_string(pos->second.line) +
                  ")");
      continue;
    }
    entries.push_back({key, key_at, it->second});
  }
  return entries;
}

Json verbatim(const YAML::Node& node, const std::string& path, Location at, Context& ctx) {
  ctx.locations[path] = at;
  if (node.IsMap()) {
    Json out = Json::object();
    for (auto& e : map_entries(node, path, at, ctx)) {
      const std::string p = child_path(path, e.key);
      out[e.key] = verbatim(e.value, p, e.value.IsNull() ? e.key_at : location_of(e.value, e.key_at),
                            ctx);
    }
    return out;
  }
  if (node.IsSequence()) {
    Json out = Json::array();
    for (size_t i = 0; i < node.size(); ++i) {
      out.push_back(verbatim(node[i], item_path(path, i), location_of(node[i], at), ctx));
    }
    return out;
  }
  return typed_scalar(node);
}

std::optional<Json> check_scalar(const YAML::Node& node, const Field& f, const std::string& path,
                                 Location at, Context& ctx) {
  auto fail = [&](std::string extra = {}) -> std::optional<Json> {
    ctx.add(path, at, "expected " + expected_text(f) + ", got " + describe(node) + extra);
    return std::nullopt;
  };
  if (!node.IsScalar()) return fail();
  const std::string& s = node.Scalar();
  switch (f.type) {
    case Type::kString:
    case Type::kPath: return Json(s);
    case Type::kInt: {
      const auto v = parse_int(s);
      if (!v || !in_bounds(f, static_cast<double>(*v))) return fail();
      return Json(*v);
    }
    case Type::kNumber: {
      if (const auto i = parse_int(s)) {
        if (!in_bounds(f, static_cast<double>(*i))) return fail();
        return Json(*i);
      }
      const auto v = parse_number(s);
      if (!v || !in_bounds(f, *v)) return fail();
      return Json(*v);
    }
    case Type::kBool: {
      const auto v = parse_bool(s);
      if (!v) return fail();
      return Json(*v);
    }
    case Type::kDuration: {
      const auto v = parse_duration(s);
      if (!v || !in_bounds(f, static_cast<double>(v->count()) / 1000.0)) return fail();
      return Json(static_cast<int64_t>(v->count()));
    }
    case Type::kEnum: {
      if (std::find(f.choices.begin(), f.choices.end(), s) != f.choices.end()) return Json(s);
      const auto suggestion = closest(s, f.choices);
      return fail(suggestion ? "; did you mean `" + *suggestion + "`?" : "");
    }
    default: break;
  }
  return fail();
}

std::optional<Json> check_scalar_list(const YAML::Node& node, const Field& f,
                                      const std::string& path, Location at, Context& ctx) {
  if (!node.IsSequence()) {
    ctx.add(path, at, "expected " + expected_text(f) + ", got " + describe(node));
    return std::nullopt;
  }
  Json out = Json::array();
  bool ok = true;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string p = item_path(path, i);
    const Location item_at = location_of(item, at);
    ctx.locations[p] = item_at;
    if (!item.IsScalar()) {
      ctx.add(p, item_at,
              std::string("expected ") + (f.type == Type::kStringList ? "a string" : "a value") +
                  ", got " + describe(item));
      ok = false;
      continue;
    }
    out.push_back(f.type == Type::kStringList ? Json(item.Scalar()) : typed_scalar(item));
  }
  if (ok && node.size() < f.min_items) {
    ctx.add(path, at,
            "expected at least " + std::to_string(f.min_items) + " item" +
                (f.min_items == 1 ? "" : "s") + ", got " + std::to_string(node.size()));
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<Json> check_section(const YAML::Node& node, const Field& f, const std::string& path,
                                  Location at, Context& ctx) {
  std::vector<Entry> entries;
  if (node.IsScalar() && !f.shorthand_key.empty()) {
    entries.push_back({f.shorthand_key, at, node});
  } else if (node.IsSequence() && !f.sequence_shorthand_key.empty()) {
    entries.push_back({f.sequence_shorthand_key, at, node});
  } else if (node.IsMap()) {
    entries = map_entries(node, path, at, ctx);
  } else {
    ctx.add(path, at, "expected " + expected_text(f) + ", got " + describe(node));
    return std::nullopt;
  }
  auto entry_for = [&](std::string_view key) -> const Entry* {
    for (const auto& e : entries) {
      if (e.key == key && !e.value.IsNull()) return &e;
    }
    return nullptr;
  };

  Json out = Json::object();
  // The variant decides which keys apply. When it cannot be decided, every key of the section is
  // type-checked and none is reported as not applying (that would only repeat the first problem).
  std::string variant;
  bool variant_known = f.variant_key.empty() && !f.variant_by_presence;
  std::set<std::string> handled;
  std::string variant_kind_text;  // how docs and errors name the variant ("type `tpe`")
  if (!f.variant_key.empty()) {
    const Field* vf = f.find(f.variant_key, "");
    handled.insert(f.variant_key);
    if (const Entry* e = entry_for(f.variant_key)) {
      if (auto v = check(e->value, *vf, child_path(path, e->key), e->key_at, ctx)) {
        variant = v->get<std::string>();
        variant_known = true;
      }
    } else {
      for (const auto& [key, var] : f.infer_variant) {
        if (entry_for(key)) {
          variant = var;
          variant_known = true;
          break;
        }
      }
      if (!variant_known) {
        if (const auto* def = std::get_if<std::string>(&vf->default_value)) {
          variant = *def;
          variant_known = true;
        } else {
          ctx.add(child_path(path, f.variant_key), at,
                  "missing required key `" + f.variant_key + "` (" + expected_text(*vf) + ")");
        }
      }
    }
    if (variant_known) out[f.variant_key] = variant;
    variant_kind_text = f.variant_key + " `" + variant + "`";
  } else if (f.variant_by_presence) {
    std::vector<std::string> options;
    std::vector<const Entry*> present;
    for (const auto& field : f.fields) {
      if (!field.selects_variant) continue;
      options.push_back(field.key);
      if (const Entry* e = entry_for(field.key)) present.push_back(e);
    }
    if (present.empty()) {
      ctx.add(path, at, "expected exactly one of " + join(options, ", ", "`"));
    } else if (present.size() > 1) {
      for (size_t i = 1; i < present.size(); ++i) {
        ctx.add(child_path(path, present[i]->key), present[i]->key_at,
                "`" + present[i]->key + "` cannot be combined with `" + present[0]->key +
                    "`: give exactly one of " + join(options, ", ", "`"));
      }
    } else {
      variant = present[0]->key;
      variant_known = true;
    }
    variant_kind_text = "`" + variant + "`";
  }

  std::set<std::string> given;
  for (const auto& e : entries) {
    if (handled.count(e.key)) continue;
    const std::string p = child_path(path, e.key);
    const Field* field = nullptr;
    if (variant_known) {
      field = f.find(e.key, variant);
    } else {
      for (const auto& candidate : f.fields) {
        if (candidate.key == e.key) {
          field = &candidate;
          break;
        }
      }
    }
    if (!field) {
      std::vector<std::string> other_variants;
      for (const auto& candidate : f.fields) {
        if (candidate.key == e.key) {
          other_variants.insert(other_variants.end(), candidate.variants.begin(),
                                candidate.variants.end());
        }
      }
      if (!other_variants.empty()) {
        ctx.add(p, e.key_at,
                "key `" + e.key + "` does not apply to " + variant_kind_text + " (only to " +
                    join(other_variants, ", ") + ")");
      } else {
        // Without a known variant, every key of the section is a candidate.
        auto usable = [&](const Field& c) { return !variant_known || c.applies_to(variant); };
        std::vector<std::string> valid;
        for (const auto& candidate : f.fields) {
          if (usable(candidate) &&
              std::find(valid.begin(), valid.end(), candidate.key) == valid.end()) {
            valid.push_back(candidate.key);
          }
        }
        std::optional<std::string> suggestion;
        for (const auto& candidate : f.fields) {
          if (usable(candidate) &&
              std::find(candidate.aliases.begin(), candidate.aliases.end(), e.key) !=
                  candidate.aliases.end()) {
            suggestion = candidate.key;
            break;
          }
        }
        if (!suggestion) suggestion = closest(e.key, valid);
        ctx.add(p, e.key_at,
                "unknown key `" + e.key + "`" +
                    (suggestion ? "; did you mean `" + *suggestion + "`?"
                                : "; expected one of " + join(valid, ", ")));
      }
      continue;
    }
    given.insert(e.key);
    if (e.value.IsNull()) {
      // An explicit null means "not set": the default applies, or the key stays absent.
      ctx.locations[p] = e.key_at;
      if (field->required && !field->selects_variant) {
        ctx.add(p, e.key_at, "key `" + e.key + "` needs a value: " + expected_text(*field));
      }
      continue;
    }
    if (auto v = check(e.value, *field, p, e.key_at, ctx)) out[e.key] = std::move(*v);
  }

  if (variant_known) {
    for (const auto& field : f.fields) {
      if (!field.applies_to(variant) || handled.count(field.key) || out.contains(field.key)) continue;
      if (given.count(field.key)) continue;  // given but unusable: already reported
      if (field.required && !field.selects_variant) {
        ctx.add(child_path(path, field.key), at,
                "missing required key `" + field.key + "` (" + expected_text(field) + ")");
      } else if (!std::holds_alternative<std::monostate>(field.default_value)) {
        out[field.key] = default_json(field);
      }
    }
  }
  return out;
}

std::optional<Json> check_map_of(const YAML::Node& node, const Field& f, const std::string& path,
                                 Location at, Context& ctx) {
  if (!node.IsMap()) {
    ctx.add(path, at, "expected " + expected_text(f) + ", got " + describe(node));
    return std::nullopt;
  }
  Json out = Json::object();
  const auto entries = map_entries(node, path, at, ctx);
  for (const auto& e : entries) {
    const std::string p = child_path(path, e.key);
    if (f.type == Type::kStringMap) {
      const Location value_at = e.value.IsNull() ? e.key_at : location_of(e.value, e.key_at);
      ctx.locations[p] = value_at;
      if (!e.value.IsScalar()) {
        ctx.add(p, value_at, "expected a string, got " + describe(e.value));
        continue;
      }
      out[e.key] = e.value.Scalar();
    } else if (auto v = check(e.value, f.fields.at(0), p, e.key_at, ctx)) {
      out[e.key] = std::move(*v);
    }
  }
  if (entries.size() < f.min_items) {
    ctx.add(path, at,
            "expected at least " + std::to_string(f.min_items) + " entr" +
                (f.min_items == 1 ? "y" : "ies"));
  }
  return out;
}

}  // namespace

std::optional<Json> check(const YAML::Node& node, const Field& field, const std::string& path,
                          Location key_at, Context& ctx) {
  const Location at = node.IsNull() ? key_at : location_of(node, key_at);
  ctx.locations[path] = at;
  switch (field.type) {
    case Type::kSection: return check_section(node, field, path, at, ctx);
    case Type::kMapOf:
    case Type::kStringMap: return check_map_of(node, field, path, at, ctx);
    case Type::kStringList:
    case Type::kScalarList: return check_scalar_list(node, field, path, at, ctx);
    case Type::kScalarOrList:
      if (node.IsScalar()) {
        Json out = Json::array();
        out.push_back(typed_scalar(node));
        return out;
      }
      return check_scalar_list(node, field, path, at, ctx);
    case Type::kAny: return verbatim(node, path, at, ctx);
    default: return check_scalar(node, field, path, at, ctx);
  }
}

// ---------------------------------------------------------------------------------------------
// Documentation

namespace {

std::string default_text(const Field& f) {
  if (!f.default_note.empty()) return f.default_note;
  if (f.required) return "required";
  if (f.type == Type::kSection) return "see below";
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "unset";
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "`true`" : "`false`";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          if (f.type == Type::kDuration) {
            return "`" + format_duration(std::chrono::milliseconds(v)) + "`";
          }
          return "`" + std::to_string(v) + "`";
        } else if constexpr (std::is_same_v<T, double>) {
          return "`" + format_number(v) + "`";
        } else {
          return "`" + v + "`";
        }
      },
      f.default_value);
}

std::string type_doc(const Field& f, const std::string& path) {
  switch (f.type) {
    case Type::kString: return "string";
    case Type::kPath: return "path";
    case Type::kInt: return "integer" + bounds_text(f);
    case Type::kNumber: return "number" + bounds_text(f);
    case Type::kBool: return "boolean";
    case Type::kDuration: return "duration" + bounds_text(f);
    case Type::kEnum: return "one of " + join(f.choices, ", ", "`");
    case Type::kStringList:
      return "list of strings" +
             (f.min_items ? " (at least " + std::to_string(f.min_items) + ")" : std::string());
    case Type::kScalarList:
      return "list of values" +
             (f.min_items ? " (at least " + std::to_string(f.min_items) + ")" : std::string());
    case Type::kScalarOrList: return "value or list of values";
    case Type::kStringMap: return "map: name → string";
    case Type::kMapOf: {
      const Field& item = f.fields.at(0);
      if (item.type == Type::kSection) {
        return "map: name → `" + child_path(path, "<name>") + "` (below)";
      }
      return "map: name → " + type_doc(item, path);
    }
    case Type::kSection: {
      std::string s = "map (`" + path + "` below)";
      if (!f.shorthand_key.empty()) s += " or " + f.shorthand_key + " name";
      if (!f.sequence_shorthand_key.empty()) s += " or list of " + f.sequence_shorthand_key;
      return s;
    }
    case Type::kAny: return "map (any keys)";
  }
  return "";
}

void section_doc(const Field& f, const std::string& path, std::string& out) {
  if (!path.empty()) {
    out += "### `" + path + "`\n\n";
    out += f.description + "\n\n";
    if (!f.variant_key.empty()) {
      out += "The key `" + f.variant_key +
             "` picks the variant; a key marked *only for* some variants is an error under the "
             "others.\n\n";
    }
    if (f.variant_by_presence) {
      std::vector<std::string> options;
      for (const auto& field : f.fields) {
        if (field.selects_variant) options.push_back(field.key);
      }
      out += "Give exactly one of " + join(options, ", ", "`") +
             "; a key marked *only for* some of them is an error with the others.\n\n";
    }
  }
  out += "| Key | Type | Default | Description |\n";
  out += "|---|---|---|---|\n";
  for (const auto& field : f.fields) {
    const std::string p = child_path(path, field.key);
    std::string description;
    if (!field.variants.empty()) description += "*Only for " + join(field.variants, ", ") + ".* ";
    description += field.description;
    if (!field.example.empty()) description += " Example: `" + field.example + "`";
    out += "| `" + field.key + "` | " + type_doc(field, p) + " | " + default_text(field) + " | " +
           description + " |\n";
  }
  out += "\n";
  for (const auto& field : f.fields) {
    const std::string p = child_path(path, field.key);
    if (field.type == Type::kSection) {
      section_doc(field, p, out);
    } else if (field.type == Type::kMapOf && field.fields.at(0).type == Type::kSection) {
      section_doc(field.fields[0], child_path(p, "<name>"), out);
    }
  }
}

void collect_paths(const Field& f, const std::string& path, std::vector<std::string>& out) {
  for (const auto& field : f.fields) {
    const std::string p = child_path(path, field.key);
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    if (field.type == Type::kSection) {
      collect_paths(field, p, out);
    } else if (field.type == Type::kMapOf && field.fields.at(0).type == Type::kSection) {
      collect_paths(field.fields[0], child_path(p, "<name>"), out);
    }
  }
}

}  // namespace

std::string to_markdown(const Field& root) {
  std::string out;
  section_doc(root, "", out);
  return out;
}

std::vector<std::string> key_paths(const Field& root) {
  std::vector<std::string> out;
  collect_paths(root, "", out);
  return out;
}

}  // namespace hypertune::scheduler::schema
