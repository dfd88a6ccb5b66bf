#include "worker/agent.h"

#include "protocol/socket.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "base/error.h"
#include "base/rng.h"
#include "worker/run_dir.h"

namespace hypertune::worker {

namespace proto = hypertune::protocol;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const char* to_string(AgentEnd e) noexcept {
  switch (e) {
    case AgentEnd::kSweepFinished: return "sweep finished";
    case AgentEnd::kStopped: return "stopped";
    case AgentEnd::kRefused: return "refused";
    case AgentEnd::kGaveUp: return "gave up";
  }
  return "?";
}

namespace {

std::string default_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "worker");
  return std::string(host) + ":" + std::to_string(::getpid());
}

// Unique per process: tells the scheduler a reconnect from a newcomer with the same name.
std::string make_instance() {
  std::random_device rd;
  uint64_t s = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
               static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^
               (static_cast<uint64_t>(::getpid()) << 17);
  const uint64_t v = hypertune::splitmix64(s);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

struct Run {
  proto::Assign assign;
  int slot = 0;
  std::vector<int> devices;  // the CUDA devices it was given when it started
  std::thread thread;
  std::atomic<bool> stop{false};
  std::condition_variable cv;
  // Guarded by Impl::mu.
  std::optional<proto::Report> pending_report;  // sent, no DECISION yet
  std::optional<Verdict> decision;              // delivered, not yet taken by the trial thread
  std::optional<proto::Result> result;          // the trial ended; not acknowledged yet
  bool started = false;                         // has a slot and a thread (else queued: prefetch)
  bool finished = false;                        // the trial thread is done with the run
  bool discard = false;                         // revoked or shutting down: never report again
  int64_t last_step = 0;
  std::optional<std::string> run_dir;           // named in every REPORT (worker/run_dir.h)
  // I/O thread only: sent in the current session.
  bool report_sent = false;
  bool result_sent = false;
};

}  // namespace

struct Agent::Impl {
  explicit Impl(AgentOptions o) : opt(std::move(o)) {}
  ~Impl() {
    if (efd >= 0) ::close(efd);
  }

  enum class State { kOffline, kHandshake, kReady };

  AgentOptions opt;
  std::string name;
  std::string instance;
  zmq::context_t ctx;
  std::optional<zmq::socket_t> sock;
  std::optional<zmq::socket_t> monitor;
  int monitor_seq = 0;
  // CURVE fails silently on the client side when the server key is wrong: the scheduler cannot
  // read this worker's HELLO and drops the connection. Connections that reached the scheduler
  // but never completed the handshake are counted; kMaxSilentHandshakes in a row end the worker.
  static constexpr int kMaxSilentHandshakes = 3;
  bool transport_up = false;       // the current TCP connection is established
  bool handshake_done = false;     // ... and its security handshake succeeded
  int silent_handshakes = 0;
  int efd = -1;
  std::atomic<bool> stop_requested{false};

  std::mutex mu;
  std::map<int64_t, std::unique_ptr<Run>> runs;

  State state = State::kOffline;
  std::string worker_id;
  int64_t gpus_per_trial = 0;  // from WELCOME; guarded by mu
  milliseconds heartbeat{1000};
  milliseconds lease{10000};
  milliseconds backoff{1000};
  Clock::time_point last_heard;
  Clock::time_point next_heartbeat;
  Clock::time_point hello_deadline;
  Clock::time_point reconnect_at;
  Clock::time_point unreachable_since;
  std::optional<AgentEnd> ending;
  std::string end_reason;
  AgentSummary summary;

  void wake() noexcept {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(efd, &one, sizeof one);
  }

  // ---- trial threads --------------------------------------------------------------------------

  class Context final : public TrialContext {
   public:
    Context(Impl& impl, Run& run) : impl_(impl), run_(run) {}
    Verdict report(int64_t step, const nlohmann::json& metrics) override {
      std::unique_lock lock(impl_.mu);
      if (run_.stop.load()) return {hypertune::Decision::kPrune, std::nullopt};
      run_.pending_report = proto::Report{{run_.assign.spec.number, step, metrics, run_.run_dir}};
      run_.report_sent = false;
      run_.decision.reset();
      run_.last_step = step;
      impl_.wake();
      run_.cv.wait(lock, [&] { return run_.decision.has_value() || run_.stop.load(); });
      if (run_.decision) {
        const Verdict v = *run_.decision;
        run_.decision.reset();
        return v;
      }
      return {hypertune::Decision::kPrune, std::nullopt};
    }
    [[nodiscard]] bool stop_requested() const override { return run_.stop.load(); }

