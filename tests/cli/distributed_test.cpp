// Distributed sweeps through the real binary: `hypertune scheduler` and `hypertune worker`
// processes on tcp://127.0.0.1 (and, when root, across network namespaces), killed and restarted.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>
#include <zmq.hpp>

#include "cli/local_cluster.h"
#include "protocol/protocol.h"
#include "scheduler/trial_store.h"
#include "base/rng.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace hypertune;
using namespace std::chrono_literals;
using test::Process;
using test::run_process;
using test::wait_until;
namespace fs = std::filesystem;
namespace proto = hypertune::protocol;

namespace {

const std::string kBin = HYPERTUNE_BIN;

// Fast liveness for tests: heartbeat 100 ms, lease 1 s, reconnects from 100 ms up to 1 s.
const std::vector<std::string> kSchedulerTiming = {"--heartbeat-ms", "100", "--lease-ms", "1000"};
const std::vector<std::string> kWorkerTiming = {"--heartbeat-ms", "100",  "--lease-ms", "1000", "--reconnect-min-ms",
                                                "100",            "--reconnect-max-ms", "1000"};

std::string write(const test::TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The key itself from a key file: its last line (the others are comments).
std::string key_in(const std::string& path) {
  std::istringstream in(read_file(path));
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

std::vector<scheduler::TrialRecord> load(const std::string& db) {
  try {
    auto store = scheduler::open_sqlite_store(db, scheduler::Durability::kNormal, true);
    return store->load_trials();
  } catch (const std::exception&) {
    return {};  // not created yet
  }
}

int64_t count_finished(const std::string& db) {
  int64_t n = 0;
  for (const auto& t : load(db)) n += is_finished(t.trial.state) ? 1 : 0;
  return n;
}

size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A scheduler process; its endpoint comes from --endpoint-file once it listens.
struct SchedulerProcess {
  SchedulerProcess(const test::TempDir& dir, const std::string& config, const std::string& db,
                   const std::string& bind, const std::string& tag, std::vector<std::string> extra = {}) {
    const std::string ep_file = dir.file(tag + ".endpoint");
    std::error_code ec;
    fs::remove(ep_file, ec);
    log = dir.file(tag + ".log");
    auto argv = concat({kBin, "scheduler", config, "--storage", db, "--bind", bind, "--endpoint-file", ep_file},
                       kSchedulerTiming);
    argv = concat(argv, extra);
    process = std::make_unique<Process>(argv, log);
    const bool listening = wait_until([&] { return fs::exists(ep_file); }, 10s);
    INFO(read_file(log));
    REQUIRE(listening);
    endpoint = read_file(ep_file);
    while (!endpoint.empty() && (endpoint.back() == '\n' || endpoint.back() == '\r')) endpoint.pop_back();
  }
  [[nodiscard]] std::string port() const { return endpoint.substr(endpoint.rfind(':') + 1); }

  std::unique_ptr<Process> process;
  std::string endpoint;
  std::string log;
};

std::unique_ptr<Process> start_worker(const test::TempDir& dir, const std::string& endpoint, const std::string& name,
                                      std::vector<std::string> extra = {}) {
  auto argv = concat({kBin, "worker", "--connect", endpoint, "--name", name}, kWorkerTiming);
  argv = concat(argv, extra);
  return std::make_unique<Process>(argv, dir.file(name + ".log"));
}

const char* kBraninConfig = R"(
name: branin-dist
seed: 17
max_trials: 200
space:
  x1: {type: float, low: -5, high: 10}
  x2: {type: float, low: 0, high: 15}
sampler: random
trial:
  function: branin
)";

// Each trial sleeps a little so that processes can be killed in the middle of a sweep.
std::string slow_config(int trials, double sleep_s) {
  return R"(
name: slow-dist
seed: 4
max_trials: )" + std::to_string(trials) +
         R"(
space:
  x: {type: float, low: 0, high: 1}
sampler: random
trial:
  command: ["/bin/sh", "-c", "sleep )" +
         std::to_string(sleep_s) + R"(; echo '@hypertune {{\"value\": {x}}}'"]
)";
}

// Every trial number 0..n-1 exactly once, all finished as expected.
void check_complete_once(const std::vector<scheduler::TrialRecord>& trials, int n) {
  REQUIRE(trials.size() == static_cast<size_t>(n));
  std::set<int64_t> numbers;
  for (const auto& t : trials) {
    INFO("trial " << t.trial.number << " " << search::to_string(t.trial.state) << " " << t.fail_reason);
    CHECK(t.trial.state == search::TrialState::kComplete);
    numbers.insert(t.trial.number);
  }
  CHECK(numbers.size() == static_cast<size_t>(n));
  CHECK(*numbers.begin() == 0);
  CHECK(*numbers.rbegin() == n - 1);
}

}  // namespace

TEST_CASE("1 scheduler and 8 worker processes run 200 trials, each exactly once, as a single process would",
          "[cli][distributed]") {
  test::TempDir dir("dist8");
  const auto cfg = write(dir, "branin.yaml", kBraninConfig);
  const auto db = dir.file("dist.db");
  // --stay: a worker still loading when the last trial ends (a busy machine) is told the sweep
  // is over instead of reconnecting forever.
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched", {"--stay"});
  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < 8; ++i) workers.push_back(start_worker(dir, sched.endpoint, "w" + std::to_string(i)));

  // The end of the sweep sends every worker home.
  std::set<std::string> used;
  for (size_t i = 0; i < workers.size(); ++i) {
    const auto wr = workers[i]->wait();
    INFO(read_file(dir.file("w" + std::to_string(i) + ".log")));
    CHECK(wr.exit_code == 0);
  }
  sched.process->signal(SIGTERM);
  const auto r = sched.process->wait();
  INFO(r.out << read_file(sched.log));
  REQUIRE(r.exit_code == 0);
  const auto trials = load(db);
  check_complete_once(trials, 200);
  for (const auto& t : trials) {
    CHECK(t.retries == 0);
    used.insert(t.worker);
  }
  // Spread over workers (how many depends on how fast they start on a busy machine).
  CHECK(used.size() >= 2);

  // The same config and seed in one process gives the same trials, number by number.
  const auto single_db = dir.file("single.db");
  const auto single = run_process({kBin, "run", cfg, "--storage", single_db, "--in-process", "--quiet"});
  INFO(single.out);
  REQUIRE(single.exit_code == 0);
  const auto reference = load(single_db);
  REQUIRE(reference.size() == trials.size());
  for (size_t i = 0; i < trials.size(); ++i) {
    REQUIRE(trials[i].trial.number == reference[i].trial.number);
    CHECK(trials[i].trial.params == reference[i].trial.params);
    CHECK(trials[i].trial.value == reference[i].trial.value);
  }
}

