// Dispatch throughput: zero-work trials created, assigned, completed and stored per second by one
// Dispatcher, with SQLite durability on, for 1, 8 and 64 workers.
//
//   hypertune_dispatch_bench [--trials N] [--workers 1,8,64] [--durability normal|full]
//                            [--kind raw|agent|both] [--trial-ms MS] [--prefetch K] [--json]
//
// raw:   the workers are DEALER sockets driven by one thread of this process: each answers an
//        ASSIGN with its RESULT at once (the scheduler's cost alone).
// agent: the workers are real worker::Agent objects (I/O thread, trial thread per trial) running
//        a runner that completes at once (the whole stack but process boundaries).
// --prefetch K: every worker holds K trials queued beyond its slot (hypertune worker --prefetch),
//        so the next trial starts while the last one's RESULT and the next ASSIGN are in flight.
// --trial-ms MS: each agent trial sleeps MS milliseconds before it completes (a simulated cluster:
//        64 agents with 20 ms trials run 64 trials at once; utilisation = busy time / (workers x
//        wall time)). --json prints one JSON object per run instead of the table.
// Every trial goes through Study::ask -> ASSIGN -> RESULT -> Study::finish -> RESULT_ACK, and is
// durable in the SQLite file before it is acknowledged.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "protocol/protocol.h"
#include "scheduler/dispatcher.h"
#include "scheduler/study.h"
#include "scheduler/trial_store.h"
#include "search/sampler.h"
#include "worker/agent.h"

using namespace hypertune;
using Clock = std::chrono::steady_clock;
namespace proto = hypertune::protocol;

