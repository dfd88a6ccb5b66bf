// The Dispatcher against hand-driven workers: raw DEALER sockets that speak the protocol, stall,
// resend, send garbage and come back from the dead, over real tcp://127.0.0.1 sockets, with the
// study in a real SQLite file.

#include "scheduler/dispatcher.h"

#include <catch2/catch.hpp>

#include <thread>

#include <zmq.hpp>

#include "protocol/keys.h"
#include "protocol/protocol.h"
#include "search/functions.h"
#include "base/rng.h"
#include "search/sampler.h"
#include "support/temp_dir.h"

using namespace hypertune;
using namespace hypertune::scheduler;
namespace proto = hypertune::protocol;
using namespace std::chrono_literals;
using search::TrialState;

namespace {

search::SearchSpace branin_space() {
  search::SearchSpace s;
  s.add({"x1", search::Distribution::Float(-5, 10), std::nullopt});
  s.add({"x2", search::Distribution::Float(0, 15), std::nullopt});
  s.finalize();
  return s;
}

DispatcherOptions fast_options() {
  DispatcherOptions o;
  o.bind = "tcp://127.0.0.1:*";
  o.heartbeat = 50ms;
  o.lease = 600ms;
  o.trial = {{"kind", "function"}, {"function", "branin"}};
  o.work_dir = "/sweeps";
  o.artifacts_dir = "/sweeps/b.db.artifacts";
  o.threads_per_trial = 2;
  return o;
}

// A study with its dispatcher serving on a thread of its own.
class Sweep {
 public:
  explicit Sweep(Budget budget, DispatcherOptions opts = fast_options()) : budget_(budget), opts_(std::move(opts)) {
    open();
  }
  ~Sweep() { stop(); }

  void open() {
    store_ = open_sqlite_store(dir_.file("b.db"));
    StudyRecord r;
    r.name = "branin";
    r.metric = "value";
    r.seed = 5;
    r.config_text = "name: branin";
    r.config_hash = "h";
    r.space_signature = space_.signature();
    r.version = "test";
    study_ = std::make_unique<Study>(r, space_, search::make_random_sampler(space_, search::Direction::kMinimize),
                                     nullptr, *store_, budget_);
    dispatcher_ = std::make_unique<Dispatcher>(*study_, *store_, opts_);
    thread_ = std::thread([this] { ending_ = dispatcher_->run(); });
  }

  // Stops the dispatcher at once (as a crash would, but with a clean socket close) and drops the
  // study; open() starts a new one on the same storage, like a restarted scheduler.
  void stop() {
    if (!thread_.joinable()) return;
    dispatcher_->request_stop(false);
    thread_.join();
    dispatcher_.reset();
    study_.reset();
    store_.reset();
  }

  [[nodiscard]] const std::string& endpoint() const { return dispatcher_->endpoint(); }
  [[nodiscard]] DispatcherStats stats() const { return dispatcher_->stats(); }
  // A snapshot through a connection of our own, as `hypertune status` would read it.
  [[nodiscard]] std::vector<TrialRecord> trials() const {
    auto ro = open_sqlite_store(dir_.file("b.db"), Durability::kNormal, /*read_only=*/true);
    return ro->load_trials();
  }
  [[nodiscard]] std::optional<TrialRecord> trial(int64_t n) const {
    for (auto& t : trials()) {
      if (t.trial.number == n) return t;
    }
    return std::nullopt;
  }
  // Joins the dispatcher thread once run() has returned by itself.
  Dispatcher::Ending join() {
    thread_.join();
    return ending_;
  }