TEST_CASE("a worker killed mid-trial loses the trial to the queue and it finishes elsewhere",
          "[cli][distributed]") {
  test::TempDir dir("distkill");
  const int n = 12;
  const auto cfg = write(dir, "slow.yaml", slow_config(n, 0.4));
  const auto db = dir.file("slow.db");
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched");
  auto victim = start_worker(dir, sched.endpoint, "victim");
  // Wait until the victim holds a trial, then kill it without warning.
  int64_t held = -1;
  REQUIRE(wait_until(
      [&] {
        for (const auto& t : load(db)) {
          if (t.trial.state == search::TrialState::kRunning && t.worker == "victim") {
            held = t.trial.number;
            return true;
          }
        }
        return false;
      },
      10s));
  victim->signal(SIGKILL);
  (void)victim->wait();
  auto survivor = start_worker(dir, sched.endpoint, "survivor", {"--slots", "2"});

  const auto r = sched.process->wait();
  INFO(read_file(sched.log) << read_file(dir.file("survivor.log")));
  REQUIRE(r.exit_code == 0);
  CHECK(survivor->wait().exit_code == 0);
  const auto trials = load(db);
  check_complete_once(trials, n);
  const auto& t = trials.at(static_cast<size_t>(held));
  CHECK(t.worker == "survivor");
  CHECK(t.retries == 1);
  CHECK(read_file(sched.log).find("worker 'victim' lost") != std::string::npos);
}

TEST_CASE("a SIGKILLed worker's trial processes die with it and the re-queued run never overlaps",
          "[cli][distributed]") {
  test::TempDir dir("distorphan");
  // Each run first records which processes of earlier runs are still alive (an overlap), then
  // its own shell and a background child, which outlives the shell unless the group is killed.
  std::ofstream(dir.file("trial.sh")) << R"(for p in $(cat pids.txt 2>/dev/null); do
  # alive: not gone, and not a zombie (or dead) waiting for init; read once, it may vanish meanwhile
  s=$(cat "/proc/$p/stat" 2>/dev/null)
  case "$s" in ""|*") Z "*|*") X "*) ;; *) echo "$p $s" >> overlaps.txt ;; esac
done
# The first run would go on for long; a re-run is short.
if [ -e pids.txt ]; then d=0.2; else d=30; fi
sleep "$d" &
echo $$ $! >> pids.txt
wait
echo '@hypertune {"value": 1}'
)";
  const auto cfg = write(dir, "orphan.yaml", R"(
name: orphans
seed: 1
max_trials: 1
space:
  x: {type: float, low: 0, high: 1}
sampler: random
trial:
  command: ["/bin/sh", "trial.sh"]
)");
  const auto db = dir.file("orphan.db");
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched");
  auto victim = start_worker(dir, sched.endpoint, "victim");
  std::vector<pid_t> first_run;
  REQUIRE(wait_until(
      [&] {
        std::ifstream in(dir.file("pids.txt"));
        pid_t a = 0, b = 0;
        if (!(in >> a >> b)) return false;
        first_run = {a, b};
        return true;
      },
      10s));
  victim->signal(SIGKILL);
  (void)victim->wait();
  for (pid_t pid : first_run) {
    INFO("process " << pid << " of the killed worker's trial");
    CHECK(test::process_gone(pid, 2000ms));
  }
  auto survivor = start_worker(dir, sched.endpoint, "survivor");
  const auto r = sched.process->wait();
  INFO(read_file(sched.log) << read_file(dir.file("survivor.log")));
  REQUIRE(r.exit_code == 0);
  CHECK(survivor->wait().exit_code == 0);
  check_complete_once(load(db), 1);
  INFO("overlaps: " << read_file(dir.file("overlaps.txt")));
  CHECK_FALSE(fs::exists(dir.file("overlaps.txt")));
  std::ifstream runs(dir.file("pids.txt"));
  int lines = 0;
  for (std::string line; std::getline(runs, line);) ++lines;
  CHECK(lines == 2);
}

