#include "protocol/protocol.h"

#include <cmath>
#include <exception>
#include <limits>

#include <msgpack.hpp>

namespace hypertune::protocol {

const char* to_string(Command c) noexcept {
  switch (c) {
    case Command::kHello: return "HELLO";
    case Command::kWelcome: return "WELCOME";
    case Command::kRefuse: return "REFUSE";
    case Command::kAssign: return "ASSIGN";
    case Command::kReport: return "REPORT";
    case Command::kDecision: return "DECISION";
    case Command::kResult: return "RESULT";
    case Command::kResultAck: return "RESULT_ACK";
    case Command::kHeartbeat: return "HEARTBEAT";
    case Command::kDisconnect: return "DISCONNECT";
  }
  return "?";
}

const char* to_string(DecodeErrorKind k) noexcept {
  switch (k) {
    case DecodeErrorKind::kOversized: return "oversized";
    case DecodeErrorKind::kMalformed: return "malformed";
    case DecodeErrorKind::kNotEnvelope: return "not_envelope";
    case DecodeErrorKind::kWrongVersion: return "wrong_version";
    case DecodeErrorKind::kUnknownCommand: return "unknown_command";
    case DecodeErrorKind::kBadField: return "bad_field";
  }
  return "?";
}

Command command_of(const Message& m) noexcept {
  return std::visit([](const auto& msg) { return std::decay_t<decltype(msg)>::kCommand; }, m);
}

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

// ---------------------------------------------------------------------------------------------
// Encoding

void pack_json(Packer& pk, const nlohmann::json& j) {
  using T = nlohmann::json::value_t;
  switch (j.type()) {
    case T::null:
    case T::discarded: pk.pack_nil(); break;
    case T::boolean: pk.pack(j.get<bool>()); break;
    case T::number_integer: pk.pack(j.get<int64_t>()); break;
    case T::number_unsigned: pk.pack(j.get<uint64_t>()); break;
    case T::number_float: pk.pack(j.get<double>()); break;
    case T::string: pk.pack(j.get_ref<const std::string&>()); break;
    case T::binary: {
      const auto& b = j.get_binary();
      pk.pack_bin(static_cast<uint32_t>(b.size()));
      pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
      break;
    }
    case T::array:
      pk.pack_array(static_cast<uint32_t>(j.size()));
      for (const auto& v : j) pack_json(pk, v);
      break;
    case T::object:
      pk.pack_map(static_cast<uint32_t>(j.size()));
      for (const auto& [k, v] : j.items()) {
        pk.pack(k);
        pack_json(pk, v);
      }
      break;
  }
}

// Writes a body map field by field; the map header needs the count first, so fields are counted
// by the caller through Body's constructor.
class Body {
 public:
  Body(Packer& pk, uint32_t fields) : pk_(pk) { pk_.pack_map(fields); }
  template <class T>
  void field(const char* key, const T& value) {
    pk_.pack(key);
    pk_.pack(value);
  }

 private:
  Packer& pk_;
};

void pack_body(Packer& pk, const Hello& m) {
  Body b(pk, 6);
  b.field("name", m.name);
  b.field("instance", m.instance);
  b.field("slots", m.slots);
  b.field("prefetch", m.prefetch);
  b.field("devices", m.devices);
  pk.pack("running");
  pk.pack_array(static_cast<uint32_t>(m.running.size()));
  for (const auto& h : m.running) {
    pk.pack_array(2);
    pk.pack(h.number);
    pk.pack(h.last_step);
  }
}

void pack_body(Packer& pk, const Welcome& m) {
  Body b(pk, 7);
  b.field("worker_id", m.worker_id);
  b.field("sweep", m.sweep);
  b.field("heartbeat_ms", m.heartbeat_ms);
  b.field("lease_ms", m.lease_ms);
  b.field("keep", m.keep);
  b.field("revoke", m.revoke);
  b.field("gpus_per_trial", m.gpus_per_trial);
}

void pack_body(Packer& pk, const Refuse& m) {
  Body b(pk, 1);
  b.field("reason", m.reason);
}

// Packs a base/ type's travelling fields (its static fields() list) by their C++ types.
class FieldPacker {
 public:
  explicit FieldPacker(Packer& pk) : pk_(pk) {}
  template <class T>
  void operator()(const char* key, const T& value) {
    pk_.pack(key);
    put(value);
  }

