// The pipeline TrialRunner: TrialSpec in, reports per epoch, verdicts obeyed, outcomes out.

#include "worker/pipeline_runner.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "base/rng.h"
#include "tests/pipelines/temp_dir.h"
#include "tests/worker/helpers/scripted_context.h"

using hypertune::test::ScriptedContext;
using hypertune::test::TempDir;
using hypertune::Decision;
using hypertune::worker::PipelineRunner;
using hypertune::Outcome;
using hypertune::TrialSpec;
using nlohmann::json;

namespace {

std::string blobs_csv(int rows) {
  hypertune::Rng rng(42);
  std::ostringstream out;
  out << "a,b,target\n";
  for (int i = 0; i < rows; ++i) {
    const int cls = i % 2;
    out << rng.normal() + (cls ? 2.0 : -2.0) << "," << rng.normal() << "," << (cls ? "yes" : "no")
        << "\n";
  }
  return out.str();
}

TrialSpec spec_for(const TempDir& dir) {
  dir.write("blobs.csv", blobs_csv(200));
  TrialSpec spec;
  spec.number = 7;
  spec.seed = 5;
  spec.params = {{"width", 8}, {"lr", 0.02}};
  spec.trial = {{"pipeline",
                 {{"data", {{"train", "blobs.csv"}}},
                  {"model", {{"type", "mlp"}, {"layers", 1}, {"width", "{width}"}}},
                  {"optimizer", {{"type", "adam"}, {"lr", "{lr}"}}},
                  {"batch_size", 16},
                  {"epochs", 10}}}};
  spec.metric = "accuracy";
  spec.max_steps = 4;
  spec.work_dir = dir.path().string();
  spec.checkpoint_dir = dir.file("trial-7");
  return spec;
}

}  // namespace

TEST_CASE("pipeline runner: reports every epoch, pauses, resumes and completes", "[pipelines]") {
  TempDir dir;
  TrialSpec spec = spec_for(dir);
  spec.pause_at = 2;
  PipelineRunner runner;
  ScriptedContext first;
  const Outcome paused = runner.run(spec, first);
  INFO(paused.error);
  REQUIRE(paused.kind == hypertune::OutcomeKind::kPaused);
  CHECK(first.steps() == std::vector<int64_t>{1, 2});
  CHECK(first.reports[0].second.contains("accuracy"));
  CHECK(first.reports[0].second.contains("train_loss"));
  REQUIRE(paused.checkpoint.has_value());

  spec.pause_at.reset();
  spec.start_step = paused.last_step;
  spec.checkpoint = paused.checkpoint;
  ScriptedContext second;
  const Outcome done = runner.run(spec, second);
  INFO(done.error);
  REQUIRE(done.kind == hypertune::OutcomeKind::kComplete);
  CHECK(second.steps() == std::vector<int64_t>{3, 4});  // max_steps caps the section's 10 epochs
  CHECK(done.last_step == 4);
  CHECK(done.metrics["accuracy"].get<double>() > 0.95);
  CHECK(std::filesystem::exists(dir.file("trial-7/model/weights.pt")));
}

TEST_CASE("pipeline runner: prune, pause verdicts, stop requests and failures", "[pipelines]") {
  TempDir dir;
  TrialSpec spec = spec_for(dir);
  PipelineRunner runner;

  ScriptedContext prune;
  prune.on(2, Decision::kPrune);
  const Outcome pruned = runner.run(spec, prune);
  CHECK(pruned.kind == hypertune::OutcomeKind::kPruned);
  CHECK(pruned.last_step == 2);
  CHECK(prune.steps() == std::vector<int64_t>{1, 2});

  ScriptedContext pause;
  pause.on(1, Decision::kPause);
  const Outcome paused = runner.run(spec, pause);
  CHECK(paused.kind == hypertune::OutcomeKind::kPaused);
  CHECK(paused.last_step == 1);

  ScriptedContext stop;
  stop.stop_after(1);
  const Outcome stopped = runner.run(spec, stop);
  CHECK(stopped.kind == hypertune::OutcomeKind::kFailed);
  CHECK_THAT(stopped.error, Catch::Contains("stopped"));
  CHECK(stop.steps() == std::vector<int64_t>{1});

  // A parameter the trial does not have (a conditional one, inactive in it) leaves its key out:
  // the optimizer's default learning rate applies.
  spec.params = {{"width", 8}};
  ScriptedContext inactive;
  const Outcome defaulted = runner.run(spec, inactive);
  INFO(defaulted.error);
  CHECK(defaulted.kind == hypertune::OutcomeKind::kComplete);
  CHECK(inactive.steps() == std::vector<int64_t>{1, 2, 3, 4});
  // A list element cannot be left out: the trial fails, naming the placeholder, before training.
  spec.trial["pipeline"]["data"]["drop"] = {"{column}"};
  ScriptedContext missing;
  const Outcome failed = runner.run(spec, missing);
  CHECK(failed.kind == hypertune::OutcomeKind::kFailed);
  CHECK_THAT(failed.error, Catch::Contains("{column}"));
  CHECK(missing.reports.empty());
}