TEST_CASE("a worker cut off from the scheduler cannot write into the checkpoint folder of its trial's new owner",
          "[cli][distributed][fence]") {
  test::TempDir dir("distfence");
  // Every write of a checkpoint is logged in the run folder with the writer's pid and the step.
  // The first run is slow and would go on for long; a resumed run is quick.
  std::ofstream(dir.file("trial.sh")) << R"(s=$HYPERTUNE_START_STEP
echo "$$ ${HYPERTUNE_RESUME_FROM:-none} $HYPERTUNE_CHECKPOINT_DIR" >> runs.txt
if [ -z "$HYPERTUNE_RESUME_FROM" ]; then d=0.3; else d=0.02; fi
while [ $s -lt 40 ]; do
  s=$((s+1))
  echo "$s" > "$HYPERTUNE_CHECKPOINT_DIR/state.tmp" && mv "$HYPERTUNE_CHECKPOINT_DIR/state.tmp" "$HYPERTUNE_CHECKPOINT_DIR/state"
  echo "$$ $s" >> "$HYPERTUNE_CHECKPOINT_DIR/writes.log"
  echo "@hypertune {\"value\": $s, \"step\": $s}"
  sleep $d
done
)";
  const auto cfg = write(dir, "fence.yaml", R"(
name: fence
seed: 1
max_trials: 1
space:
  x: {type: float, low: 0, high: 1}
sampler: random
trial:
  command: ["/bin/sh", "trial.sh"]
  checkpoint: true
  steps: 40
)");
  const auto db = dir.file("fence.db");
  const std::string root = dir.file("ckpt");  // shared by both workers, as on a cluster file system
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched");
  auto cut_off = start_worker(dir, sched.endpoint, "cut-off", {"--checkpoint-dir", root});
  const std::string first = root + "/trial-0/run-1";
  REQUIRE(wait_until([&] { return count_lines(first + "/writes.log") >= 2; }, 20s));
  // The partition: the worker agent stops answering (its trial process goes on writing).
  cut_off->signal(SIGSTOP);
  auto owner = start_worker(dir, sched.endpoint, "owner", {"--checkpoint-dir", root});
  const auto r = sched.process->wait();
  INFO(read_file(sched.log) << read_file(dir.file("owner.log")));
  REQUIRE(r.exit_code == 0);
  CHECK(owner->wait().exit_code == 0);

  // The new owner resumed from the cut-off run's folder into a folder of its own.
  const std::string second = root + "/trial-0/run-2";
  const std::string runs = read_file(dir.file("runs.txt"));
  INFO("runs:\n" << runs);
  CHECK(runs.find(" none " + first + "\n") != std::string::npos);
  CHECK(runs.find(" " + first + " " + second + "\n") != std::string::npos);
  const auto trials = load(db);
  REQUIRE(trials.size() == 1);
  CHECK(trials[0].trial.state == search::TrialState::kComplete);
  CHECK(trials[0].checkpoint == second);  // the folder of record is the owner's

  // The cut-off run is still writing, after the owner finished, and only into its own folder.
  const size_t before = count_lines(first + "/writes.log");
  CHECK(wait_until([&] { return count_lines(first + "/writes.log") > before; }, 10s));
  cut_off->signal(SIGKILL);
  (void)cut_off->wait();
  auto writers = [](const std::string& log) {
    std::set<std::string> pids;
    std::ifstream in(log);
    for (std::string pid, step; in >> pid >> step;) pids.insert(pid);
    return pids;
  };
  INFO("writes in the owner's folder:\n" << read_file(second + "/writes.log"));
  const auto owner_writers = writers(second + "/writes.log");
  const auto cut_off_writers = writers(first + "/writes.log");
  CHECK(owner_writers.size() == 1);
  CHECK(cut_off_writers.size() == 1);
  CHECK(owner_writers != cut_off_writers);
  CHECK(read_file(second + "/state") == "40\n");
}

TEST_CASE("GPU slots: a worker runs as many trials as its devices allow, each on its own, and one without GPUs gets none",
          "[cli][distributed][gpu]") {
  test::TempDir dir("distgpu");
  std::ofstream(dir.file("trial.sh")) << R"(mkdir -p claims
for d in $(echo "$CUDA_VISIBLE_DEVICES" | tr ',' ' '); do
  mkdir "claims/$d" 2>/dev/null || echo "$HYPERTUNE_TRIAL $d" >> conflicts.txt
done
sleep 0.3
for d in $(echo "$CUDA_VISIBLE_DEVICES" | tr ',' ' '); do rmdir "claims/$d"; done
echo "@hypertune {\"value\": 1, \"devices\": \"${CUDA_VISIBLE_DEVICES-unset}\"}"
)";
  const auto cfg = write(dir, "gpu.yaml", R"(
name: gpu-slots
max_trials: 8
space:
  x: {type: float, low: 0, high: 1}
workers:
  gpus_per_trial: 2
trial:
  command: [/bin/sh, trial.sh]
)");
  const auto db = dir.file("gpu.db");
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched");
  // Joins first, so it would get trials if its lack of devices were ignored.
  auto cpu = start_worker(dir, sched.endpoint, "cpu-only", {"--slots", "2"});
  REQUIRE(wait_until([&] { return read_file(sched.log).find("gets no trials") != std::string::npos; }, 10s));
  // Three slots, but four devices make two pairs: two trials at once.
  auto gpu = start_worker(dir, sched.endpoint, "gpu", {"--slots", "3", "--gpus", "0,1,2,3"});
  const auto r = sched.process->wait();
  INFO(read_file(sched.log) << read_file(dir.file("gpu.log")));
  REQUIRE(r.exit_code == 0);
  CHECK(gpu->wait().exit_code == 0);
  CHECK(cpu->wait().exit_code == 0);
  const auto trials = load(db);
  check_complete_once(trials, 8);
  for (const auto& t : trials) {
    CHECK(t.worker == "gpu");
    const auto d = t.metrics.at("devices").get<std::string>();
    CHECK((d == "0,1" || d == "2,3"));
  }
  CHECK_FALSE(fs::exists(dir.file("conflicts.txt")));
  CHECK(read_file(sched.log).find("joined (2 slots") != std::string::npos);
}

TEST_CASE("the scheduler killed mid-sweep and restarted on its storage finishes the sweep without duplicates",
          "[cli][distributed]") {
  test::TempDir dir("distrestart");
  const int n = 40;
  const auto cfg = write(dir, "slow.yaml", slow_config(n, 0.1));
  const auto db = dir.file("slow.db");
  std::string port;
  std::vector<std::unique_ptr<Process>> workers;
  {
    SchedulerProcess first(dir, cfg, db, "tcp://127.0.0.1:*", "first");
    port = first.port();
    for (int i = 0; i < 3; ++i) workers.push_back(start_worker(dir, first.endpoint, "w" + std::to_string(i)));
    REQUIRE(wait_until([&] { return count_finished(db) >= 10; }, 20s));
    first.process->signal(SIGKILL);
    (void)first.process->wait();
  }
  const int64_t before = count_finished(db);
  CHECK(before < n);
  // Trials the workers were running when the scheduler died: they must neither be lost, nor run
  // twice, nor be charged a retry.
  std::set<int64_t> running_at_kill;
  for (const auto& t : load(db)) {
    if (t.trial.state == search::TrialState::kRunning) running_at_kill.insert(t.trial.number);
  }
  CHECK_FALSE(running_at_kill.empty());
  // Workers stay up, keep their trials and reconnect by themselves to the new scheduler.
  SchedulerProcess second(dir, cfg, db, "tcp://127.0.0.1:" + port, "second");
  const auto r = second.process->wait();
  INFO(read_file(dir.file("second.log")));
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(dir.file("second.log")).find("Resuming study") != std::string::npos);
  for (size_t i = 0; i < workers.size(); ++i) {
    INFO(read_file(dir.file("w" + std::to_string(i) + ".log")));
    CHECK(workers[i]->wait().exit_code == 0);
  }
  const auto trials = load(db);
  check_complete_once(trials, n);
  for (int64_t k : running_at_kill) CHECK(trials.at(static_cast<size_t>(k)).retries == 0);
  // The workers came back by themselves and kept what they were running.
  CHECK(read_file(dir.file("second.log")).find("still runs trial") != std::string::npos);
}