 private:
  test::TempDir dir_{"dispatcher"};
  search::SearchSpace space_ = branin_space();
  Budget budget_;
  DispatcherOptions opts_;
  std::unique_ptr<TrialStore> store_;
  std::unique_ptr<Study> study_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::thread thread_;
  Dispatcher::Ending ending_ = Dispatcher::Ending::kStopped;
};

// A worker driven by hand. While it waits for a message it heartbeats (unless told to play dead).
class RawWorker {
 public:
  explicit RawWorker(const std::string& endpoint, std::string name = "raw",
                     const std::optional<proto::KeyPair>& keys = std::nullopt,
                     const std::string& server_public = "")
      : sock_(ctx_, zmq::socket_type::dealer), name_(std::move(name)) {
    sock_.set(zmq::sockopt::linger, 0);
    if (keys) {
      sock_.set(zmq::sockopt::curve_serverkey, server_public);
      sock_.set(zmq::sockopt::curve_publickey, keys->public_z85);
      sock_.set(zmq::sockopt::curve_secretkey, keys->secret_z85);
    }
    sock_.connect(endpoint);
    instance_ = name_ + "-instance";
  }

  void send(const proto::Message& m) { send_raw(proto::encode(m)); }
  // Never blocks: with no live connection (e.g. a refused handshake) the frame is dropped.
  void send_raw(const std::string& bytes) { (void)sock_.send(zmq::buffer(bytes), zmq::send_flags::dontwait); }

  // The next message that is not a HEARTBEAT, within `timeout`.
  std::optional<proto::Message> next(std::chrono::milliseconds timeout = 2000ms) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    auto next_beat = std::chrono::steady_clock::now();
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= end) return std::nullopt;
      if (heartbeat && now >= next_beat) {
        send(proto::Heartbeat{});
        next_beat = now + 40ms;
      }
      zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 20ms);
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t msg;
      (void)sock_.recv(msg, zmq::recv_flags::none);
      const auto d = proto::decode(msg.to_string());
      REQUIRE(d.ok());
      if (std::holds_alternative<proto::Heartbeat>(*d.message)) continue;
      return *d.message;
    }
  }

  template <class T>
  T expect(std::chrono::milliseconds timeout = 2000ms) {
    auto m = next(timeout);
    INFO("waiting for " << proto::to_string(T::kCommand));
    REQUIRE(m.has_value());
    INFO("got " << proto::to_string(proto::command_of(*m)));
    REQUIRE(std::holds_alternative<T>(*m));
    return std::get<T>(*m);
  }

  proto::Welcome hello(int slots, std::vector<proto::HeldTrial> running = {}, int prefetch = 0) {
    proto::Hello h;
    h.name = name_;
    h.instance = instance_;
    h.slots = slots;
    h.prefetch = prefetch;
    h.devices = {"cpu"};
    h.running = std::move(running);
    send(h);
    return expect<proto::Welcome>();
  }

  void complete(int64_t number, double value) {
    send(proto::Result{number, hypertune::Outcome::complete({{"value", value}}, 1)});
  }

  bool heartbeat = true;

 private:
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  std::string name_;
  std::string instance_;
};

double branin_of(const nlohmann::json& params) {
  const auto* fn = search::find_test_function("branin");
  const double x[2] = {params.at("x1").get<double>(), params.at("x2").get<double>()};
  return fn->f(std::span<const double>(x, 2));
}

}  // namespace

TEST_CASE("loopback endpoints are told from reachable ones", "[dispatcher]") {
  CHECK(is_loopback_endpoint("tcp://127.0.0.1:5555"));
  CHECK(is_loopback_endpoint("tcp://127.0.0.1:*"));
  CHECK(is_loopback_endpoint("tcp://127.1.2.3:80"));
  CHECK(is_loopback_endpoint("tcp://localhost:5555"));
  CHECK(is_loopback_endpoint("tcp://[::1]:5555"));
  CHECK(is_loopback_endpoint("ipc:///tmp/ht.sock"));
  CHECK(is_loopback_endpoint("inproc://x"));
  CHECK_FALSE(is_loopback_endpoint("tcp://*:5555"));
  CHECK_FALSE(is_loopback_endpoint("tcp://0.0.0.0:5555"));
  CHECK_FALSE(is_loopback_endpoint("tcp://10.0.0.5:5555"));
  CHECK_FALSE(is_loopback_endpoint("tcp://eth0:5555"));
  CHECK_FALSE(is_loopback_endpoint("tcp://128.0.0.1:5555"));
  CHECK_FALSE(is_loopback_endpoint("tcp://127.0.0.1.evil.com:5555"));
}

