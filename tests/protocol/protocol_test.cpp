#include "protocol/protocol.h"

#include <catch2/catch.hpp>

#include <array>
#include <limits>
#include <optional>
#include <vector>

#include <msgpack.hpp>
#include <string>

#include "base/rng.h"

using namespace hypertune::protocol;
using nlohmann::json;

namespace {

json nested_payload() {
  return json{{"lr", 0.0031622776601683794},
              {"layers", 3},
              {"negative", -17},
              {"big", std::numeric_limits<uint64_t>::max()},
              {"name", "relu \xE2\x9C\x93"},
              {"flag", true},
              {"nothing", nullptr},
              {"list", json::array({1, 2.5, "three", json::array({false}), json::object()})},
              {"deep", {{"a", {{"b", {{"c", 1e-300}}}}}}}};
}

template <class T>
T round_trip(const T& msg) {
  const std::string frame = encode(msg);
  const Decoded d = decode(frame);
  INFO((d.error ? d.error->detail : std::string()));
  REQUIRE(d.ok());
  REQUIRE(std::holds_alternative<T>(*d.message));
  return std::get<T>(*d.message);
}

std::string hello_frame() {
  Hello h;
  h.name = "gpu-node-3";
  h.instance = "a1b2c3d4";
  h.slots = 4;
  h.devices = {"cuda:0", "cuda:1"};
  h.running = {{12, 5}, {40, 0}};
  return encode(h);
}

}  // namespace

TEST_CASE("every message survives an encode/decode round trip", "[protocol]") {
  Hello h;
  h.name = "gpu-node-3";
  h.instance = "a1b2c3d4";
  h.slots = 4;
  h.prefetch = 2;
  h.devices = {"cuda:0", "cuda:1"};
  h.running = {{12, 5}, {40, 0}};
  CHECK(round_trip(h) == h);

  Welcome w;
  w.worker_id = "gpu-node-3/a1b2c3d4";
  w.sweep = "branin";
  w.heartbeat_ms = 250;
  w.lease_ms = 3000;
  w.keep = {12};
  w.revoke = {40};
  CHECK(round_trip(w) == w);

  CHECK(round_trip(Refuse{"protocol version 2 is not spoken here"}) == Refuse{"protocol version 2 is not spoken here"});

  Assign a;
  a.spec.number = 123456789012LL;
  a.spec.seed = 0xFEDCBA9876543210ULL;
  a.spec.params = json{{"x1", -2.5}, {"x2", 14.75}, {"act", "gelu"}, {"width", 128}};
  a.spec.max_steps = 81;
  a.spec.pause_at = 9;
  a.spec.start_step = 3;
  a.spec.checkpoint = "/ckpt/trial-7/step-3.pt";
  a.spec.checkpoint_dir = "/ckpt/trial-7";
  a.spec.bracket = 2;
  a.spec.rung = 1;
  a.spec.attempt = 2;
  a.spec.trial = json{{"kind", "pipeline"}, {"pipeline", nested_payload()}};
  a.spec.metric = "val_loss";
  a.spec.work_dir = "/sweeps/mnist";
  a.spec.threads = 4;
  CHECK(round_trip(a) == a);

  Assign minimal;  // every optional absent
  CHECK(round_trip(minimal) == minimal);

  Report r{{7, 3, nested_payload()}};
  CHECK(round_trip(r) == r);

  Answer d{7, 3, {hypertune::Decision::kPause, 9}};
  CHECK(round_trip(d) == d);
  Answer d2{7, 4, {hypertune::Decision::kPrune, std::nullopt}};
  CHECK(round_trip(d2) == d2);

  Result res;
  res.number = 7;
  res.outcome.kind = hypertune::OutcomeKind::kPaused;
  res.outcome.metrics = json{{"val_loss", 0.25}};
  res.outcome.error = "";
  res.outcome.checkpoint = "/ckpt/trial-7/step-9.pt";
  res.outcome.last_step = 9;
  CHECK(round_trip(res) == res);
  Result failed{8, hypertune::Outcome::failed("exit status 3: out of memory")};
  CHECK(round_trip(failed) == failed);

  CHECK(round_trip(ResultAck{7, false}) == ResultAck{7, false});
  CHECK(round_trip(Heartbeat{}) == Heartbeat{});
  CHECK(round_trip(Disconnect{"sweep finished", false}) == Disconnect{"sweep finished", false});
  CHECK(round_trip(Disconnect{"unknown worker", true}) == Disconnect{"unknown worker", true});
}

