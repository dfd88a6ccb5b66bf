#pragma once
// The wire protocol between the scheduler (ZeroMQ ROUTER) and its workers (DEALER).
//
// Every message is ONE ZeroMQ frame holding one msgpack array, the envelope:
//
//     [ "hypertune", version, command, body ]
//
// `version` is kVersion of the sender, `command` a Command code, `body` a map keyed by field name
// (unknown keys are ignored, so a later version may add optional fields without a bump). Nested
// payloads (params, metrics, the trial section) are JSON values carried as native msgpack maps,
// arrays and scalars. docs/protocol.md describes every message and the conversation.
//
// Versioning: the envelope layout and the REFUSE body ({"reason": str}) are frozen across versions,
// so two programs of different versions can always tell each other why they cannot talk. decode()
// of a message of another version returns kWrongVersion carrying the peer's version (and, for a
// REFUSE, the decoded Refuse so its reason can be shown).
//
// Contract:
//  * encode() never fails for a well-formed struct; a JSON payload that is not an object where an
//    object is expected is sent as it is and rejected by the receiver.
//  * decode() never throws: any byte string (garbage, truncated, oversized, nested too deep, wrong
//    version, unknown command, missing or mistyped field) yields a DecodeError naming the reason,
//    the command when known and the field at fault.
//  * decode(encode(m)) == m for every message (tests/protocol/protocol_test.cpp checks each).
// Not here: sockets, liveness, policy (what a scheduler or worker does with a message).
// Thread-safety: pure functions over values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/text.h"
#include "base/trial.h"

