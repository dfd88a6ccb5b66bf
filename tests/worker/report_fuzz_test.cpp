// A seeded fuzzer for parse_report_line(), the parser of a command trial's "@hypertune {JSON}"
// lines: JSON generated from a grammar (with its expected verdict known), mutations of it, and
// raw bytes. Every input gives exactly one of a refusal or a report; what is accepted holds the
// finite objective, a step >= 1 when it has one, valid UTF-8 and at most kMaxPayloadDepth
// levels; and every generated report that is well formed is accepted unchanged.
//
// HYPERTUNE_FUZZ_INPUTS sets the number of inputs (default 60000, run in CI);
// docs/benchmarks.md records a run of 1,000,000 under AddressSanitizer with the command.

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "base/rng.h"
#include "base/text.h"
#include "worker/command_runner.h"

using hypertune::worker::parse_report_line;
using hypertune::worker::ReportLine;
using nlohmann::json;

namespace {

size_t fuzz_inputs() {
  if (const char* n = std::getenv("HYPERTUNE_FUZZ_INPUTS")) return std::strtoull(n, nullptr, 10);
  return 60000;
}

// JSON text together with what the parser must make of it.
struct Case {
  std::string text;
  bool valid = true;  // well formed, no key twice, depth within the limit, metric finite, step ok
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  uint64_t below(uint64_t n) { return rng_.below(n); }
  bool chance(double p) { return rng_.uniform() < p; }

  // A top-level report: an object with the metric (mostly), a step (often) and extra keys.
  Case report() {
    Case c;
    c.text = "{";
    bool first = true;
    std::set<std::string> keys;
    auto key = [&](const std::string& k) {
      if (!first) c.text += ",";
      first = false;
      c.text += json(k).dump() + ":";
      if (!keys.insert(k).second) c.valid = false;
    };
    if (chance(0.9)) {
      key("value");
      const double v = number();
      if (!std::isfinite(v)) {
        c.text += chance(0.5) ? "1e999" : "\"NaN\"";
        c.valid = false;
      } else {
        c.text += json(v).dump();
      }
    } else {
      c.valid = false;  // no metric
    }
    if (chance(0.7)) {
      key("step");
      switch (below(6)) {
        case 0: c.text += "0"; c.valid = false; break;
        case 1: c.text += "-3"; c.valid = false; break;
        case 2: c.text += "2.5"; c.valid = false; break;
        case 3: c.text += "\"4\""; c.valid = false; break;
        case 4: c.text += "7.0"; break;  // an integral float is a step
        default: c.text += std::to_string(1 + below(1000)); break;
      }
    }
    const int extra = static_cast<int>(below(5));
    for (int i = 0; i < extra; ++i) {
      // Now and then a key given twice (only of a key already present: a new "step" would need a
      // valid value to keep the expectation exact).
      std::string k = chance(0.1) ? std::string(chance(0.5) ? "value" : "step") : name();
      if (!keys.count(k) && (k == "value" || k == "step")) k = name();
      key(k);
      const int budget = chance(0.05) ? static_cast<int>(55 + below(15)) : static_cast<int>(below(4));
      int depth = 1;
      c.text += value(budget, depth, c.valid);
      if (depth > hypertune::kMaxPayloadDepth) c.valid = false;
    }
    c.text += "}";
    return c;
  }

  std::string mutate(std::string s) {
    const int edits = 1 + static_cast<int>(below(3));
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = below(s.size());
      switch (below(5)) {
        case 0: s[at] = static_cast<char>(s[at] ^ (1 << below(8))); break;
        case 1: {
          static constexpr std::array<char, 12> kChars = {'{', '}', '[', ']', '"', '\\', ',', ':',
                                                          '\0', '\n', '\x80', '\xff'};
          s[at] = kChars[below(kChars.size())];
          break;
        }
        case 2: s.resize(at); break;
        case 3: s.insert(at, 1, static_cast<char>(below(256))); break;
        default: s.insert(below(s.size()), s.substr(at, 1 + below(std::min<size_t>(12, s.size() - at))));
      }
    }
    return s;
  }

  std::string bytes() {
    std::string s(below(64), '\0');
    for (auto& c : s) c = static_cast<char>(below(256));
    return s;
  }

 private:
  double number() {
    static constexpr std::array<double, 7> kValues = {0.0, -0.0, 1e-308, 1.7e308, 0.1, -42.0, 3.0};
    if (chance(0.05)) return std::nan("");
    return chance(0.5) ? kValues[below(kValues.size())] : (rng_.uniform() - 0.5) * 1e4;
  }

