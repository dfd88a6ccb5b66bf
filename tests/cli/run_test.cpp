// End-to-end tests of `hypertune run` and the read-only commands, through the real binary.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>
#include <chrono>
#include <unistd.h>
#include <iterator>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "scheduler/trial_store.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace hypertune;
using test::Process;
using test::run_process;

namespace {

const std::string kBin = HYPERTUNE_BIN;

std::string write(const test::TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

nlohmann::json export_json(const std::string& db) {
  auto r = run_process({kBin, "export", db, "--format", "json"});
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

int64_t count_lines(const std::string& path) {
  std::ifstream in(path);
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

int64_t count_finished(const std::string& db) {
  try {
    auto store = scheduler::open_sqlite_store(db, scheduler::Durability::kNormal, true);
    int64_t n = 0;
    for (const auto& t : store->load_trials()) n += is_finished(t.trial.state) ? 1 : 0;
    return n;
  } catch (const std::exception&) {
    return 0;  // not created yet
  }
}

}  // namespace

TEST_CASE("hypertune run finishes a sweep and the storage holds every trial once", "[cli][run]") {
  test::TempDir dir("run");
  const auto cfg = write(dir, "branin.yaml", R"(
name: branin-random
seed: 3
max_trials: 25
space:
  x1: {type: float, low: -5, high: 10}
  x2: {type: float, low: 0, high: 15}
sampler: random
trial:
  function: branin
)");
  const auto db = dir.file("b.db");
  auto r = run_process({kBin, "run", cfg, "--storage", db, "--workers", "2"});
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("Best trial #"));

  const auto j = export_json(db);
  REQUIRE(j["trials"].size() == 25);
  std::set<int64_t> numbers;
  double best = 1e300;
  for (const auto& t : j["trials"]) {
    CHECK(t["state"] == "COMPLETE");
    numbers.insert(t["number"].get<int64_t>());
    best = std::min(best, t["value"].get<double>());
  }
  CHECK(numbers.size() == 25);
  CHECK(*numbers.rbegin() == 24);

  auto b = run_process({kBin, "best", db, "--format", "json"});
  REQUIRE(b.exit_code == 0);
  const auto bj = nlohmann::json::parse(b.out);
  CHECK(bj["value"].get<double>() == best);
  CHECK(bj["params"].contains("x1"));

  // The same sweep in threads of one process gives the same trials (random sampler, same seed).
  const auto db2 = dir.file("b2.db");
  auto r2 = run_process({kBin, "run", cfg, "--storage", db2, "--in-process", "--quiet"});
  REQUIRE(r2.exit_code == 0);
  const auto j2 = export_json(db2);
  REQUIRE(j2["trials"].size() == 25);
  for (size_t i = 0; i < 25; ++i) {
    CHECK(j2["trials"][i]["params"] == j["trials"][i]["params"]);
    CHECK(j2["trials"][i]["value"] == j["trials"][i]["value"]);
  }

  auto csv = run_process({kBin, "export", db, "--format", "csv"});
  REQUIRE(csv.exit_code == 0);
  CHECK_THAT(csv.out, Catch::StartsWith("number,state,value,params_x1,params_x2,"));
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == 26);
}

TEST_CASE("configs/gp.yaml: the GP sampler runs a sweep over two workers and beats random search", "[cli][run][gp]") {
  test::TempDir dir("gp");
  const std::string cfg = (std::filesystem::path(HYPERTUNE_SOURCE_DIR) / "configs/gp.yaml").string();
  const auto db = dir.file("gp.db");
  auto r = run_process({kBin, "run", cfg, "--storage", db, "--workers", "2", "--quiet"});
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const auto j = export_json(db);
  REQUIRE(j["trials"].size() == 40);
  double best = 1e300;
  for (const auto& t : j["trials"]) {
    CHECK(t["state"] == "COMPLETE");
    best = std::min(best, t["value"].get<double>());
  }
  // Random search reaches a median of about -1.6 in 40 trials on hartmann6; the GP, -3.1
  // (sequential, 5 seeds). Two workers with the kriging believer stay well below random's.
  CHECK(best < -2.5);
}

TEST_CASE("a sweep killed with SIGKILL resumes with no trial lost or duplicated", "[cli][run][resume]") {
  test::TempDir dir("kill");
  // A command trial slow enough to be killed in the middle of the sweep.
  const auto cfg = write(dir, "slow.yaml", R"(
name: slow
seed: 11
max_trials: 30
space:
  x: {type: float, low: 0, high: 1}
sampler: random
trial:
  command: ["/bin/sh", "-c", "sleep 0.05; echo '@hypertune {{\"value\": {x}}}'"]
)");
  const auto db = dir.file("slow.db");
  {
    Process p({kBin, "run", cfg, "--storage", db, "--quiet"}, dir.file("first.log"));
    REQUIRE(test::wait_until([&] { return count_finished(db) >= 8; }, std::chrono::seconds(30)));
    p.signal(SIGKILL);
    auto r = p.wait();
    REQUIRE(r.signal == SIGKILL);
  }
  const int64_t before = count_finished(db);
  CHECK(before < 30);

  auto r = run_process({kBin, "run", cfg, "--storage", db});
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("Resuming"));
  const auto j = export_json(db);
  REQUIRE(j["trials"].size() == 30);
  std::set<int64_t> numbers;
  double best = 1e300;
  for (const auto& t : j["trials"]) {
    CHECK(t["state"] == "COMPLETE");
    numbers.insert(t["number"].get<int64_t>());
    // The value is the parameter itself: a trial's result belongs to its own parameters.
    CHECK(t["value"].get<double>() == Approx(t["params"]["x"].get<double>()).margin(1e-12));
    best = std::min(best, t["value"].get<double>());
  }
  CHECK(numbers.size() == 30);
  auto b = run_process({kBin, "best", db, "--format", "json"});
  REQUIRE(b.exit_code == 0);
  CHECK(nlohmann::json::parse(b.out)["value"].get<double>() == best);
}

