#include "scheduler/study.h"

#include <catch2/catch.hpp>

#include "base/text.h"

#include <set>

#include "search/sampler.h"
#include "support/temp_dir.h"

using namespace hypertune;
using namespace hypertune::scheduler;
using hypertune::Decision;
using search::Distribution;
using search::TrialState;

namespace {

search::SearchSpace make_space() {
  search::SearchSpace s;
  s.add({"x", Distribution::Float(-5, 5), std::nullopt});
  s.add({"k", Distribution::Int(1, 4), std::nullopt});
  s.finalize();
  return s;
}

StudyRecord make_record(const search::SearchSpace& space) {
  StudyRecord r;
  r.name = "study-test";
  r.metric = "loss";
  r.seed = 7;
  r.config_text = "name: study-test";
  r.config_hash = "abc";
  r.space_signature = space.signature();
  r.version = "test";
  return r;
}

struct Fixture {
  test::TempDir dir{"study"};
  search::SearchSpace space = make_space();
  std::unique_ptr<TrialStore> store = open_sqlite_store(dir.file("s.db"));

  Study open(Budget b = {}) {
    return Study(make_record(space), space, search::make_random_sampler(space, search::Direction::kMinimize),
                 nullptr, *store, b);
  }
  void reopen() {
    store.reset();  // one writer per file: the old connection goes first
    store = open_sqlite_store(dir.file("s.db"));
  }
};

nlohmann::json loss(double v) { return {{"loss", v}}; }

Outcome complete(double v) { return Outcome::complete(loss(v), 0); }

}  // namespace

TEST_CASE("a study creates exactly max_trials trials and records them durably", "[study]") {
  Fixture f;
  Budget b;
  b.max_trials = 5;
  {
    Study st = f.open(b);
    for (int i = 0; i < 5; ++i) {
      auto a = st.ask("w");
      REQUIRE(a);
      CHECK(a->number == i);
      CHECK(a->params.contains("x"));
      CHECK(st.finish(a->number, complete(static_cast<double>(10 - i)), "w"));
    }
    CHECK_FALSE(st.ask("w"));
    CHECK(st.done());
    REQUIRE(st.best());
    CHECK(st.best()->trial.number == 4);
    CHECK(st.best()->trial.value == Approx(6.0));
  }
  f.reopen();
  auto trials = f.store->load_trials();
  REQUIRE(trials.size() == 5);
  for (const auto& t : trials) {
    CHECK(t.trial.state == TrialState::kComplete);
    CHECK(t.worker == "w");
    CHECK(t.trial.seed != 0);
  }
  // Each trial's seed is a function of the study seed and its number: re-runnable exactly.
  CHECK(trials[0].trial.seed != trials[1].trial.seed);
}

TEST_CASE("the first report of a step wins and finished trials ignore late results", "[study]") {
  Fixture f;
  Study st = f.open();
  auto a = st.ask("w");
  REQUIRE(a);
  CHECK(st.report(a->number, 1, loss(3.0), "w").decision == Decision::kContinue);
  CHECK(st.report(a->number, 1, loss(99.0), "w").decision == Decision::kContinue);  // resend
  REQUIRE(st.trial(a->number)->trial.intermediate.size() == 1);
  CHECK(st.trial(a->number)->trial.intermediate[0].second == 3.0);

  CHECK(st.finish(a->number, complete(2.0), "w"));
  CHECK_FALSE(st.finish(a->number, complete(1.0), "w"));  // ignored: already COMPLETE
  CHECK(*st.trial(a->number)->trial.value == 2.0);
  // A report for a finished trial tells the sender to stop.
  CHECK(st.report(a->number, 2, loss(1.0), "w").decision == Decision::kPrune);

  f.reopen();
  auto trials = f.store->load_trials();
  REQUIRE(trials.size() == 1);
  CHECK(trials[0].trial.intermediate.size() == 1);
  CHECK(*trials[0].trial.value == 2.0);
}

TEST_CASE("only the worker holding a trial may report or finish it", "[study]") {
  Fixture f;
  Study st = f.open();
  auto a = st.ask("alice");
  REQUIRE(a);
  CHECK(st.report(a->number, 1, loss(1.0), "mallory").decision == Decision::kPrune);
  CHECK_FALSE(st.finish(a->number, complete(1.0), "mallory"));
  CHECK(st.trial(a->number)->trial.state == TrialState::kRunning);
  CHECK(st.finish(a->number, complete(1.0), "alice"));
}

TEST_CASE("a report without the objective metric fails the trial with the reason", "[study]") {
  Fixture f;
  Study st = f.open();
  auto a = st.ask("w");
  REQUIRE(a);
  CHECK(st.report(a->number, 1, {{"accuracy", 0.5}}, "w").decision == Decision::kPrune);
  const auto* t = st.trial(a->number);
  CHECK(t->trial.state == TrialState::kFail);
  CHECK_THAT(t->fail_reason, Catch::Contains("loss"));
}

TEST_CASE("lost workers re-queue their trials until max_retries, then the trial fails", "[study]") {
  Fixture f;
  Budget b;
  b.max_retries = 2;
  Study st = f.open(b);
  auto a = st.ask("w1");
  REQUIRE(a);
  const auto params = a->params;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    st.requeue(a->number, "worker w lost");
    CHECK(st.trial(a->number)->trial.state == TrialState::kWaiting);
    auto again = st.ask("w" + std::to_string(attempt + 1));
    REQUIRE(again);
    CHECK(again->number == a->number);  // the re-queued trial comes first, same params
    CHECK(again->params == params);
    CHECK(again->attempt == attempt);
  }
  st.requeue(a->number, "worker w3 lost");
  const auto* t = st.trial(a->number);
  CHECK(t->trial.state == TrialState::kFail);
  CHECK_THAT(t->fail_reason, Catch::Contains("worker w3 lost") && Catch::Contains("2 retries"));
}

