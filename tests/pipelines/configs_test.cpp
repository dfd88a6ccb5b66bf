// The example pipeline configs: valid for the sweep schema and the pipeline schema, and the
// letter sweep trains on the real data.

#include <catch2/catch.hpp>
#include <filesystem>

#include "pipelines/config.h"
#include "pipelines/trainer.h"
#include "scheduler/config.h"

namespace pl = hypertune::pipelines;
using nlohmann::json;

namespace {

std::vector<std::string> param_names(const hypertune::scheduler::SweepConfig& c) {
  std::vector<std::string> names;
  for (const auto& p : c.space.params()) names.push_back(p.name);
  return names;
}

std::string dump(const std::vector<pl::ConfigIssue>& issues) {
  std::string s;
  for (const auto& i : issues) s += i.path + ": " + i.message + "\n";
  return s;
}

}  // namespace

TEST_CASE("configs: letter.yaml validates and one trial trains on data/letter.csv", "[pipelines]") {
  const auto cfg = hypertune::scheduler::load_config(HYPERTUNE_SOURCE_DIR "/configs/letter.yaml");
  REQUIRE(cfg.trial_kind == hypertune::scheduler::TrialKind::kPipeline);
  const auto issues =
      pl::validate_pipeline(cfg.trial["pipeline"], param_names(cfg), cfg.config_dir.string());
  INFO(dump(issues));
  CHECK(issues.empty());

  hypertune::TrialSpec req;
  req.trial["pipeline"] = cfg.trial["pipeline"];
  req.params = {{"lr", 0.003},    {"weight_decay", 1e-4}, {"layers", 2},      {"width", 128},
                {"dropout", 0.1}, {"activation", "gelu"}, {"batch_size", 128}};
  req.metric = cfg.metric;
  req.work_dir = cfg.config_dir.string();
  req.max_steps = 1;
  hypertune::Outcome r = pl::train(req, [](int64_t, const json&) { return hypertune::Verdict{}; });
  INFO(r.error);
  REQUIRE(r.kind == hypertune::OutcomeKind::kComplete);
  // 26 classes: chance is about 0.04; one epoch of a 2x128 MLP gets far above it.
  CHECK(r.metrics["accuracy"].get<double>() > 0.5);
}

TEST_CASE("configs: fashion_mnist.yaml validates", "[pipelines]") {
  const auto cfg =
      hypertune::scheduler::load_config(HYPERTUNE_SOURCE_DIR "/configs/fashion_mnist.yaml");
  REQUIRE(cfg.trial_kind == hypertune::scheduler::TrialKind::kPipeline);
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    WARN("skipping: Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)");
    return;
  }
  const auto issues =
      pl::validate_pipeline(cfg.trial["pipeline"], param_names(cfg), cfg.config_dir.string());
  INFO(dump(issues));
  CHECK(issues.empty());
  // Every parameter fits its field once substituted.
  const json params = {
      {"lr", 0.001}, {"channels", 16}, {"dense", 64}, {"dropout", 0.2}, {"batch_norm", true}};
  const pl::PipelineConfig c = pl::parse_pipeline(
      pl::substitute_params(cfg.trial["pipeline"], params), cfg.config_dir.string());
  CHECK(c.model.type == pl::ModelType::kCnn);
  CHECK(c.model.batch_norm);
  CHECK(c.data.limit == 6000);
}
