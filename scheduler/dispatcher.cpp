#include "scheduler/dispatcher.h"

#include "base/text.h"
#include "protocol/socket.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <utility>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "scheduler/zap.h"
#include "base/error.h"

namespace hypertune::scheduler {

namespace proto = hypertune::protocol;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool is_loopback_endpoint(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0) return true;
  if (endpoint.rfind("tcp://", 0) != 0) return false;
  std::string host = endpoint.substr(6);
  // Strip the port (after the last ':'), then IPv6 brackets.
  const auto colon = host.rfind(':');
  if (colon != std::string::npos) host = host.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  // "tcp://eth0;..." style source specs are not loopback; neither is "*".
  if (host == "localhost" || host == "::1") return true;
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  if (std::sscanf(host.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4) {
    return a == 127 && b <= 255 && c <= 255 && d <= 255;
  }
  return false;
}

namespace {

struct Worker {
  std::string id;        // the holder name the Study knows
  std::string name;
  std::string instance;
  std::string routing;   // current ROUTER routing id
  int slots = 1;
  int prefetch = 0;  // trials it holds queued beyond its slots, so short trials need no round trip
  std::vector<std::string> devices;
  std::set<int64_t> trials;  // assigned, no RESULT yet (running or queued at the worker)
  Clock::time_point last_seen;

  [[nodiscard]] int free_slots() const {
    return std::max(0, slots + prefetch - static_cast<int>(trials.size()));
  }
};

struct Outgoing {
  std::string routing;
  std::string frame;
};

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}


proto::DecodeError drop_reason(proto::DecodeErrorKind kind, std::string detail) {
  proto::DecodeError e;
  e.kind = kind;
  e.detail = std::move(detail);
  return e;
}

std::string devices_text(const std::vector<std::string>& devices) {
  if (devices.empty()) return "cpu";
  std::string out;
  for (const auto& d : devices) out += (out.empty() ? "" : ",") + d;
  return out;
}


// zmq::poll that treats a signal (EINTR: Ctrl-C, SIGTERM) as "nothing yet": the signal handler
// has already recorded what to do.
void poll_for(std::vector<zmq::pollitem_t>& items, milliseconds timeout) {
  try {
    zmq::poll(items, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
    for (auto& item : items) item.revents = 0;
  }
}

// Logs the first few drops of each kind, then every power of two: a flood of garbage must not
// become a flood of log lines.
bool worth_logging(uint64_t count) { return count <= 3 || (count & (count - 1)) == 0; }

}  // namespace

struct Dispatcher::Impl {
  Impl(Study& s, TrialStore& st, DispatcherOptions o)
      : study(s), store(st), opt(std::move(o)), router(ctx, zmq::socket_type::router) {}

  Study& study;
  TrialStore& store;
  DispatcherOptions opt;
  zmq::context_t ctx;
  std::unique_ptr<ZapHandler> zap;  // bound before the router so no handshake escapes it
  zmq::socket_t router;
  // Failed security handshakes show only here: a worker with a wrong server key or without keys
  // would otherwise fail unseen on this side.
  std::optional<zmq::socket_t> monitor;
  uint64_t handshake_failures = 0;
  // Rate-limited per cause, so that one misconfigured worker's retries never hide another's.
  std::map<std::string, uint64_t> handshake_failures_by_cause;
  uint64_t closed_connections = 0;

  std::map<std::string, Worker> workers;          // by instance
  std::map<std::string, std::string> by_routing;  // routing id -> instance
  std::map<int64_t, Clock::time_point> orphans;   // RUNNING at start, nobody holds them yet
  std::vector<Outgoing> outbox;
  std::vector<std::pair<std::string, std::string>> inbox;  // routing id, frame

  DispatcherStats st;
  mutable std::mutex stats_mu;
  DispatcherStats published;

  std::atomic<bool> stop_now{false};
  std::atomic<bool> drain{false};
  bool drain_applied = false;