   private:
    Impl& impl_;
    Run& run_;
  };

  void execute(Run& run) {
    // The worker's own settings win over the scheduler's paths: --work-dir, --checkpoint-root.
    TrialSpec spec = run.assign.spec;
    if (opt.work_dir) spec.work_dir = *opt.work_dir;
    if (spec.work_dir.empty()) spec.work_dir = ".";
    if (opt.checkpoint_root) {
      spec.checkpoint_dir = trial_dir(*opt.checkpoint_root, spec.number);
    } else if (spec.checkpoint_dir.empty()) {
      spec.checkpoint_dir =
          trial_dir((std::filesystem::temp_directory_path() / ("hypertune-" + instance)).string(), spec.number);
    }
    spec.threads = std::max(1, spec.threads);
    spec.gpus = run.devices;

    Outcome outcome;
    try {
      // A folder of this run's own below the trial's (worker/run_dir.h): the fence against a
      // cut-off earlier holder that may still be writing into its own.
      std::optional<std::string> run_dir = begin_run(spec);
      {
        std::lock_guard lock(mu);
        run.run_dir = std::move(run_dir);
      }
      std::unique_ptr<TrialRunner> runner = opt.make_runner(spec.trial);
      if (!runner) throw Error("no runner for this trial section");
      Context ctx(*this, run);
      outcome = runner->run(spec, ctx);
      end_run(spec, outcome);
    } catch (const std::exception& e) {
      // A failing trial never takes the worker down.
      outcome = Outcome::failed(e.what(), run.last_step);
    }

    std::lock_guard lock(mu);
    if (!outcome.metrics.is_object()) outcome.metrics = nlohmann::json::object();
    proto::Result r{spec.number, std::move(outcome)};
    run.result = std::move(r);
    run.result_sent = false;
    run.pending_report.reset();
    // A trial told to stop ends with a partial outcome that must not be recorded as its result.
    if (run.stop.load()) run.discard = true;
    run.finished = true;
    wake();
  }

  void stop_run_locked(Run& run) {
    run.stop.store(true);
    run.discard = true;
    if (!run.started) run.finished = true;  // queued: nothing runs it, flush_runs drops it
    run.cv.notify_all();
  }

  // Gives run a free slot, its devices and its thread. Caller holds mu.
  void start_locked(Run& run, int slot, std::vector<int> devices) {
    run.slot = slot;
    run.devices = std::move(devices);
    run.started = true;
    ++summary.trials_started;
    spdlog::debug("trial {} started on slot {}", run.assign.spec.number, slot);
    run.thread = std::thread([this, r = &run] { execute(*r); });
  }

  // The lowest slot no started, unfinished run holds; opt.slots when all are busy. Caller holds mu.
  int free_slot_locked() const {
    std::set<int> used;
    for (const auto& [n, run] : runs) {
      if (run->started && !run->finished) used.insert(run->slot);
    }
    int slot = 0;
    while (used.count(slot)) ++slot;
    return slot;
  }

  // The CUDA devices of a run starting on `slot` now; nullopt when the sweep wants
  // gpus_per_trial devices per trial and fewer are free. Without gpus_per_trial, slot i shares
  // the (i mod n)-th device of --gpus. Caller holds mu.
  std::optional<std::vector<int>> free_devices_locked(int slot) const {
    if (opt.gpus.empty()) return std::vector<int>{};
    if (gpus_per_trial <= 0) return std::vector<int>{opt.gpus[static_cast<size_t>(slot) % opt.gpus.size()]};
    std::set<int> used;
    for (const auto& [n, run] : runs) {
      if (run->started && !run->finished) used.insert(run->devices.begin(), run->devices.end());
    }
    std::vector<int> out;
    for (int g : opt.gpus) {
      if (used.count(g)) continue;
      out.push_back(g);
      if (static_cast<int64_t>(out.size()) == gpus_per_trial) return out;
    }
    return std::nullopt;
  }

  // Queued trials (prefetched, or waiting for GPUs) take the slots and devices that finished
  // trials left, oldest trial first.
  void start_queued_locked() {
    for (auto& [n, run] : runs) {
      if (run->started || run->finished) continue;
      const int slot = free_slot_locked();
      if (slot >= opt.slots) return;
      auto devices = free_devices_locked(slot);
      if (!devices) return;
      start_locked(*run, slot, std::move(*devices));
    }
  }

  // ---- socket ---------------------------------------------------------------------------------