 private:
  void put(const nlohmann::json& j) { pack_json(pk_, j); }
  void put(Decision d) { pk_.pack(static_cast<uint8_t>(d)); }
  void put(OutcomeKind k) { pk_.pack(static_cast<uint8_t>(k)); }
  template <class T>
  void put(const std::optional<T>& v) {
    if (v) {
      put(*v);
    } else {
      pk_.pack_nil();
    }
  }
  template <class T>
  void put(const T& v) {
    pk_.pack(v);
  }
  Packer& pk_;
};

template <class T>
uint32_t count_fields(const T& value) {
  uint32_t n = 0;
  T::fields(value, [&](const char*, const auto&) { ++n; });
  return n;
}

void pack_body(Packer& pk, const Assign& m) {
  pk.pack_map(count_fields(m.spec));
  TrialSpec::fields(m.spec, FieldPacker(pk));
}

void pack_body(Packer& pk, const Report& m) {
  pk.pack_map(count_fields(m.report) + (m.report.checkpoint ? 1 : 0));
  StepReport::fields(m.report, FieldPacker(pk));
  if (m.report.checkpoint) {
    pk.pack("checkpoint");
    pk.pack(*m.report.checkpoint);
  }
}

void pack_body(Packer& pk, const Answer& m) {
  pk.pack_map(2 + count_fields(m.verdict));
  FieldPacker put(pk);
  put("number", m.number);
  put("step", m.step);
  Verdict::fields(m.verdict, put);
}

void pack_body(Packer& pk, const Result& m) {
  pk.pack_map(1 + count_fields(m.outcome));
  FieldPacker put(pk);
  put("number", m.number);
  Outcome::fields(m.outcome, put);
}

void pack_body(Packer& pk, const ResultAck& m) {
  Body b(pk, 2);
  b.field("number", m.number);
  b.field("accepted", m.accepted);
}

void pack_body(Packer& pk, const Heartbeat&) { Body b(pk, 0); }

void pack_body(Packer& pk, const Disconnect& m) {
  Body b(pk, 2);
  b.field("reason", m.reason);
  b.field("reconnect", m.reconnect);
}

// ---------------------------------------------------------------------------------------------
// Decoding. msgpack's own converters throw on type mismatches; these readers check types
// themselves so that every failure names its field.

struct FieldError {
  std::string detail;
};

const char* type_name(msgpack::type::object_type t) {
  switch (t) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER: return "integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "float";
    case msgpack::type::STR: return "string";
    case msgpack::type::BIN: return "binary";
    case msgpack::type::ARRAY: return "array";
    case msgpack::type::MAP: return "map";
    case msgpack::type::EXT: return "ext";
  }
  return "?";
}

[[noreturn]] void bad(const std::string& key, const std::string& expected,
                      const msgpack::object* got) {
  throw FieldError{"field '" + key + "': expected " + expected +
                   (got ? std::string(", got ") + type_name(got->type) : std::string(", missing"))};
}

// JSON strings must be valid UTF-8 (nlohmann::json::dump throws otherwise, and the store keeps
// them as text): invalid bytes from a peer become U+FFFD here, once, at the edge.
std::string text_of(const msgpack::object& o) {
  const std::string_view raw(o.via.str.ptr, o.via.str.size);
  if (first_invalid_utf8(raw) == std::string_view::npos) return std::string(raw);
  return valid_utf8(raw);
}

nlohmann::json to_json(const msgpack::object& o, const std::string& key) {
  switch (o.type) {
    case msgpack::type::NIL: return nullptr;
    case msgpack::type::BOOLEAN: return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER: return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER: return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return o.via.f64;
    case msgpack::type::STR: return text_of(o);
    case msgpack::type::BIN: {
      const auto* p = reinterpret_cast<const uint8_t*>(o.via.bin.ptr);
      return nlohmann::json::binary(std::vector<uint8_t>(p, p + o.via.bin.size));
    }
    case msgpack::type::ARRAY: {
      nlohmann::json arr = nlohmann::json::array();
      for (uint32_t i = 0; i < o.via.array.size; ++i) arr.push_back(to_json(o.via.array.ptr[i], key));
      return arr;
    }
    case msgpack::type::MAP: {
      nlohmann::json obj = nlohmann::json::object();
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) bad(key, "string keys in a JSON object", &kv.key);
        obj[text_of(kv.key)] = to_json(kv.val, key);
      }
      return obj;
    }
    case msgpack::type::EXT: break;
  }
  bad(key, "a JSON value", &o);
}

class Fields {
 public:
  explicit Fields(const msgpack::object& body) : body_(body) {}

