#pragma once
// ZapHandler: the scheduler's ZeroMQ authentication handler (ZAP, RFC 27) for CURVE connections.
//
// It binds a REP socket on inproc://zeromq.zap.01 in the given context; libzmq asks it about every
// CURVE handshake on any socket of that context. A client whose public key is in the allow list
// gets "200", any other "400" (and the refusal is logged with the peer address and key). Requests
// for another mechanism than CURVE are refused: a scheduler with keys talks CURVE only.
//
// The handler does not own a thread: its owner polls socket() and calls handle_pending() from the
// thread that created it (the Dispatcher's loop does). A handshake waits while the owner is busy;
// it never blocks anything else.
// Not here: key files (protocol/keys.h), the CURVE server options (the Dispatcher sets them).
// Thread-safety: none; one thread owns a ZapHandler. Counters are atomics, readable anywhere.

#include <atomic>
#include <cstdint>
#include <set>
#include <string>

#include <zmq.hpp>

namespace hypertune::scheduler {

class ZapHandler {
 public:
  static constexpr const char* kEndpoint = "inproc://zeromq.zap.01";

  // Binds the handler; throws hypertune::Error when another handler is bound in `ctx` already.
  ZapHandler(zmq::context_t& ctx, std::set<std::string> allowed_public_z85);
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  [[nodiscard]] zmq::socket_t& socket() noexcept { return socket_; }
  // Answers every request waiting on the socket without blocking; returns how many.
  int handle_pending();

  [[nodiscard]] uint64_t accepted() const noexcept { return accepted_.load(); }
  [[nodiscard]] uint64_t refused() const noexcept { return refused_.load(); }

 private:
  zmq::socket_t socket_;
  std::set<std::string> allowed_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace hypertune::scheduler