TEST_CASE("Ctrl-C stops a sweep gracefully and says how to resume", "[cli][run]") {
  test::TempDir dir("sigint");
  // The first trials are quick; once 'slow' exists every trial would run for a minute. Each
  // records its pid, to check that none outlives the interrupted run.
  const auto cfg = write(dir, "slow.yaml", R"(
name: slow
max_trials: 6
space:
  x: {type: float, low: 0, high: 1}
sampler: random
trial:
  command: ["/bin/sh", "-c", "echo $$ >> pids.txt; if [ -e slow ]; then sleep 60; fi; echo '@hypertune {{\"value\": {x}}}'"]
)");
  const auto db = dir.file("s.db");
  Process p({kBin, "run", cfg, "--storage", db, "--workers", "2"});
  REQUIRE(test::wait_until([&] { return count_finished(db) >= 2; }, std::chrono::seconds(30)));
  std::ofstream(dir.file("slow")) << "";
  // Two trials are now in their minute (one per worker).
  REQUIRE(test::wait_until([&] { return count_finished(db) + 2 <= count_lines(dir.file("pids.txt")); },
                           std::chrono::seconds(30)));
  p.signal(SIGINT);
  auto r = p.wait();
  INFO(r.out);
  CHECK(r.exit_code == 130);
  CHECK_THAT(r.out, Catch::Contains("Resume with: hypertune run"));
  // Nothing is left RUNNING: the interrupted trials went back to WAITING, without a retry.
  {
    auto store = scheduler::open_sqlite_store(db, scheduler::Durability::kNormal, true);
    int waiting = 0;
    for (const auto& t : store->load_trials()) {
      CHECK(t.trial.state != search::TrialState::kRunning);
      if (t.trial.state == search::TrialState::kWaiting) {
        ++waiting;
        CHECK(t.retries == 0);
      }
    }
    CHECK(waiting == 2);
  }
  // No trial process outlives the run.
  std::ifstream pids(dir.file("pids.txt"));
  for (pid_t pid; pids >> pid;) CHECK(test::process_gone(pid));
  // Resumed, the sweep runs the interrupted trials again and completes.
  std::filesystem::remove(dir.file("slow"));
  auto again = run_process({kBin, "run", cfg, "--storage", db});
  INFO(again.out);
  CHECK(again.exit_code == 0);
  CHECK(count_finished(db) == 6);
}

