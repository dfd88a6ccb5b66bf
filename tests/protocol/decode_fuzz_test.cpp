// A seeded, structure-aware fuzzer for protocol::decode(): envelopes built field by field with
// random values, mutations of valid frames of every message, and raw bytes. Every input must give
// exactly one of a message or a classified error, never an exception or a crash; a message that
// decodes must re-encode to a frame that decodes to the same bytes again (no state the codec
// cannot carry), hold only valid UTF-8 and stay within the nesting limit.
// (That a runner's deepest accepted report always decodes is protocol_test's.)
//
// HYPERTUNE_FUZZ_INPUTS sets the number of inputs (default 60000, run in CI);
// docs/benchmarks.md records a run of 1,000,000 under AddressSanitizer with the command.

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "base/rng.h"
#include "base/text.h"
#include "protocol/protocol.h"

using namespace hypertune::protocol;
using nlohmann::json;

namespace {

size_t fuzz_inputs() {
  if (const char* n = std::getenv("HYPERTUNE_FUZZ_INPUTS")) return std::strtoull(n, nullptr, 10);
  return 60000;
}

// The field names of every body, so generated maps hit the decoder's field checks.
const std::vector<std::string> kFieldNames = {
    "name",       "instance",   "slots",       "prefetch", "devices",   "running",  "number",
    "last_step",  "worker_id",  "sweep",       "heartbeat_ms", "lease_ms", "keep",   "revoke",
    "gpus_per_trial", "reason", "seed",        "params",   "max_steps", "pause_at", "start_step",
    "checkpoint", "checkpoint_dir", "bracket", "rung",     "attempt",   "trial",    "metric",
    "work_dir",   "threads",    "step",        "metrics",  "verdict",   "next_pause", "outcome",
    "error",      "accepted",   "reconnect"};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  uint64_t below(uint64_t n) { return rng_.below(n); }
  bool chance(double p) { return rng_.uniform() < p; }

  // A string: mostly field-like ASCII, sometimes arbitrary bytes (invalid UTF-8 included).
  std::string text() {
    if (chance(0.5)) return kFieldNames[below(kFieldNames.size())];
    std::string s(below(12), '\0');
    for (auto& c : s) c = static_cast<char>(chance(0.7) ? 'a' + below(26) : below(256));
    return s;
  }

  // Packs one random msgpack value of at most `depth` more levels.
  void value(msgpack::packer<msgpack::sbuffer>& pk, int depth) {
    const uint64_t kind = below(depth > 0 ? 14 : 10);
    switch (kind) {
      case 0: pk.pack_nil(); break;
      case 1: chance(0.5) ? pk.pack_true() : pk.pack_false(); break;
      case 2: pk.pack_int64(static_cast<int64_t>(below(200)) - 100); break;
      case 3: pk.pack_uint64(interesting_uint()); break;
      case 4: pk.pack_int64(-static_cast<int64_t>(interesting_uint() >> 1) - 1); break;
      case 5: pk.pack_double(interesting_double()); break;
      case 6: pk.pack_float(static_cast<float>(interesting_double())); break;
      case 7: {
        const std::string s = text();
        pk.pack_str(static_cast<uint32_t>(s.size()));
        pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
        break;
      }
      case 8: {
        const std::string s = text();
        pk.pack_bin(static_cast<uint32_t>(s.size()));
        pk.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
        break;
      }
      case 9: pk.pack_int64(static_cast<int64_t>(below(4))); break;  // a valid enum code, often
      case 10:
      case 11: {
        const uint32_t n = static_cast<uint32_t>(below(5));
        pk.pack_array(n);
        for (uint32_t i = 0; i < n; ++i) value(pk, depth - 1);
        break;
      }
      default: {
        const uint32_t n = static_cast<uint32_t>(below(5));
        pk.pack_map(n);
        for (uint32_t i = 0; i < n; ++i) {
          const std::string k = text();
          pk.pack_str(static_cast<uint32_t>(k.size()));
          pk.pack_str_body(k.data(), static_cast<uint32_t>(k.size()));
          value(pk, depth - 1);
        }
      }
    }
  }