TEST_CASE("a worker gets one trial per free slot and its results are stored", "[dispatcher]") {
  Budget b;
  b.max_trials = 5;
  Sweep sweep(b);
  RawWorker w(sweep.endpoint(), "alpha");
  const proto::Welcome welcome = w.hello(2);
  CHECK(welcome.worker_id == "alpha");
  CHECK(welcome.sweep == "branin");
  CHECK(welcome.heartbeat_ms == 50);
  CHECK(welcome.lease_ms == 600);

  auto a0 = w.expect<proto::Assign>().spec;
  auto a1 = w.expect<proto::Assign>().spec;
  CHECK(a0.number == 0);
  CHECK(a1.number == 1);
  CHECK(a0.trial == nlohmann::json{{"kind", "function"}, {"function", "branin"}});
  CHECK(a0.metric == "value");
  CHECK(a0.work_dir == "/sweeps");
  CHECK(a0.checkpoint_dir == "/sweeps/b.db.artifacts/trial-0");
  CHECK(a0.threads == 2);
  CHECK(a0.attempt == 0);
  CHECK(a0.seed != a1.seed);
  // Two slots, two trials: nothing more until a slot frees up.
  CHECK_FALSE(w.next(300ms).has_value());

  // Results in any order; each is acknowledged and frees a slot.
  int64_t done = 0;
  std::vector<hypertune::TrialSpec> pending = {a0, a1};
  while (!pending.empty()) {
    const hypertune::TrialSpec a = pending.back();
    pending.pop_back();
    w.complete(a.number, branin_of(a.params));
    auto m = w.next();
    REQUIRE(m);
    // The ack comes first: the replies of one round keep their order, and the new ASSIGN is
    // created after the result was handled.
    REQUIRE(std::holds_alternative<proto::ResultAck>(*m));
    CHECK(std::get<proto::ResultAck>(*m).number == a.number);
    CHECK(std::get<proto::ResultAck>(*m).accepted);
    ++done;
    if (done + static_cast<int64_t>(pending.size()) < 5) pending.push_back(w.expect<proto::Assign>().spec);
  }
  CHECK(done == 5);
  // The sweep is over: the worker is told to go.
  const auto bye = w.expect<proto::Disconnect>();
  CHECK_FALSE(bye.reconnect);
  CHECK(sweep.join() == Dispatcher::Ending::kDone);

  const auto trials = sweep.trials();
  REQUIRE(trials.size() == 5);
  for (const auto& t : trials) {
    CHECK(t.trial.state == TrialState::kComplete);
    CHECK(t.worker == "alpha");
    REQUIRE(t.trial.value);
  }
}

TEST_CASE("a worker with prefetch holds that many trials beyond its slots", "[dispatcher]") {
  Budget b;
  b.max_trials = 6;
  Sweep sweep(b);
  RawWorker w(sweep.endpoint(), "queued");
  (void)w.hello(1, {}, 2);
  // One slot plus two queued: three trials at once, then one more per result.
  std::vector<hypertune::TrialSpec> held = {w.expect<proto::Assign>().spec, w.expect<proto::Assign>().spec,
                                     w.expect<proto::Assign>().spec};
  CHECK_FALSE(w.next(300ms).has_value());
  int done = 0;
  while (!held.empty()) {
    const hypertune::TrialSpec a = held.front();
    held.erase(held.begin());
    w.complete(a.number, branin_of(a.params));
    CHECK(w.expect<proto::ResultAck>().number == a.number);
    ++done;
    if (done + static_cast<int>(held.size()) < 6) held.push_back(w.expect<proto::Assign>().spec);
  }
  CHECK(done == 6);
  CHECK_FALSE(w.expect<proto::Disconnect>().reconnect);
  CHECK(sweep.join() == Dispatcher::Ending::kDone);
  for (const auto& t : sweep.trials()) CHECK(t.trial.state == TrialState::kComplete);
}