TEST_CASE("bad configs exit with code 2 and name the file and key path", "[cli][config]") {
  test::TempDir dir("bad");
  struct Case {
    std::string yaml;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"max_trial: 5\nspace: {x: {type: float, low: 0, high: 1}}\ntrial: {function: branin}\n", "max_trials"},
      {"max_trials: many\nspace: {x: {type: float, low: 0, high: 1}}\ntrial: {function: branin}\n", "max_trials"},
      {"space: {x: {type: float, low: 2, high: 1}}\ntrial: {function: branin}\n", "space.x.low"},
      {"space: {x: {type: float, low: 0, high: 1, when: {opt: a}}}\ntrial: {function: branin}\n", "space.x.when"},
  };
  for (const auto& c : cases) {
    const auto cfg = write(dir, "bad.yaml", c.yaml);
    for (const char* cmd : {"run", "validate"}) {
      auto r = run_process({kBin, cmd, cfg, "--storage", dir.file("x.db")});
      if (std::string(cmd) == "validate") r = run_process({kBin, cmd, cfg});
      INFO(cmd << "\n" << c.yaml << "\n" << r.out);
      CHECK(r.exit_code == 2);
      CHECK_THAT(r.out, Catch::Contains("bad.yaml:") && Catch::Contains(c.expect));
    }
  }
}

TEST_CASE("every example config in configs/ validates", "[cli][config]") {
  const std::filesystem::path configs = std::filesystem::path(HYPERTUNE_SOURCE_DIR) / "configs";
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    ++n;
    auto r = run_process({kBin, "validate", entry.path().string()});
    INFO(entry.path() << "\n" << r.out);
    CHECK(r.exit_code == 0);
  }
  CHECK(n >= 2);
}

TEST_CASE("validate checks the inside of a pipeline section and names the line", "[cli][config]") {
  test::TempDir dir("badpipe");
  const auto cfg = write(dir, "pipe.yaml", R"(name: pipe
max_trials: 2
space:
  lr: {type: float, low: 0.0001, high: 0.1, log: true}
trial:
  pipeline:
    data:
      format: csv
      train: missing.csv
      target: target
    model: {type: mlp, layers: 1, width: 8}
    optimizer: {type: adam, lr: "{lr}"}
    epochs: 2
)");
  auto r = run_process({kBin, "validate", cfg});
  INFO(r.out);
  CHECK(r.exit_code == 2);
  if (r.out.find("without LibTorch") != std::string::npos) return;  // pipelines not built in
  CHECK_THAT(r.out, Catch::Contains("pipe.yaml:9:") && Catch::Contains("trial.pipeline.data.train") &&
                        Catch::Contains("missing.csv"));
  // `run` refuses the same config before creating any storage.
  auto run = run_process({kBin, "run", cfg, "--storage", dir.file("p.db")});
  CHECK(run.exit_code == 2);
  CHECK_FALSE(std::filesystem::exists(dir.file("p.db")));
}

TEST_CASE("status shows the running scheduler and its connected workers", "[cli][status]") {
  test::TempDir dir("live");
  const auto cfg = write(dir, "live.yaml", R"(
name: live
max_trials: 12
space:
  x: {type: float, low: 0, high: 1}
sampler: random
trial:
  command: ["/bin/sh", "-c", "sleep 0.3; echo '@hypertune {{\"value\": {x}}}'"]
)");
  const auto db = dir.file("live.db");
  Process p({kBin, "run", cfg, "--storage", db, "--workers", "2", "--quiet"}, dir.file("run.log"));
  std::string seen;
  REQUIRE(test::wait_until(
      [&] {
        seen = run_process({kBin, "status", db}).out;
        return seen.find("2 workers connected now") != std::string::npos;
      },
      std::chrono::seconds(30)));
  CHECK_THAT(seen, Catch::Contains("Scheduler running (pid " + std::to_string(p.pid()) + ")"));
  REQUIRE(p.wait().exit_code == 0);
  const auto after = run_process({kBin, "status", db});
  CHECK_THAT(after.out, Catch::Contains("No scheduler is serving this study now."));
  CHECK_FALSE(std::filesystem::exists(db + ".live.json"));
}