  [[nodiscard]] const msgpack::object* find(const char* key) const {
    const std::string_view k(key);
    for (uint32_t i = 0; i < body_.via.map.size; ++i) {
      const auto& kv = body_.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR && std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == k) {
        return &kv.val;
      }
    }
    return nullptr;
  }

  [[nodiscard]] int64_t i64(const char* key) const { return i64_of(key, find(key)); }
  [[nodiscard]] int64_t i64_or(const char* key, int64_t fallback) const {
    const auto* o = find(key);
    return o ? i64_of(key, o) : fallback;
  }
  [[nodiscard]] int i32(const char* key) const {
    const int64_t v = i64(key);
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
      throw FieldError{"field '" + std::string(key) + "': " + std::to_string(v) + " is out of range"};
    }
    return static_cast<int>(v);
  }
  [[nodiscard]] uint64_t u64(const char* key) const {
    const auto* o = find(key);
    if (!o || o->type != msgpack::type::POSITIVE_INTEGER) bad(key, "an unsigned integer", o);
    return o->via.u64;
  }
  [[nodiscard]] std::optional<int64_t> opt_i64(const char* key) const {
    const auto* o = find(key);
    if (!o || o->type == msgpack::type::NIL) return std::nullopt;
    return i64_of(key, o);
  }
  [[nodiscard]] bool boolean(const char* key) const {
    const auto* o = find(key);
    if (!o || o->type != msgpack::type::BOOLEAN) bad(key, "a bool", o);
    return o->via.boolean;
  }
  [[nodiscard]] std::string str(const char* key) const { return str_of(key, find(key)); }
  [[nodiscard]] std::optional<std::string> opt_str(const char* key) const {
    const auto* o = find(key);
    if (!o || o->type == msgpack::type::NIL) return std::nullopt;
    return str_of(key, o);
  }
  [[nodiscard]] const msgpack::object& array(const char* key) const {
    const auto* o = find(key);
    if (!o || o->type != msgpack::type::ARRAY) bad(key, "an array", o);
    return *o;
  }
  [[nodiscard]] std::vector<int64_t> i64s(const char* key) const {
    const auto& a = array(key);
    std::vector<int64_t> out;
    out.reserve(a.via.array.size);
    for (uint32_t i = 0; i < a.via.array.size; ++i) out.push_back(i64_of(key, &a.via.array.ptr[i]));
    return out;
  }
  [[nodiscard]] std::vector<std::string> strs(const char* key) const {
    const auto& a = array(key);
    std::vector<std::string> out;
    out.reserve(a.via.array.size);
    for (uint32_t i = 0; i < a.via.array.size; ++i) out.push_back(str_of(key, &a.via.array.ptr[i]));
    return out;
  }
  [[nodiscard]] nlohmann::json json(const char* key) const {
    const auto* o = find(key);
    if (!o) bad(key, "a JSON value", o);
    return to_json(*o, key);
  }
  [[nodiscard]] nlohmann::json object(const char* key) const {
    const auto* o = find(key);
    if (!o || o->type != msgpack::type::MAP) bad(key, "a map", o);
    return to_json(*o, key);
  }
  template <class E>
  [[nodiscard]] E enumerated(const char* key, uint8_t max) const {
    const int64_t v = i64(key);
    if (v < 0 || v > max) {
      throw FieldError{"field '" + std::string(key) + "': unknown code " + std::to_string(v)};
    }
    return static_cast<E>(v);
  }

  static int64_t i64_of(const char* key, const msgpack::object* o) {
    if (o && o->type == msgpack::type::NEGATIVE_INTEGER) return o->via.i64;
    if (o && o->type == msgpack::type::POSITIVE_INTEGER) {
      if (o->via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw FieldError{"field '" + std::string(key) + "': integer out of range"};
      }
      return static_cast<int64_t>(o->via.u64);
    }
    bad(key, "an integer", o);
  }
  static std::string str_of(const char* key, const msgpack::object* o) {
    if (!o || o->type != msgpack::type::STR) bad(key, "a string", o);
    return text_of(*o);  // names, reasons and paths too: every decoded string is valid UTF-8
  }

 private:
  const msgpack::object& body_;
};

Hello read_hello(const Fields& f) {
  Hello m;
  m.name = f.str("name");
  m.instance = f.str("instance");
  m.slots = f.i32("slots");
  if (m.slots < 1) throw FieldError{"field 'slots': must be >= 1, got " + std::to_string(m.slots)};
  // Optional: workers of the first protocol revision do not send it.
  const std::optional<int64_t> prefetch = f.opt_i64("prefetch");
  if (prefetch && (*prefetch < 0 || *prefetch > 1024)) {
    throw FieldError{"field 'prefetch': must be in 0..1024, got " + std::to_string(*prefetch)};
  }
  m.prefetch = static_cast<int>(prefetch.value_or(0));
  m.devices = f.strs("devices");
  const auto& r = f.array("running");
  for (uint32_t i = 0; i < r.via.array.size; ++i) {
    const auto& e = r.via.array.ptr[i];
    if (e.type != msgpack::type::ARRAY || e.via.array.size != 2) {
      bad("running", "[number, last_step] pairs", &e);
    }
    m.running.push_back({Fields::i64_of("running", &e.via.array.ptr[0]),
                         Fields::i64_of("running", &e.via.array.ptr[1])});
  }
  return m;
}