TEST_CASE("a worker stopped with SIGTERM hands its trial back without a retry", "[cli][distributed]") {
  test::TempDir dir("distterm");
  const int n = 6;
  const auto cfg = write(dir, "slow.yaml", slow_config(n, 0.5));
  const auto db = dir.file("slow.db");
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched");
  auto leaver = start_worker(dir, sched.endpoint, "leaver");
  int64_t held = -1;
  REQUIRE(wait_until(
      [&] {
        for (const auto& t : load(db)) {
          if (t.trial.state == search::TrialState::kRunning && t.worker == "leaver") {
            held = t.trial.number;
            return true;
          }
        }
        return false;
      },
      10s));
  const auto t0 = std::chrono::steady_clock::now();
  leaver->signal(SIGTERM);
  const auto lr = leaver->wait();
  INFO(read_file(dir.file("leaver.log")));
  CHECK(lr.exit_code == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);  // its command trial was stopped, not awaited
  auto other = start_worker(dir, sched.endpoint, "other");
  const auto r = sched.process->wait();
  const auto log = read_file(sched.log);
  INFO(log);
  REQUIRE(r.exit_code == 0);
  CHECK(other->wait().exit_code == 0);
  const auto trials = load(db);
  check_complete_once(trials, n);
  CHECK(trials.at(static_cast<size_t>(held)).worker == "other");
  CHECK(trials.at(static_cast<size_t>(held)).retries == 0);
  CHECK(log.find("worker 'leaver' left") != std::string::npos);
}

TEST_CASE("a trial step longer than the lease never makes its worker look dead", "[cli][distributed]") {
  test::TempDir dir("distlong");
  // One step of 2.5 s against a 1 s lease: only the agent's I/O thread keeps the lease alive.
  const auto cfg = write(dir, "long.yaml", slow_config(2, 2.5));
  const auto db = dir.file("long.db");
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched");
  auto w = start_worker(dir, sched.endpoint, "steady", {"--slots", "2"});
  const auto r = sched.process->wait();
  const auto log = read_file(sched.log);
  INFO(log);
  REQUIRE(r.exit_code == 0);
  CHECK(w->wait().exit_code == 0);
  const auto trials = load(db);
  check_complete_once(trials, 2);
  for (const auto& t : trials) CHECK(t.retries == 0);
  CHECK(log.find("lost") == std::string::npos);
}

TEST_CASE("pause, resume and prune decisions cross the wire between worker processes", "[cli][distributed]") {
  test::TempDir dir("distpause");
  const auto cfg = write(dir, "hb.yaml", R"(
name: hb-dist
seed: 8
max_trials: 27
space:
  x1: {type: float, low: 0.0, high: 1.0}
  x2: {type: float, low: 0.0, high: 1.0}
  x3: {type: float, low: 0.0, high: 1.0}
sampler: random
pruner:
  type: asha
  min_resource: 1
  max_resource: 9
  reduction_factor: 3
  mode: promotion
trial:
  function: hartmann3
)");
  const auto db = dir.file("hb.db");
  // --stay: a worker still starting when the sweep ends is told it is over (see the 8-worker test).
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched", {"--stay"});
  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(start_worker(dir, sched.endpoint, "w" + std::to_string(i)));
  for (auto& w : workers) CHECK(w->wait().exit_code == 0);
  sched.process->signal(SIGTERM);
  const auto r = sched.process->wait();
  INFO(read_file(sched.log));
  REQUIRE(r.exit_code == 0);

  const auto trials = load(db);
  REQUIRE(trials.size() == 27);
  int resumed = 0;
  int complete = 0;
  for (const auto& t : trials) {
    INFO("trial " << t.trial.number << " " << search::to_string(t.trial.state));
    CHECK(t.trial.state != search::TrialState::kRunning);
    CHECK(t.trial.state != search::TrialState::kWaiting);
    // Every step reported once, in order, from 1: a resumed trial went on after its checkpoint.
    for (size_t i = 0; i < t.reports.size(); ++i) CHECK(t.reports[i].step == static_cast<int64_t>(i) + 1);
    if (t.reports.size() > 1) ++resumed;  // paused at step 1, promoted, resumed elsewhere or here
    if (t.trial.state == search::TrialState::kComplete) {
      ++complete;
      CHECK(t.reports.size() == 9);
    }
  }
  CHECK(resumed >= 3);
  CHECK(complete >= 1);
}

