// The example pipeline configs: valid for the sweep schema and the pipeline schema, and the
// letter sweep trains on the real data.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

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

namespace {

struct YamlBlock {
  std::string file;
  int line = 0;  // of the first line inside the fence
  std::string text;
};

// Every ```yaml fenced block of a markdown file.
std::vector<YamlBlock> yaml_blocks(const std::filesystem::path& md) {
  std::ifstream in(md);
  std::vector<YamlBlock> blocks;
  std::string line;
  int n = 0;
  std::optional<YamlBlock> open;
  while (std::getline(in, line)) {
    ++n;
    if (open) {
      if (line.rfind("```", 0) == 0) {
        blocks.push_back(std::move(*open));
        open.reset();
      } else {
        open->text += line + "\n";
      }
    } else if (line == "```yaml" || line == "```yml") {
      open = YamlBlock{md.string(), n + 1, {}};
    }
  }
  REQUIRE_FALSE(open);  // an unclosed fence is a broken page
  return blocks;
}

// A sweep file must be valid for the sweep schema and, when it has a pipeline, for the pipeline
// schema (placeholders against its own space, paths against its own directory).
void check_sweep(const std::string& text, const std::string& name) {
  INFO(name);
  hypertune::scheduler::SweepConfig cfg;
  try {
    cfg = hypertune::scheduler::parse_config(text, name);
  } catch (const std::exception& e) {
    FAIL(e.what());
  }
  if (cfg.trial_kind == hypertune::scheduler::TrialKind::kPipeline) {
    const auto issues = pl::validate_pipeline(cfg.trial["pipeline"], param_names(cfg), cfg.config_dir.string());
    INFO(dump(issues));
    CHECK(issues.empty());
  }
}

}  // namespace

TEST_CASE("docs: every YAML example in docs/ and README.md is a valid sweep", "[pipelines][docs]") {
  const std::filesystem::path root = HYPERTUNE_SOURCE_DIR;
  std::vector<std::filesystem::path> pages = {root / "README.md"};
  for (const auto& e : std::filesystem::directory_iterator(root / "docs"))
    if (e.path().extension() == ".md") pages.push_back(e.path());
  int checked = 0;
  for (const auto& page : pages) {
    for (const auto& b : yaml_blocks(page)) {
      // docs/config.md shows one deliberately broken file, named as such; config_test checks that
      // its error listing is what the code prints.
      if (b.text.rfind("# bad.yaml", 0) == 0) continue;
      // Named after the page so that relative paths resolve against docs/ as a reader's would.
      check_sweep(b.text, (page.parent_path() / ("example-line-" + std::to_string(b.line) + ".yaml")).string() +
                              " (" + page.filename().string() + ":" + std::to_string(b.line) + ")");
      ++checked;
    }
  }
  // README 1, config.md 4, pipelines.md 1, command-trials.md 1 today: a page that loses its
  // fences (or this scan that stops finding them) fails here.
  CHECK(checked >= 7);
}

TEST_CASE("configs: every sweep in configs/ is valid", "[pipelines][docs]") {
  int checked = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(HYPERTUNE_SOURCE_DIR) / "configs")) {
    if (e.path().extension() != ".yaml") continue;
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    check_sweep(text.str(), e.path().string());
    ++checked;
  }
  CHECK(checked >= 5);
}