  void send(const proto::Message& m) {
    if (!sock) return;
    const std::string frame = proto::encode(m);
    try {
      (void)sock->send(zmq::buffer(frame), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      spdlog::debug("send failed: {}", e.what());
    }
  }

  void open_socket(Clock::time_point now) {
    sock.emplace(ctx, zmq::socket_type::dealer);
    sock->set(zmq::sockopt::linger, 0);
    sock->set(zmq::sockopt::sndhwm, 0);
    sock->set(zmq::sockopt::rcvhwm, 0);
    sock->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(opt.max_message_bytes) * 4 + 4096);
    if (opt.curve) {
      sock->set(zmq::sockopt::curve_serverkey, opt.curve->server_public_z85);
      sock->set(zmq::sockopt::curve_publickey, opt.curve->public_z85);
      sock->set(zmq::sockopt::curve_secretkey, opt.curve->secret_z85);
    }
    // Handshake failures (a refused key, a security mismatch) only show on the monitor.
    const std::string mon = "inproc://hypertune-agent-monitor-" + std::to_string(++monitor_seq);
    transport_up = false;
    handshake_done = false;
    if (zmq_socket_monitor(sock->handle(), mon.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0) {
      monitor.emplace(ctx, zmq::socket_type::pair);
      monitor->set(zmq::sockopt::linger, 0);
      monitor->connect(mon);
    }
    try {
      sock->connect(opt.connect);
    } catch (const zmq::error_t& e) {
      close_socket();
      throw ConfigError("--connect", "cannot connect to '" + opt.connect + "': " + e.what());
    }
    send_hello(now);
  }

  // The current connection reached the scheduler but its CURVE handshake never completed.
  void handshake_went_silent() {
    if (!opt.curve || !transport_up || handshake_done) return;
    transport_up = false;
    if (++silent_handshakes < kMaxSilentHandshakes || ending) return;
    end(AgentEnd::kRefused,
        "the CURVE handshake with " + opt.connect + " never completed (" +
            std::to_string(silent_handshakes) +
            " connections reached it and were dropped): the server key given with --server-key "
            "(or HYPERTUNE_SERVER_KEY) is most likely not this scheduler's public key");
  }

  void close_socket() {
    if (sock && monitor) drain_monitor();
    handshake_went_silent();
    if (sock && monitor) zmq_socket_monitor(sock->handle(), nullptr, 0);
    monitor.reset();
    sock.reset();
    if (state == State::kReady) unreachable_since = Clock::now();
    state = State::kOffline;
  }

  void send_hello(Clock::time_point now) {
    proto::Hello h;
    h.name = name;
    h.instance = instance;
    h.slots = opt.slots;
    h.prefetch = opt.prefetch;
    if (opt.gpus.empty()) {
      h.devices = {"cpu"};
    } else {
      for (int g : opt.gpus) h.devices.push_back("cuda:" + std::to_string(g));
    }
    {
      std::lock_guard lock(mu);
      for (const auto& [n, run] : runs) {
        if (!run->discard) h.running.push_back({n, run->last_step});
      }
    }
    send(h);
    state = State::kHandshake;
    hello_deadline = now + lease;
  }

  void lose_scheduler(Clock::time_point now, const std::string& why) {
    spdlog::warn("{}; reconnecting in {} ms", why, backoff.count());
    close_socket();
    reconnect_at = now + backoff;
    backoff = std::min(backoff * 2, opt.reconnect_max);
  }

  // ---- messages from the scheduler ------------------------------------------------------------

  void on_frame(const std::string& frame, Clock::time_point now) {
    const proto::Decoded d = proto::decode(frame, opt.max_message_bytes);
    if (!d.ok()) {
      const auto& e = *d.error;
      if (e.kind == proto::DecodeErrorKind::kWrongVersion) {
        end(AgentEnd::kRefused,
            e.refuse ? "the scheduler refused this worker: " + e.refuse->reason
                     : "the scheduler speaks protocol version " + std::to_string(e.version.value_or(0)) +
                           "; this worker speaks version " + std::to_string(proto::kVersion));
        return;
      }
      spdlog::warn("dropped a {} message from the scheduler: {}", proto::to_string(e.kind), e.detail);
      return;
    }
    last_heard = now;
    std::visit(
        [&](const auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, proto::Welcome>) {
            on_welcome(m, now);
          } else if constexpr (std::is_same_v<T, proto::Refuse>) {
            end(AgentEnd::kRefused, "the scheduler refused this worker: " + m.reason);
          } else if constexpr (std::is_same_v<T, proto::Assign>) {
            on_assign(m);
          } else if constexpr (std::is_same_v<T, proto::Answer>) {
            on_decision(m);
          } else if constexpr (std::is_same_v<T, proto::ResultAck>) {
            on_ack(m);
          } else if constexpr (std::is_same_v<T, proto::Disconnect>) {
            on_disconnect(m, now);
          } else if constexpr (std::is_same_v<T, proto::Heartbeat>) {
            // Liveness only.
          } else {
            spdlog::warn("ignored {} from the scheduler (a worker's message)", proto::to_string(m.kCommand));
          }
        },
        *d.message);
  }