TEST_CASE("nested JSON keeps its types across the wire", "[protocol]") {
  const hypertune::StepReport r = round_trip(Report{{1, 1, nested_payload()}}).report;
  CHECK(r.metrics["lr"].is_number_float());
  CHECK(r.metrics["lr"].get<double>() == 0.0031622776601683794);
  CHECK(r.metrics["layers"].is_number_integer());
  CHECK(r.metrics["negative"].get<int64_t>() == -17);
  CHECK(r.metrics["big"].get<uint64_t>() == std::numeric_limits<uint64_t>::max());
  CHECK(r.metrics["nothing"].is_null());
  CHECK(r.metrics["deep"]["a"]["b"]["c"].get<double>() == 1e-300);
  CHECK(r.metrics["name"].get<std::string>() == "relu \xE2\x9C\x93");
}

TEST_CASE("every truncation of every message is rejected as malformed", "[protocol]") {
  Assign a;
  a.spec.params = json{{"x1", 1.5}};
  a.spec.trial = json{{"kind", "function"}, {"function", "branin"}};
  const std::array<std::string, 3> frames = {hello_frame(), encode(a), encode(Report{{1, 2, nested_payload()}})};
  for (const auto& frame : frames) {
    for (size_t n = 0; n < frame.size(); ++n) {
      const Decoded d = decode(std::string_view(frame).substr(0, n));
      REQUIRE_FALSE(d.ok());
      REQUIRE(d.error->kind == DecodeErrorKind::kMalformed);
    }
    // One byte too many is refused as well: a frame holds exactly one message.
    const Decoded extra = decode(frame + '\0');
    REQUIRE_FALSE(extra.ok());
    CHECK(extra.error->kind == DecodeErrorKind::kMalformed);
    CHECK(extra.error->detail.find("trailing") != std::string::npos);
  }
}

TEST_CASE("random garbage never decodes and never throws", "[protocol]") {
  hypertune::Rng rng(20240611);
  int rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string junk(1 + rng.below(64), '\0');
    for (auto& c : junk) c = static_cast<char>(rng.below(256));
    const Decoded d = decode(junk);
    REQUIRE_FALSE(d.ok());
    ++rejected;
  }
  CHECK(rejected == 20000);

  // Bit flips of a valid frame: decoding may succeed (a flipped value is still a value) but must
  // always either give a message or a classified error.
  const std::string good = hello_frame();
  int failures = 0;
  for (size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = good;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      const Decoded d = decode(flipped);
      REQUIRE(d.ok() != d.error.has_value());
      failures += d.ok() ? 0 : 1;
    }
  }
  CHECK(failures > 0);
}

TEST_CASE("containers claiming more than the frame holds are refused before allocation",
          "[protocol]") {
  // array32 of 4 billion elements, map32 likewise, str32 of 4 GB: five bytes each.
  for (const std::string& frame : {std::string("\xdd\xff\xff\xff\xff", 5), std::string("\xdf\xff\xff\xff\xff", 5),
                                   std::string("\xdb\xff\xff\xff\xff", 5)}) {
    const Decoded d = decode(frame);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error->kind == DecodeErrorKind::kMalformed);
  }
  // Nesting beyond the depth limit inside a payload.
  std::string deep;
  deep += "\x94\xa9hypertune\x01\x05";  // ["hypertune", 1, REPORT, ...
  deep += "\x83\xa6number\x01\xa4step\x01\xa7metrics";
  deep += "\x81\xa1x";
  for (int i = 0; i < 200; ++i) deep += "\x91";  // [[[[...
  deep += "\x00";
  const Decoded d = decode(deep);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error->kind == DecodeErrorKind::kMalformed);
  CHECK(d.error->detail.find("deeper") != std::string::npos);
}

