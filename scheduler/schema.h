#pragma once
// Declarative config schemas: one table of fields drives validation, normalization and the docs.
//
// A Field describes one key: its type, default, bounds or allowed values, the variants of its
// section it applies to, a description and an example. check() walks a YAML node against a Field:
//   * it reports EVERY problem, not only the first: unknown keys (with the closest valid key when
//     one is close), wrong types ("expected an integer, got 'abc'"), values out of bounds, values
//     not in an enum, missing required keys, keys that do not apply to the chosen variant
//     (`shuffle` under a tpe sampler), keys given twice, several mutually exclusive keys;
//   * it records the 1-based line/column of every node of the document under its key path;
//   * it returns the value normalized to JSON: defaults filled in, durations in milliseconds,
//     integers as integers, categorical choices with their YAML type (bool, int, float, string).
//     A value with a problem is left out, so callers can go on checking the rest.
// to_markdown() prints the reference documentation of a schema from the same table.
//
// Key paths: keys joined by '.', sequence items as [i] (0-based): `space.lr.low`,
// `trial.command[2]`, `trial.pipeline.model.layers[0].units`.
//
// Not here: rules that tie several fields together (low < high, exactly one trial kind's
// meaning, a function's dimension): scheduler/config.cpp checks those on the normalized value.
// Thread-safety: Fields are plain immutable data once built; check() touches only its Context.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace YAML {
class Node;
}

namespace hypertune::scheduler::schema {

// Normalized values keep the order of the keys as written (the search space's order matters).
using Json = nlohmann::ordered_json;

enum class Type {
  kString,        // a scalar, kept as its text
  kPath,          // a file path (a string; resolved by the caller)
  kInt,           // an integer (decimal or 0x hex)
  kNumber,        // an integer or a decimal number, finite; integers stay integers in the JSON
  kBool,          // true or false
  kDuration,      // seconds as a number, or "90s", "10m", "1h30m", "250ms", "1.5h", "2d"
  kEnum,          // one of `choices`
  kStringList,    // a list of strings
  kScalarList,    // a list of scalars, each keeping its YAML type (categorical values)
  kScalarOrList,  // one scalar or a list of scalars; normalized to a list
  kStringMap,     // a map from free keys to scalars, normalized to strings (environment variables)
  kMapOf,         // a map from free keys to values described by fields[0] (the search space)
  kSection,       // a map whose keys are `fields`
  kAny,           // any YAML, converted verbatim to JSON (sections validated elsewhere)
};

struct Location {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

struct Issue {
  std::string path;  // key path, "" for the whole document
  Location at;
  std::string message;
};

using Default = std::variant<std::monostate, bool, int64_t, double, std::string>;

struct Field {
  std::string key;
  Type type = Type::kString;
  std::string description;
  Default default_value;      // used when the key is absent or null; monostate: none
  std::string default_note;   // the default as documented when it is computed elsewhere
  bool required = false;
  // Bounds of numbers and integers (inclusive unless *_exclusive), of durations in seconds.
  std::optional<double> min;
  std::optional<double> max;
  bool min_exclusive = false;
  size_t min_items = 0;               // lists: fewest items
  std::vector<std::string> choices;   // kEnum
  std::vector<std::string> variants;  // applies only to these variants of its section; empty: all
  std::vector<Field> fields;          // kSection: its keys; kMapOf: fields[0] describes each value
  std::string example;                // YAML shown in the reference
  // Names other tools use for this key (Optuna's `choices`, W&B's `min`): an unknown key spelt
  // like one of them is answered with this key as the suggestion. Never accepted as valid.
  std::vector<std::string> aliases;

  // kSection only: how the section picks its variant.
  std::string variant_key;            // the enum key that names the variant ("type")
  bool variant_by_presence = false;   // the variant is the one key present among those with
                                      // `selects_variant` (exactly one must be present)
  bool selects_variant = false;       // (on a field) its presence picks the variant named `key`
  std::string shorthand_key;          // a bare scalar means {shorthand_key: scalar}
  std::string sequence_shorthand_key; // a bare sequence means {sequence_shorthand_key: sequence}
  // When variant_key is absent: the first of these keys present picks its variant.
  std::vector<std::pair<std::string, std::string>> infer_variant;

  // Builders, so schema tables read as declarations.
  [[nodiscard]] static Field make(std::string key, Type type, std::string description);
  [[nodiscard]] static Field section(std::string key, std::string description,
                                     std::vector<Field> fields);
  [[nodiscard]] Field with_default(Default value) const;
  [[nodiscard]] Field with_default_note(std::string note) const;
  [[nodiscard]] Field is_required() const;
  [[nodiscard]] Field at_least(double low) const;
  [[nodiscard]] Field above(double low) const;
  [[nodiscard]] Field at_most(double high) const;
  [[nodiscard]] Field with_min_items(size_t n) const;
  [[nodiscard]] Field one_of(std::vector<std::string> allowed) const;
  [[nodiscard]] Field only_for(std::vector<std::string> variant_names) const;
  [[nodiscard]] Field with_example(std::string yaml) const;
  [[nodiscard]] Field known_elsewhere_as(std::vector<std::string> names) const;

  // The fields of a section that apply to `variant` ("" : fields without variants only).
  [[nodiscard]] bool applies_to(const std::string& variant) const;
  [[nodiscard]] const Field* find(std::string_view key, const std::string& variant) const;
};

// Collects the problems and locations of one document.
struct Context {
  std::vector<Issue> issues;
  std::map<std::string, Location> locations;  // key path -> where its value starts

  void add(std::string path, Location at, std::string message);
  [[nodiscard]] Location locate(const std::string& path) const;
};

// The location of `path`, or of its nearest enclosing key that has one ({} when none has).
[[nodiscard]] Location locate(const std::map<std::string, Location>& locations,
                              const std::string& path);

// Validates `node` (found under `path`, whose key sits at `key_at`) against `field`.
// Appends problems to ctx.issues, records locations, returns the normalized value (nullopt when
// the node cannot be used at all; a section with bad keys still returns its good ones).
[[nodiscard]] std::optional<Json> check(const YAML::Node& node, const Field& field,
                                        const std::string& path, Location key_at, Context& ctx);

// Joins a key path: child_path("space", "lr") == "space.lr"; child_path("", "seed") == "seed".
[[nodiscard]] std::string child_path(const std::string& parent, std::string_view key);
[[nodiscard]] std::string item_path(const std::string& parent, size_t index);

// Reference documentation: one markdown table per section, in schema order.
[[nodiscard]] std::string to_markdown(const Field& root);

// Every key path of a schema as shown in the docs (map entries as <name>): "space.<name>.low".
[[nodiscard]] std::vector<std::string> key_paths(const Field& root);

// Scalar syntax shared by the checks (YAML 1.2 core schema).
[[nodiscard]] std::optional<int64_t> parse_int(std::string_view text);
[[nodiscard]] std::optional<double> parse_number(std::string_view text);  // finite only
[[nodiscard]] std::optional<bool> parse_bool(std::string_view text);
// "90" / "1.5" (seconds), "90s", "10m", "1h30m", "250ms", "2d"; units in decreasing order, each at
// most once; negative or malformed text gives nullopt.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

// Unrestricted Damerau-Levenshtein distance (insertions, deletions, substitutions, transpositions).
[[nodiscard]] size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `word` (case-insensitive), if it is close enough to be a likely typo.
[[nodiscard]] std::optional<std::string> closest(std::string_view word,
                                                 const std::vector<std::string>& candidates);

}  // namespace hypertune::scheduler::schema