Welcome read_welcome(const Fields& f) {
  Welcome m;
  m.worker_id = f.str("worker_id");
  m.sweep = f.str("sweep");
  m.heartbeat_ms = f.i64("heartbeat_ms");
  m.lease_ms = f.i64("lease_ms");
  if (m.heartbeat_ms <= 0 || m.lease_ms <= 0) {
    throw FieldError{"fields 'heartbeat_ms' and 'lease_ms' must be positive"};
  }
  m.keep = f.i64s("keep");
  m.revoke = f.i64s("revoke");
  // Optional: schedulers before GPU slots did not send it.
  const std::optional<int64_t> gpus = f.opt_i64("gpus_per_trial");
  if (gpus && (*gpus < 0 || *gpus > 1024)) {
    throw FieldError{"field 'gpus_per_trial': must be in 0..1024, got " + std::to_string(*gpus)};
  }
  m.gpus_per_trial = gpus.value_or(0);
  return m;
}

Refuse read_refuse(const Fields& f) { return Refuse{f.str("reason")}; }

// Reads a base/ type's travelling fields (its static fields() list), each checked by its C++
// type so that a failure names the field. JSON fields are objects (params, metrics, trial).
class FieldReader {
 public:
  explicit FieldReader(const Fields& f) : f_(f) {}
  void operator()(const char* key, int64_t& v) const { v = f_.i64(key); }
  void operator()(const char* key, uint64_t& v) const { v = f_.u64(key); }
  void operator()(const char* key, int& v) const { v = f_.i32(key); }
  void operator()(const char* key, std::string& v) const { v = f_.str(key); }
  void operator()(const char* key, std::optional<int64_t>& v) const { v = f_.opt_i64(key); }
  void operator()(const char* key, std::optional<std::string>& v) const { v = f_.opt_str(key); }
  void operator()(const char* key, nlohmann::json& v) const { v = f_.object(key); }
  void operator()(const char* key, Decision& v) const {
    v = f_.enumerated<Decision>(key, static_cast<uint8_t>(kLastDecision));
  }
  void operator()(const char* key, OutcomeKind& v) const {
    v = f_.enumerated<OutcomeKind>(key, static_cast<uint8_t>(kLastOutcomeKind));
  }

 private:
  const Fields& f_;
};

Assign read_assign(const Fields& f) {
  Assign m;
  TrialSpec::fields(m.spec, FieldReader(f));
  return m;
}

Report read_report(const Fields& f) {
  Report m;
  StepReport::fields(m.report, FieldReader(f));
  m.report.checkpoint = f.opt_str("checkpoint");  // absent in release 0.1.0's REPORTs
  return m;
}

Answer read_answer(const Fields& f) {
  Answer m;
  const FieldReader read(f);
  read("number", m.number);
  read("step", m.step);
  Verdict::fields(m.verdict, read);
  return m;
}

Result read_result(const Fields& f) {
  Result m;
  const FieldReader read(f);
  read("number", m.number);
  Outcome::fields(m.outcome, read);
  return m;
}

ResultAck read_result_ack(const Fields& f) { return ResultAck{f.i64("number"), f.boolean("accepted")}; }

Disconnect read_disconnect(const Fields& f) {
  return Disconnect{f.str("reason"), f.boolean("reconnect")};
}

Message read_body(Command c, const Fields& f) {
  switch (c) {
    case Command::kHello: return read_hello(f);
    case Command::kWelcome: return read_welcome(f);
    case Command::kRefuse: return read_refuse(f);
    case Command::kAssign: return read_assign(f);
    case Command::kReport: return read_report(f);
    case Command::kDecision: return read_answer(f);
    case Command::kResult: return read_result(f);
    case Command::kResultAck: return read_result_ack(f);
    case Command::kHeartbeat: return Heartbeat{};
    case Command::kDisconnect: return read_disconnect(f);
  }
  throw FieldError{"unknown command"};
}

Decoded fail(DecodeErrorKind kind, std::string detail, std::optional<uint32_t> version = std::nullopt,
             std::optional<Command> command = std::nullopt) {
  Decoded d;
  d.error = DecodeError{kind, std::move(detail), version, command, std::nullopt};
  return d;
}

}  // namespace