  void on_welcome(const proto::Welcome& w, Clock::time_point now) {
    if (state != State::kHandshake) return;
    state = State::kReady;
    worker_id = w.worker_id;
    heartbeat = milliseconds(w.heartbeat_ms);
    lease = milliseconds(w.lease_ms);
    {
      std::lock_guard lock(mu);
      gpus_per_trial = w.gpus_per_trial;
    }
    if (gpus_per_trial > 0 && static_cast<int64_t>(opt.gpus.size()) < gpus_per_trial) {
      spdlog::warn("the sweep needs {} GPU(s) per trial and this worker has {} (--gpus): the scheduler sends it no "
                   "trials",
                   gpus_per_trial, opt.gpus.size());
    }
    backoff = opt.reconnect_min;
    next_heartbeat = now + heartbeat;
    const std::set<int64_t> keep(w.keep.begin(), w.keep.end());
    size_t kept = 0;
    {
      std::lock_guard lock(mu);
      for (auto& [n, run] : runs) {
        if (run->discard) continue;
        if (keep.count(n)) {
          ++kept;
        } else {
          // Revoked (finished, re-queued or someone else's) or never mentioned: stop it.
          spdlog::info("trial {} is no longer this worker's: stopping it", n);
          stop_run_locked(*run);
        }
        run->report_sent = false;
        run->result_sent = false;
      }
    }
    spdlog::info("connected to {} as '{}' (sweep '{}', heartbeat {} ms, lease {} ms{})", opt.connect, w.worker_id,
                 w.sweep, w.heartbeat_ms, w.lease_ms,
                 kept ? ", " + std::to_string(kept) + " running trial(s) kept" : std::string());
    flush_runs();
  }

  void on_assign(const proto::Assign& a) {
    if (state != State::kReady || ending) return;  // the scheduler re-queues what we do not run
    std::lock_guard lock(mu);
    const int64_t number = a.spec.number;
    if (runs.count(number)) return;  // a duplicate
    const int slot = free_slot_locked();
    auto run = std::make_unique<Run>();
    run->assign = a;
    run->last_step = a.spec.start_step;
    Run& raw = *run;
    runs.emplace(number, std::move(run));
    auto devices = free_devices_locked(slot);
    if (slot < opt.slots && devices) {
      start_locked(raw, slot, std::move(*devices));
    } else if (opt.prefetch > 0 || (slot < opt.slots && !devices)) {
      spdlog::debug("trial {} queued until a slot and its GPUs are free", number);
    } else {
      spdlog::warn("trial {} assigned with all {} slots busy: running it anyway", number, opt.slots);
      start_locked(raw, slot, devices.value_or(std::vector<int>{}));
    }
  }

  void on_decision(const proto::Answer& d) {
    std::lock_guard lock(mu);
    auto it = runs.find(d.number);
    if (it == runs.end()) return;
    Run& run = *it->second;
    if (!run.pending_report || run.pending_report->report.step != d.step) return;  // stale duplicate
    run.pending_report.reset();
    run.decision = d.verdict;
    run.cv.notify_all();
  }

  void on_ack(const proto::ResultAck& a) {
    std::unique_ptr<Run> done;
    {
      std::lock_guard lock(mu);
      auto it = runs.find(a.number);
      if (it == runs.end() || !it->second->finished) return;
      done = std::move(it->second);
      runs.erase(it);
    }
    ++summary.results_acknowledged;
    if (done->thread.joinable()) done->thread.join();
  }

  void on_disconnect(const proto::Disconnect& d, Clock::time_point now) {
    if (d.reconnect) {
      spdlog::info("the scheduler asks this worker to introduce itself again ({})", d.reason);
      send_hello(now);
      return;
    }
    if (opt.keep_serving) {
      spdlog::info("the scheduler ended the sweep ({}); waiting for the next one", d.reason);
      {
        std::lock_guard lock(mu);
        for (auto& [n, run] : runs) stop_run_locked(*run);
      }
      close_socket();
      unreachable_since = now;
      backoff = opt.reconnect_min;
      reconnect_at = now + backoff;
      return;
    }
    end(AgentEnd::kSweepFinished, d.reason);
  }