TEST_CASE("resent reports and results are harmless; unknown trials are answered, not fatal",
          "[dispatcher]") {
  Budget b;
  b.max_trials = 1;
  Sweep sweep(b);
  RawWorker w(sweep.endpoint());
  w.hello(1);
  const auto a = w.expect<proto::Assign>().spec;

  w.send(proto::Report{{a.number, 1, {{"value", 3.5}, {"acc", 0.5}}}});
  auto d1 = w.expect<proto::Answer>();
  CHECK(d1.verdict.decision == hypertune::Decision::kContinue);
  // The same report again (a resend after a reconnect) gets the same answer, stored once.
  w.send(proto::Report{{a.number, 1, {{"value", 99.0}}}});
  auto d2 = w.expect<proto::Answer>();
  CHECK(d2.step == 1);
  CHECK(d2.verdict.decision == hypertune::Decision::kContinue);

  // A report for a trial the study never had: logged, answered with "stop".
  w.send(proto::Report{{424242, 3, {{"value", 1.0}}}});
  auto d3 = w.expect<proto::Answer>();
  CHECK(d3.number == 424242);
  CHECK(d3.verdict.decision == hypertune::Decision::kPrune);
  w.send(proto::Result{424242, hypertune::Outcome::complete({{"value", 1.0}}, 1)});
  CHECK_FALSE(w.expect<proto::ResultAck>().accepted);

  w.complete(a.number, 2.0);
  CHECK(w.expect<proto::ResultAck>().accepted);
  // The sweep (one trial) is done as soon as that result is stored.
  CHECK_FALSE(w.expect<proto::Disconnect>().reconnect);
  CHECK(sweep.join() == Dispatcher::Ending::kDone);

  const auto t = sweep.trial(a.number);
  REQUIRE(t);
  CHECK(t->trial.state == TrialState::kComplete);
  CHECK(*t->trial.value == 2.0);
  REQUIRE(t->reports.size() == 1);
  CHECK(t->reports[0].value == 3.5);  // the first report of step 1 won
}

TEST_CASE("a result sent twice is stored once and acknowledged twice", "[dispatcher]") {
  Budget b;
  b.max_trials = 2;
  Sweep sweep(b);
  RawWorker w(sweep.endpoint());
  w.hello(1);
  const auto a = w.expect<proto::Assign>().spec;
  w.complete(a.number, 7.0);
  CHECK(w.expect<proto::ResultAck>().accepted);
  const auto next = w.expect<proto::Assign>().spec;
  w.complete(a.number, 1.0);  // the resend of a result whose ack was lost
  const auto again = w.expect<proto::ResultAck>();
  CHECK(again.number == a.number);
  CHECK_FALSE(again.accepted);
  // The resend did not free the slot a second time: no extra ASSIGN while `next` runs.
  CHECK_FALSE(w.next(300ms).has_value());
  w.complete(next.number, 5.0);
  CHECK(w.expect<proto::ResultAck>().accepted);
  CHECK(sweep.join() == Dispatcher::Ending::kDone);
  CHECK(*sweep.trial(a.number)->trial.value == 7.0);
}

TEST_CASE("garbage, truncated, oversized and misdirected frames are dropped and counted",
          "[dispatcher]") {
  Budget b;
  b.max_trials = 1;
  DispatcherOptions o = fast_options();
  o.max_message_bytes = 64 * 1024;
  Sweep sweep(b, o);
  RawWorker vandal(sweep.endpoint(), "vandal");
  vandal.heartbeat = false;

  hypertune::Rng rng(99);
  const int garbage = 200;
  for (int i = 0; i < garbage; ++i) {
    std::string junk(1 + rng.below(300), '\0');
    for (auto& c : junk) c = static_cast<char>(rng.below(256));
    vandal.send_raw(junk);
  }
  proto::Hello h;
  h.name = "x";
  h.instance = "y";
  const std::string hello = proto::encode(h);
  vandal.send_raw(hello.substr(0, hello.size() / 2));                       // truncated
  vandal.send_raw(proto::encode(proto::Report{{1, 1, {{"blob", std::string(100 * 1024, 'z')}}}}));  // oversized
  vandal.send_raw(std::string("\x94\xa9hypertune\x01\x63\x80", 14));        // unknown command
  vandal.send_raw(std::string("\x94\xa9hypertune\x01\x05\x80", 14));        // REPORT with no fields

  // None of that got an answer, and a real worker is still served.
  CHECK_FALSE(vandal.next(300ms).has_value());
  RawWorker w(sweep.endpoint(), "good");
  w.hello(1);
  const auto a = w.expect<proto::Assign>().spec;
  // A worker sending a scheduler's message is dropped too.
  w.send(proto::Answer{a.number, 1, {hypertune::Decision::kContinue, std::nullopt}});
  w.complete(a.number, 1.0);
  CHECK(w.expect<proto::ResultAck>().accepted);
  CHECK(sweep.join() == Dispatcher::Ending::kDone);
  // Every bad frame was counted, and only those: 200 garbage + 4 crafted + 1 misdirected.
  const auto st = sweep.stats();
  CHECK(st.dropped == garbage + 5);
  CHECK(st.dropped_by_kind[static_cast<int>(proto::DecodeErrorKind::kOversized)] == 1);
  CHECK(st.results == 1);
}