TEST_CASE("oversized frames are dropped unread", "[protocol]") {
  Report r{{1, 1, json{{"blob", std::string(2000, 'x')}}}};
  const std::string frame = encode(r);
  REQUIRE(decode(frame, 4096).ok());
  const Decoded d = decode(frame, 1024);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error->kind == DecodeErrorKind::kOversized);
  CHECK(d.error->detail.find("1024") != std::string::npos);
}

TEST_CASE("another protocol version is recognised and named", "[protocol]") {
  Hello h;
  h.name = "future";
  h.instance = "x";
  const Decoded d = decode(encode(h, kVersion + 1));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error->kind == DecodeErrorKind::kWrongVersion);
  REQUIRE(d.error->version);
  CHECK(*d.error->version == kVersion + 1);
  REQUIRE(d.error->command);
  CHECK(*d.error->command == Command::kHello);
  CHECK(d.error->detail.find("version " + std::to_string(kVersion + 1)) != std::string::npos);

  // A REFUSE from a scheduler of another version still says why.
  const Decoded refused = decode(encode(Refuse{"speak version 7"}, 7));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error->kind == DecodeErrorKind::kWrongVersion);
  REQUIRE(refused.error->refuse);
  CHECK(refused.error->refuse->reason == "speak version 7");
}

TEST_CASE("envelope, command and field errors are classified and name the field", "[protocol]") {
  // Valid msgpack, wrong shape.
  CHECK(decode(std::string("\x93\x01\x02\x03", 4)).error->kind == DecodeErrorKind::kNotEnvelope);
  // Wrong magic.
  CHECK(decode(std::string("\x94\xa3xyz\x01\x09\x80", 8)).error->kind == DecodeErrorKind::kNotEnvelope);
  // Unknown command 99.
  const Decoded unknown = decode(std::string("\x94\xa9hypertune\x01\x63\x80", 14));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error->kind == DecodeErrorKind::kUnknownCommand);
  CHECK(unknown.error->detail.find("99") != std::string::npos);
  // REPORT with no fields at all.
  const Decoded missing = decode(std::string("\x94\xa9hypertune\x01\x05\x80", 14));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error->kind == DecodeErrorKind::kBadField);
  CHECK(missing.error->detail.find("REPORT") != std::string::npos);
  CHECK(missing.error->detail.find("'number'") != std::string::npos);
  // REPORT whose metrics are a string, not a map.
  std::string wrong_type = "\x94\xa9hypertune\x01\x05";
  wrong_type += "\x83\xa6number\x01\xa4step\x01\xa7metrics\xa3" "abc";
  const Decoded mistyped = decode(wrong_type);
  REQUIRE_FALSE(mistyped.ok());
  CHECK(mistyped.error->kind == DecodeErrorKind::kBadField);
  CHECK(mistyped.error->detail.find("'metrics'") != std::string::npos);
  CHECK(mistyped.error->detail.find("got string") != std::string::npos);
  // A verdict code this version does not know.
  std::string verdict = "\x94\xa9hypertune\x01\x06";
  verdict += "\x83\xa6number\x01\xa4step\x01\xa7verdict\x09";
  const Decoded bad_verdict = decode(verdict);
  REQUIRE_FALSE(bad_verdict.ok());
  CHECK(bad_verdict.error->kind == DecodeErrorKind::kBadField);
  CHECK(bad_verdict.error->detail.find("'verdict'") != std::string::npos);
  // HELLO with zero slots is not a worker.
  Hello h;
  h.name = "n";
  h.instance = "i";
  h.slots = 0;
  const Decoded zero = decode(encode(h));
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error->detail.find("'slots'") != std::string::npos);
}

TEST_CASE("unknown body fields are ignored for forward compatibility", "[protocol]") {
  // HEARTBEAT with an extra field a later version might send.
  const std::string frame = std::string("\x94\xa9hypertune\x01\x09\x81\xa4load\xcb", 20) +
                            std::string("\x3f\xe0\x00\x00\x00\x00\x00\x00", 8);
  const Decoded d = decode(frame);
  INFO((d.error ? d.error->detail : std::string()));
  REQUIRE(d.ok());
  CHECK(std::holds_alternative<Heartbeat>(*d.message));
}