TEST_CASE("the executable starts without LibTorch; pipelines come from its plugin", "[cli][plugin]") {
  // Commands that never train must not pay for loading LibTorch (worker/torch_plugin.h).
  const auto ldd = run_process({"ldd", kBin});
  REQUIRE(ldd.exit_code == 0);
  CHECK(ldd.out.find("libtorch") == std::string::npos);
  CHECK(ldd.out.find("libc10") == std::string::npos);
  const std::string plugin = kBin.substr(0, kBin.rfind('/')) + "/libhypertune_torch.so";
  if (!std::ifstream(plugin)) {
    WARN("built without LibTorch: no plugin to check");
    const auto r = run_process({kBin, "predict", "--model", "m", "--input", "x.csv", "--output", "y.csv"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("without LibTorch") != std::string::npos);
    return;
  }
  const auto plugin_ldd = run_process({"ldd", plugin});
  CHECK(plugin_ldd.out.find("libtorch") != std::string::npos);
  // The plugin's commands are there, with their own options.
  const auto help = run_process({kBin, "predict", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("--model") != std::string::npos);
}

// tests/cli/data/release-0.1.0.db was written by `hypertune run tests/cli/data/release-0.1.0.yaml
// --in-process -w 2` of release 0.1.0 (ASHA in stopping mode: COMPLETE and PRUNED trials), and
// release-0.1.0.export.json is that release's `export --format json` of it.
TEST_CASE("a study database written by release 0.1.0 opens, exports the same and resumes", "[cli][run]") {
  test::TempDir dir("release-db");
  const std::string data = std::string(HYPERTUNE_SOURCE_DIR) + "/tests/cli/data/";
  const auto db = dir.file("release-0.1.0.db");
  std::filesystem::copy_file(data + "release-0.1.0.db", db);

  const auto expected = nlohmann::json::parse(std::ifstream(data + "release-0.1.0.export.json"));
  const auto before = export_json(db);
  CHECK(before == expected);
  REQUIRE(before["trials"].size() == 30);

  auto status = run_process({kBin, "status", db});
  INFO(status.out);
  REQUIRE(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("COMPLETE         16") && Catch::Contains("PRUNED           14"));

  // The same sweep with a larger budget continues the stored study: 10 more trials, the first
  // 30 untouched.
  std::ifstream in(data + "release-0.1.0.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto pos = text.find("max_trials: 30");
  REQUIRE(pos != std::string::npos);
  text.replace(pos, 14, "max_trials: 40");
  const auto cfg = write(dir, "release-0.1.0.yaml", text);
  auto r = run_process({kBin, "run", cfg, "--storage", db, "--in-process", "-q"});
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const auto after = export_json(db);
  REQUIRE(after["trials"].size() == 40);
  for (size_t i = 0; i < 30; ++i) {
    CHECK(after["trials"][i]["params"] == expected["trials"][i]["params"]);
    CHECK(after["trials"][i]["value"] == expected["trials"][i]["value"]);
    CHECK(after["trials"][i]["state"] == expected["trials"][i]["state"]);
  }
  for (size_t i = 30; i < 40; ++i) {
    CHECK(after["trials"][i]["number"] == static_cast<int64_t>(i));
    CHECK((after["trials"][i]["state"] == "COMPLETE" || after["trials"][i]["state"] == "PRUNED"));
  }
}

TEST_CASE("hypertune run exits 1 with the first reason when no trial completed", "[cli][run]") {
  test::TempDir dir("run-allfail");
  const auto cfg = write(dir, "fail.yaml", R"(
name: all-fail
max_trials: 3
space:
  x: {type: float, low: 0, high: 1}
trial:
  command: [sh, -c, "echo broken >&2; exit 3"]
)");
  auto r = run_process({kBin, "run", cfg, "--storage", dir.file("f.db"), "--quiet"});
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("no trial completed (3 failed, 0 pruned of 3)") &&
                        Catch::Contains("first failure: trial 0: ") && Catch::Contains("exit status 3"));
  CHECK(export_json(dir.file("f.db"))["trials"].size() == 3);  // every failure is recorded
}

TEST_CASE("an objective metric a pipeline never reports is refused before the first trial", "[cli][run]") {
  test::TempDir dir("run-metric");
  write(dir, "d.csv", "a,b,target\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n");
  const auto cfg = write(dir, "m.yaml", R"(name: wrong-metric
objective: {metric: val_accuracy, direction: maximize}
max_trials: 2
space:
  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
trial:
  pipeline:
    data: {format: csv, train: d.csv, target: target, split: 0.5}
    model: {type: mlp, layers: 1, width: 8}
    optimizer: {type: adamw, lr: "{lr}"}
    epochs: 1
)");
  for (const std::string command : {"validate", "run"}) {
    auto r = command == "run" ? run_process({kBin, "run", cfg, "--storage", dir.file("m.db")})
                              : run_process({kBin, "validate", cfg});
    INFO(r.out);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.out, Catch::Contains("m.yaml:2:21: objective.metric: 'val_accuracy' is not a metric") &&
                          Catch::Contains("accuracy, f1_macro"));
  }
  CHECK_FALSE(std::filesystem::exists(dir.file("m.db")));  // nothing ran, nothing was created
}

TEST_CASE("a read-only study file is refused at start, not at the first write", "[cli][run]") {
  test::TempDir dir("run-readonly");
  const auto cfg = write(dir, "ro.yaml", R"(name: ro
max_trials: 2
space:
  x1: {type: float, low: -5, high: 10}
  x2: {type: float, low: 0, high: 15}
trial:
  function: branin
)");
  const auto db = dir.file("ro.db");
  REQUIRE(run_process({kBin, "run", cfg, "--storage", db, "--in-process", "-q"}).exit_code == 0);
  // Root writes through file modes: run the second `run` as an unprivileged user when we are root.
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all, std::filesystem::perm_options::add);
  std::filesystem::permissions(db, std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                       std::filesystem::perms::others_read,
                               std::filesystem::perm_options::replace);
  std::vector<std::string> argv = {kBin, "run", cfg, "--storage", db, "--in-process"};
  if (::geteuid() == 0) argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  auto r = run_process(argv);
  INFO(r.out);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.out, Catch::Contains("read-only") || Catch::Contains("readonly"));
  CHECK_THAT(r.out, !Catch::Contains("Resuming"));
}