TEST_CASE("with CURVE keys a worker whose key is not allowed is refused on both sides", "[cli][distributed][curve]") {
  test::TempDir dir("distcurve");
  const auto keys = dir.path() / "keys";
  const auto allowed = dir.path() / "allowed";
  for (const char* name : {"scheduler", "good", "bad"}) {
    const auto r = run_process({kBin, "keygen", name, "--dir", keys.string()});
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
  }
  // keygen: a 0600 secret, a public key, and no overwriting.
  struct stat st {};
  REQUIRE(::stat((keys / "scheduler.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const auto again = run_process({kBin, "keygen", "scheduler", "--dir", keys.string()});
  CHECK(again.exit_code == 2);
  CHECK(again.out.find("already exists") != std::string::npos);

  fs::create_directories(allowed);
  fs::copy_file(keys / "good.pub", allowed / "good.pub");
  const auto cfg = write(dir, "branin.yaml", std::string(kBraninConfig).replace(std::string(kBraninConfig).find("200"), 3, "20"));
  const auto db = dir.file("c.db");
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched",
                         {"--keys", (keys / "scheduler.key").string(), "--allow", allowed.string()});

  const auto bad = run_process(concat({kBin, "worker", "--connect", sched.endpoint, "--name", "bad", "--keys",
                                       (keys / "bad.key").string(), "--server-key", (keys / "scheduler.pub").string()},
                                      kWorkerTiming));
  INFO(bad.out);
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.find("refused this worker's CURVE key") != std::string::npos);

  // Without keys at all: the security handshake fails, and the worker says why.
  const auto plain = run_process(concat({kBin, "worker", "--connect", sched.endpoint, "--name", "plain"}, kWorkerTiming));
  INFO(plain.out);
  CHECK(plain.exit_code == 2);
  CHECK(plain.out.find("requires CURVE keys") != std::string::npos);

  // A wrong server key (here the worker's own public key): CURVE gives the client no error, the
  // scheduler just cannot read its HELLO. The worker gives up after a few tries and says why.
  const auto t0 = std::chrono::steady_clock::now();
  const auto wrong = run_process(concat({kBin, "worker", "--connect", sched.endpoint, "--name", "wrong", "--keys",
                                         (keys / "good.key").string(), "--server-key", (keys / "good.pub").string()},
                                        kWorkerTiming));
  INFO(wrong.out);
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.out.find("--server-key") != std::string::npos);
  CHECK(wrong.out.find("not this scheduler's public key") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < 30s);

  // The keys may come from the environment (as from a Kubernetes Secret).
  auto good = std::make_unique<Process>(
      std::vector<std::string>{"/usr/bin/env", "HYPERTUNE_SCHEDULER=" + sched.endpoint,
                               "HYPERTUNE_KEYS=" + (keys / "good.key").string(),
                               "HYPERTUNE_SERVER_KEY=" + key_in((keys / "scheduler.pub").string()),
                               kBin, "worker", "--name", "good", "--reconnect-min-ms", "100"},
      dir.file("good.log"));
  const auto r = sched.process->wait();
  INFO(read_file(sched.log) << read_file(dir.file("good.log")));
  REQUIRE(r.exit_code == 0);
  CHECK(good->wait().exit_code == 0);
  const auto log = read_file(sched.log);
  CHECK(log.find("is not in the allow list") != std::string::npos);
  // The two workers that failed their handshake are in the scheduler's log too.
  CHECK(log.find("uses no CURVE keys") != std::string::npos);
  CHECK(log.find("--server-key is most likely not this scheduler's public key") != std::string::npos);
  check_complete_once(load(db), 20);
  for (const auto& t : load(db)) CHECK(t.worker == "good");
}