  void send(const std::string& routing, const proto::Message& m) {
    outbox.push_back({routing, proto::encode(m)});
  }

  void drain_monitor() {
    while (monitor) {
      zmq::message_t ev;
      if (!proto::recv_msg(*monitor, ev, zmq::recv_flags::dontwait)) return;
      zmq::message_t addr;
      if (ev.more()) (void)proto::recv_msg(*monitor, addr, zmq::recv_flags::none);
      if (ev.size() < 6) continue;
      uint16_t event = 0;
      uint32_t value = 0;
      std::memcpy(&event, ev.data(), 2);
      std::memcpy(&value, static_cast<const char*>(ev.data()) + 2, 4);
      if (event == ZMQ_EVENT_DISCONNECTED) {
        // ZeroMQ closes a connection that sends a frame over maxmsgsize without reading it; that
        // shows only as a closed connection, so every close is counted (and the first logged).
        if (worth_logging(++closed_connections)) {
          spdlog::info("a connection to {} closed ({} so far): the peer left, or sent a frame over {} bytes, which "
                       "is refused unread",
                       addr.to_string(), closed_connections, opt.max_message_bytes * 4 + 4096);
        }
        continue;
      }
      if (event != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) continue;
      st.handshake_failed = ++handshake_failures;
      std::string cause;
      if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        // libzmq reports a security mismatch seen by the peer as a broken connection.
        cause = opt.curve ? "the peer broke off the handshake: most likely a worker that uses no CURVE keys, and this "
                            "scheduler requires them (--keys, --server-key)"
                          : "the peer broke off the handshake: most likely a worker that uses CURVE keys, and this "
                            "scheduler has none (start it with --keys and --allow)";
      } else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        cause = opt.curve ? "it uses no CURVE keys, and this scheduler requires them (--keys, --server-key)"
                          : "it uses CURVE keys, and this scheduler has none (start it with --keys and --allow)";
      } else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC || value == ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE) {
        cause = "its HELLO does not decrypt: the worker's --server-key is most likely not this scheduler's public key";
      } else {
        cause = "ZMTP protocol error " + std::to_string(value) + " (not a hypertune worker, or a damaged connection)";
      }
      if (!worth_logging(++handshake_failures_by_cause[cause])) continue;
      spdlog::warn("a connection to {} failed its security handshake ({} so far): {}", addr.to_string(),
                   handshake_failures, cause);
    }
  }

  void flush() {
    for (auto& o : outbox) {
      try {
        if (!router.send(zmq::buffer(o.routing), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) continue;
        (void)router.send(zmq::buffer(o.frame), zmq::send_flags::dontwait);
        ++st.sent;
      } catch (const zmq::error_t& e) {
        // EHOSTUNREACH and the like: the peer is gone; its lease will expire.
        spdlog::debug("send to {} failed: {}", hex(o.routing), e.what());
      }
    }
    outbox.clear();
  }

  // Reads every complete message waiting on the router, up to max_batch.
  void read_available() {
    while (inbox.size() < opt.max_batch) {
      zmq::message_t id;
      if (!proto::recv_msg(router, id, zmq::recv_flags::dontwait)) return;
      std::vector<zmq::message_t> parts;
      while (id.more() || (!parts.empty() && parts.back().more())) {
        zmq::message_t part;
        (void)proto::recv_msg(router, part, zmq::recv_flags::none);
        parts.push_back(std::move(part));
        if (!parts.back().more()) break;
      }
      ++st.received;
      if (parts.size() != 1) {
        note_drop(id.to_string(), drop_reason(proto::DecodeErrorKind::kMalformed,
                                               "expected one frame, got " + std::to_string(parts.size())));
        continue;
      }
      inbox.emplace_back(id.to_string(), parts.front().to_string());
    }
  }

  void note_drop(const std::string& routing, const proto::DecodeError& e) {
    ++st.dropped;
    const auto k = static_cast<size_t>(e.kind);
    const uint64_t n = ++st.dropped_by_kind[k];
    if (worth_logging(n)) {
      spdlog::warn("dropped a {} message from {} ({} so far): {}", proto::to_string(e.kind), peer_name(routing), n,
                   e.detail);
    }
  }

  [[nodiscard]] std::string peer_name(const std::string& routing) const {
    auto it = by_routing.find(routing);
    if (it != by_routing.end()) return "worker '" + workers.at(it->second).id + "'";
    return "connection " + hex(routing);
  }

  Worker* worker_at(const std::string& routing) {
    auto it = by_routing.find(routing);
    return it == by_routing.end() ? nullptr : &workers.at(it->second);
  }

  void handle(const std::string& routing, const std::string& frame) {
    const proto::Decoded d = proto::decode(frame, opt.max_message_bytes);
    if (!d.ok()) {
      note_drop(routing, *d.error);
      if (d.error->kind == proto::DecodeErrorKind::kWrongVersion) {
        ++st.refused_version;
        const std::string reason = "protocol version " + std::to_string(d.error->version.value_or(0)) +
                                   " is not supported: this scheduler speaks version " +
                                   std::to_string(proto::kVersion) + "; run the same hypertune release on both sides";
        if (worth_logging(st.refused_version)) {
          spdlog::warn("refused {} ({} so far): {}", peer_name(routing), st.refused_version, reason);
        }
        send(routing, proto::Refuse{reason});
      }
      return;
    }
    const proto::Message& m = *d.message;
    if (const auto* hello = std::get_if<proto::Hello>(&m)) {
      on_hello(routing, *hello);
      return;
    }
    Worker* w = worker_at(routing);
    if (!w) {
      ++st.unknown_peer;
      // After a scheduler restart every worker lands here once: ask it to introduce itself.
      if (!std::holds_alternative<proto::Disconnect>(m)) {
        send(routing, proto::Disconnect{"unknown worker: say HELLO", true});
      }
      return;
    }
    w->last_seen = Clock::now();
    std::visit(
        [&](const auto& msg) {
          using T = std::decay_t<decltype(msg)>;
          if constexpr (std::is_same_v<T, proto::Report>) {
            on_report(*w, msg);
          } else if constexpr (std::is_same_v<T, proto::Result>) {
            on_result(*w, msg);
          } else if constexpr (std::is_same_v<T, proto::Disconnect>) {
            on_disconnect(*w, msg);
          } else if constexpr (std::is_same_v<T, proto::Heartbeat>) {
            // The lease was renewed above.
          } else {
            // WELCOME, ASSIGN, DECISION, ... are the scheduler's to send.
            note_drop(routing, drop_reason(proto::DecodeErrorKind::kUnknownCommand,
                                            std::string(proto::to_string(msg.kCommand)) + " is not a worker's message"));
          }
        },
        m);
  }

  void on_hello(const std::string& routing, const proto::Hello& h) {
    if (h.instance.empty() || h.name.empty()) {
      send(routing, proto::Refuse{"HELLO needs a worker name and instance id"});
      return;
    }
    auto it = workers.find(h.instance);
    const bool reconnect = it != workers.end();
    if (!reconnect) {
      Worker w;
      // Names come from the peer: control characters escaped, so that a name cannot forge or
      // recolour log lines (nor reach the store as invalid UTF-8).
      const std::string name = printable(h.name, 128);
      w.name = name;
      w.instance = h.instance;
      // Readable ids: the name alone, unless a live worker already uses it.
      w.id = name;
      for (const auto& [inst, other] : workers) {
        if (other.id == w.id) w.id = name + "/" + printable(h.instance, 64);
      }
      it = workers.emplace(h.instance, std::move(w)).first;
    }
    Worker& w = it->second;
    if (reconnect && w.routing != routing) by_routing.erase(w.routing);
    w.routing = routing;
    by_routing[routing] = h.instance;
    w.slots = h.slots;
    w.prefetch = h.prefetch;
    w.devices = h.devices;
    if (opt.gpus_per_trial > 0) {
      // GPU slots: as many trials at once as its CUDA devices allow.
      const auto cuda = std::count_if(w.devices.begin(), w.devices.end(),
                                      [](const std::string& d) { return d.rfind("cuda:", 0) == 0; });
      w.slots = std::min(w.slots, static_cast<int>(cuda / opt.gpus_per_trial));
      if (w.slots == 0) {
        w.prefetch = 0;
        spdlog::warn("worker '{}' has {} CUDA device(s) and this sweep needs {} per trial (workers.gpus_per_trial): "
                     "it gets no trials (start it with --gpus)",
                     w.id, cuda, opt.gpus_per_trial);
      }
    }
    w.last_seen = Clock::now();
    ++st.workers_joined;

    // Reconcile what the worker holds with what the study thinks it holds.
    proto::Welcome welcome;
    welcome.worker_id = w.id;
    welcome.sweep = study.record().name;
    welcome.heartbeat_ms = opt.heartbeat.count();
    welcome.lease_ms = opt.lease.count();
    welcome.gpus_per_trial = opt.gpus_per_trial;
    std::set<int64_t> held;
    for (const auto& t : h.running) {
      held.insert(t.number);
      const TrialRecord* rec = study.trial(t.number);
      if (!rec) {
        ++st.unknown_trial;
        spdlog::warn("worker '{}' holds trial {} that this study does not have: told to stop it", w.id, t.number);
        welcome.revoke.push_back(t.number);
        continue;
      }
      const bool had = study.holder(t.number) == w.id;
      if (had || study.adopt(t.number, w.id)) {
        if (!had) {
          ++st.adopted;
          spdlog::info("worker '{}' still runs trial {}: it keeps it", w.id, t.number);
        }
        orphans.erase(t.number);
        w.trials.insert(t.number);
        welcome.keep.push_back(t.number);
      } else {
        // Finished, re-queued, or someone else's now: its result is unwanted. The worker may still
        // have an unacknowledged RESULT for it, which it resends and we acknowledge.
        welcome.revoke.push_back(t.number);
        w.trials.erase(t.number);
      }
    }
    // Trials the study thinks this worker runs but the worker does not: their ASSIGN was lost in
    // a reconnect. Not the trial's fault: no retry counted.
    for (int64_t n : std::vector<int64_t>(w.trials.begin(), w.trials.end())) {
      if (held.count(n)) continue;
      w.trials.erase(n);
      if (study.holder(n) == w.id) {
        study.requeue(n, "worker '" + w.id + "' reconnected without it", /*count_retry=*/false);
        ++st.requeued;
      }
    }
    spdlog::info("worker '{}' {} ({} slot{}, {}; {} trial{} kept, {} revoked)", w.id,
                 reconnect ? "reconnected" : "joined", w.slots, w.slots == 1 ? "" : "s",
                 devices_text(w.devices),
                 welcome.keep.size(), welcome.keep.size() == 1 ? "" : "s", welcome.revoke.size());
    send(routing, welcome);
  }

  void on_report(Worker& w, const proto::Report& m) {
    const StepReport& r = m.report;
    proto::Answer d{r.number, r.step, Verdict{Decision::kPrune, std::nullopt}};
    if (!study.trial(r.number)) {
      ++st.unknown_trial;
      spdlog::warn("worker '{}' reported step {} of unknown trial {}: told to stop", w.id, r.step, r.number);
    } else {
      d.verdict = study.report(r.number, r.step, r.metrics, w.id, r.checkpoint);
    }
    send(w.routing, d);
  }

  void on_result(Worker& w, const proto::Result& r) {
    w.trials.erase(r.number);
    bool accepted = false;
    if (!study.trial(r.number)) {
      ++st.unknown_trial;
      spdlog::warn("worker '{}' sent a result for unknown trial {}: ignored", w.id, r.number);
    } else {
      const Outcome& o = r.outcome;
      accepted = study.finish(r.number, o, w.id);
      if (accepted) {
        ++st.results;
        if (o.kind == OutcomeKind::kFailed) {
          spdlog::warn("trial {} failed on worker '{}': {}", r.number, w.id, o.error);
        }
      }
    }
    send(w.routing, proto::ResultAck{r.number, accepted});
  }

  void release_trials(Worker& w, const std::string& reason, bool count_retry) {
    for (int64_t n : w.trials) {
      if (study.holder(n) != w.id) continue;
      study.requeue(n, reason, count_retry);
      ++st.requeued;
      const TrialRecord* rec = study.trial(n);
      if (rec && rec->trial.state == search::TrialState::kFail) {
        spdlog::warn("trial {} failed: {}", n, rec->fail_reason);
      } else {
        spdlog::info("trial {} back in the queue: {}", n, reason);
      }
    }
    w.trials.clear();
  }

  void forget(const std::string& instance) {
    auto it = workers.find(instance);
    if (it == workers.end()) return;
    by_routing.erase(it->second.routing);
    workers.erase(it);
  }

  void on_disconnect(Worker& w, const proto::Disconnect& d) {
    ++st.workers_left;
    spdlog::info("worker '{}' left: {}", w.id, d.reason.empty() ? std::string("no reason given") : d.reason);
    // The worker stopped on purpose (shutdown): its trials are not at fault.
    release_trials(w, "worker '" + w.id + "' left", /*count_retry=*/false);
    forget(std::string(w.instance));
  }

  void expire(Clock::time_point now) {
    std::vector<std::string> lost;
    for (auto& [inst, w] : workers) {
      if (now - w.last_seen > opt.lease) lost.push_back(inst);
    }
    for (const auto& inst : lost) {
      Worker& w = workers.at(inst);
      const auto silent = std::chrono::duration_cast<milliseconds>(now - w.last_seen).count();
      ++st.workers_lost;
      spdlog::warn("worker '{}' lost: silent for {} ms (lease {} ms)", w.id, silent, opt.lease.count());
      release_trials(w, "worker '" + w.id + "' lost (silent for " + std::to_string(silent) + " ms)",
                     /*count_retry=*/true);
      forget(inst);
    }
    for (auto it = orphans.begin(); it != orphans.end();) {
      if (now < it->second) {
        ++it;
        continue;
      }
      const int64_t n = it->first;
      it = orphans.erase(it);
      const TrialRecord* rec = study.trial(n);
      if (rec && rec->trial.state == search::TrialState::kRunning && study.holder(n).empty()) {
        study.requeue(n, "no worker claimed it after the scheduler restarted", /*count_retry=*/false);
        ++st.requeued;
        spdlog::info("trial {} back in the queue: no worker claimed it after the restart", n);
      }
    }
  }

  void assign_free_slots() {
    // Round robin, one trial per worker per pass, so trials spread over workers.
    bool any = true;
    while (any) {
      any = false;
      for (auto& [inst, w] : workers) {
        if (w.free_slots() == 0) continue;
        std::optional<TrialSpec> a = study.ask(w.id);
        if (!a) return;
        w.trials.insert(a->number);
        send(w.routing, to_assign(std::move(*a)));
        ++st.assigned;
        any = true;
      }
    }
  }

  // Study::done() settles only after an ask() found nothing to promote, and asks happen for free
  // slots. When the last trial ends with no worker left to ask for (all lost, say), ask on no
  // one's behalf: nothing to give means the sweep is over; a promotion goes back to the queue
  // for the next worker that joins.
  void settle_without_workers() {
    if (study.done() || !study.budget_spent() || !study.running_trials().empty()) return;
    for (const auto& [inst, w] : workers) {
      if (w.free_slots() > 0) return;
    }
    if (study.progress().waiting > 0) return;
    if (auto a = study.ask(std::string())) {
      study.requeue(a->number, "no worker to run its promotion yet", /*count_retry=*/false);
    }
  }

  // The study's part of the spec plus the sweep's: trial section, paths, threads.
  proto::Assign to_assign(TrialSpec spec) const {
    if (!opt.artifacts_dir.empty()) spec.checkpoint_dir = trial_dir(opt.artifacts_dir, spec.number);
    spec.trial = opt.trial;
    spec.work_dir = opt.work_dir;
    spec.threads = opt.threads_per_trial;
    return proto::Assign{std::move(spec)};
  }

  void broadcast(const proto::Message& m) {
    const std::string frame = proto::encode(m);
    for (const auto& [inst, w] : workers) outbox.push_back({w.routing, frame});
  }

  void publish() {
    st.workers = workers.size();
    if (zap) st.auth_refused = zap->refused();
    std::lock_guard lock(stats_mu);
    published = st;
  }
};