namespace {

struct Result {
  double seconds = 0;
  int64_t trials = 0;
  uint64_t commits = 0;
};

search::SearchSpace bench_space() {
  search::SearchSpace s;
  s.add({"x1", search::Distribution::Float(-5, 10), std::nullopt});
  s.add({"x2", search::Distribution::Float(0, 15), std::nullopt});
  s.finalize();
  return s;
}

class InstantRunner final : public worker::TrialRunner {
 public:
  explicit InstantRunner(int sleep_ms) : sleep_ms_(sleep_ms) {}
  hypertune::Outcome run(const hypertune::TrialSpec& spec, worker::TrialContext&) override {
    if (sleep_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    return hypertune::Outcome::complete({{"value", spec.params.at("x1").get<double>()}}, 1);
  }

 private:
  int sleep_ms_;
};

// Raw workers: DEALER sockets served by one thread, answering every ASSIGN at once.
void raw_workers(const std::string& endpoint, int count, int prefetch, std::atomic<bool>& stop) {
  zmq::context_t ctx;
  std::vector<zmq::socket_t> socks;
  for (int i = 0; i < count; ++i) {
    socks.emplace_back(ctx, zmq::socket_type::dealer);
    socks.back().set(zmq::sockopt::linger, 0);
    socks.back().connect(endpoint);
    proto::Hello h;
    h.name = "raw-" + std::to_string(i);
    h.instance = h.name;
    h.slots = 1;
    h.prefetch = prefetch;
    h.devices = {"cpu"};
    const std::string frame = proto::encode(h);
    (void)socks.back().send(zmq::buffer(frame), zmq::send_flags::none);
  }
  std::vector<zmq::pollitem_t> items;
  for (auto& s : socks) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
  int open = count;
  while (!stop.load() && open > 0) {
    zmq::poll(items, std::chrono::milliseconds(50));
    for (size_t i = 0; i < socks.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      zmq::message_t msg;
      while (socks[i].recv(msg, zmq::recv_flags::dontwait)) {
        const auto d = proto::decode(msg.to_string());
        if (!d.ok()) continue;
        if (const auto* a = std::get_if<proto::Assign>(&*d.message)) {
          const proto::Result r{
              a->spec.number,
              hypertune::Outcome::complete({{"value", a->spec.params.at("x1").get<double>()}}, 1)};
          const std::string frame = proto::encode(r);
          (void)socks[i].send(zmq::buffer(frame), zmq::send_flags::none);
        } else if (const auto* bye = std::get_if<proto::Disconnect>(&*d.message); bye && !bye->reconnect) {
          --open;
        } else if (std::holds_alternative<proto::Heartbeat>(*d.message)) {
          const std::string frame = proto::encode(proto::Heartbeat{});
          (void)socks[i].send(zmq::buffer(frame), zmq::send_flags::dontwait);
        }
      }
    }
  }
}

Result run_once(int64_t trials, int workers, scheduler::Durability durability, bool agents, int trial_ms,
                int prefetch) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("hypertune-dispatch-bench-" + std::to_string(::getpid()) + "-" + std::to_string(workers));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto space = bench_space();
  Result res;
  {
    auto store = scheduler::open_sqlite_store((dir / "bench.db").string(), durability);
    scheduler::StudyRecord rec;
    rec.name = "dispatch-bench";
    rec.seed = 1;
    rec.config_text = "bench";
    rec.config_hash = "bench";
    rec.space_signature = space.signature();
    rec.version = "bench";
    scheduler::Budget budget;
    budget.max_trials = trials;
    scheduler::Study study(rec, space, search::make_random_sampler(space, search::Direction::kMinimize), nullptr,
                           *store, budget);
    scheduler::DispatcherOptions opts;
    opts.bind = "tcp://127.0.0.1:*";
    opts.heartbeat = std::chrono::milliseconds(1000);
    opts.lease = std::chrono::milliseconds(10000);
    opts.trial = {{"kind", "function"}, {"function", "branin"}};
    scheduler::Dispatcher dispatcher(study, *store, opts);
    const std::string endpoint = dispatcher.endpoint();

    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    std::vector<std::unique_ptr<worker::Agent>> agent_list;
    if (agents) {
      for (int i = 0; i < workers; ++i) {
        worker::AgentOptions ao;
        ao.connect = endpoint;
        ao.name = "agent-" + std::to_string(i);
        ao.prefetch = prefetch;
        ao.make_runner = [trial_ms](const nlohmann::json&) { return std::make_unique<InstantRunner>(trial_ms); };
        agent_list.push_back(std::make_unique<worker::Agent>(std::move(ao)));
      }
      for (auto& a : agent_list) threads.emplace_back([&a] { (void)a->run(); });
    } else {
      threads.emplace_back([&] { raw_workers(endpoint, workers, prefetch, stop); });
    }
    const auto t0 = Clock::now();
    (void)dispatcher.run();
    res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    res.commits = dispatcher.stats().commits;
    stop.store(true);
    for (auto& a : agent_list) a->request_stop();
    for (auto& t : threads) t.join();
    res.trials = study.progress().complete;
  }
  std::filesystem::remove_all(dir);
  return res;
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoi(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t trials = 20000;
  std::vector<int> worker_counts = {1, 8, 64};
  auto durability = scheduler::Durability::kNormal;
  std::string kind = "both";
  int trial_ms = 0;
  int prefetch = 0;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--trials" && has_value) {
      trials = std::stoll(argv[++i]);
    } else if (a == "--workers" && has_value) {
      worker_counts = parse_list(argv[++i]);
    } else if (a == "--durability" && has_value) {
      const std::string d = argv[++i];
      durability = d == "full" ? scheduler::Durability::kFull : scheduler::Durability::kNormal;
    } else if (a == "--kind" && has_value) {
      kind = argv[++i];
    } else if (a == "--trial-ms" && has_value) {
      trial_ms = std::stoi(argv[++i]);
    } else if (a == "--prefetch" && has_value) {
      prefetch = std::stoi(argv[++i]);
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--trials N] [--workers 1,8,64] [--durability normal|full] [--kind raw|agent|both] "
                   "[--trial-ms MS] [--prefetch K] [--json]\n",
                   argv[0]);
      return 2;
    }
  }
  // Log lines go to stderr, so that stdout holds only the results.
  spdlog::set_default_logger(spdlog::stderr_color_mt("dispatch_bench"));
  spdlog::set_level(spdlog::level::warn);
  const char* durability_name = durability == scheduler::Durability::kFull ? "full" : "normal";
  if (!json) {
    std::printf("%s trials, SQLite %s, %lld trials per run\n", trial_ms > 0 ? "sleeping" : "zero-work",
                durability == scheduler::Durability::kFull ? "synchronous=FULL" : "WAL synchronous=NORMAL",
                static_cast<long long>(trials));
    std::printf("%-6s %8s %10s %12s %10s\n", "kind", "workers", "seconds", "trials/s", "commits");
  }
  for (const std::string k : {"raw", "agent"}) {
    if (kind != "both" && kind != k) continue;
    for (int w : worker_counts) {
      const Result r = run_once(trials, w, durability, k == "agent", trial_ms, prefetch);
      const double rate = static_cast<double>(r.trials) / r.seconds;
      if (json) {
        // utilisation: the share of worker time spent inside trials (agents with --trial-ms only).
        const double busy = k == "agent" && trial_ms > 0
                                ? static_cast<double>(r.trials) * trial_ms / 1e3 / (w * r.seconds)
                                : 0.0;
        std::printf(
            "{\"kind\": \"%s\", \"workers\": %d, \"prefetch\": %d, \"durability\": \"%s\", \"trial_ms\": %d, "
            "\"trials\": %lld, \"seconds\": %.6f, \"trials_per_s\": %.3f, \"commits\": %llu, "
            "\"utilisation\": %.6f}\n",
            k.c_str(), w, prefetch, durability_name, k == "agent" ? trial_ms : 0, static_cast<long long>(r.trials),
            r.seconds, rate, static_cast<unsigned long long>(r.commits), busy);
      } else {
        std::printf("%-6s %8d %10.3f %12.0f %10llu\n", k.c_str(), w, r.seconds, rate,
                    static_cast<unsigned long long>(r.commits));
      }
      std::fflush(stdout);
      if (r.trials != trials) {
        std::fprintf(stderr, "error: %lld of %lld trials completed\n", static_cast<long long>(r.trials),
                     static_cast<long long>(trials));
        return 1;
      }
    }
  }
  return 0;
}
