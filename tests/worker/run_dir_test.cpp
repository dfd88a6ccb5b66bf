// Run folders (worker/run_dir.h): distinct epochs for every claim, also from concurrent
// processes; superseded folders removed; the artifacts of each trial kind.

#include "worker/run_dir.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using hypertune::test::TempDir;
using namespace hypertune::worker;

TEST_CASE("run folders are claimed in order, 0700, and superseded ones go", "[worker][run_dir]") {
  TempDir dir("ht-rundir");
  const std::string trial = dir.file("trial-3");
  const RunDir a = claim_run_dir(trial);
  const RunDir b = claim_run_dir(trial);
  CHECK(a.path == trial + "/run-1");
  CHECK(a.epoch == 1);
  CHECK(b.path == trial + "/run-2");
  struct stat st {};
  REQUIRE(::stat(b.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat(trial.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  // Other entries do not count, and a gap does not reuse a number.
  fs::create_directories(trial + "/run-7x");
  fs::create_directories(trial + "/run-05");
  std::ofstream(trial + "/notes.txt") << "kept";
  fs::create_directories(trial + "/run-9");
  CHECK(claim_run_dir(trial).epoch == 10);

  // Resuming from run-9's checkpoint: run-1 and run-2 can never be resumed from again.
  const RunDir c = claim_run_dir(trial, trial + "/run-9/checkpoint.pt");
  CHECK(c.epoch == 11);
  CHECK_FALSE(fs::exists(a.path));
  CHECK_FALSE(fs::exists(b.path));
  CHECK(fs::exists(trial + "/run-9"));
  CHECK(fs::exists(trial + "/run-10"));
  CHECK(fs::exists(trial + "/notes.txt"));
  CHECK(fs::exists(trial + "/run-7x"));

  // A checkpoint of an older release (the trial folder itself) removes nothing.
  (void)claim_run_dir(trial, trial);
  CHECK(fs::exists(trial + "/run-9"));
}

TEST_CASE("concurrent claims from several processes never share a run folder", "[worker][run_dir]") {
  TempDir dir("ht-rundir-race");
  const std::string trial = dir.file("trial-0");
  const std::string out = dir.file("claims");
  constexpr int kProcs = 4, kEach = 50;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      try {
        std::ofstream log(out + "-" + std::to_string(p));
        for (int i = 0; i < kEach; ++i) log << claim_run_dir(trial).epoch << "\n";
      } catch (...) {
        code = 1;
      }
      ::_exit(code);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  std::set<int64_t> epochs;
  size_t claims = 0;
  for (int p = 0; p < kProcs; ++p) {
    std::ifstream in(out + "-" + std::to_string(p));
    for (int64_t e; in >> e; ++claims) epochs.insert(e);
  }
  CHECK(claims == kProcs * kEach);
  CHECK(epochs.size() == claims);  // no epoch claimed twice
  CHECK(*epochs.rbegin() == static_cast<int64_t>(claims));
}

TEST_CASE("which trial kinds get run folders, and which report theirs", "[worker][run_dir]") {
  using nlohmann::json;
  CHECK(artifacts_of(json{{"function", "branin"}}) == Artifacts::kNone);
  CHECK(artifacts_of(json{{"command", {"x"}}}) == Artifacts::kNone);
  CHECK(artifacts_of(json{{"command", {"x"}}, {"checkpoint", true}}) == Artifacts::kEveryStep);
  CHECK(artifacts_of(json{{"pipeline", json::object()}}) == Artifacts::kAtEnd);

  TempDir dir("ht-rundir-begin");
  hypertune::TrialSpec spec;
  spec.trial = {{"command", {"x"}}, {"checkpoint", true}};
  spec.checkpoint_dir = dir.file("trial-1");
  const auto reported = begin_run(spec);
  CHECK(spec.checkpoint_dir == dir.file("trial-1") + "/run-1");
  CHECK(reported == spec.checkpoint_dir);
  hypertune::Outcome done = hypertune::Outcome::complete({{"value", 1.0}}, 3);
  end_run(spec, done);
  CHECK(done.checkpoint == spec.checkpoint_dir);

  hypertune::TrialSpec fn;
  fn.trial = {{"function", "branin"}};
  fn.checkpoint_dir = dir.file("trial-2");
  CHECK_FALSE(begin_run(fn));
  CHECK(fn.checkpoint_dir == dir.file("trial-2"));
  CHECK_FALSE(fs::exists(fn.checkpoint_dir));  // nothing created for a trial that writes nothing

  CHECK(run_epoch_of("/a/trial-1", "/a/trial-1/run-4/checkpoint.pt") == 4);
  CHECK(run_epoch_of("/a/trial-1", "/a/trial-1/run-4") == 4);
  CHECK_FALSE(run_epoch_of("/a/trial-1", "/a/trial-1"));
  CHECK_FALSE(run_epoch_of("/a/trial-1", "/b/trial-1/run-4"));
}