  // A value of the type field `k` has (in every message that has it), with edge values.
  void typed(msgpack::packer<msgpack::sbuffer>& pk, const std::string& k) {
    static const std::set<std::string> kStrings = {"name",   "instance",   "worker_id", "sweep",
                                                   "reason", "checkpoint", "checkpoint_dir",
                                                   "metric", "work_dir",   "error"};
    static const std::set<std::string> kJson = {"params", "trial", "metrics"};
    if (kStrings.count(k)) {
      const std::string s = text();
      pk.pack_str(static_cast<uint32_t>(s.size()));
      pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
    } else if (kJson.count(k)) {
      if (chance(0.05)) {
        deep(pk, static_cast<int>(55 + below(15)));
        return;
      }
      const uint32_t n = static_cast<uint32_t>(below(4));
      pk.pack_map(n);
      for (uint32_t i = 0; i < n; ++i) {
        const std::string key = text();
        pk.pack_str(static_cast<uint32_t>(key.size()));
        pk.pack_str_body(key.data(), static_cast<uint32_t>(key.size()));
        value(pk, 3);
      }
    } else if (k == "accepted" || k == "reconnect") {
      chance(0.5) ? pk.pack_true() : pk.pack_false();
    } else if (k == "devices") {
      const uint32_t n = static_cast<uint32_t>(below(3));
      pk.pack_array(n);
      for (uint32_t i = 0; i < n; ++i) {
        const std::string s = text();
        pk.pack_str(static_cast<uint32_t>(s.size()));
        pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
      }
    } else if (k == "running") {
      const uint32_t n = static_cast<uint32_t>(below(3));
      pk.pack_array(n);
      for (uint32_t i = 0; i < n; ++i) {
        pk.pack_array(2);
        pk.pack_int64(static_cast<int64_t>(below(100)));
        pk.pack_int64(static_cast<int64_t>(below(100)));
      }
    } else if (k == "keep" || k == "revoke") {
      const uint32_t n = static_cast<uint32_t>(below(3));
      pk.pack_array(n);
      for (uint32_t i = 0; i < n; ++i) pk.pack_int64(static_cast<int64_t>(below(100)));
    } else if ((k == "max_steps" || k == "pause_at" || k == "next_pause") && chance(0.3)) {
      pk.pack_nil();
    } else if (k == "verdict" || k == "outcome") {
      pk.pack_uint8(static_cast<uint8_t>(below(5)));  // 3 and 4 are out of range for some
    } else if (chance(0.9)) {
      pk.pack_int64(static_cast<int64_t>(below(64)));
    } else {
      pk.pack_uint64(interesting_uint());
    }
  }

  // A nesting chain `levels` deep ending in a scalar: probes the depth limit from both sides.
  void deep(msgpack::packer<msgpack::sbuffer>& pk, int levels) {
    for (int i = 0; i < levels; ++i) {
      if (i % 2) {
        pk.pack_array(1);
      } else {
        pk.pack_map(1);
        pk.pack_str(1);
        pk.pack_str_body("k", 1);
      }
    }
    pk.pack_int64(1);
  }

  // An envelope built field by field: mostly right magic and version, a known command, a body
  // whose keys are real field names with random values.
  std::string envelope() {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    const bool whole = chance(0.9);
    pk.pack_array(whole ? 4 : static_cast<uint32_t>(below(6)));
    const std::string magic = chance(0.95) ? std::string(kMagic) : text();
    pk.pack_str(static_cast<uint32_t>(magic.size()));
    pk.pack_str_body(magic.data(), static_cast<uint32_t>(magic.size()));
    pk.pack_uint32(chance(0.95) ? kVersion : static_cast<uint32_t>(below(4)));
    pk.pack_uint8(static_cast<uint8_t>(chance(0.95) ? 1 + below(10) : below(256)));
    if (chance(0.5)) {
      // Every field name with a value of its type, now and then a random one or none: unknown
      // keys are ignored, so such a body decodes as any command and probes the value checks.
      std::vector<std::string> names;
      for (const auto& k : kFieldNames)
        if (!chance(0.03)) names.push_back(k);
      pk.pack_map(static_cast<uint32_t>(names.size()));
      for (const auto& k : names) {
        pk.pack_str(static_cast<uint32_t>(k.size()));
        pk.pack_str_body(k.data(), static_cast<uint32_t>(k.size()));
        if (chance(0.05)) {
          value(pk, 2);
        } else {
          typed(pk, k);
        }
      }
    } else {
      const uint32_t fields = static_cast<uint32_t>(below(10));
      pk.pack_map(fields);
      for (uint32_t i = 0; i < fields; ++i) {
        const std::string k = kFieldNames[below(kFieldNames.size())];
        pk.pack_str(static_cast<uint32_t>(k.size()));
        pk.pack_str_body(k.data(), static_cast<uint32_t>(k.size()));
        if (chance(0.03)) {
          deep(pk, static_cast<int>(55 + below(15)));
        } else {
          value(pk, static_cast<int>(below(4)));
        }
      }
    }
    return std::string(buf.data(), buf.size());
  }