TEST_CASE("a second run on a study that is being served is refused, and the first goes on", "[cli][run]") {
  test::TempDir dir("run-lock");
  const auto marker = dir.file("started");
  const auto cfg = write(dir, "slow.yaml", R"(name: slow
max_trials: 2
space:
  x: {type: float, low: 0, high: 1}
trial:
  command: [sh, -c, "touch )" + marker + R"(; sleep 1.5; echo '@hypertune {{\"value\": 1}}'"]
)");
  const auto db = dir.file("slow.db");
  Process first({kBin, "run", cfg, "--storage", db, "-q"}, dir.file("first.log"));
  for (int i = 0; i < 200 && !std::filesystem::exists(marker); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(std::filesystem::exists(marker));  // the first run is serving the study
  auto second = run_process({kBin, "run", cfg, "--storage", db, "-q"});
  INFO(second.out);
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.out, Catch::Contains("slow.db: another HyperTune process is serving this study"));
  const auto done = first.wait();
  CHECK(done.exit_code == 0);
  CHECK(export_json(db)["trials"].size() == 2);
  // Once the first has ended, the study can be served again (the lock died with it).
  auto again = run_process({kBin, "run", cfg, "--storage", db, "-q"});
  CHECK(again.exit_code == 0);
}

namespace {

// A sweep of 4 trials on 2 workers whose trial 0 is quick and the others sleep `slow` seconds
// (quick too once the file `fast` exists), with a 2 s timeout and the given policy.
std::string timeout_config(const test::TempDir& dir, const std::string& on_timeout) {
  std::ofstream(dir.file("trial.sh")) << R"(if [ "$HYPERTUNE_TRIAL" = 0 ] || [ -e fast ]; then d=0.1; else d=$(cat slow); fi
sleep "$d" &
echo $! >> pids.txt
wait
echo "@hypertune {\"value\": $HYPERTUNE_TRIAL}"
)";
  return write(dir, "deadline.yaml", R"(
name: deadline
max_trials: 4
timeout: 2s
on_timeout: )" + on_timeout + R"(
space:
  x: {type: float, low: 0, high: 1}
trial:
  command: [/bin/sh, trial.sh]
  grace_period: 1s
)");
}

