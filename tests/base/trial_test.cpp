#include "base/trial.h"

#include <catch2/catch.hpp>

using namespace hypertune;

TEST_CASE("a trial's folder is derived in one place", "[base]") {
  CHECK(trial_dir("/sweeps/a.db.artifacts", 7) == "/sweeps/a.db.artifacts/trial-7");
  CHECK(trial_dir("rel", 0) == "rel/trial-0");
}

TEST_CASE("outcome constructors fill the fields their kind needs", "[base]") {
  const Outcome done = Outcome::complete({{"loss", 0.5}}, 9);
  CHECK(done.kind == OutcomeKind::kComplete);
  CHECK(done.last_step == 9);
  CHECK(done.metrics["loss"] == 0.5);
  const Outcome paused = Outcome::paused("/c/checkpoint.pt", 3);
  CHECK(paused.kind == OutcomeKind::kPaused);
  CHECK(paused.checkpoint == "/c/checkpoint.pt");
  CHECK(Outcome::failed("why", 2).error == "why");
  CHECK(Outcome::pruned(4).kind == OutcomeKind::kPruned);
  CHECK(std::string(to_string(OutcomeKind::kFailed)) == "failed");
  CHECK(std::string(to_string(Decision::kPause)) == "pause");
}

TEST_CASE("the travelling fields of a spec leave out the worker's GPU", "[base]") {
  TrialSpec spec;
  std::vector<std::string> names;
  TrialSpec::fields(spec, [&](const char* name, const auto&) { names.emplace_back(name); });
  CHECK(names.size() == 15);
  CHECK(std::find(names.begin(), names.end(), "gpu") == names.end());
  CHECK(names.front() == "number");
}