TEST_CASE("drop counters classify each bad frame", "[dispatcher]") {
  Budget b;
  b.max_trials = 100;
  DispatcherOptions o = fast_options();
  o.max_message_bytes = 64 * 1024;
  Sweep sweep(b, o);
  RawWorker vandal(sweep.endpoint(), "vandal");
  vandal.heartbeat = false;
  proto::Hello h;
  h.name = "x";
  h.instance = "y";
  const std::string hello = proto::encode(h);
  vandal.send_raw(hello.substr(0, hello.size() - 3));                      // malformed (truncated)
  vandal.send_raw(std::string("\x93\x01\x02\x03", 4));                      // not an envelope
  vandal.send_raw(proto::encode(proto::Report{{1, 1, {{"blob", std::string(100 * 1024, 'z')}}}}));  // oversized
  vandal.send_raw(std::string("\x94\xa9hypertune\x01\x63\x80", 14));        // unknown command
  vandal.send_raw(std::string("\x94\xa9hypertune\x01\x05\x80", 14));        // bad field
  REQUIRE(vandal.next(500ms) == std::nullopt);
  const auto st = sweep.stats();
  using K = proto::DecodeErrorKind;
  CHECK(st.dropped == 5);
  CHECK(st.dropped_by_kind[static_cast<int>(K::kMalformed)] == 1);
  CHECK(st.dropped_by_kind[static_cast<int>(K::kNotEnvelope)] == 1);
  CHECK(st.dropped_by_kind[static_cast<int>(K::kOversized)] == 1);
  CHECK(st.dropped_by_kind[static_cast<int>(K::kUnknownCommand)] == 1);
  CHECK(st.dropped_by_kind[static_cast<int>(K::kBadField)] == 1);
  CHECK(st.workers == 0);
}

TEST_CASE("a worker of another protocol version is refused, naming both versions", "[dispatcher]") {
  Budget b;
  b.max_trials = 10;
  Sweep sweep(b);
  RawWorker future(sweep.endpoint(), "future");
  future.heartbeat = false;  // a refused worker is a stranger: its heartbeats would be answered
  proto::Hello h;
  h.name = "future";
  h.instance = "f";
  future.send_raw(proto::encode(h, proto::kVersion + 1));
  const auto refuse = future.expect<proto::Refuse>();
  CHECK(refuse.reason.find("version " + std::to_string(proto::kVersion + 1)) != std::string::npos);
  CHECK(refuse.reason.find("version " + std::to_string(proto::kVersion)) != std::string::npos);
  CHECK_FALSE(future.next(200ms).has_value());  // and no trial
  const auto st = sweep.stats();
  CHECK(st.refused_version == 1);
  CHECK(st.dropped_by_kind[static_cast<int>(proto::DecodeErrorKind::kWrongVersion)] == 1);
  CHECK(st.workers == 0);
  CHECK(sweep.trials().empty());
}

TEST_CASE("a connection that never said HELLO is asked to", "[dispatcher]") {
  Budget b;
  b.max_trials = 10;
  Sweep sweep(b);
  RawWorker stranger(sweep.endpoint(), "stranger");
  stranger.heartbeat = false;
  stranger.send(proto::Report{{0, 1, {{"value", 1.0}}}});
  const auto d = stranger.expect<proto::Disconnect>();
  CHECK(d.reconnect);
  CHECK(sweep.stats().unknown_peer == 1);
  CHECK(sweep.trials().empty());
}