TEST_CASE("the scheduler refuses other protocol versions and survives garbage", "[cli][distributed]") {
  test::TempDir dir("distgarbage");
  const auto cfg = write(dir, "branin.yaml", std::string(kBraninConfig).replace(std::string(kBraninConfig).find("200"), 3, "30"));
  const auto db = dir.file("g.db");
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched");

  zmq::context_t ctx;
  zmq::socket_t raw(ctx, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(sched.endpoint);
  // A worker from the future says HELLO.
  proto::Hello h;
  h.name = "future";
  h.instance = "f";
  (void)raw.send(zmq::buffer(proto::encode(h, proto::kVersion + 1)), zmq::send_flags::none);
  zmq::message_t reply;
  zmq::pollitem_t item{raw.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, 5s);
  REQUIRE((item.revents & ZMQ_POLLIN));
  (void)raw.recv(reply, zmq::recv_flags::none);
  const auto d = proto::decode(reply.to_string());
  REQUIRE(d.ok());
  REQUIRE(std::holds_alternative<proto::Refuse>(*d.message));
  CHECK(std::get<proto::Refuse>(*d.message).reason.find("version 2") != std::string::npos);

  // Then garbage: random frames, truncated and multi-part messages.
  hypertune::Rng rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string junk(1 + rng.below(200), '\0');
    for (auto& c : junk) c = static_cast<char>(rng.below(256));
    (void)raw.send(zmq::buffer(junk), i % 10 == 0 ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  (void)raw.send(zmq::str_buffer("end"), zmq::send_flags::none);
  // A peer that keeps speaking another version: refused every time, logged a few times.
  for (int i = 0; i < 30; ++i) (void)raw.send(zmq::buffer(proto::encode(h, proto::kVersion + 1)), zmq::send_flags::none);
  // A frame far over the limit costs its connection unread, and the log says so.
  {
    zmq::socket_t huge(ctx, zmq::socket_type::dealer);
    huge.set(zmq::sockopt::linger, 2000);
    huge.connect(sched.endpoint);
    (void)huge.send(zmq::buffer(std::string(100u << 20, 'x')), zmq::send_flags::none);
    REQUIRE(wait_until([&] { return read_file(sched.log).find("sent a frame over") != std::string::npos; }, 20s));
  }

  // The sweep still runs to the end with a real worker.
  auto w = start_worker(dir, sched.endpoint, "w");
  const auto r = sched.process->wait();
  const auto log = read_file(sched.log);
  INFO(log);
  REQUIRE(r.exit_code == 0);
  CHECK(w->wait().exit_code == 0);
  check_complete_once(load(db), 30);
  CHECK(log.find("refused connection") != std::string::npos);
  size_t refusals = 0;
  for (size_t at = log.find("refused connection"); at != std::string::npos; at = log.find("refused connection", at + 1)) {
    ++refusals;
  }
  CHECK(refusals <= 6);  // 31 refused: logged at 1, 2, 3, 4, 8 and 16
  CHECK(log.find("malformed message(s) dropped") != std::string::npos);

  // A worker of this version meeting a scheduler of another one says so too (its REFUSE decodes).
  const auto wrong = proto::decode(proto::encode(proto::Refuse{"speak version 9"}, 9));
  REQUIRE(wrong.error);
  REQUIRE(wrong.error->refuse);
}

TEST_CASE("binding a reachable address without keys needs --insecure", "[cli][distributed]") {
  test::TempDir dir("distinsecure");
  const auto cfg = write(dir, "branin.yaml", kBraninConfig);
  const auto r = run_process({kBin, "scheduler", cfg, "--storage", dir.file("x.db"), "--bind", "tcp://*:0"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("--insecure") != std::string::npos);
  CHECK(r.out.find("tcp://*:0") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("x.db")));  // refused before touching the storage

  const auto half = run_process({kBin, "scheduler", cfg, "--storage", dir.file("x.db"), "--keys", "abc"});
  CHECK(half.exit_code == 2);
  CHECK(half.out.find("--allow") != std::string::npos);
}

TEST_CASE("with --stay the scheduler outlives its sweep and sends late workers home", "[cli][distributed]") {
  test::TempDir dir("diststay");
  const auto cfg = write(dir, "branin.yaml", std::string(kBraninConfig).replace(std::string(kBraninConfig).find("200"), 3, "10"));
  const auto db = dir.file("s.db");
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched", {"--stay"});
  CHECK(start_worker(dir, sched.endpoint, "early")->wait().exit_code == 0);
  check_complete_once(load(db), 10);
  // The sweep is over but the scheduler is still there: a late worker is told so and leaves.
  const auto t0 = std::chrono::steady_clock::now();
  const auto late = start_worker(dir, sched.endpoint, "late")->wait();
  CHECK(late.exit_code == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(read_file(dir.file("late.log")).find("sweep is finished") != std::string::npos);
  sched.process->signal(SIGTERM);
  const auto r = sched.process->wait();
  INFO(read_file(sched.log));
  CHECK(r.exit_code == 0);
  check_complete_once(load(db), 10);
}

TEST_CASE("a worker with prefetch runs its queued trials one at a time per slot", "[cli][distributed]") {
  test::TempDir dir("distprefetch");
  // Each trial holds a lock directory while it runs: two trials of this one-slot worker running
  // at once would find it taken and fail.
  const auto cfg = write(dir, "locked.yaml", R"(
name: prefetch-dist
seed: 3
max_trials: 40
space:
  x: {type: float, low: 0, high: 1}
sampler: random
trial:
  command: ["/bin/sh", "-c", "mkdir slot.lock || exit 7; sleep 0.02; rmdir slot.lock; echo '@hypertune {{\"value\": {x}}}'"]
)");
  const auto db = dir.file("s.db");
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched", {"--stay"});
  CHECK(start_worker(dir, sched.endpoint, "q", {"--slots", "1", "--prefetch", "3"})->wait().exit_code == 0);
  sched.process->signal(SIGTERM);
  INFO(read_file(sched.log));
  CHECK(sched.process->wait().exit_code == 0);
  check_complete_once(load(db), 40);
}

TEST_CASE("a local cluster spawns worker processes and reaps them all", "[cli][distributed][local_cluster]") {
  test::TempDir dir("distlocal");
  const auto cfg = write(dir, "branin.yaml", std::string(kBraninConfig).replace(std::string(kBraninConfig).find("200"), 3, "60"));
  const auto db = dir.file("l.db");
  SchedulerProcess sched(dir, cfg, db, "tcp://127.0.0.1:*", "sched");
  cli::LocalClusterOptions o;
  o.executable = kBin;
  o.endpoint = sched.endpoint;
  o.workers = 3;
  o.log_dir = dir.file("logs");
  o.extra_args = kWorkerTiming;
  cli::LocalCluster cluster(o);
  CHECK(cluster.running() == 3);
  REQUIRE(sched.process->wait().exit_code == 0);
  // The sweep's DISCONNECT sends them home: all exit by themselves with status 0.
  const auto exits = cluster.stop(10s);
  REQUIRE(exits.size() == 3);
  for (const auto& e : exits) {
    INFO(e.describe());
    CHECK(e.code == 0);
  }
  CHECK(cluster.running() == 0);
  for (int i = 0; i < 3; ++i) {
    CHECK(read_file(dir.file("logs/worker-" + std::to_string(i) + ".log")).find("local-" + std::to_string(i)) !=
          std::string::npos);
  }
  check_complete_once(load(db), 60);

  // Workers that never hear a DISCONNECT are terminated, then killed; none is left behind.
  o.endpoint = "tcp://127.0.0.1:1";  // nobody there
  o.workers = 2;
  o.log_dir = dir.file("stuck-logs");
  cli::LocalCluster stuck(o);
  const auto pids = stuck.pids();
  // Started (past loading their libraries, handlers installed) before they are told to stop.
  REQUIRE(wait_until(
      [&] {
        for (int i = 0; i < 2; ++i) {
          if (read_file(dir.file("stuck-logs/worker-" + std::to_string(i) + ".log")).find("connecting") ==
              std::string::npos) {
            return false;
          }
        }
        return true;
      },
      30s));
  const auto t0 = std::chrono::steady_clock::now();
  const auto ends = stuck.stop(300ms);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  REQUIRE(ends.size() == 2);
  for (const auto& e : ends) {
    INFO(e.describe());
    CHECK(e.code == 0);  // SIGTERM is a clean stop for a worker
  }
  for (pid_t p : pids) CHECK(::kill(p, 0) != 0);

  // A program that cannot be started is reported with the reason.
  o.executable = dir.file("no-such-binary");
  CHECK_THROWS_WITH(cli::LocalCluster(o), Catch::Contains("No such file"));
}

namespace {

// A network namespace joined to this one by a veth pair: a second "host" on this machine.
class NetNamespace {
 public:
  NetNamespace() {
    const int id = static_cast<int>(::getpid() % 100000);
    name_ = "htns" + std::to_string(id);
    host_if_ = "htva" + std::to_string(id);
    ns_if_ = "htvb" + std::to_string(id);
    const int a = 200 + id % 50;
    const int b = (id / 50) % 250;
    host_ip_ = "10." + std::to_string(a) + "." + std::to_string(b) + ".1";
    ns_ip_ = "10." + std::to_string(a) + "." + std::to_string(b) + ".2";
    ok_ = sh({"ip", "netns", "add", name_}) && sh({"ip", "link", "add", host_if_, "type", "veth", "peer", "name", ns_if_}) &&
          sh({"ip", "link", "set", ns_if_, "netns", name_}) &&
          sh({"ip", "addr", "add", host_ip_ + "/30", "dev", host_if_}) && sh({"ip", "link", "set", host_if_, "up"}) &&
          sh({"ip", "netns", "exec", name_, "ip", "addr", "add", ns_ip_ + "/30", "dev", ns_if_}) &&
          sh({"ip", "netns", "exec", name_, "ip", "link", "set", ns_if_, "up"}) &&
          sh({"ip", "netns", "exec", name_, "ip", "link", "set", "lo", "up"});
  }
  ~NetNamespace() {
    sh({"ip", "link", "del", host_if_});
    sh({"ip", "netns", "del", name_});
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& host_ip() const { return host_ip_; }

 private:
  static bool sh(const std::vector<std::string>& argv) { return run_process(argv).exit_code == 0; }
  std::string name_, host_if_, ns_if_, host_ip_, ns_ip_;
  bool ok_ = false;
};

}  // namespace

TEST_CASE("a worker on another host (network namespace) joins over CURVE", "[cli][distributed][netns]") {
  if (::geteuid() != 0 || run_process({"ip", "netns", "list"}).exit_code != 0) {
    WARN("skipped: network namespaces need root and iproute2");
    return;
  }
  NetNamespace ns;
  if (!ns.ok()) {
    WARN("skipped: could not create a network namespace with a veth pair here");
    return;
  }
  test::TempDir dir("distnetns");
  const auto keys = dir.path() / "keys";
  for (const char* name : {"scheduler", "remote"}) {
    REQUIRE(run_process({kBin, "keygen", name, "--dir", keys.string()}).exit_code == 0);
  }
  const auto cfg = write(dir, "branin.yaml", std::string(kBraninConfig).replace(std::string(kBraninConfig).find("200"), 3, "25"));
  const auto db = dir.file("n.db");
  // Bound to the veth address only: not loopback, so keys are required.
  SchedulerProcess sched(dir, cfg, db, "tcp://" + ns.host_ip() + ":*", "sched",
                         {"--keys", (keys / "scheduler.key").string(), "--allow", (keys / "remote.pub").string()});
  auto remote = std::make_unique<Process>(
      concat({"ip", "netns", "exec", ns.name(), kBin, "worker", "--connect", sched.endpoint, "--name", "remote", "--keys",
              (keys / "remote.key").string(), "--server-key", (keys / "scheduler.pub").string()},
             kWorkerTiming),
      dir.file("remote.log"));
  const auto r = sched.process->wait();
  INFO(read_file(sched.log) << read_file(dir.file("remote.log")));
  REQUIRE(r.exit_code == 0);
  CHECK(remote->wait().exit_code == 0);
  check_complete_once(load(db), 25);
  CHECK(read_file(sched.log).find("worker 'remote' joined") != std::string::npos);
}

TEST_CASE("the Slurm scripts run a sweep: scheduler job plus a worker job array", "[cli][distributed][slurm]") {
  const auto probe = run_process({"/bin/sh", "-c", "command -v sbatch >/dev/null && sinfo -h -o %T"});
  if (probe.exit_code != 0 ||
      (probe.out.find("idle") == std::string::npos && probe.out.find("mix") == std::string::npos)) {
    WARN("skipped: no Slurm cluster with an idle node here (see /work/shared/recipes or docs/cluster.md)");
    return;
  }
  test::TempDir dir("distslurm");
  const auto cfg = write(dir, "slurm.yaml", slow_config(30, 0.05));
  const auto db = dir.file("slurm.db");
  const std::string script = std::string(HYPERTUNE_SOURCE_DIR) + "/scripts/slurm/sweep.sbatch";
  // Small machines: let the array share cores with the scheduler job.
  const auto r = run_process({"/usr/bin/env", "HYPERTUNE=" + kBin, "HT_RUN_DIR=" + dir.file("run"),
                              "HT_WORKER_SBATCH=--oversubscribe", "timeout", "300", "sbatch", "--wait",
                              "--oversubscribe", "--chdir=" + dir.path().string(),
                              "--output=" + dir.file("scheduler-%j.out"), script, cfg, "2", "--storage", db,
                              "--heartbeat-ms", "200", "--lease-ms", "2000"});
  std::string logs;
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    if (entry.path().extension() == ".out") logs += "== " + entry.path().string() + "\n" + read_file(entry.path());
  }
  INFO(r.out << logs);
  REQUIRE(r.exit_code == 0);
  check_complete_once(load(db), 30);
  std::set<std::string> workers;
  for (const auto& t : load(db)) workers.insert(t.worker);
  for (const auto& w : workers) CHECK(w.rfind("slurm-", 0) == 0);
  // The secret keys made for the run are private to their owner.
  struct stat st {};
  REQUIRE(::stat(dir.file("run/keys/worker.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0077) == 0);
}

namespace {

// The documents of a multi-document manifest, by kind and metadata.name.
YAML::Node manifest(const std::string& file, const std::string& kind, const std::string& name) {
  for (const auto& doc : YAML::LoadAllFromFile(std::string(HYPERTUNE_SOURCE_DIR) + "/scripts/k8s/" + file)) {
    if (doc["kind"].as<std::string>() == kind && doc["metadata"]["name"].as<std::string>() == name) return doc;
  }
  FAIL("no " << kind << " '" << name << "' in scripts/k8s/" << file);
  return {};
}

// What the kubelet would put in the container's environment: plain values, keys of the Secret
// (whose name must match), and the pod name for fieldRef metadata.name.
std::vector<std::string> pod_env(const YAML::Node& container, const YAML::Node& secret, const std::string& pod) {
  std::vector<std::string> env;
  for (const auto& e : container["env"]) {
    const auto name = e["name"].as<std::string>();
    if (e["value"]) {
      env.push_back(name + "=" + e["value"].as<std::string>());
      continue;
    }
    const YAML::Node from = e["valueFrom"];
    REQUIRE(from);
    if (from["secretKeyRef"]) {
      CHECK(from["secretKeyRef"]["name"].as<std::string>() == secret["metadata"]["name"].as<std::string>());
      const auto key = from["secretKeyRef"]["key"].as<std::string>();
      INFO("secret key " << key);
      REQUIRE(secret["stringData"][key]);
      env.push_back(name + "=" + secret["stringData"][key].as<std::string>());
    } else {
      REQUIRE(from["fieldRef"]["fieldPath"].as<std::string>() == "metadata.name");
      env.push_back(name + "=" + pod);
    }
  }
  return env;
}

// Container args with each volume's mount path replaced by the directory standing in for it.
std::vector<std::string> pod_args(const YAML::Node& container, const std::map<std::string, std::string>& mounts) {
  std::vector<std::string> args;
  for (const auto& a : container["args"]) {
    std::string arg = a.as<std::string>();
    for (const auto& [path, dir] : mounts) {
      if (arg.rfind(path + "/", 0) == 0) arg = dir + arg.substr(path.size());
    }
    args.push_back(arg);
  }
  return args;
}

}  // namespace

TEST_CASE("the Kubernetes manifests run a sweep as their pods would", "[cli][distributed][k8s]") {
  // No cluster here: the test runs exactly the containers' args and environment from the
  // manifests (secrets from secret.sh, volumes as directories, the Service name resolved to the
  // scheduler's address) and checks that the names and ports that tie them together agree.
  test::TempDir dir("distk8s");
  const auto secret_out = run_process({"/usr/bin/env", "HYPERTUNE=" + kBin, "bash",
                                       std::string(HYPERTUNE_SOURCE_DIR) + "/scripts/k8s/secret.sh", "--print"});
  INFO(secret_out.out);
  REQUIRE(secret_out.exit_code == 0);
  const YAML::Node secret = YAML::Load(secret_out.out);
  REQUIRE(secret["kind"].as<std::string>() == "Secret");

  const YAML::Node deployment = manifest("scheduler.yaml", "Deployment", "hypertune-scheduler");
  const YAML::Node service = manifest("scheduler.yaml", "Service", "hypertune-scheduler");
  const YAML::Node job = manifest("workers.yaml", "Job", "hypertune-workers");
  const YAML::Node sched_c = deployment["spec"]["template"]["spec"]["containers"][0];
  const YAML::Node worker_c = job["spec"]["template"]["spec"]["containers"][0];

  // The Service selects the scheduler's pods and reaches its zmq port, which the scheduler binds.
  for (const auto& kv : service["spec"]["selector"]) {
    CHECK(deployment["spec"]["template"]["metadata"]["labels"][kv.first.as<std::string>()].as<std::string>() ==
          kv.second.as<std::string>());
  }
  const YAML::Node svc_port = service["spec"]["ports"][0];
  CHECK(svc_port["targetPort"].as<std::string>() == sched_c["ports"][0]["name"].as<std::string>());
  const int container_port = sched_c["ports"][0]["containerPort"].as<int>();
  const std::string service_address =
      "tcp://" + service["metadata"]["name"].as<std::string>() + ":" + std::to_string(svc_port["port"].as<int>());

  // Volumes: /config holds the sweep (the ConfigMap), /data the storage (the claim).
  fs::create_directories(dir.path() / "config");
  fs::create_directories(dir.path() / "data");
  write(dir, "config/sweep.yaml", std::string(kBraninConfig).replace(std::string(kBraninConfig).find("200"), 3, "30"));
  const std::map<std::string, std::string> mounts = {{"/config", dir.file("config")}, {"/data", dir.file("data")}};

  std::vector<std::string> sched_args = pod_args(sched_c, mounts);
  // The pod binds every interface on the container port; here the OS picks a loopback port.
  const auto bind = std::find(sched_args.begin(), sched_args.end(), "--bind");
  REQUIRE(bind + 1 < sched_args.end());
  CHECK(*(bind + 1) == "tcp://*:" + std::to_string(container_port));
  *(bind + 1) = "tcp://127.0.0.1:*";
  const std::string ep_file = dir.file("endpoint");
  std::vector<std::string> sched_argv = {"/usr/bin/env"};
  sched_argv = concat(sched_argv, pod_env(sched_c, secret, "hypertune-scheduler-0"));
  sched_argv.push_back(kBin);
  sched_argv = concat(sched_argv, sched_args);
  sched_argv = concat(sched_argv, {"--endpoint-file", ep_file});
  sched_argv = concat(sched_argv, kSchedulerTiming);
  Process sched(sched_argv, dir.file("scheduler.log"));
  REQUIRE(wait_until([&] { return fs::exists(ep_file) && !read_file(ep_file).empty(); }, 10s));
  std::string endpoint = read_file(ep_file);
  while (!endpoint.empty() && (endpoint.back() == '\n' || endpoint.back() == '\r')) endpoint.pop_back();

  const int pods = job["spec"]["parallelism"].as<int>();
  CHECK(job["spec"]["completions"].as<int>() == pods);
  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < pods; ++i) {
    std::vector<std::string> env = pod_env(worker_c, secret, "hypertune-workers-" + std::to_string(i));
    for (auto& e : env) {
      if (e.rfind("HYPERTUNE_SCHEDULER=", 0) == 0) {
        CHECK(e == "HYPERTUNE_SCHEDULER=" + service_address);  // the workers find the Service
        e = "HYPERTUNE_SCHEDULER=" + endpoint;
      }
    }
    std::vector<std::string> argv = {"/usr/bin/env"};
    argv = concat(argv, env);
    argv.push_back(kBin);
    argv = concat(argv, pod_args(worker_c, mounts));
    argv = concat(argv, kWorkerTiming);
    workers.push_back(std::make_unique<Process>(argv, dir.file("worker-" + std::to_string(i) + ".log")));
  }
  // A Job completes when every pod exits 0: each worker leaves when the sweep is over.
  for (int i = 0; i < pods; ++i) {
    INFO(read_file(dir.file("worker-" + std::to_string(i) + ".log")));
    CHECK(workers[static_cast<size_t>(i)]->wait().exit_code == 0);
  }
  check_complete_once(load(dir.file("data/sweep.db")), 30);
  // --stay keeps the Deployment's pod up after the sweep; the kubelet's SIGTERM ends it cleanly.
  sched.signal(SIGTERM);
  INFO(read_file(dir.file("scheduler.log")));
  CHECK(sched.wait().exit_code == 0);
  CHECK(read_file(dir.file("scheduler.log")).find("hypertune-workers-0") != std::string::npos);
}