TEST_CASE("HELLO's prefetch is optional, defaults to 0 and is range-checked", "[protocol]") {
  // A HELLO as a worker that predates the field writes it: the envelope with a body of 5 keys.
  auto frame_with = [](std::optional<int64_t> prefetch) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(4);
    pk.pack(std::string("hypertune"));
    pk.pack(kVersion);
    pk.pack(static_cast<int>(Command::kHello));
    pk.pack_map(prefetch ? 6 : 5);
    pk.pack(std::string("name")), pk.pack(std::string("old"));
    pk.pack(std::string("instance")), pk.pack(std::string("i1"));
    pk.pack(std::string("slots")), pk.pack(2);
    pk.pack(std::string("devices")), pk.pack(std::vector<std::string>{"cpu"});
    pk.pack(std::string("running")), pk.pack_array(0);
    if (prefetch) pk.pack(std::string("prefetch")), pk.pack(*prefetch);
    return std::string(buf.data(), buf.size());
  };
  const Decoded old = decode(frame_with(std::nullopt));
  INFO((old.error ? old.error->detail : std::string()));
  REQUIRE(old.ok());
  CHECK(std::get<Hello>(*old.message).prefetch == 0);
  CHECK(std::get<Hello>(*old.message).slots == 2);

  const Decoded three = decode(frame_with(3));
  REQUIRE(three.ok());
  CHECK(std::get<Hello>(*three.message).prefetch == 3);

  const Decoded negative = decode(frame_with(-1));
  REQUIRE_FALSE(negative.ok());
  CHECK(negative.error->detail.find("prefetch") != std::string::npos);
}

namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

}  // namespace

// Frames written by release 0.1.0 before the trial vocabulary moved to base/: the bytes on the
// wire did not change, so workers and schedulers of both builds still talk.
TEST_CASE("ASSIGN, REPORT, DECISION and RESULT frames are byte-identical to release 0.1.0's", "[protocol]") {
  hypertune::TrialSpec spec;
  spec.number = 42;
  spec.seed = 0xFEDCBA9876543210ULL;
  spec.params = {{"lr", 0.5}, {"act", "relu"}};
  spec.max_steps = 27;
  spec.pause_at = 9;
  spec.start_step = 3;
  spec.checkpoint = "/c/trial-42/checkpoint.pt";
  spec.checkpoint_dir = "/c/trial-42";
  spec.bracket = 1;
  spec.rung = 2;
  spec.attempt = 1;
  spec.trial = {{"function", "branin"}};
  spec.metric = "loss";
  spec.work_dir = "/w";
  spec.threads = 2;
  spec.gpus = {1, 2};  // worker-local: never on the wire
  hypertune::Outcome paused = hypertune::Outcome::paused("/c/trial-42/checkpoint.pt", 9);
  paused.metrics = {{"loss", 1.0}};
  const std::vector<std::pair<Message, std::string_view>> golden = {
      {Assign{spec},
       "94a9687970657274756e6501048fa66e756d6265722aa473656564cffedcba9876543210a6706172616d7382a3616374a472656c75a26c72"
       "cb3fe0000000000000a96d61785f73746570731ba870617573655f617409aa73746172745f7374657003aa636865636b706f696e74b92f63"
       "2f747269616c2d34322f636865636b706f696e742e7074ae636865636b706f696e745f646972ab2f632f747269616c2d3432a7627261636b"
       "657401a472756e6702a7617474656d707401a5747269616c81a866756e6374696f6ea66272616e696ea66d6574726963a46c6f7373a8776f"
       "726b5f646972a22f77a77468726561647302"},
      {Assign{},
       "94a9687970657274756e6501048fa66e756d62657200a47365656400a6706172616d7380a96d61785f7374657073c0a870617573655f6174"
       "c0aa73746172745f7374657000aa636865636b706f696e74c0ae636865636b706f696e745f646972a0a7627261636b657400a472756e6700"
       "a7617474656d707400a5747269616c80a66d6574726963a576616c7565a8776f726b5f646972a0a77468726561647301"},
      {Report{{42, 3, {{"loss", 1.25}, {"step", 3}}}},
       "94a9687970657274756e65010583a66e756d6265722aa47374657003a76d65747269637382a46c6f7373cb3ff4000000000000a47374657003"},
      {Answer{42, 3, {hypertune::Decision::kContinue, 9}},
       "94a9687970657274756e65010684a66e756d6265722aa47374657003a77665726469637400aa6e6578745f706175736509"},
      {Answer{42, 4, {hypertune::Decision::kPrune, std::nullopt}},
       "94a9687970657274756e65010684a66e756d6265722aa47374657004a77665726469637401aa6e6578745f7061757365c0"},
      {Result{42, paused},
       "94a9687970657274756e65010786a66e756d6265722aa76f7574636f6d6502a76d65747269637381a46c6f737301a56572726f72a0aa6368"
       "65636b706f696e74b92f632f747269616c2d34322f636865636b706f696e742e7074a96c6173745f7374657009"},
      {Result{43, hypertune::Outcome::failed("boom", 2)},
       "94a9687970657274756e65010786a66e756d6265722ba76f7574636f6d6503a76d65747269637380a56572726f72a4626f6f6daa636865636b"
       "706f696e74c0a96c6173745f7374657002"},
  };
  for (const auto& [message, hex] : golden) {
    INFO(to_string(command_of(message)));
    const std::string frame = from_hex(hex);
    CHECK(encode(message) == frame);
    const Decoded d = decode(frame);
    REQUIRE(d.ok());
    if (const auto* a = std::get_if<Assign>(&*d.message)) {
      CHECK(a->spec.gpus.empty());
      Assign expected = std::get<Assign>(message);
      expected.spec.gpus.clear();
      CHECK(*a == expected);
    } else if (const auto* r = std::get_if<Result>(&*d.message)) {
      // Old encoders packed integral doubles as integers: the value survives, the JSON type may not.
      CHECK(r->number == std::get<Result>(message).number);
      CHECK(r->outcome.kind == std::get<Result>(message).outcome.kind);
      CHECK(r->outcome.last_step == std::get<Result>(message).outcome.last_step);
      CHECK(encode(*d.message) == frame);
    } else {
      CHECK(*d.message == message);
    }
  }
}