TEST_CASE("a silent worker's trial goes back to the queue and finishes elsewhere", "[dispatcher]") {
  Budget b;
  b.max_trials = 1;
  Sweep sweep(b);
  RawWorker doomed(sweep.endpoint(), "doomed");
  doomed.hello(1);
  const auto a = doomed.expect<proto::Assign>().spec;
  doomed.send(proto::Report{{a.number, 1, {{"value", 4.0}}}});
  CHECK(doomed.expect<proto::Answer>().verdict.decision == hypertune::Decision::kContinue);
  doomed.heartbeat = false;  // it hangs: no heartbeat, no result

  RawWorker rescuer(sweep.endpoint(), "rescuer");
  rescuer.hello(1);
  // Within about one lease (600 ms) the trial is handed to the live worker, as a retry.
  const auto t0 = std::chrono::steady_clock::now();
  const auto again = rescuer.expect<proto::Assign>(3000ms).spec;
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(again.number == a.number);
  CHECK(again.attempt == 1);
  CHECK(again.params == a.params);
  CHECK(waited >= 400ms);
  CHECK(sweep.stats().workers_lost == 1);

  // The lost worker wakes up and reports: it is a stranger now and must say HELLO; when it does,
  // the trial it still holds is revoked.
  doomed.send(proto::Report{{a.number, 2, {{"value", 3.0}}}});
  CHECK(doomed.expect<proto::Disconnect>().reconnect);
  const auto welcome = doomed.hello(1, {{a.number, 2}});
  CHECK(welcome.keep.empty());
  CHECK(welcome.revoke == std::vector<int64_t>{a.number});

  rescuer.complete(a.number, 1.5);
  CHECK(rescuer.expect<proto::ResultAck>().accepted);
  CHECK(sweep.join() == Dispatcher::Ending::kDone);
  const auto t = sweep.trial(a.number);
  REQUIRE(t);
  CHECK(t->trial.state == TrialState::kComplete);
  CHECK(t->worker == "rescuer");
  CHECK(t->retries == 1);
}

TEST_CASE("a trial whose workers keep dying fails after max_retries, with the reason", "[dispatcher]") {
  Budget b;
  b.max_trials = 1;
  b.max_retries = 1;
  Sweep sweep(b);
  for (int attempt = 0; attempt < 2; ++attempt) {
    RawWorker w(sweep.endpoint(), "flaky-" + std::to_string(attempt));
    w.hello(1);
    const auto a = w.expect<proto::Assign>(3000ms).spec;
    CHECK(a.number == 0);
    CHECK(a.attempt == attempt);
    w.heartbeat = false;
    // Play dead until the lease runs out (the next worker waits for the re-queue).
  }
  // After the second loss (retries 2 > max 1) the trial fails and the sweep is over.
  CHECK(sweep.join() == Dispatcher::Ending::kDone);
  const auto t = sweep.trial(0);
  REQUIRE(t);
  CHECK(t->trial.state == TrialState::kFail);
  CHECK(t->fail_reason.find("worker 'flaky-1' lost") != std::string::npos);
  CHECK(t->fail_reason.find("gave up after 1 retries") != std::string::npos);
}

TEST_CASE("a worker leaving with DISCONNECT gives its trials back without a retry", "[dispatcher]") {
  Budget b;
  b.max_trials = 1;
  Sweep sweep(b);
  RawWorker quitter(sweep.endpoint(), "quitter");
  quitter.hello(1);
  const auto a = quitter.expect<proto::Assign>().spec;
  quitter.send(proto::Disconnect{"worker stopping", false});
  RawWorker next(sweep.endpoint(), "next");
  next.hello(1);
  const auto again = next.expect<proto::Assign>().spec;
  CHECK(again.number == a.number);
  CHECK(again.attempt == 0);
  next.complete(again.number, 3.0);
  CHECK(next.expect<proto::ResultAck>().accepted);
  CHECK(sweep.join() == Dispatcher::Ending::kDone);
  CHECK(sweep.trial(a.number)->retries == 0);
}