Dispatcher::Dispatcher(Study& study, TrialStore& store, DispatcherOptions options)
    : impl_(std::make_unique<Impl>(study, store, std::move(options))) {
  auto& o = impl_->opt;
  if (o.heartbeat.count() <= 0) throw ConfigError("heartbeat", "must be positive, got " + std::to_string(o.heartbeat.count()) + " ms");
  if (o.lease <= o.heartbeat) {
    throw ConfigError("lease", std::to_string(o.lease.count()) + " ms must exceed the heartbeat (" +
                                   std::to_string(o.heartbeat.count()) + " ms)");
  }
  if (o.max_batch == 0) o.max_batch = 1;
  auto& r = impl_->router;
  r.set(zmq::sockopt::linger, 1000);
  r.set(zmq::sockopt::rcvhwm, 0);
  r.set(zmq::sockopt::sndhwm, 0);
  // Frames a little over the limit are read and counted; absurd ones cost the sender its
  // connection before they are buffered.
  r.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(o.max_message_bytes) * 4 + 4096);
  if (o.curve) {
    if (o.curve->allowed_public_z85.empty()) throw ConfigError("--allow", "the allow list is empty: no worker could connect");
    impl_->zap = std::make_unique<ZapHandler>(impl_->ctx, o.curve->allowed_public_z85);
    r.set(zmq::sockopt::zap_domain, "hypertune");
    r.set(zmq::sockopt::curve_server, true);
    r.set(zmq::sockopt::curve_secretkey, o.curve->secret_z85);
  }
  const std::string mon = "inproc://hypertune-dispatcher-monitor";
  if (zmq_socket_monitor(r.handle(), mon.c_str(),
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                             ZMQ_EVENT_DISCONNECTED) == 0) {
    impl_->monitor.emplace(impl_->ctx, zmq::socket_type::pair);
    impl_->monitor->set(zmq::sockopt::linger, 0);
    impl_->monitor->connect(mon);
  }
  try {
    r.bind(o.bind);
  } catch (const zmq::error_t& e) {
    throw Error("cannot bind the scheduler on " + o.bind + ": " + e.what());
  }
  endpoint_ = r.get(zmq::sockopt::last_endpoint);

  // Trials RUNNING in storage belong to workers of a previous scheduler, if to anyone.
  const auto deadline = Clock::now() + o.lease;
  for (int64_t n : study.running_trials()) {
    if (study.holder(n).empty()) impl_->orphans[n] = deadline;
  }
  impl_->publish();
}