namespace hypertune::protocol {

inline constexpr std::string_view kMagic = "hypertune";
inline constexpr uint32_t kVersion = 1;
// Frames larger than this are dropped unread (a trial section or metrics never come close).
inline constexpr size_t kMaxMessageBytes = 16u << 20;
// Nesting deeper than this (JSON payloads included) is rejected: the payload limit every runner
// enforces (base/text.h) plus the envelope, the body and the field.
inline constexpr int kMaxDepth = kMaxPayloadDepth + 4;
static_assert(kMaxDepth == 64, "the wire limit of release 0.1.0");

enum class Command : uint8_t {
  kHello = 1,       // worker -> scheduler: I am here (handshake, also after every reconnect)
  kWelcome = 2,     // scheduler -> worker: accepted; which of your trials you keep
  kRefuse = 3,      // scheduler -> worker: not accepted (version, key, ...), with the reason
  kAssign = 4,      // scheduler -> worker: run this trial
  kReport = 5,      // worker -> scheduler: metrics of one step of a trial
  kDecision = 6,    // scheduler -> worker: continue / prune / pause, for one report
  kResult = 7,      // worker -> scheduler: a trial ended (complete, pruned, paused, failed)
  kResultAck = 8,   // scheduler -> worker: the result is stored (or was ignored); stop resending
  kHeartbeat = 9,   // both ways: I am alive
  kDisconnect = 10, // both ways: I am leaving / you are unknown here, say HELLO again
};
[[nodiscard]] const char* to_string(Command c) noexcept;

// A trial a worker is still running (or holds an unacknowledged result for) when it says HELLO.
struct HeldTrial {
  int64_t number = 0;
  int64_t last_step = 0;  // last step it reported
  friend bool operator==(const HeldTrial&, const HeldTrial&) = default;
};

struct Hello {
  static constexpr Command kCommand = Command::kHello;
  std::string name;                  // human name (`--name`, default host:pid)
  std::string instance;              // unique per worker process: tells reconnects from newcomers
  int slots = 1;                     // trials it runs at once
  int prefetch = 0;                  // trials it may hold queued beyond its slots (absent: 0)
  std::vector<std::string> devices;  // "cpu", "cuda:0", ...
  std::vector<HeldTrial> running;    // trials it still holds (reconciliation)
  friend bool operator==(const Hello&, const Hello&) = default;
};

struct Welcome {
  static constexpr Command kCommand = Command::kWelcome;
  std::string worker_id;             // the name the scheduler knows this worker by
  std::string sweep;                 // study name of the sweep being served
  int64_t heartbeat_ms = 1000;       // send a heartbeat at least this often
  int64_t lease_ms = 10000;          // silent this long and you are presumed dead (both ways)
  std::vector<int64_t> keep;         // held trials that stay this worker's
  std::vector<int64_t> revoke;       // held trials to stop at once (their results are unwanted)
  int64_t gpus_per_trial = 0;        // CUDA devices each trial gets (workers.gpus_per_trial; absent: 0)
  friend bool operator==(const Welcome&, const Welcome&) = default;
};

struct Refuse {
  static constexpr Command kCommand = Command::kRefuse;
  std::string reason;
  friend bool operator==(const Refuse&, const Refuse&) = default;
};

// ASSIGN: run this trial. The body is the TrialSpec's fields (base/trial.h) at the top level.
struct Assign {
  static constexpr Command kCommand = Command::kAssign;
  TrialSpec spec;
  friend bool operator==(const Assign&, const Assign&) = default;
};

// REPORT: the metrics of one step.
struct Report {
  static constexpr Command kCommand = Command::kReport;
  StepReport report;
  friend bool operator==(const Report&, const Report&) = default;
};

// DECISION: the scheduler's answer to one REPORT ("verdict" on the wire is Verdict::decision).
struct Answer {
  static constexpr Command kCommand = Command::kDecision;
  int64_t number = 0;
  int64_t step = 0;
  Verdict verdict;
  friend bool operator==(const Answer&, const Answer&) = default;
};

// RESULT: a run of a trial ended. The body is "number" and the Outcome's fields.
struct Result {
  static constexpr Command kCommand = Command::kResult;
  int64_t number = 0;
  Outcome outcome;
  friend bool operator==(const Result&, const Result&) = default;
};

struct ResultAck {
  static constexpr Command kCommand = Command::kResultAck;
  int64_t number = 0;
  bool accepted = true;  // false: ignored (trial finished already or no longer this worker's)
  friend bool operator==(const ResultAck&, const ResultAck&) = default;
};

struct Heartbeat {
  static constexpr Command kCommand = Command::kHeartbeat;
  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

struct Disconnect {
  static constexpr Command kCommand = Command::kDisconnect;
  std::string reason;
  // Scheduler -> worker: true means "you are unknown here: say HELLO again"; false means "the
  // sweep is over, go away". Worker -> scheduler: always false (the worker is leaving).
  bool reconnect = false;
  friend bool operator==(const Disconnect&, const Disconnect&) = default;
};

using Message = std::variant<Hello, Welcome, Refuse, Assign, Report, Answer, Result, ResultAck,
                             Heartbeat, Disconnect>;

[[nodiscard]] Command command_of(const Message& m) noexcept;

// Encodes one message as one frame. `version` is for tests that play a peer of another version.
[[nodiscard]] std::string encode(const Message& m, uint32_t version = kVersion);

enum class DecodeErrorKind : uint8_t {
  kOversized,       // larger than the limit
  kMalformed,       // not msgpack, truncated, trailing bytes, nested too deep
  kNotEnvelope,     // msgpack, but not ["hypertune", version, command, body]
  kWrongVersion,    // another protocol version
  kUnknownCommand,  // a command code this version does not know
  kBadField,        // a field missing or of the wrong type
};
inline constexpr int kDecodeErrorKinds = 6;
[[nodiscard]] const char* to_string(DecodeErrorKind k) noexcept;

struct DecodeError {
  DecodeErrorKind kind = DecodeErrorKind::kMalformed;
  std::string detail;                  // human-readable: what was wrong, with the field name
  std::optional<uint32_t> version;     // the peer's version, when the envelope was readable
  std::optional<Command> command;      // the command, when known
  std::optional<Refuse> refuse;        // kWrongVersion of a REFUSE: its reason is still readable
};

struct Decoded {
  std::optional<Message> message;  // set on success
  std::optional<DecodeError> error;  // set on failure
  [[nodiscard]] bool ok() const noexcept { return message.has_value(); }
};

[[nodiscard]] Decoded decode(std::string_view frame, size_t max_bytes = kMaxMessageBytes) noexcept;

}  // namespace hypertune::protocol