std::map<int64_t, scheduler::TrialRecord> trials_by_number(const std::string& db) {
  auto store = scheduler::open_sqlite_store(db, scheduler::Durability::kNormal, true);
  std::map<int64_t, scheduler::TrialRecord> out;
  for (auto& t : store->load_trials()) out[t.trial.number] = t;
  return out;
}

double seconds_of(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("on_timeout pause: the timeout stops running trials, and a resumed run finishes them", "[cli][run][timeout]") {
  test::TempDir dir("run-timeout-pause");
  const auto cfg = timeout_config(dir, "pause");
  std::ofstream(dir.file("slow")) << "60";
  const auto db = dir.file("d.db");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_process({kBin, "run", cfg, "--storage", db, "--workers", "2"});
  const double took = seconds_of(t0);
  INFO(r.out);
  CHECK(r.exit_code == 0);  // trial 0 completed
  CHECK(took < 15.0);       // not the 60 s of the trials still running at the timeout
  CHECK_THAT(r.out, Catch::Contains("timeout was reached") && Catch::Contains("Resume with: hypertune run"));
  auto trials = trials_by_number(db);
  CHECK(trials.at(0).trial.state == search::TrialState::kComplete);
  int waiting = 0;
  for (const auto& [n, t] : trials) {
    if (n == 0) continue;
    CHECK(t.trial.state == search::TrialState::kWaiting);
    CHECK(t.retries == 0);
    ++waiting;
  }
  CHECK(waiting >= 1);
  // Their processes were stopped with them.
  std::ifstream pids(dir.file("pids.txt"));
  for (pid_t pid; pids >> pid;) CHECK(test::process_gone(pid));

  // Resumed, the re-queued trials run again and the sweep completes.
  std::ofstream(dir.file("fast")) << "";
  auto again = run_process({kBin, "run", cfg, "--storage", db, "--workers", "2"});
  INFO(again.out);
  CHECK(again.exit_code == 0);
  trials = trials_by_number(db);
  CHECK(trials.size() == 4);
  for (const auto& [n, t] : trials) CHECK(t.trial.state == search::TrialState::kComplete);
}

TEST_CASE("on_timeout stop fails running trials at the timeout; finish lets them end", "[cli][run][timeout]") {
  {
    test::TempDir dir("run-timeout-stop");
    const auto cfg = timeout_config(dir, "stop");
    std::ofstream(dir.file("slow")) << "60";
    const auto db = dir.file("d.db");
    const auto t0 = std::chrono::steady_clock::now();
    // The in-process executor honours it the same way.
    auto r = run_process({kBin, "run", cfg, "--storage", db, "--workers", "2", "--in-process"});
    INFO(r.out);
    CHECK(r.exit_code == 0);
    CHECK(seconds_of(t0) < 15.0);
    const auto trials = trials_by_number(db);
    CHECK(trials.at(0).trial.state == search::TrialState::kComplete);
    for (const auto& [n, t] : trials) {
      if (n == 0) continue;
      CHECK(t.trial.state == search::TrialState::kFail);
      CHECK(t.fail_reason == "stopped at the sweep's timeout (on_timeout: stop)");
    }
  }
  {
    test::TempDir dir("run-timeout-finish");
    const auto cfg = timeout_config(dir, "finish");
    std::ofstream(dir.file("slow")) << "3";
    const auto db = dir.file("d.db");
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_process({kBin, "run", cfg, "--storage", db, "--workers", "2"});
    INFO(r.out);
    CHECK(r.exit_code == 0);
    CHECK(seconds_of(t0) >= 3.0);
    const auto trials = trials_by_number(db);
    CHECK(trials.size() < 4);  // none started after the timeout
    for (const auto& [n, t] : trials) CHECK(t.trial.state == search::TrialState::kComplete);
  }
}

namespace {

// A command trial that claims each device of CUDA_VISIBLE_DEVICES (mkdir is atomic), holds the
// claim for a moment and reports its devices: two trials sharing a device would collide.
std::string gpu_config(const test::TempDir& dir, int trials, int gpus_per_trial) {
  std::ofstream(dir.file("trial.sh")) << R"(mkdir -p claims
for d in $(echo "$CUDA_VISIBLE_DEVICES" | tr ',' ' '); do
  mkdir "claims/$d" 2>/dev/null || echo "$HYPERTUNE_TRIAL $d" >> conflicts.txt
done
sleep 0.3
for d in $(echo "$CUDA_VISIBLE_DEVICES" | tr ',' ' '); do rmdir "claims/$d"; done
echo "@hypertune {\"value\": 1, \"devices\": \"${CUDA_VISIBLE_DEVICES-unset}\"}"
)";
  return write(dir, "gpus.yaml", "name: gpus\nmax_trials: " + std::to_string(trials) + R"(
space:
  x: {type: float, low: 0, high: 1}
workers:
  gpus_per_trial: )" + std::to_string(gpus_per_trial) + R"(
trial:
  command: [/bin/sh, trial.sh]
)");
}

std::multiset<std::string> devices_of(const std::string& db) {
  std::multiset<std::string> out;
  for (const auto& [n, t] : trials_by_number(db)) {
    REQUIRE(t.trial.state == search::TrialState::kComplete);
    out.insert(t.metrics.at("devices").get<std::string>());
  }
  return out;
}

}  // namespace

