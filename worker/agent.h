#pragma once
// Agent: the worker side of a distributed sweep (`hypertune worker`). A thin client: it connects
// to a scheduler (ZeroMQ DEALER; protocol/protocol.h), runs the trials it is assigned with the
// same TrialRunners as a local run, relays their per-step reports and obeys the verdicts.
// It knows nothing of samplers, pruners or storage, and runs nothing the scheduler did not send.
//
// Threads:
//  * the caller of run() is the I/O thread: it alone owns the socket, sends heartbeats, watches
//    the scheduler's liveness and reconnects;
//  * each running trial has its own thread; TrialContext::report() hands the report to the I/O
//    thread (a queue and an eventfd wake-up) and waits for the DECISION. A long epoch therefore
//    never silences the heartbeat.
//
// Liveness and recovery (zguide's Paranoid Pirate): the scheduler's heartbeat and lease come in
// WELCOME. A scheduler silent for a lease is presumed dead: the socket is closed, and a fresh one
// connects after a backoff that doubles from reconnect_min to reconnect_max. Every HELLO lists the
// trials still held (running, or with an unacknowledged result); the WELCOME says which to keep
// and which to stop. After a WELCOME every unanswered REPORT and unacknowledged RESULT is sent
// again (resending is harmless: the scheduler keeps the first of each).
//
// Endings: DISCONNECT "sweep finished" (kSweepFinished; with keep_serving the agent instead waits
// for the next scheduler on the same address), request_stop() (kStopped: running trials are told
// to stop, their partial outcomes are NOT reported, the scheduler is told DISCONNECT so it
// re-queues them), REFUSE or a refused CURVE handshake (kRefused, with the reason), or no
// scheduler reachable for give_up_after (kGaveUp).
//
// Not here: choosing a runner (the RunnerFactory does: worker/runners.h make_runner), processes,
// signals (cli/cmd_worker.cpp installs handlers that call request_stop()).
// Thread-safety: run() once, from one thread. request_stop() from any thread or a signal handler.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/protocol.h"
#include "worker/trial_runner.h"

namespace hypertune::worker {

// Makes the runner for a `trial:` section; may throw hypertune::ConfigError (the trial fails).
using RunnerFactory = std::function<std::unique_ptr<TrialRunner>(const nlohmann::json& trial_section)>;

struct CurveClientOptions {
  std::string secret_z85;         // this worker's secret key
  std::string public_z85;         // and its public key
  std::string server_public_z85;  // the scheduler's public key
};

struct AgentOptions {
  std::string connect;                      // "tcp://host:5555"
  std::string name;                         // empty: "<hostname>:<pid>"
  int slots = 1;                            // trials run at once
  // Trials held queued beyond `slots`: the next one starts the moment a slot frees, while the
  // finished one's RESULT and the next ASSIGN cross the network. For trials of a few
  // milliseconds, where the round trip is most of the cost. A queued trial is RUNNING for the
  // scheduler (its lease covers it) and was sampled before the trials ahead of it ended.
  int prefetch = 0;
  std::vector<int> gpus;                    // CUDA devices; slot i gets gpus[i % size]
  std::optional<CurveClientOptions> curve;
  // Used until the scheduler's WELCOME sets them (and as the HELLO timeout).
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds lease{10000};
  std::chrono::milliseconds reconnect_min{1000};
  std::chrono::milliseconds reconnect_max{32000};
  std::optional<std::chrono::milliseconds> give_up_after;  // nullopt: keep trying forever
  bool keep_serving = false;                 // after a sweep ends, wait for the next one
  std::optional<std::string> checkpoint_root;  // overrides the scheduler's checkpoint directory
  std::optional<std::string> work_dir;         // overrides the scheduler's work_dir
  size_t max_message_bytes = protocol::kMaxMessageBytes;
  RunnerFactory make_runner;                 // required
};

enum class AgentEnd { kSweepFinished, kStopped, kRefused, kGaveUp };
[[nodiscard]] const char* to_string(AgentEnd e) noexcept;

struct AgentSummary {
  AgentEnd end = AgentEnd::kStopped;
  std::string reason;
  int64_t trials_started = 0;
  int64_t results_acknowledged = 0;
};

class Agent {
 public:
  // Throws hypertune::ConfigError for unusable options (no endpoint, slots < 1, prefetch < 0,
  // no factory, reconnect_min > reconnect_max).
  explicit Agent(AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Serves until one of the endings above; the calling thread becomes the I/O thread.
  AgentSummary run();
  // Async-signal-safe: an atomic store and a write() to an eventfd.
  void request_stop() noexcept;

  [[nodiscard]] const std::string& name() const noexcept;
  [[nodiscard]] const std::string& instance() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hypertune::worker