TEST_CASE("strings that are not UTF-8 arrive as valid UTF-8", "[protocol]") {
  // A REPORT whose metrics hold a key and a value with a stray 0xff byte.
  std::string frame = "\x94\xa9hypertune\x01\x05";
  frame += "\x83\xa6number\x01\xa4step\x01\xa7metrics";
  frame += "\x82\xa5value\x01\xa3k\xff\x32\xa3v\xff\x31";
  const Decoded d = decode(frame);
  REQUIRE(d.ok());
  const auto& metrics = std::get<Report>(*d.message).report.metrics;
  REQUIRE(metrics.contains("k\xEF\xBF\xBD" "2"));
  CHECK(metrics["k\xEF\xBF\xBD" "2"] == "v\xEF\xBF\xBD" "1");
  CHECK_NOTHROW(metrics.dump());
}

TEST_CASE("the deepest payload a runner accepts always decodes", "[protocol]") {
  // A runner refuses reports deeper than kMaxPayloadDepth (base/text.h); one at the limit must
  // never be dropped by the wire codec in any message that carries a payload.
  json deep = 1;
  for (int i = 1; i < hypertune::kMaxPayloadDepth; ++i) deep = (i % 2) ? json::array({deep}) : json{{"k", deep}};
  json metrics = {{"value", 0.5}, {"deep", deep}};
  REQUIRE(hypertune::json_depth(metrics) == hypertune::kMaxPayloadDepth);
  CHECK(round_trip(Report{{1, 2, metrics}}).report.metrics == metrics);
  CHECK(round_trip(Result{1, hypertune::Outcome::complete(metrics, 2)}).outcome.metrics == metrics);
  Assign a;
  a.spec.params = metrics;
  a.spec.trial = metrics;
  CHECK(round_trip(a).spec.trial == metrics);
}