TEST_CASE("gpus_per_trial gives every command trial its own devices in CUDA_VISIBLE_DEVICES", "[cli][run][gpu]") {
  // No GPU is needed: the device list is only handed out, and the trials check it.
  for (const bool in_process : {false, true}) {
    INFO((in_process ? "in-process" : "worker processes"));
    test::TempDir dir("run-gpus");
    const auto cfg = gpu_config(dir, 6, 2);
    std::vector<std::string> argv = {kBin, "run", cfg, "--storage", dir.file("g.db"), "--workers", "2", "--gpus",
                                     "0,1,2,3", "--quiet"};
    if (in_process) argv.push_back("--in-process");
    const auto r = run_process(argv);
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    const auto devices = devices_of(dir.file("g.db"));
    CHECK(devices.size() == 6);
    for (const auto& d : devices) CHECK((d == "0,1" || d == "2,3"));
    CHECK_FALSE(std::filesystem::exists(dir.file("conflicts.txt")));
  }
  {
    // Without gpus_per_trial, worker i shares the (i mod n)-th device; not enough devices for
    // the workers asked is refused before any trial runs.
    test::TempDir dir("run-gpus-share");
    const auto r = run_process({kBin, "run", gpu_config(dir, 4, 0), "--storage", dir.file("g.db"), "--workers", "2",
                                "--gpus", "5", "--quiet"});
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    for (const auto& d : devices_of(dir.file("g.db"))) CHECK(d == "5");
    const auto refused = run_process({kBin, "run", gpu_config(dir, 4, 2), "--storage", dir.file("h.db"), "--workers",
                                      "2", "--gpus", "0,1,2"});
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.out, Catch::Contains("--gpus") && Catch::Contains("need 4 devices"));
    const auto bad = run_process({kBin, "run", gpu_config(dir, 4, 1), "--storage", dir.file("i.db"), "--gpus", "0,x"});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.out, Catch::Contains("'x' is not a device index"));
  }
}