TEST_CASE("after a scheduler restart a worker keeps its running trial; unclaimed ones are re-queued",
          "[dispatcher]") {
  Budget b;
  b.max_trials = 2;
  Sweep sweep(b);
  hypertune::TrialSpec kept, orphan;
  {
    RawWorker w(sweep.endpoint(), "survivor");
    w.hello(2);
    kept = w.expect<proto::Assign>().spec;
    orphan = w.expect<proto::Assign>().spec;
    w.send(proto::Report{{kept.number, 1, {{"value", 8.0}}}});
    CHECK(w.expect<proto::Answer>().verdict.decision == hypertune::Decision::kContinue);
  }
  sweep.stop();  // the scheduler dies with both trials RUNNING in storage
  for (const auto& t : sweep.trials()) CHECK(t.trial.state == TrialState::kRunning);

  sweep.open();  // a new scheduler on the same storage (and a new port)
  RawWorker w(sweep.endpoint(), "survivor");
  const auto t0 = std::chrono::steady_clock::now();
  const auto welcome = w.hello(2, {{kept.number, 1}});
  CHECK(welcome.keep == std::vector<int64_t>{kept.number});
  CHECK(welcome.revoke.empty());
  CHECK(sweep.stats().adopted == 1);
  // The other trial is nobody's: after one lease it is re-queued (no retry counted) and, the
  // budget being spent, handed to the free slot.
  const auto again = w.expect<proto::Assign>(3000ms).spec;
  CHECK(std::chrono::steady_clock::now() - t0 >= 400ms);
  CHECK(again.number == orphan.number);
  CHECK(again.attempt == 0);
  // The kept trial goes on where it was: its next report is stored, the first one survived.
  w.send(proto::Report{{kept.number, 2, {{"value", 6.0}}}});
  CHECK(w.expect<proto::Answer>().verdict.decision == hypertune::Decision::kContinue);
  w.complete(kept.number, 6.0);
  CHECK(w.expect<proto::ResultAck>().accepted);
  w.complete(again.number, 9.0);
  CHECK(w.expect<proto::ResultAck>().accepted);
  CHECK(sweep.join() == Dispatcher::Ending::kDone);

  const auto t = sweep.trial(kept.number);
  REQUIRE(t);
  CHECK(t->trial.state == TrialState::kComplete);
  REQUIRE(t->reports.size() == 2);
  CHECK(t->reports[0].value == 8.0);
  CHECK(sweep.trial(orphan.number)->retries == 0);
}

TEST_CASE("with CURVE keys only allowed workers complete the handshake", "[dispatcher][curve]") {
  if (!proto::curve_available()) {
    WARN("libzmq without CURVE: skipped");
    return;
  }
  const auto server = proto::generate_keypair();
  const auto allowed = proto::generate_keypair();
  const auto stranger = proto::generate_keypair();
  Budget b;
  b.max_trials = 1;
  DispatcherOptions o = fast_options();
  o.curve = CurveServerOptions{server.secret_z85, {allowed.public_z85}};
  Sweep sweep(b, o);

  RawWorker intruder(sweep.endpoint(), "intruder", stranger, server.public_z85);
  proto::Hello h;
  h.name = "intruder";
  h.instance = "i";
  intruder.send(h);
  CHECK_FALSE(intruder.next(500ms).has_value());

  RawWorker plain(sweep.endpoint(), "plain");  // no CURVE at all
  plain.send(h);
  CHECK_FALSE(plain.next(300ms).has_value());

  RawWorker member(sweep.endpoint(), "member", allowed, server.public_z85);
  member.hello(1);
  const auto a = member.expect<proto::Assign>().spec;
  member.complete(a.number, 1.0);
  CHECK(member.expect<proto::ResultAck>().accepted);
  CHECK(sweep.join() == Dispatcher::Ending::kDone);
  CHECK(sweep.stats().auth_refused >= 1);
  CHECK(sweep.trials().size() == 1);
}
