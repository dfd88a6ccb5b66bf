// The SQLite TrialStore against the contract in scheduler/trial_store.h: real files, real child
// processes (killed with SIGKILL mid-write, or writing while this process reads).

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include "scheduler/trial_store.h"
#include "support/temp_dir.h"

using hypertune::ConfigError;
using hypertune::scheduler::Durability;
using hypertune::scheduler::open_sqlite_store;
using hypertune::scheduler::Report;
using hypertune::scheduler::StoreError;
using hypertune::scheduler::StudyRecord;
using hypertune::scheduler::TrialRecord;
using hypertune::scheduler::TrialStore;
using hypertune::search::Direction;
using hypertune::search::TrialState;

namespace {

StudyRecord study_record(const std::string& signature = "x:float[0,1];") {
  StudyRecord rec;
  rec.name = "store-test";
  rec.direction = Direction::kMaximize;
  rec.metric = "acc";
  rec.seed = 0xFEDCBA9876543210ULL;
  rec.config_path = "sweeps/store.yaml";
  rec.config_text = "name: store-test\nspace: {}\n";
  rec.config_hash = "ab12";
  rec.space_signature = signature;
  rec.version = "0.1.0";
  rec.created_ms = 1'700'000'000'123;
  return rec;
}

TrialRecord running_trial(int64_t n) {
  TrialRecord rec;
  rec.trial.number = n;
  rec.trial.state = TrialState::kRunning;
  rec.trial.params = {0.5 + static_cast<double>(n), std::nullopt};
  rec.trial.seed = static_cast<uint64_t>(n) * 1000 + 1;
  std::string worker("w");
  worker += std::to_string(n % 3);
  rec.worker = std::move(worker);
  rec.created_ms = 10 * n;
  rec.started_ms = 10 * n + 1;
  return rec;
}

Report report(int64_t step, double value) {
  Report r;
  r.step = step;
  r.value = value;
  r.metrics = {{"acc", value}, {"loss", -value}};
  r.time_ms = 1000 + step;
  return r;
}

// Runs `body(write_fd)` in a forked child that ends with _exit (never returns into Catch).
struct Child {
  pid_t pid = -1;
  int fd = -1;  // read end of the child's pipe
};

Child spawn(const std::function<void(int)>& body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    int code = 0;
    try {
      body(fds[1]);
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

void send(int fd, int64_t n) {
  if (::write(fd, &n, sizeof n) != static_cast<ssize_t>(sizeof n)) throw std::runtime_error("pipe");
}

// The next number from the child; nullopt at end of stream. Fails after 20 s of silence.
std::optional<int64_t> receive(int fd) {
  pollfd p{fd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 20'000) == 1);
  int64_t n = 0;
  const ssize_t got = ::read(fd, &n, sizeof n);
  if (got == 0) return std::nullopt;
  REQUIRE(got == static_cast<ssize_t>(sizeof n));
  return n;
}

int wait_for(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

// A raw SQLite query on the file, for checks the store does not expose.
std::vector<std::string> raw_query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  std::vector<std::string> rows;
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt, 0);
    rows.emplace_back(text ? reinterpret_cast<const char*>(text) : "NULL");
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

// A batch that writes one whole trial: inserted, three reports, completed.
void write_complete_trial(TrialStore& store, int64_t n) {
  TrialStore::Batch batch(store);
  store.insert_trial(running_trial(n));
  for (int64_t step = 1; step <= 3; ++step) {
    if (!store.add_report(n, report(step, static_cast<double>(n + step)))) {
      throw std::runtime_error("report refused");
    }
  }
  TrialRecord done = running_trial(n);
  done.trial.state = TrialState::kComplete;
  done.trial.value = static_cast<double>(n) * 0.5;
  done.finished_ms = 10 * n + 5;
  if (!store.update_trial(done)) throw std::runtime_error("update refused");
  batch.commit();
}

// Every trial is whole (batches are atomic) and numbered 0..n-1 (they commit in order).
void check_whole_trials(const std::vector<TrialRecord>& trials) {
  for (size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    INFO("trial " << t.trial.number);
    REQUIRE(t.trial.number == static_cast<int64_t>(i));
    REQUIRE(t.trial.state == TrialState::kComplete);
    REQUIRE(t.trial.value == static_cast<double>(t.trial.number) * 0.5);
    REQUIRE(t.reports.size() == 3);
    REQUIRE(t.trial.intermediate.size() == 3);
    REQUIRE(t.trial.intermediate[2].second == static_cast<double>(t.trial.number + 3));
  }
}

}  // namespace

TEST_CASE("every field of the study and its trials round-trips", "[store]") {
  hypertune::test::TempDir dir("store");
  const std::string path = dir.file("s.db");
  const StudyRecord study = study_record();

  TrialRecord full;
  full.trial.number = 7;
  full.trial.state = TrialState::kPaused;
  full.trial.params = {0.1 + 0.2, std::nullopt, 3.0, 1e-300};
  full.trial.value = 1.5;
  full.trial.seed = 0xFFFFFFFFFFFFFFF0ULL;
  full.trial.bracket = 2;
  full.trial.rung = 1;
  full.reports = {report(1, 3.25), report(3, std::numeric_limits<double>::quiet_NaN())};
  full.reports[0].metrics["note"] = "\xc3\xbc";  // UTF-8 text survives
  full.trial.intermediate = {{1, 3.25}, {3, std::numeric_limits<double>::quiet_NaN()}};
  full.metrics = {{"acc", 0.9}, {"nested", {{"a", {1, 2}}}}};
  full.worker = "host-a/2";
  full.checkpoint = "/ckpt/7";
  full.pause_at = 9;
  full.retries = 2;
  full.created_ms = 1000;
  full.started_ms = 2000;

  TrialRecord waiting;
  waiting.trial.number = 2;
  waiting.trial.params = {0.0, 1.0, std::nullopt, std::nullopt};

  auto check_full = [&](const TrialRecord& got, const TrialRecord& want) {
    CHECK(got.trial.number == want.trial.number);
    CHECK(got.trial.state == want.trial.state);
    REQUIRE(got.trial.params.size() == want.trial.params.size());
    for (size_t i = 0; i < want.trial.params.size(); ++i) {
      CHECK(got.trial.params[i] == want.trial.params[i]);  // bit-exact doubles, nulls kept
    }
    CHECK(got.trial.value == want.trial.value);
    CHECK(got.trial.seed == want.trial.seed);
    CHECK(got.trial.bracket == want.trial.bracket);
    CHECK(got.trial.rung == want.trial.rung);
    REQUIRE(got.reports.size() == want.reports.size());
    REQUIRE(got.trial.intermediate.size() == want.reports.size());
    for (size_t i = 0; i < want.reports.size(); ++i) {
      CHECK(got.reports[i].step == want.reports[i].step);
      CHECK(got.trial.intermediate[i].first == want.reports[i].step);
      if (std::isnan(want.reports[i].value)) {
        CHECK(std::isnan(got.reports[i].value));
        CHECK(std::isnan(got.trial.intermediate[i].second));
      } else {
        CHECK(got.reports[i].value == want.reports[i].value);
        CHECK(got.trial.intermediate[i].second == want.reports[i].value);
      }
      CHECK(got.reports[i].metrics.dump() == want.reports[i].metrics.dump());  // NaN -> null
      CHECK(got.reports[i].time_ms == want.reports[i].time_ms);
    }
    CHECK(got.metrics == want.metrics);
    CHECK(got.worker == want.worker);
    CHECK(got.checkpoint == want.checkpoint);
    CHECK(got.pause_at == want.pause_at);
    CHECK(got.retries == want.retries);
    CHECK(got.fail_reason == want.fail_reason);
    CHECK(got.created_ms == want.created_ms);
    CHECK(got.started_ms == want.started_ms);
    CHECK(got.finished_ms == want.finished_ms);
  };
  auto check_study = [&](const StudyRecord& got) {
    CHECK(got.name == study.name);
    CHECK(got.direction == study.direction);
    CHECK(got.metric == study.metric);
    CHECK(got.seed == study.seed);
    CHECK(got.config_path == study.config_path);
    CHECK(got.config_text == study.config_text);
    CHECK(got.config_hash == study.config_hash);
    CHECK(got.space_signature == study.space_signature);
    CHECK(got.version == study.version);
    CHECK(got.created_ms == study.created_ms);
  };

  TrialRecord updated = full;
  {
    auto store = open_sqlite_store(path);
    CHECK_FALSE(store->study());
    check_study(store->open_study(study));
    check_study(*store->study());
    store->insert_trial(full);
    store->insert_trial(waiting);
    auto trials = store->load_trials();
    REQUIRE(trials.size() == 2);
    check_full(trials[0], waiting);  // ordered by number
    check_full(trials[1], full);
    CHECK_FALSE(trials[0].trial.value);

    // Every mutable field changes through update_trial.
    updated.trial.state = TrialState::kFail;
    updated.trial.value = -2.0;
    updated.trial.bracket = 3;
    updated.trial.rung = 2;
    updated.metrics = {{"acc", 0.1}};
    updated.worker = "host-b/0";
    updated.checkpoint = std::nullopt;
    updated.pause_at = std::nullopt;
    updated.retries = 3;
    updated.fail_reason = "worker lost 3 times";
    updated.created_ms = 1001;
    updated.started_ms = 2001;
    updated.finished_ms = 3001;
    REQUIRE(store->update_trial(updated));
  }
  // A fresh connection reads the same thing.
  auto store = open_sqlite_store(path, Durability::kFull);
  check_study(*store->study());
  const auto trials = store->load_trials();
  REQUIRE(trials.size() == 2);
  check_full(trials[1], updated);
  CHECK(raw_query(path, "PRAGMA journal_mode") == std::vector<std::string>{"wal"});
}

TEST_CASE("the first report of a step wins", "[store]") {
  hypertune::test::TempDir dir("store");
  auto store = open_sqlite_store(dir.file("s.db"));
  (void)store->open_study(study_record());
  store->insert_trial(running_trial(0));
  CHECK(store->add_report(0, report(5, 1.0)));
  CHECK(store->add_report(0, report(2, 4.0)));
  Report second = report(5, 99.0);
  second.metrics = {{"acc", 99.0}};
  CHECK_FALSE(store->add_report(0, second));
  CHECK_FALSE(store->add_report(42, report(1, 1.0)));  // no such trial

  const auto trials = store->load_trials();
  REQUIRE(trials.size() == 1);
  const auto& t = trials[0];
  REQUIRE(t.trial.intermediate.size() == 2);
  CHECK(t.trial.intermediate[0] == std::pair<int64_t, double>{2, 4.0});  // sorted by step
  CHECK(t.trial.intermediate[1] == std::pair<int64_t, double>{5, 1.0});
  CHECK(t.reports[1].metrics == report(5, 1.0).metrics);
}

TEST_CASE("finished trials never change", "[store]") {
  hypertune::test::TempDir dir("store");
  const std::string path = dir.file("s.db");
  auto store = open_sqlite_store(path);
  (void)store->open_study(study_record());

  int64_t n = 0;
  for (TrialState finished : {TrialState::kComplete, TrialState::kPruned, TrialState::kFail}) {
    INFO(hypertune::search::to_string(finished));
    store->insert_trial(running_trial(n));
    TrialRecord rec = running_trial(n);
    rec.trial.state = finished;
    rec.trial.value = 1.0;
    rec.fail_reason = "first";
    REQUIRE(store->update_trial(rec));

    TrialRecord again = rec;
    again.trial.state = TrialState::kRunning;
    again.trial.value = 2.0;
    again.fail_reason = "second";
    again.retries = 5;
    CHECK_FALSE(store->update_trial(again));
    again.trial.state = finished;
    CHECK_FALSE(store->update_trial(again));
    CHECK_FALSE(store->add_report(n, report(1, 3.0)));

    const auto t = store->load_trials().back();
    CHECK(t.trial.state == finished);
    CHECK(t.trial.value == 1.0);
    CHECK(t.fail_reason == "first");
    CHECK(t.retries == 0);
    CHECK(t.reports.empty());
    ++n;
  }
  CHECK_FALSE(store->update_trial(running_trial(100)));  // missing

  // The test is in the UPDATE itself: a connection holding a stale RUNNING snapshot cannot undo
  // a finish written by another connection.
  store->insert_trial(running_trial(n));
  auto other = open_sqlite_store(path);
  const TrialRecord stale = other->load_trials().back();
  REQUIRE(stale.trial.state == TrialState::kRunning);
  TrialRecord pruned = stale;
  pruned.trial.state = TrialState::kPruned;
  REQUIRE(store->update_trial(pruned));
  TrialRecord resumed = stale;
  resumed.trial.state = TrialState::kPaused;
  CHECK_FALSE(other->update_trial(resumed));
  CHECK(store->load_trials().back().trial.state == TrialState::kPruned);
}

TEST_CASE("a batch rolls back when it is left by an exception", "[store]") {
  hypertune::test::TempDir dir("store");
  const std::string path = dir.file("s.db");
  auto store = open_sqlite_store(path);
  (void)store->open_study(study_record());
  store->insert_trial(running_trial(0));

  try {
    TrialStore::Batch batch(*store);
    store->insert_trial(running_trial(1));
    REQUIRE(store->add_report(1, report(1, 1.0)));
    TrialRecord done = running_trial(0);
    done.trial.state = TrialState::kComplete;
    REQUIRE(store->update_trial(done));
    throw std::runtime_error("worker vanished");
  } catch (const std::runtime_error&) {
  }
  auto trials = store->load_trials();
  REQUIRE(trials.size() == 1);
  CHECK(trials[0].trial.state == TrialState::kRunning);

  // A failing statement inside the batch (duplicate number) rolls back the earlier writes too.
  try {
    TrialStore::Batch batch(*store);
    store->insert_trial(running_trial(2));
    store->insert_trial(running_trial(0));
    batch.commit();
    FAIL("a duplicate trial number was accepted");
  } catch (const StoreError& e) {
    CHECK_THAT(e.what(), Catch::Contains(path));
    CHECK_THAT(e.what(), Catch::Contains("UNIQUE constraint failed: trials.number"));
  }
  CHECK(store->load_trials().size() == 1);

  SECTION("a nested batch joins the outer one: nothing is durable before the outer commit") {
    {
      TrialStore::Batch outer(*store);
      {
        TrialStore::Batch inner(*store);
        store->insert_trial(running_trial(3));
        inner.commit();
      }
      auto reader = open_sqlite_store(path, Durability::kNormal, /*read_only=*/true);
      CHECK(reader->load_trials().size() == 1);  // not committed yet
    }  // outer left without commit
    CHECK(store->load_trials().size() == 1);
  }
  SECTION("a nested batch that fails undoes only its own writes") {
    TrialStore::Batch outer(*store);
    store->insert_trial(running_trial(4));
    try {
      TrialStore::Batch inner(*store);
      store->insert_trial(running_trial(5));
      throw std::runtime_error("inner failure");
    } catch (const std::runtime_error&) {
    }
    store->insert_trial(running_trial(6));
    outer.commit();
    trials = store->load_trials();
    REQUIRE(trials.size() == 3);
    CHECK(trials[1].trial.number == 4);
    CHECK(trials[2].trial.number == 6);
  }
}

TEST_CASE("a store survives its writer being killed with SIGKILL mid-write", "[store]") {
  hypertune::test::TempDir dir("store");
  const std::string path = dir.file("s.db");
  // The child owns the only connection until it dies (connections must not cross a fork).
  Child child = spawn([&](int fd) {
    auto store = open_sqlite_store(path);
    (void)store->open_study(study_record());
    for (int64_t n = 0;; ++n) {
      write_complete_trial(*store, n);
      send(fd, n);  // only after the commit returned
    }
  });
  int64_t acknowledged = -1;
  while (acknowledged < 150) {
    const auto n = receive(child.fd);
    REQUIRE(n);
    acknowledged = *n;
  }
  REQUIRE(::kill(child.pid, SIGKILL) == 0);
  while (const auto n = receive(child.fd)) acknowledged = *n;  // sent before it died
  ::close(child.fd);
  const int status = wait_for(child.pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  auto store = open_sqlite_store(path);
  REQUIRE(store->study());
  CHECK(store->open_study(study_record()).created_ms == study_record().created_ms);
  const auto trials = store->load_trials();
  INFO("acknowledged " << acknowledged << ", found " << trials.size());
  // Every acknowledged trial is there; at most the one committed but not yet acknowledged more.
  CHECK(static_cast<int64_t>(trials.size()) >= acknowledged + 1);
  CHECK(static_cast<int64_t>(trials.size()) <= acknowledged + 2);
  check_whole_trials(trials);
  CHECK(raw_query(path, "PRAGMA integrity_check") == std::vector<std::string>{"ok"});
  CHECK(raw_query(path, "PRAGMA foreign_key_check").empty());
  // And it goes on taking writes.
  write_complete_trial(*store, static_cast<int64_t>(trials.size()));
  check_whole_trials(store->load_trials());
}

TEST_CASE("a read-only reader sees whole snapshots while another process commits", "[store]") {
  hypertune::test::TempDir dir("store");
  const std::string path = dir.file("s.db");
  constexpr int64_t kTrials = 300;
  Child child = spawn([&](int fd) {
    auto store = open_sqlite_store(path);
    (void)store->open_study(study_record());
    send(fd, -1);  // ready: the file and its study exist
    for (int64_t n = 0; n < kTrials; ++n) {
      write_complete_trial(*store, n);
      send(fd, n);
    }
  });
  REQUIRE(receive(child.fd) == -1);
  auto reader = open_sqlite_store(path, Durability::kNormal, /*read_only=*/true);
  REQUIRE(reader->study());
  CHECK(reader->study()->space_signature == study_record().space_signature);

  size_t last = 0;
  int reads = 0;
  bool writer_done = false;
  while (!writer_done) {
    pollfd p{child.fd, POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) {
      int64_t n = 0;
      writer_done = ::read(child.fd, &n, sizeof n) == 0;
    }
    const auto trials = reader->load_trials();
    check_whole_trials(trials);
    CHECK(trials.size() >= last);  // snapshots only move forward
    last = trials.size();
    ++reads;
  }
  ::close(child.fd);
  const int status = wait_for(child.pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const auto trials = reader->load_trials();
  CHECK(trials.size() == static_cast<size_t>(kTrials));
  check_whole_trials(trials);
  CHECK(reads >= 2);

  // A reader does not write, and says so.
  CHECK_THROWS_WITH(reader->insert_trial(running_trial(kTrials)),
                    Catch::Contains(path) && Catch::Contains("read-only"));
}

TEST_CASE("a reader does not see a batch until it commits", "[store]") {
  hypertune::test::TempDir dir("store");
  const std::string path = dir.file("s.db");
  auto writer = open_sqlite_store(path);
  auto reader = open_sqlite_store(path, Durability::kNormal, /*read_only=*/true);
  CHECK_FALSE(reader->study());
  CHECK(reader->load_trials().empty());
  (void)writer->open_study(study_record());
  CHECK(reader->study());
  {
    TrialStore::Batch batch(*writer);
    writer->insert_trial(running_trial(0));
    CHECK(reader->load_trials().empty());  // and the read did not wait for the writer
    batch.commit();
  }
  CHECK(reader->load_trials().size() == 1);
  reader.reset();
  writer.reset();  // the last connection checkpoints and removes the WAL
  // With the writer gone (and its WAL checkpointed away) a read-only open still works.
  auto later = open_sqlite_store(path, Durability::kNormal, /*read_only=*/true);
  CHECK(later->load_trials().size() == 1);
  CHECK_THROWS_WITH(open_sqlite_store(dir.file("absent.db"), Durability::kNormal, true),
                    Catch::Contains(dir.file("absent.db")) && Catch::Contains("unable to open"));
}

TEST_CASE("a store refuses a study with another search space, name, direction or metric", "[store]") {
  hypertune::test::TempDir dir("store");
  const std::string path = dir.file("s.db");
  (void)open_sqlite_store(path)->open_study(study_record("x:float[0,1];"));

  auto store = open_sqlite_store(path);
  try {
    (void)store->open_study(study_record("x:float[0,2];"));
    FAIL("a different space was accepted");
  } catch (const ConfigError& e) {
    CHECK(e.where() == path);
    CHECK_THAT(e.what(), Catch::Contains("different search space"));
    CHECK_THAT(e.what(), Catch::Contains("stored: x:float[0,1];"));
    CHECK_THAT(e.what(), Catch::Contains("config: x:float[0,2];"));
  }
  StudyRecord renamed = study_record();
  renamed.name = "other";
  CHECK_THROWS_AS(store->open_study(renamed), ConfigError);
  StudyRecord flipped = study_record();
  flipped.direction = Direction::kMinimize;
  CHECK_THROWS_WITH(store->open_study(flipped), Catch::Contains("stored: maximize"));
  StudyRecord metric = study_record();
  metric.metric = "loss";
  CHECK_THROWS_AS(store->open_study(metric), ConfigError);

  // The same study opens, and the stored record (with its creation time) comes back.
  StudyRecord same = study_record();
  same.created_ms = 5;
  same.config_text = "edited comments only";
  const StudyRecord stored = store->open_study(same);
  CHECK(stored.created_ms == study_record().created_ms);
  CHECK(stored.config_text == study_record().config_text);
}

TEST_CASE("a store refuses files that are not its own", "[store]") {
  hypertune::test::TempDir dir("store");
  const std::string foreign = dir.file("foreign.db");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(foreign.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE notes (t TEXT)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  CHECK_THROWS_WITH(open_sqlite_store(foreign),
                    Catch::Contains(foreign) && Catch::Contains("not a HyperTune study file"));

  const std::string newer = dir.file("newer.db");
  (void)open_sqlite_store(newer);
  (void)raw_query(newer, "PRAGMA user_version = 99");
  CHECK_THROWS_WITH(open_sqlite_store(newer), Catch::Contains("storage format 99 is newer"));

  const std::string garbage = dir.file("garbage.db");
  {
    std::FILE* f = std::fopen(garbage.c_str(), "wb");
    REQUIRE(f);
    const std::string junk(4096, 'j');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  CHECK_THROWS_WITH(open_sqlite_store(garbage),
                    Catch::Contains(garbage) && Catch::Contains("not a database"));
}

TEST_CASE("a new study file is the owner's only", "[store]") {
  hypertune::test::TempDir dir("store-mode");
  const auto path = dir.file("private.db");
  {
    auto store = open_sqlite_store(path);
    (void)store->open_study(study_record());
    store->insert_trial(running_trial(0));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((path + "-wal").c_str(), &st) == 0);
    CHECK((st.st_mode & 0077) == 0);
  }
}

TEST_CASE("a study file deleted or replaced while open stops the next write", "[store]") {
  hypertune::test::TempDir dir("store-vanish");
  const auto path = dir.file("gone.db");
  auto store = open_sqlite_store(path);
  (void)store->open_study(study_record());
  store->insert_trial(running_trial(0));
  REQUIRE(std::remove(path.c_str()) == 0);
  CHECK_THROWS_WITH(store->insert_trial(running_trial(1)), Catch::Contains("gone.db") && Catch::Contains("was deleted"));
  // Nor does a batch begin on it.
  CHECK_THROWS_WITH([&] { TrialStore::Batch batch(*store); }(), Catch::Contains("was deleted"));
}