Dispatcher::~Dispatcher() = default;

void Dispatcher::request_stop(bool drain) noexcept {
  if (drain) {
    impl_->drain.store(true);
  } else {
    impl_->stop_now.store(true);
  }
}

DispatcherStats Dispatcher::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->published;
}

Dispatcher::Ending Dispatcher::run() {
  Impl& s = *impl_;
  auto next_heartbeat = Clock::now() + s.opt.heartbeat;
  auto next_tick = Clock::now();
  const milliseconds max_wait = std::min(s.opt.heartbeat, milliseconds(100));

  for (;;) {
    if (s.stop_now.load()) {
      s.publish();
      return Ending::kStopped;
    }
    if (s.drain.load() && !s.drain_applied) {
      s.drain_applied = true;
      s.study.stop_creating();
      spdlog::info("stopping: no new trials; waiting for {} running trial{}", s.study.running_trials().size(),
                   s.study.running_trials().size() == 1 ? "" : "s");
    }

    std::vector<zmq::pollitem_t> items;
    items.push_back({s.router.handle(), 0, ZMQ_POLLIN, 0});
    if (s.zap) items.push_back({s.zap->socket().handle(), 0, ZMQ_POLLIN, 0});
    if (s.monitor) items.push_back({s.monitor->handle(), 0, ZMQ_POLLIN, 0});
    const auto now0 = Clock::now();
    auto wait = std::chrono::duration_cast<milliseconds>(next_heartbeat - now0);
    wait = std::clamp(wait, milliseconds(0), max_wait);
    poll_for(items, wait);
    if (s.zap && (items[1].revents & ZMQ_POLLIN)) s.zap->handle_pending();
    s.drain_monitor();

    s.read_available();
    const auto now = Clock::now();
    {
      TrialStore::Batch batch(s.store);
      for (const auto& [routing, frame] : s.inbox) s.handle(routing, frame);
      s.inbox.clear();
      s.expire(now);
      if (const auto cut = s.study.apply_deadline(); !cut.empty()) {
        const bool failed = s.study.trial(cut.front())->trial.state == search::TrialState::kFail;
        spdlog::info("the sweep's timeout is reached: {} running trial{} stopped and {}", cut.size(),
                     cut.size() == 1 ? "" : "s",
                     failed ? "failed (on_timeout: stop)" : "put back in the queue (on_timeout: pause)");
      }
      s.assign_free_slots();
      s.settle_without_workers();
      batch.commit();
      ++s.st.commits;
    }
    if (now >= next_heartbeat) {
      s.broadcast(proto::Heartbeat{});
      next_heartbeat = now + s.opt.heartbeat;
    }
    s.publish();  // a peer that sees a reply also sees the counts that led to it
    s.flush();

    if (s.opt.on_tick && now >= next_tick) {
      s.opt.on_tick(s.study.progress());
      next_tick = now + s.opt.tick_interval;
    }
    s.publish();

    if (s.study.done()) {
      s.broadcast(proto::Disconnect{s.study.past_deadline() ? "the sweep's timeout is reached" : "the sweep is finished",
                                    false});
      s.flush();
      if (s.opt.on_tick) s.opt.on_tick(s.study.progress());
      s.publish();
      return Ending::kDone;
    }
  }
}

void Dispatcher::serve_finished() {
  Impl& s = *impl_;
  spdlog::info("the sweep is finished; telling any worker that connects, until stopped");
  while (!s.stop_now.load() && !s.drain.load()) {
    std::vector<zmq::pollitem_t> items;
    items.push_back({s.router.handle(), 0, ZMQ_POLLIN, 0});
    if (s.zap) items.push_back({s.zap->socket().handle(), 0, ZMQ_POLLIN, 0});
    if (s.monitor) items.push_back({s.monitor->handle(), 0, ZMQ_POLLIN, 0});
    poll_for(items, milliseconds(100));
    if (s.zap && (items[1].revents & ZMQ_POLLIN)) s.zap->handle_pending();
    s.drain_monitor();
    s.read_available();
    for (const auto& [routing, frame] : s.inbox) {
      const proto::Decoded d = proto::decode(frame, s.opt.max_message_bytes);
      if (!d.ok()) {
        s.note_drop(routing, *d.error);
      } else if (!std::holds_alternative<proto::Disconnect>(*d.message)) {
        s.send(routing, proto::Disconnect{"the sweep is finished", false});
      }
    }
    s.inbox.clear();
    s.flush();
    s.publish();
  }
}

}  // namespace hypertune::scheduler