  void end(AgentEnd how, const std::string& reason) {
    if (ending) return;
    ending = how;
    end_reason = reason;
    if (how == AgentEnd::kRefused) {
      spdlog::error("{}", reason);
    } else {
      spdlog::info("worker ending ({}): {}", to_string(how), reason);
    }
    std::lock_guard lock(mu);
    for (auto& [n, run] : runs) {
      if (!run->finished) stop_run_locked(*run);
    }
  }

  // ---- work of each loop turn -----------------------------------------------------------------

  // Sends what the trial threads left for us; joins runs that are over and will not report.
  void flush_runs() {
    std::vector<proto::Message> out;
    std::vector<std::unique_ptr<Run>> done;
    {
      std::lock_guard lock(mu);
      for (auto it = runs.begin(); it != runs.end();) {
        Run& run = *it->second;
        if (run.finished && (run.discard || !run.result)) {
          done.push_back(std::move(it->second));
          it = runs.erase(it);
          continue;
        }
        if (state == State::kReady && !run.discard) {
          if (run.pending_report && !run.report_sent) {
            out.emplace_back(*run.pending_report);
            run.report_sent = true;
          }
          if (run.result && !run.result_sent) {
            out.emplace_back(*run.result);
            run.result_sent = true;
          }
        }
        ++it;
      }
    }
    for (auto& m : out) send(m);
    for (auto& r : done) {
      if (r->thread.joinable()) r->thread.join();
    }
    if (state == State::kReady && !ending) {
      std::lock_guard lock(mu);
      start_queued_locked();
    }
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
      if (event == ZMQ_EVENT_CONNECTED) {
        transport_up = true;
        handshake_done = false;
        continue;
      }
      if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        handshake_done = true;
        silent_handshakes = 0;
        continue;
      }
      if (event == ZMQ_EVENT_DISCONNECTED) {
        handshake_went_silent();
        transport_up = false;
        handshake_done = false;
        if (ending) return;
        continue;
      }
      if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        end(AgentEnd::kRefused, "the scheduler at " + opt.connect + " refused this worker's CURVE key (status " +
                                    std::to_string(value) + "): add its public key to the scheduler's --allow list");
        return;
      }
      if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        end(AgentEnd::kRefused, "the security handshake with " + opt.connect +
                                    " failed: " + (opt.curve ? "the scheduler does not use CURVE keys, or the server key is wrong"
                                                             : "the scheduler requires CURVE keys (--keys, --server-key)"));
        return;
      }
    }
  }

  [[nodiscard]] bool threads_running() {
    std::lock_guard lock(mu);
    for (const auto& [n, run] : runs) {
      if (!run->finished) return true;
    }
    return false;
  }

  void join_all() {
    std::map<int64_t, std::unique_ptr<Run>> all;
    {
      std::lock_guard lock(mu);
      for (auto& [n, run] : runs) stop_run_locked(*run);
      all.swap(runs);
    }
    for (auto& [n, run] : all) {
      if (run->thread.joinable()) run->thread.join();
    }
  }

  AgentSummary serve() {
    const auto start = Clock::now();
    unreachable_since = start;
    reconnect_at = start;
    backoff = opt.reconnect_min;
    heartbeat = opt.heartbeat;
    lease = opt.lease;

    for (;;) {
      auto now = Clock::now();
      if (stop_requested.load() && !ending) end(AgentEnd::kStopped, "stop requested");
      if (ending) {
        flush_runs();
        if (!threads_running()) {
          flush_runs();  // results of trials that ended on their own before the stop
          // Also while its WELCOME is on the way, once the connection is up (else there is nobody
          // to tell, and lingering would only delay the exit): the scheduler may already have
          // given this worker a trial; DISCONNECT hands it back without a retry.
          if (*ending == AgentEnd::kStopped &&
              (state == State::kReady || (state == State::kHandshake && handshake_done))) {
            send(proto::Disconnect{"worker stopping", false});
            // The DISCONNECT must leave before the socket closes.
            sock->set(zmq::sockopt::linger, 1000);
          }
          join_all();
          if (sock && monitor) zmq_socket_monitor(sock->handle(), nullptr, 0);
          monitor.reset();
          sock.reset();
          summary.end = *ending;
          summary.reason = end_reason;
          return summary;
        }
      }
      if (!sock && !ending) {
        if (opt.give_up_after && state != State::kReady && now - unreachable_since >= *opt.give_up_after) {
          end(AgentEnd::kGaveUp, "no scheduler answered at " + opt.connect + " for " +
                                     std::to_string(opt.give_up_after->count()) + " ms");
          continue;
        }
        if (now >= reconnect_at) open_socket(now);
      }

      std::vector<zmq::pollitem_t> items;
      items.push_back({nullptr, efd, ZMQ_POLLIN, 0});
      if (sock) items.push_back({sock->handle(), 0, ZMQ_POLLIN, 0});
      if (monitor) items.push_back({monitor->handle(), 0, ZMQ_POLLIN, 0});
      Clock::time_point wake_at = now + milliseconds(100);
      if (!sock) wake_at = std::min(wake_at, reconnect_at);
      if (state == State::kReady) wake_at = std::min(wake_at, next_heartbeat);
      const auto wait = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(wake_at - now));
      try {
        zmq::poll(items, wait);
      } catch (const zmq::error_t& e) {
        // A signal (the handler called request_stop()); the loop looks at the flags next.
        if (e.num() != EINTR) throw;
        for (auto& item : items) item.revents = 0;
      }

      if (items[0].revents & ZMQ_POLLIN) {
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t n = ::read(efd, &count, sizeof count);
      }
      if (monitor) drain_monitor();
      now = Clock::now();
      while (sock) {
        zmq::message_t msg;
        if (!proto::recv_msg(*sock, msg, zmq::recv_flags::dontwait)) break;
        if (msg.more()) {
          // One frame per message; swallow the rest of a multi-part message.
          zmq::message_t rest;
          while (msg.more() && proto::recv_msg(*sock, rest, zmq::recv_flags::dontwait) && rest.more()) {
          }
          spdlog::warn("dropped a multi-part message from the scheduler");
          continue;
        }
        on_frame(msg.to_string(), now);
        if (!sock) break;  // the message closed the connection
      }
      flush_runs();

      now = Clock::now();
      if (state == State::kReady && now >= next_heartbeat) {
        send(proto::Heartbeat{});
        next_heartbeat = now + heartbeat;
      }
      if (state == State::kHandshake && now >= hello_deadline && !ending) {
        lose_scheduler(now, "no answer from the scheduler at " + opt.connect + " within " +
                                std::to_string(lease.count()) + " ms");
      } else if (state == State::kReady && now - last_heard > lease && !ending) {
        lose_scheduler(now, "the scheduler at " + opt.connect + " has been silent for " +
                                std::to_string(std::chrono::duration_cast<milliseconds>(now - last_heard).count()) +
                                " ms");
      }
    }
  }
};