std::string encode(const Message& m, uint32_t version) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pk.pack_array(4);
  pk.pack(kMagic);
  pk.pack(version);
  pk.pack(static_cast<uint8_t>(command_of(m)));
  std::visit([&](const auto& msg) { pack_body(pk, msg); }, m);
  return std::string(buf.data(), buf.size());
}

Decoded decode(std::string_view frame, size_t max_bytes) noexcept {
  try {
    if (frame.size() > max_bytes) {
      return fail(DecodeErrorKind::kOversized, std::to_string(frame.size()) + " bytes exceed the limit of " +
                                                   std::to_string(max_bytes));
    }
    if (frame.empty()) return fail(DecodeErrorKind::kMalformed, "empty frame");
    // No container may claim more elements or bytes than the frame holds: garbage that declares a
    // huge array is refused before anything is allocated for it.
    const size_t n = frame.size();
    const msgpack::unpack_limit limit(n, n, n, n, n, kMaxDepth);
    msgpack::object_handle oh;
    size_t offset = 0;
    try {
      oh = msgpack::unpack(frame.data(), frame.size(), offset, nullptr, nullptr, limit);
    } catch (const msgpack::insufficient_bytes&) {
      return fail(DecodeErrorKind::kMalformed, "truncated msgpack");
    } catch (const msgpack::depth_size_overflow&) {
      return fail(DecodeErrorKind::kMalformed, "nested deeper than " + std::to_string(kMaxDepth));
    } catch (const std::exception& e) {
      return fail(DecodeErrorKind::kMalformed, std::string("not msgpack (") + e.what() + ")");
    }
    if (offset != frame.size()) {
      return fail(DecodeErrorKind::kMalformed,
                  std::to_string(frame.size() - offset) + " trailing bytes after the message");
    }
    const msgpack::object& env = oh.get();
    if (env.type != msgpack::type::ARRAY || env.via.array.size != 4) {
      return fail(DecodeErrorKind::kNotEnvelope, "expected a 4-element array envelope");
    }
    const msgpack::object* e = env.via.array.ptr;
    if (e[0].type != msgpack::type::STR ||
        std::string_view(e[0].via.str.ptr, e[0].via.str.size) != kMagic) {
      return fail(DecodeErrorKind::kNotEnvelope, "the envelope does not start with \"hypertune\"");
    }
    if (e[1].type != msgpack::type::POSITIVE_INTEGER || e[1].via.u64 > std::numeric_limits<uint32_t>::max()) {
      return fail(DecodeErrorKind::kNotEnvelope, "the envelope's version is not an unsigned integer");
    }
    const auto version = static_cast<uint32_t>(e[1].via.u64);
    if (e[2].type != msgpack::type::POSITIVE_INTEGER) {
      return fail(DecodeErrorKind::kNotEnvelope, "the envelope's command is not an unsigned integer", version);
    }
    const uint64_t code = e[2].via.u64;
    std::optional<Command> command;
    if (code >= static_cast<uint64_t>(Command::kHello) && code <= static_cast<uint64_t>(Command::kDisconnect)) {
      command = static_cast<Command>(code);
    }
    if (e[3].type != msgpack::type::MAP) {
      return fail(DecodeErrorKind::kNotEnvelope, "the envelope's body is not a map", version, command);
    }
    const Fields fields(e[3]);
    if (version != kVersion) {
      Decoded d = fail(DecodeErrorKind::kWrongVersion,
                       "protocol version " + std::to_string(version) + " (this program speaks version " +
                           std::to_string(kVersion) + ")",
                       version, command);
      // REFUSE's body is frozen across versions: its reason is worth showing.
      if (command == Command::kRefuse) {
        try {
          d.error->refuse = read_refuse(fields);
        } catch (const FieldError&) {
        }
      }
      return d;
    }
    if (!command) {
      return fail(DecodeErrorKind::kUnknownCommand, "unknown command code " + std::to_string(code), version);
    }
    try {
      Decoded d;
      d.message = read_body(*command, fields);
      return d;
    } catch (const FieldError& fe) {
      return fail(DecodeErrorKind::kBadField, std::string(to_string(*command)) + ": " + fe.detail, version,
                  command);
    }
  } catch (const std::exception& ex) {
    // Allocation failure or anything unforeseen: still a dropped message, never a crash.
    return fail(DecodeErrorKind::kMalformed, std::string("undecodable: ") + ex.what());
  }
}

}  // namespace hypertune::protocol