TEST_CASE("a lost run resumes from the run folder its holder reported, never from a cut-off one's", "[study]") {
  Fixture f;
  Study st = f.open();
  auto a = st.ask("w1");
  REQUIRE(a);
  CHECK_FALSE(a->checkpoint);
  (void)st.report(a->number, 1, loss(3.0), "w1", std::string("/c/trial-0/run-1"));
  (void)st.report(a->number, 2, loss(2.0), "w1", std::string("/c/trial-0/run-1"));
  st.requeue(a->number, "worker w1 lost");
  auto b = st.ask("w2");
  REQUIRE(b);
  CHECK(b->checkpoint == "/c/trial-0/run-1");
  CHECK(b->start_step == 2);
  // w1 comes back from its partition and reports on: neither its step nor its folder counts.
  CHECK(st.report(a->number, 3, loss(1.0), "w1", std::string("/c/trial-0/run-1")).decision == Decision::kPrune);
  (void)st.report(a->number, 3, loss(1.5), "w2", std::string("/c/trial-0/run-2"));
  CHECK(st.trial(a->number)->checkpoint == "/c/trial-0/run-2");
  // Durable: a scheduler restarted now resumes the trial from w2's folder.
  f.reopen();
  Study again = f.open();
  CHECK(again.trial(a->number)->checkpoint == "/c/trial-0/run-2");
  // A complete outcome names the run folder with its exports.
  again.requeue_all_running("restart");
  auto c = again.ask("w3");
  REQUIRE(c);
  Outcome done = complete(1.5);
  done.checkpoint = "/c/trial-0/run-3";
  CHECK(again.finish(c->number, done, "w3"));
  CHECK(again.trial(c->number)->checkpoint == "/c/trial-0/run-3");
}

TEST_CASE("a study resumes from storage: numbering, best trial and running trials", "[study]") {
  Fixture f;
  Budget b;
  b.max_trials = 6;
  int64_t running_number = -1;
  {
    Study st = f.open(b);
    for (int i = 0; i < 3; ++i) {
      auto a = st.ask("w");
      REQUIRE(st.finish(a->number, complete(5.0 - i), "w"));
    }
    running_number = st.ask("w")->number;  // left RUNNING: the process "dies" here
  }
  f.reopen();
  Study st = f.open(b);
  CHECK(st.progress().complete == 3);
  CHECK(st.progress().running == 1);
  REQUIRE(st.best());
  CHECK(*st.best()->trial.value == 3.0);
  CHECK(st.requeue_all_running("scheduler restarted") == 1);
  auto a = st.ask("w");
  REQUIRE(a);
  CHECK(a->number == running_number);
  CHECK(a->attempt == 0);  // a restart is not the trial's fault
  REQUIRE(st.finish(a->number, complete(1.0), "w"));
  std::set<int64_t> numbers;
  while (auto n = st.ask("w")) {
    numbers.insert(n->number);
    REQUIRE(st.finish(n->number, complete(4.0), "w"));
  }
  CHECK(numbers == std::set<int64_t>{4, 5});
  CHECK(st.done());
  CHECK(*st.best()->trial.value == 1.0);
}

TEST_CASE("a study refuses a store that holds another search space", "[study]") {
  Fixture f;
  { Study st = f.open(); }
  search::SearchSpace other;
  other.add({"y", Distribution::Float(0, 1), std::nullopt});
  other.finalize();
  f.reopen();
  auto rec = make_record(other);
  CHECK_THROWS_AS(Study(rec, other, search::make_random_sampler(other, search::Direction::kMinimize), nullptr,
                        *f.store, Budget{}),
                  ConfigError);
}

TEST_CASE("a fail reason is stored as valid UTF-8 and bounded", "[study]") {
  Fixture f;
  {
    Study st = f.open();
    const auto a = st.ask("w");
    REQUIRE(a);
    const std::string reason = "exit status 1: \xff\xfe not utf-8\n" + std::string(1 << 20, 'x');
    REQUIRE(st.finish(a->number, Outcome::failed(reason, 1), "w"));
    const std::string stored = st.trial(a->number)->fail_reason;
    CHECK(hypertune::first_invalid_utf8(stored) == std::string::npos);
    CHECK(stored.size() < hypertune::kMaxReasonBytes + 40);
    CHECK(stored.rfind("exit status 1: \xEF\xBF\xBD\xEF\xBF\xBD not utf-8", 0) == 0);
  }
  f.reopen();
  for (const auto& t : f.store->load_trials()) CHECK_NOTHROW(nlohmann::json(t.fail_reason).dump());
}

TEST_CASE("enqueued configurations run first, in order, and survive a resume", "[study]") {
  Fixture f;
  Budget b;
  b.max_trials = 4;
  const std::vector<search::Params> configs = {{0.5, 2.0}, {-1.25, 4.0}};
  {
    Study st = f.open(b);
    st.enqueue(configs);
    auto a = st.ask("w");
    REQUIRE(a);
    CHECK(a->params == nlohmann::json({{"x", 0.5}, {"k", 2}}));
    CHECK(st.finish(a->number, complete(1.0), "w"));
  }
  // A resumed study with the same list goes on with the second one, then samples.
  f.reopen();
  Study st = f.open(b);
  st.enqueue(configs);
  auto a = st.ask("w");
  REQUIRE(a);
  CHECK(a->number == 1);
  CHECK(a->params == nlohmann::json({{"x", -1.25}, {"k", 4}}));
  auto c = st.ask("w");
  REQUIRE(c);
  CHECK(c->number == 2);
  CHECK(c->params != a->params);
  CHECK(c->params["x"].get<double>() >= -5.0);
}