Agent::Agent(AgentOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  auto& o = impl_->opt;
  if (o.connect.empty()) throw ConfigError("--connect", "no scheduler endpoint given (or HYPERTUNE_SCHEDULER)");
  if (o.slots < 1) throw ConfigError("--slots", "must be at least 1, got " + std::to_string(o.slots));
  if (o.prefetch < 0) throw ConfigError("--prefetch", "must be at least 0, got " + std::to_string(o.prefetch));
  if (!o.make_runner) throw ConfigError("", "an Agent needs a runner factory");
  if (o.reconnect_min.count() <= 0 || o.reconnect_min > o.reconnect_max) {
    throw ConfigError("--reconnect-min", "must be positive and at most the maximum (" +
                                             std::to_string(o.reconnect_max.count()) + " ms), got " +
                                             std::to_string(o.reconnect_min.count()) + " ms");
  }
  if (o.heartbeat.count() <= 0 || o.lease <= o.heartbeat) {
    throw ConfigError("--lease", "must exceed the heartbeat");
  }
  impl_->name = o.name.empty() ? default_name() : o.name;
  impl_->instance = make_instance();
  impl_->efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->efd < 0) throw Error(std::string("eventfd: ") + std::strerror(errno));
}

Agent::~Agent() {
  if (impl_) impl_->join_all();
}

AgentSummary Agent::run() { return impl_->serve(); }

void Agent::request_stop() noexcept {
  impl_->stop_requested.store(true);
  impl_->wake();
}

const std::string& Agent::name() const noexcept { return impl_->name; }
const std::string& Agent::instance() const noexcept { return impl_->instance; }

}  // namespace hypertune::worker