  // A mutation of `frame`: bit flips, interesting bytes, truncation, insertion, duplication.
  std::string mutate(std::string frame) {
    const int edits = 1 + static_cast<int>(below(4));
    for (int e = 0; e < edits && !frame.empty(); ++e) {
      const size_t at = below(frame.size());
      switch (below(6)) {
        case 0: frame[at] = static_cast<char>(frame[at] ^ (1 << below(8))); break;
        case 1: {
          static constexpr std::array<uint8_t, 10> kBytes = {0x00, 0x7f, 0x80, 0xc0, 0xc1,
                                                            0xc3, 0xdc, 0xde, 0xdf, 0xff};
          frame[at] = static_cast<char>(kBytes[below(kBytes.size())]);
          break;
        }
        case 2: frame.resize(at); break;
        case 3: frame.insert(at, 1, static_cast<char>(below(256))); break;
        case 4: frame.erase(at, 1 + below(4)); break;
        default: {
          const size_t len = 1 + below(std::min<size_t>(16, frame.size() - at));
          frame.insert(below(frame.size()), frame.substr(at, len));
        }
      }
    }
    return frame;
  }

  std::string bytes() {
    std::string s(below(48), '\0');
    for (auto& c : s) c = static_cast<char>(below(256));
    return s;
  }

 private:
  uint64_t interesting_uint() {
    static constexpr std::array<uint64_t, 10> kValues = {
        0, 1, 127, 128, 255, 65535, 1ull << 31, 1ull << 32, 1ull << 53, std::numeric_limits<uint64_t>::max()};
    return chance(0.5) ? kValues[below(kValues.size())] : rng_.below(std::numeric_limits<uint64_t>::max());
  }
  double interesting_double() {
    static constexpr std::array<double, 9> kValues = {
        0.0, -0.0, 1e-300, 1e300, std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(), 2.5, 9e15};
    return chance(0.5) ? kValues[below(kValues.size())] : (rng_.uniform() - 0.5) * 1e6;
  }

  hypertune::Rng rng_;
};

// Valid frames of every message, the mutation seeds.
std::vector<std::string> seed_frames() {
  Hello h;
  h.name = "node-1";
  h.instance = "abcd";
  h.slots = 2;
  h.prefetch = 1;
  h.devices = {"cpu", "cuda:0"};
  h.running = {{3, 2}};
  Welcome w;
  w.worker_id = "node-1";
  w.sweep = "s";
  w.keep = {3};
  w.revoke = {4};
  w.gpus_per_trial = 1;
  Assign a;
  a.spec.number = 7;
  a.spec.seed = 99;
  a.spec.params = {{"lr", 0.01}, {"layers", 3}, {"act", "relu"}};
  a.spec.max_steps = 27;
  a.spec.pause_at = 9;
  a.spec.start_step = 3;
  a.spec.checkpoint = "/tmp/c";
  a.spec.checkpoint_dir = "/tmp/c";
  a.spec.trial = {{"command", {"python3", "train.py", "{lr}"}}, {"env", {{"A", "1"}}}};
  Report r;
  r.report = {7, 4, {{"value", 0.5}, {"step", 4}, {"extra", {1, 2, {{"a", nullptr}}}}}};
  Answer ans{7, 4, {hypertune::Decision::kPause, 9}};
  Result res{7, hypertune::Outcome::paused("/tmp/c", 9)};
  Result failed{8, hypertune::Outcome::failed("boom", 2)};
  Result done{9, hypertune::Outcome::complete({{"value", 1.0}}, 27)};
  return {encode(h),   encode(w),      encode(Refuse{"no"}), encode(a),
          encode(r),   encode(ans),    encode(res),          encode(failed),
          encode(done), encode(ResultAck{7, false}), encode(Heartbeat{}),
          encode(Disconnect{"bye", true})};
}