  std::string name() {
    static const std::array<std::string, 8> kNames = {"loss", "acc", "lr", "a", "", "é", "\xF0\x9F\x98\x80", "x y"};
    return kNames[below(kNames.size())] + (chance(0.5) ? std::to_string(below(5)) : "");
  }

  // A JSON value as text; `depth` is the nesting reached so far (updated to the maximum).
  std::string value(int budget, int& depth, bool& valid, int here = 1) {
    const uint64_t kind = below(budget > 0 ? 10 : 7);
    switch (kind) {
      case 0: return "null";
      case 1: return chance(0.5) ? "true" : "false";
      case 2: return std::to_string(static_cast<int64_t>(below(1u << 20)) - (1 << 19));
      case 3: return "18446744073709551615";
      case 4: {
        const double v = number();
        if (!std::isfinite(v)) return "0.5";
        return json(v).dump();
      }
      case 5: return json(name()).dump();
      case 6: {
        // Escapes the lexer must decode, and a lone surrogate it must refuse.
        if (chance(0.2)) {
          valid = false;
          return "\"\\ud800\"";
        }
        return "\"tab\\t\\u00e9\\\"q\\\\\"";
      }
      case 7:
      case 8: {
        depth = std::max(depth, here + 1);
        std::string s = "[";
        const int n = budget > 4 ? 1 : static_cast<int>(below(4));
        for (int i = 0; i < n; ++i) s += (i ? "," : "") + value(budget - 1, depth, valid, here + 1);
        return s + "]";
      }
      default: {
        depth = std::max(depth, here + 1);
        std::string s = "{";
        const int n = budget > 4 ? 1 : static_cast<int>(below(3));
        std::set<std::string> keys;
        for (int i = 0; i < n; ++i) {
          const std::string k = name();
          if (!keys.insert(k).second) valid = false;
          s += (i ? "," : "") + json(k).dump() + ":" + value(budget - 1, depth, valid, here + 1);
        }
        return s + "}";
      }
    }
  }

  hypertune::Rng rng_;
};

}  // namespace

TEST_CASE("fuzz: report lines are refused or accepted whole, never half-read", "[worker][fuzz]") {
  const size_t n = fuzz_inputs();
  Generator gen(0xfeed'0bad);
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < n; ++i) {
    std::string text;
    std::optional<bool> expect_valid;
    switch (i % 3) {
      case 0: {
        Case c = gen.report();
        text = std::move(c.text);
        expect_valid = c.valid;
        break;
      }
      case 1: text = gen.mutate(gen.report().text); break;
      default: text = gen.chance(0.5) ? gen.bytes() : gen.mutate(gen.bytes()); break;
    }
    const ReportLine r = parse_report_line(text, "value");
    if (r.error) {
      if (r.error->empty()) FAIL("a refusal without a reason, input " << i);
      if (!r.object.is_null() || r.step) FAIL("a refusal that also carries a report, input " << i);
      if (expect_valid && *expect_valid) FAIL("a well-formed report was refused (" << *r.error << "): " << text);
      ++seen[expect_valid ? "generated-refused" : "mutated-refused"];
      continue;
    }
    if (expect_valid && !*expect_valid) FAIL("a report that must be refused was accepted: " << text);
    if (!r.object.is_object()) FAIL("accepted a non-object, input " << i);
    const auto m = r.object.find("value");
    if (m == r.object.end() || !m->is_number() || !std::isfinite(m->get<double>()))
      FAIL("accepted without a finite metric, input " << i);
    if (r.step && *r.step < 1) FAIL("accepted step " << *r.step << ", input " << i);
    if (r.object.contains("step") != r.step.has_value()) FAIL("step and object disagree, input " << i);
    if (hypertune::json_depth(r.object) > hypertune::kMaxPayloadDepth) FAIL("accepted past the depth limit, input " << i);
    try {
      (void)r.object.dump();
    } catch (const std::exception& e) {
      FAIL("accepted text that is not UTF-8 (" << e.what() << "), input " << i);
    }
    if (expect_valid && r.object != json::parse(text)) FAIL("accepted, but not what was sent: " << text);
    ++seen[expect_valid ? "generated-accepted" : (r.step ? "mutated-step" : "mutated-final")];
  }
  std::string summary;
  for (const auto& [k, c] : seen) summary += k + "=" + std::to_string(c) + " ";
  INFO(summary);
  // Both verdicts are reached from both kinds of input.
  CHECK(seen["generated-accepted"] > n / 20);
  CHECK(seen["generated-refused"] > n / 20);
  CHECK(seen["mutated-refused"] > 0);
  CHECK(seen["mutated-step"] + seen["mutated-final"] > 0);
  std::printf("%zu inputs: %s\n", n, summary.c_str());  // one line, for scripts/fuzz.sh
}
