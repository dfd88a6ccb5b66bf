#pragma once
// Dispatcher: the scheduler's network side. It drives a Study for workers that connect over
// ZeroMQ (ROUTER socket; protocol/protocol.h), keeps their leases and heartbeats, and answers
// every message.
//
// One loop, one thread (the caller of run()):
//   poll -> read every message available (up to max_batch) -> handle them, expire leases,
//   hand out trials to free slots, all inside ONE TrialStore::Batch -> commit -> send the replies.
// So a worker never hears of a state change that is not durable yet, and thousands of trials per
// second cost one SQLite commit per round, not one per message.
//
// Liveness (zguide's Paranoid Pirate / Majordomo, both ways): the dispatcher sends HEARTBEAT to
// every worker each `heartbeat`; any message from a worker renews its lease. A worker silent for
// `lease` is lost: its trials go back to the queue through Study::requeue (resuming from their
// checkpoints; FAIL after max_retries). Trials found RUNNING when the dispatcher starts (the
// previous scheduler died) stay RUNNING for one lease: a worker that reconnects and still runs one
// keeps it (Study::adopt); the rest are re-queued without counting a retry. No trial is left
// RUNNING with no live worker for longer than a lease.
//
// Robustness: a frame that does not decode (garbage, truncated, oversized, wrong version, bad
// field) is dropped and counted in stats(); a worker of another protocol version gets a REFUSE
// naming both versions; a message from an unknown connection gets DISCONNECT{reconnect} so the
// worker says HELLO again; a message about an unknown trial is logged and answered harmlessly.
// Nothing a peer sends can throw out of run(). Storage failures (StoreError) do: the scheduler
// cannot go on without durable state.
//
// Security: with `curve` set the socket is a CURVE server and only workers whose public keys are
// in the allow list complete the handshake (scheduler/zap.h).
//
// Not here: sampling, pruning, trial state rules (Study), running trials (worker/Agent), config
// parsing, processes (cli/).
// Thread-safety: construct and run() on one thread. request_stop() and stats() may be called from
// any thread (and request_stop() from a signal handler: it only stores atomics).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/protocol.h"
#include "scheduler/study.h"
#include "scheduler/trial_store.h"

namespace hypertune::scheduler {

struct CurveServerOptions {
  std::string secret_z85;               // the scheduler's secret key
  std::set<std::string> allowed_public_z85;  // workers allowed in; must not be empty
};

struct DispatcherOptions {
  std::string bind = "tcp://127.0.0.1:*";  // "*" port: the OS picks one; see endpoint()
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds lease{10000};  // must exceed heartbeat
  std::optional<CurveServerOptions> curve;
  // What every ASSIGN carries besides the trial itself.
  nlohmann::json trial = nlohmann::json::object();  // the config's `trial:` section
  std::string work_dir;                             // the config file's directory
  std::string artifacts_dir;                        // checkpoint dirs: <artifacts_dir>/trial-<n>
  int threads_per_trial = 1;
  // CUDA devices each trial needs (workers.gpus_per_trial): a worker runs at most
  // (its cuda devices / gpus_per_trial) trials at once, and none without enough devices.
  int gpus_per_trial = 0;
  size_t max_message_bytes = protocol::kMaxMessageBytes;
  size_t max_batch = 4096;  // messages handled per storage commit at most
  // Called from run()'s thread about once per tick_interval (progress display).
  std::function<void(const Progress&)> on_tick;
  std::chrono::milliseconds tick_interval{1000};
};

struct DispatcherStats {
  uint64_t received = 0;       // frames read
  uint64_t sent = 0;           // frames sent
  uint64_t dropped = 0;        // frames that did not decode (sum of dropped_by_kind)
  uint64_t dropped_by_kind[protocol::kDecodeErrorKinds] = {};  // index: DecodeErrorKind
  uint64_t refused_version = 0;  // workers refused for another protocol version
  uint64_t unknown_peer = 0;     // messages from connections that never said HELLO
  uint64_t unknown_trial = 0;    // reports/results for trials the study does not have
  uint64_t auth_refused = 0;     // CURVE handshakes refused by the allow list
  uint64_t handshake_failed = 0; // security handshakes that failed (wrong server key, no keys)
  uint64_t workers_joined = 0;   // HELLOs accepted (reconnects included)
  uint64_t workers_lost = 0;     // leases expired
  uint64_t workers_left = 0;     // DISCONNECTs from workers
  uint64_t requeued = 0;         // trials given back to the queue (lost workers, restarts)
  uint64_t adopted = 0;          // RUNNING trials kept by reconnecting workers
  uint64_t assigned = 0;         // ASSIGNs sent
  uint64_t results = 0;          // RESULTs accepted
  uint64_t commits = 0;          // storage batches committed
  size_t workers = 0;            // workers connected now
};

// True for endpoints only this machine can reach: tcp on 127.0.0.0/8, ::1 or localhost, ipc://,
// inproc://. Binding anything else without CURVE keys needs an explicit --insecure.
[[nodiscard]] bool is_loopback_endpoint(const std::string& endpoint);

class Dispatcher {
 public:
  // Binds the socket (and the ZAP handler with curve). Throws hypertune::Error naming the
  // endpoint when it cannot bind, ConfigError for bad options.
  Dispatcher(Study& study, TrialStore& store, DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // The bound endpoint with the port the OS chose ("tcp://127.0.0.1:40123").
  [[nodiscard]] const std::string& endpoint() const noexcept { return endpoint_; }

  enum class Ending {
    kDone,     // the study is done; workers were told the sweep is over
    kStopped,  // request_stop(false): returned at once; running trials stay RUNNING in storage
  };
  // Serves workers until the study is done or a stop is requested.
  Ending run();

  // After run() returned kDone: answers whoever connects with DISCONNECT "the sweep is finished"
  // until request_stop(). For schedulers that must stay up (a Kubernetes Deployment).
  void serve_finished();

  // drain=true: create no new trials, wait for running ones, then end as kDone.
  // drain=false: return from run() at the next iteration. Either ends serve_finished().
  void request_stop(bool drain) noexcept;

  [[nodiscard]] DispatcherStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string endpoint_;
};

}  // namespace hypertune::scheduler