// The JSON payloads a decoded message carries.
std::vector<const json*> payloads(const Message& m) {
  if (const auto* a = std::get_if<Assign>(&m)) return {&a->spec.params, &a->spec.trial};
  if (const auto* r = std::get_if<Report>(&m)) return {&r->report.metrics};
  if (const auto* r = std::get_if<Result>(&m)) return {&r->outcome.metrics};
  return {};
}

std::vector<const std::string*> strings(const Message& m) {
  if (const auto* h = std::get_if<Hello>(&m)) {
    std::vector<const std::string*> out = {&h->name, &h->instance};
    for (const auto& d : h->devices) out.push_back(&d);
    return out;
  }
  if (const auto* w = std::get_if<Welcome>(&m)) return {&w->worker_id, &w->sweep};
  if (const auto* r = std::get_if<Refuse>(&m)) return {&r->reason};
  if (const auto* a = std::get_if<Assign>(&m)) return {&a->spec.checkpoint_dir, &a->spec.metric, &a->spec.work_dir};
  if (const auto* r = std::get_if<Result>(&m)) return {&r->outcome.error};
  if (const auto* d = std::get_if<Disconnect>(&m)) return {&d->reason};
  return {};
}

}  // namespace

TEST_CASE("fuzz: decode() classifies every input and what it accepts round-trips", "[protocol][fuzz]") {
  const size_t n = fuzz_inputs();
  Generator gen(0x5eed'f022);
  const auto seeds = seed_frames();
  std::map<std::string, size_t> seen;  // outcome class -> count
  for (size_t i = 0; i < n; ++i) {
    std::string frame;
    switch (i % 4) {
      case 0: frame = gen.envelope(); break;
      case 1: frame = gen.mutate(gen.envelope()); break;
      case 2: frame = gen.mutate(seeds[gen.below(seeds.size())]); break;
      default: frame = gen.chance(0.5) ? gen.bytes() : gen.mutate(gen.bytes()); break;
    }
    const Decoded d = decode(frame);
    if (d.ok() == d.error.has_value()) FAIL("neither or both of message and error, input " << i);
    if (!d.ok()) {
      if (d.error->detail.empty()) FAIL("an error without a detail, input " << i);
      if (hypertune::first_invalid_utf8(d.error->detail) != std::string::npos)
        FAIL("an error detail that is not UTF-8, input " << i);
      ++seen[std::string("error:") + to_string(d.error->kind)];
      continue;
    }
    const Message& m = *d.message;
    ++seen[std::string("ok:") + to_string(command_of(m))];
    for (const std::string* s : strings(m))
      if (hypertune::first_invalid_utf8(*s) != std::string::npos) FAIL("a decoded string is not UTF-8, input " << i);
    for (const json* p : payloads(m)) {
      // The envelope and the body are two of the kMaxDepth levels.
      if (hypertune::json_depth(*p) > kMaxDepth - 2) FAIL("a payload past the depth limit, input " << i);
      try {
        (void)p->dump();  // throws on invalid UTF-8 anywhere inside
      } catch (const std::exception& e) {
        FAIL("a decoded payload cannot be dumped (" << e.what() << "), input " << i);
      }
    }
    // What was accepted is exactly what the codec can carry: encode -> decode -> encode is stable.
    const std::string again = encode(m);
    const Decoded d2 = decode(again);
    if (!d2.ok()) FAIL("a decoded message does not decode after re-encoding, input " << i << ": " << d2.error->detail);
    if (encode(*d2.message) != again) FAIL("re-encoding is not stable, input " << i);
  }
  // The generator reaches every error class and every message kind (else it fuzzes nothing).
  std::string summary;
  for (const auto& [k, c] : seen) summary += k + "=" + std::to_string(c) + " ";
  INFO(summary);
  for (int k = 0; k < kDecodeErrorKinds; ++k) {
    const auto kind = static_cast<DecodeErrorKind>(k);
    if (kind == DecodeErrorKind::kOversized) continue;  // needs a 16 MiB frame: protocol_test
    CHECK(seen[std::string("error:") + to_string(kind)] > 0);
  }
  for (int c = 1; c <= 10; ++c) CHECK(seen[std::string("ok:") + to_string(static_cast<Command>(c))] > 0);
  std::printf("%zu inputs: %s\n", n, summary.c_str());  // one line, for scripts/fuzz.sh
}
