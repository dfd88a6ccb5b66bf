// Training with LibTorch on small generated data: learning, determinism, pause/resume bit-equality,
// failures, pruning, export + predict, and the export read back by Python's torch.

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "pipelines/csv.h"
#include "pipelines/dataset.h"
#include "pipelines/idx.h"
#include "pipelines/predict.h"
#include "pipelines/trainer.h"
#include "base/rng.h"
#include "tests/pipelines/temp_dir.h"

using hypertune::test::TempDir;
using nlohmann::json;
namespace pl = hypertune::pipelines;

namespace {

// Two numeric features and a categorical; the class is the side of a line (separable with margin),
// or for regression a linear function with small noise. `noise_col` adds a useless column.
std::string make_csv(int rows, uint64_t seed, bool regression, bool with_id = true) {
  hypertune::Rng rng(seed);
  std::ostringstream out;
  out << (with_id ? "id," : "") << "x1,x2,color,target\n";
  const char* colors[] = {"red", "green", "blue"};
  int made = 0;
  while (made < rows) {
    const double x1 = rng.uniform(-1, 1), x2 = rng.uniform(-1, 1);
    const double s = x1 + 0.5 * x2;
    if (!regression && std::abs(s) < 0.1) continue;  // keep a margin
    if (with_id) out << "row" << made << ",";
    out << x1 << "," << x2 << "," << colors[rng.below(3)] << ",";
    if (regression)
      out << 2.0 * x1 - x2 + 0.01 * rng.normal() << "\n";
    else
      out << (s > 0 ? "pos" : "neg") << "\n";
    ++made;
  }
  return out.str();
}

json mlp_section(const std::string& train, const std::string& id_col = "id") {
  return {{"data", {{"train", train}, {"id", id_col}, {"split", 0.25}}},
          {"model", {{"type", "mlp"}, {"layers", 1}, {"width", 16}}},
          {"optimizer", {{"type", "adamw"}, {"lr", "{lr}"}}},
          {"batch_size", 32},
          {"epochs", 12}};
}

struct Run {
  hypertune::Outcome result;
  std::vector<std::pair<int64_t, json>> reports;
};

// Trains with a hook that records every report and answers with `verdict(epoch)`.
Run train(
    const hypertune::TrialSpec& req, const std::function<hypertune::Verdict(int64_t)>& verdict =
                                     [](int64_t) { return hypertune::Verdict{}; }) {
  Run run;
  run.result = pl::train(req, [&](int64_t epoch, const json& m) {
    run.reports.emplace_back(epoch, m);
    return verdict(epoch);
  });
  return run;
}

// A report without its wall-clock time (the rest is deterministic).
json without_time(json m) {
  m.erase("time_s");
  return m;
}

std::string result_text(const hypertune::Outcome& r) {
  return "kind " + std::to_string(static_cast<int>(r.kind)) + " error '" + r.error + "' metrics " +
         r.metrics.dump();
}

bool python_torch_available() {
  return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

void write_floats(const std::string& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(v.data()),
             static_cast<std::streamsize>(v.size() * sizeof(float)));
}

// 8x8 images: class 0 bright on the left, 1 on the right, 2 at the top; plus noise.
// Writes img.gz and lab.gz into `dir` and returns the pixels.
pl::IdxArray write_images(const TempDir& dir, int n) {
  hypertune::Rng rng(10);
  pl::IdxArray images, labels;
  images.dims = {n, 8, 8};
  labels.dims = {n};
  for (int i = 0; i < n; ++i) {
    const int cls = i % 3;
    labels.data.push_back(static_cast<uint8_t>(cls));
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 8; ++c) {
        const bool lit = (cls == 0 && c < 4) || (cls == 1 && c >= 4) || (cls == 2 && r < 4);
        images.data.push_back(static_cast<uint8_t>((lit ? 150 : 0) + rng.below(100)));
      }
  }
  pl::write_idx(dir.file("img.gz"), images, true);
  pl::write_idx(dir.file("lab.gz"), labels, true);
  return images;
}

json cnn_section() {
  return {{"data",
           {{"format", "idx"},
            {"train_images", "img.gz"},
            {"train_labels", "lab.gz"},
            {"test_images", "img.gz"},
            {"test_labels", "lab.gz"},
            {"test_limit", 30}}},
          {"model",
           {{"type", "cnn"},
            {"blocks", 2},
            {"channels", 4},
            {"dense", 16},
            {"batch_norm", true},
            {"dropout", 0.1}}},
          {"optimizer", {{"type", "adamw"}, {"lr", 0.01}}},
          {"batch_size", 32},
          {"epochs", 8}};
}

// Writes the features of `table` and the C++ outputs for them, and returns the arguments of
// check_export.py for this model.
std::string export_check_args(const TempDir& dir, const std::string& model_dir,
                              const pl::CsvTable& table, const std::string& tag) {
  const pl::Predictor p = pl::Predictor::load(model_dir);
  const std::vector<float> x = p.features(table);
  const auto rows = static_cast<int64_t>(table.rows.size());
  write_floats(dir.file(tag + "-x.f32"), x);
  write_floats(dir.file(tag + "-y.f32"), p.predict_features(x, rows));
  return " " + model_dir + " " + dir.file(tag + "-x.f32") + " " + dir.file(tag + "-y.f32") + " " +
         std::to_string(rows);
}

}  // namespace

TEST_CASE("train: an MLP learns a separable classification and a linear regression",
          "[pipelines]") {
  TempDir dir;
  SECTION("classification") {
    hypertune::TrialSpec req;
    req.trial["pipeline"] = mlp_section(dir.write("c.csv", make_csv(600, 1, false)));
    req.params = {{"lr", 0.01}};
    req.metric = "accuracy";
    req.seed = 3;
    const Run run = train(req);
    INFO(result_text(run.result));
    REQUIRE(run.result.kind == hypertune::OutcomeKind::kComplete);
    REQUIRE(run.reports.size() == 12);
    for (size_t i = 0; i < run.reports.size(); ++i)
      CHECK(run.reports[i].first == static_cast<int64_t>(i + 1));
    // A model that learned nothing scores about 0.5; the line is separable with a margin.
    CHECK(run.result.metrics["accuracy"].get<double>() > 0.95);
    CHECK(run.result.metrics["f1_macro"].get<double>() > 0.95);
    CHECK(run.result.metrics["roc_auc"].get<double>() > 0.99);
    CHECK(run.reports.back().second["val_loss"].get<double>() <
          0.5 * run.reports.front().second["val_loss"].get<double>());
  }
  SECTION("regression") {
    hypertune::TrialSpec req;
    req.trial["pipeline"] = mlp_section(dir.write("r.csv", make_csv(600, 2, true)));
    req.trial["pipeline"]["optimizer"]["lr"] = 0.01;
    req.metric = "rmse";
    const Run run = train(req);
    INFO(result_text(run.result));
    REQUIRE(run.result.kind == hypertune::OutcomeKind::kComplete);
    // The target's standard deviation is about 1.3; predicting the mean scores r2 = 0.
    CHECK(run.result.metrics["r2"].get<double>() > 0.95);
    CHECK(run.result.metrics["rmse"].get<double>() < 0.3);
  }
}

TEST_CASE("train: the same seed gives the same metrics, also for trials in concurrent threads",
          "[pipelines]") {
  TempDir dir;
  hypertune::TrialSpec req;
  req.trial["pipeline"] = mlp_section(dir.write("c.csv", make_csv(300, 4, false)));
  req.trial["pipeline"]["model"]["dropout"] = 0.3;
  req.trial["pipeline"]["epochs"] = 3;
  req.params = {{"lr", 0.01}};
  req.metric = "val_loss";
  req.seed = 11;
  const Run a = train(req);
  const Run b = train(req);
  REQUIRE(a.result.kind == hypertune::OutcomeKind::kComplete);
  for (size_t i = 0; i < a.reports.size(); ++i)
    CHECK(without_time(a.reports[i].second) == without_time(b.reports[i].second));

  hypertune::TrialSpec other = req;
  other.seed = 12;
  CHECK(train(other).result.metrics["val_loss"] != a.result.metrics["val_loss"]);

  Run parallel[2];
  std::thread t1([&] { parallel[0] = train(req); });
  std::thread t2([&] { parallel[1] = train(req); });
  t1.join();
  t2.join();
  for (const auto& p : parallel) {
    REQUIRE(p.reports.size() == a.reports.size());
    for (size_t i = 0; i < a.reports.size(); ++i)
      CHECK(without_time(p.reports[i].second) == without_time(a.reports[i].second));
  }
}

TEST_CASE("train: pausing and resuming gives bit-identical weights to uninterrupted training",
          "[pipelines]") {
  TempDir dir;
  const std::string csv = dir.write("c.csv", make_csv(200, 5, false));
  json section = mlp_section(csv);
  section["model"] = {
      {"type", "mlp"}, {"layers", 2}, {"width", 12}, {"dropout", 0.2}, {"batch_norm", true}};
  section["epochs"] = 5;
  // Each optimiser keeps different state; each schedule depends on the position in training.
  auto [optimizer, schedule] = GENERATE(table<json, json>({
      {json{{"type", "adamw"}, {"lr", 0.01}}, json{{"type", "cosine"}, {"warmup_epochs", 1}}},
      {json{{"type", "sgd"},
            {"lr", 0.05},
            {"momentum", 0.9},
            {"nesterov", true},
            {"weight_decay", 0.001}},
       json{{"type", "step"}, {"step_size", 2}, {"gamma", 0.5}}},
      {json{{"type", "adam"}, {"lr", 0.01}, {"weight_decay", 0.01}}, json{{"type", "none"}}},
  }));
  section["optimizer"] = optimizer;
  section["schedule"] = schedule;
  INFO("optimizer " << optimizer.dump() << " schedule " << schedule.dump());

  hypertune::TrialSpec base;
  base.trial["pipeline"] = section;
  base.metric = "accuracy";
  base.seed = 21;

  hypertune::TrialSpec whole = base;
  whole.checkpoint_dir = dir.file("whole");
  const Run full = train(whole);
  REQUIRE(full.result.kind == hypertune::OutcomeKind::kComplete);

  hypertune::TrialSpec first = base;
  first.checkpoint_dir = dir.file("split");
  first.pause_at = 2;
  const Run part1 = train(first);
  INFO(result_text(part1.result));
  REQUIRE(part1.result.kind == hypertune::OutcomeKind::kPaused);
  REQUIRE(part1.result.last_step == 2);
  REQUIRE(part1.result.checkpoint.has_value());

  hypertune::TrialSpec second = base;
  second.checkpoint_dir = dir.file("split");
  second.checkpoint = part1.result.checkpoint;
  second.start_step = 2;
  // The hook's kPause works like pause_at.
  const Run part2 = train(second, [](int64_t e) {
    return hypertune::Verdict{e == 3 ? hypertune::Decision::kPause : hypertune::Decision::kContinue,
                            std::nullopt};
  });
  REQUIRE(part2.result.kind == hypertune::OutcomeKind::kPaused);
  hypertune::TrialSpec third = second;
  third.checkpoint = part2.result.checkpoint;
  third.start_step = 3;
  const Run part3 = train(third);
  INFO(result_text(part3.result));
  REQUIRE(part3.result.kind == hypertune::OutcomeKind::kComplete);

  // Reports continue where the pause left off, with the same values as uninterrupted training.
  REQUIRE(part2.reports.size() == 1);
  REQUIRE(part3.reports.size() == 2);
  CHECK(part2.reports[0].first == 3);
  CHECK(part3.reports[0].first == 4);
  CHECK(without_time(part3.reports[1].second) == without_time(full.reports[4].second));

  const auto a = pl::read_tensor_file(dir.file("whole/model/weights.pt"));
  const auto b = pl::read_tensor_file(dir.file("split/model/weights.pt"));
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].name);
    CHECK(a[i].name == b[i].name);
    CHECK(a[i].shape == b[i].shape);
    CHECK(a[i].values == b[i].values);  // exact, bit for bit
  }
  // Batch-norm buffers are part of the export, named as in torch.nn.Sequential.
  bool running_mean = false;
  for (const auto& t : a) running_mean |= t.name == "1.running_mean";
  CHECK(running_mean);
}

TEST_CASE("train: a start epoch beyond the checkpoint replays the missing epochs silently",
          "[pipelines]") {
  TempDir dir;
  hypertune::TrialSpec base;
  base.trial["pipeline"] = mlp_section(dir.write("c.csv", make_csv(150, 15, false)));
  base.trial["pipeline"]["model"]["dropout"] = 0.2;
  base.trial["pipeline"]["epochs"] = 5;
  base.params = {{"lr", 0.01}};
  base.metric = "accuracy";
  base.seed = 4;
  hypertune::TrialSpec whole = base;
  whole.checkpoint_dir = dir.file("whole");
  const Run full = train(whole);
  REQUIRE(full.result.kind == hypertune::OutcomeKind::kComplete);

  hypertune::TrialSpec first = base;
  first.checkpoint_dir = dir.file("old");
  first.pause_at = 2;
  const Run paused = train(first);
  REQUIRE(paused.result.kind == hypertune::OutcomeKind::kPaused);

  // The scheduler resumes at 3 with the checkpoint of epoch 2; and another time with none.
  for (const bool with_checkpoint : {true, false}) {
    INFO("with checkpoint: " << with_checkpoint);
    hypertune::TrialSpec again = base;
    again.checkpoint_dir = dir.file(with_checkpoint ? "old" : "none");
    if (with_checkpoint) again.checkpoint = paused.result.checkpoint;
    again.start_step = 3;
    const Run rest = train(again);
    REQUIRE(rest.result.kind == hypertune::OutcomeKind::kComplete);
    REQUIRE(rest.reports.size() == 2);
    CHECK(rest.reports[0].first == 4);
    CHECK(without_time(rest.reports[1].second) == without_time(full.reports[4].second));
    const auto a = pl::read_tensor_file(dir.file("whole/model/weights.pt"));
    const auto b = pl::read_tensor_file(again.checkpoint_dir + "/model/weights.pt");
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].values == b[i].values);
  }
}

TEST_CASE("train: failures become kFailed with a reason; pruning stops at once", "[pipelines]") {
  TempDir dir;
  const std::string csv = dir.write("r.csv", make_csv(200, 6, true));
  hypertune::TrialSpec req;
  req.trial["pipeline"] = mlp_section(csv);
  req.metric = "rmse";

  SECTION("a diverging loss") {
    req.trial["pipeline"]["optimizer"] = {{"type", "sgd"}, {"lr", 10.0}, {"momentum", 0.9}};
    req.trial["pipeline"]["batch_size"] = 8;
    const Run run = train(req);
    CHECK(run.result.kind == hypertune::OutcomeKind::kFailed);
    CHECK_THAT(run.result.error,
               Catch::Contains("training diverged") && Catch::Contains("at epoch"));
  }
  SECTION("pruned at epoch 2") {
    req.params = {{"lr", 0.01}};
    const Run run = train(req, [](int64_t e) {
      return hypertune::Verdict{e == 2 ? hypertune::Decision::kPrune : hypertune::Decision::kContinue,
                              std::nullopt};
    });
    CHECK(run.result.kind == hypertune::OutcomeKind::kPruned);
    CHECK(run.result.last_step == 2);
    CHECK(run.reports.size() == 2);
  }
  SECTION("next_pause moves the pause point") {
    req.params = {{"lr", 0.01}};
    req.pause_at = 2;
    req.checkpoint_dir = dir.file("ck");
    const Run run = train(req, [](int64_t e) {
      return hypertune::Verdict{hypertune::Decision::kContinue,
                              e == 2 ? std::optional<int64_t>(4) : std::nullopt};
    });
    CHECK(run.result.kind == hypertune::OutcomeKind::kPaused);
    CHECK(run.result.last_step == 4);
  }
  SECTION("max_steps overrides epochs") {
    req.params = {{"lr", 0.01}};
    req.max_steps = 3;
    const Run run = train(req);
    CHECK(run.result.kind == hypertune::OutcomeKind::kComplete);
    CHECK(run.reports.size() == 3);
  }
  SECTION("a missing parameter") {
    const Run run = train(req);
    CHECK(run.result.kind == hypertune::OutcomeKind::kFailed);
    CHECK_THAT(run.result.error,
               Catch::Contains("trial.pipeline.optimizer.lr") && Catch::Contains("{lr}"));
  }
  SECTION("an objective the pipeline does not report") {
    req.params = {{"lr", 0.01}};
    req.metric = "accuracy";
    const Run run = train(req);
    CHECK(run.result.kind == hypertune::OutcomeKind::kFailed);
    CHECK_THAT(run.result.error, Catch::Contains("'accuracy'") && Catch::Contains("rmse"));
  }
  SECTION("bad data names file, line and column") {
    req.params = {{"lr", 0.01}};
    req.trial["pipeline"]["data"]["validation"] =
        dir.write("v.csv", "id,x1,x2,color,target\nv1,0.5,oops,red,1\n");
    const Run run = train(req);
    CHECK(run.result.kind == hypertune::OutcomeKind::kFailed);
    CHECK_THAT(run.result.error,
               Catch::Contains("v.csv line 2 column 'x2'") && Catch::Contains("'oops'"));
  }
  SECTION("a stop request pauses with a checkpoint") {
    req.params = {{"lr", 0.01}};
    req.checkpoint_dir = dir.file("stop");
    int reports = 0;
    const auto result = pl::train(
        req,
        [&](int64_t, const json&) {
          ++reports;
          return hypertune::Verdict{};
        },
        [&] { return reports >= 2; });
    CHECK(result.kind == hypertune::OutcomeKind::kPaused);
    CHECK(result.last_step == 2);
  }
}

TEST_CASE("train: a second trial on the same data does not parse it again", "[pipelines]") {
  TempDir dir;
  hypertune::TrialSpec req;
  req.trial["pipeline"] = mlp_section(dir.write("c.csv", make_csv(120, 77, false)));
  req.trial["pipeline"]["epochs"] = 1;
  req.params = {{"lr", 0.01}};
  req.metric = "accuracy";
  const auto before = pl::dataset_cache_stats();
  REQUIRE(train(req).result.kind == hypertune::OutcomeKind::kComplete);
  req.seed = 99;
  req.params = {{"lr", 0.02}};
  REQUIRE(train(req).result.kind == hypertune::OutcomeKind::kComplete);
  const auto after = pl::dataset_cache_stats();
  CHECK(after.loads - before.loads == 1);
  CHECK(after.hits - before.hits == 1);
}

TEST_CASE("export: predict round trip with ids, labels, probabilities and unseen categories",
          "[pipelines]") {
  TempDir dir;
  hypertune::TrialSpec req;
  req.trial["pipeline"] = mlp_section(dir.write("c.csv", make_csv(600, 8, false)));
  req.params = {{"lr", 0.01}};
  req.metric = "accuracy";
  req.checkpoint_dir = dir.file("trial");
  const Run run = train(req);
  REQUIRE(run.result.kind == hypertune::OutcomeKind::kComplete);
  REQUIRE(pl::model_dir(req) == dir.file("trial/model"));

  const json model = json::parse(std::ifstream(dir.file("trial/model/model.json")));
  CHECK(model["target"]["classes"] == json({"neg", "pos"}));
  CHECK(model["layers"][0] == json({{"type", "Linear"}, {"in", 5}, {"out", 16}}));
  const json metrics = json::parse(std::ifstream(dir.file("trial/model/metrics.json")));
  CHECK(metrics["history"].size() == 12);
  CHECK(metrics["final"]["accuracy"] == run.result.metrics["accuracy"]);

  // New rows: no target column, an unseen color, quoted ids.
  const std::string fresh = make_csv(200, 9, false);
  pl::CsvTable truth = pl::parse_csv(fresh, "fresh");
  std::ostringstream input;
  input << "id,x1,x2,color\n";
  for (size_t r = 0; r < truth.rows.size(); ++r)
    input << "\"id, " << r << "\"," << truth.rows[r][1] << "," << truth.rows[r][2] << ","
          << (r == 0 ? "violet" : truth.rows[r][3]) << "\n";
  dir.write("in.csv", input.str());
  pl::predict(dir.file("trial/model"), dir.file("in.csv"), dir.file("out.csv"));

  const pl::CsvTable out = pl::read_csv(dir.file("out.csv"));
  REQUIRE(out.header == std::vector<std::string>{"id", "prediction", "proba_neg", "proba_pos"});
  REQUIRE(out.rows.size() == truth.rows.size());
  int correct = 0;
  for (size_t r = 0; r < out.rows.size(); ++r) {
    CHECK(out.rows[r][0] == "id, " + std::to_string(r));
    const double pn = std::stod(out.rows[r][2]), pp = std::stod(out.rows[r][3]);
    CHECK(pn + pp == Approx(1.0).margin(1e-5));
    CHECK(out.rows[r][1] == (pp > pn ? "pos" : "neg"));
    correct += out.rows[r][1] == truth.rows[r][4];
  }
  CHECK(correct > 190);
}

TEST_CASE("train: a CNN on IDX images learns and predicts from an IDX file", "[pipelines]") {
  TempDir dir;
  const int n = 240;
  (void)write_images(dir, n);
  hypertune::TrialSpec req;
  req.trial["pipeline"] = cnn_section();
  req.work_dir = dir.path().string();
  req.metric = "accuracy";
  req.checkpoint_dir = dir.file("cnn");
  const Run run = train(req);
  INFO(result_text(run.result));
  REQUIRE(run.result.kind == hypertune::OutcomeKind::kComplete);
  CHECK(run.result.metrics["accuracy"].get<double>() > 0.9);
  CHECK(run.result.metrics["test_accuracy"].get<double>() > 0.9);

  pl::predict(dir.file("cnn/model"), dir.file("img.gz"), dir.file("pred.csv"));
  const pl::CsvTable out = pl::read_csv(dir.file("pred.csv"));
  REQUIRE(out.header ==
          std::vector<std::string>{"index", "prediction", "proba_0", "proba_1", "proba_2"});
  REQUIRE(out.rows.size() == static_cast<size_t>(n));
  int correct = 0;
  for (int i = 0; i < n; ++i)
    correct += out.rows[static_cast<size_t>(i)][1] == std::to_string(i % 3);
  CHECK(correct > 0.9 * n);
}

TEST_CASE("export: Python torch.load reads the weights into the matching nn.Sequential",
          "[pipelines]") {
  if (!python_torch_available()) {
    WARN("skipping: /usr/bin/python3 cannot import torch (install python3-torch)");
    return;
  }
  TempDir dir;
  // An MLP with batch norm on tabular data (one-hot, missing indicator) ...
  hypertune::TrialSpec mlp;
  mlp.trial["pipeline"] = mlp_section(dir.write("c.csv", make_csv(300, 12, false)));
  mlp.trial["pipeline"]["model"]["batch_norm"] = true;
  mlp.trial["pipeline"]["model"]["activation"] = "gelu";
  mlp.trial["pipeline"]["epochs"] = 3;
  mlp.params = {{"lr", 0.01}};
  mlp.metric = "accuracy";
  mlp.checkpoint_dir = dir.file("mlp");
  REQUIRE(train(mlp).result.kind == hypertune::OutcomeKind::kComplete);
  const pl::CsvTable rows = pl::parse_csv(make_csv(50, 13, false), "rows.csv");

  // ... a regression MLP (outputs mapped back to the target's units) ...
  hypertune::TrialSpec reg = mlp;
  reg.trial["pipeline"]["data"]["train"] = dir.write("r.csv", make_csv(300, 14, true));
  reg.trial["pipeline"]["model"]["activation"] = "silu";
  reg.metric = "rmse";
  reg.checkpoint_dir = dir.file("reg");
  REQUIRE(train(reg).result.kind == hypertune::OutcomeKind::kComplete);
  const pl::CsvTable reg_rows = pl::parse_csv(make_csv(50, 15, true), "reg.csv");

  // ... and a CNN with batch norm, fed through a pixel CSV.
  const pl::IdxArray images = write_images(dir, 90);
  hypertune::TrialSpec cnn;
  cnn.trial["pipeline"] = cnn_section();
  cnn.trial["pipeline"]["epochs"] = 2;
  cnn.trial["pipeline"]["model"]["pool"] = "avg";
  cnn.work_dir = dir.path().string();
  cnn.metric = "accuracy";
  cnn.checkpoint_dir = dir.file("cnn");
  REQUIRE(train(cnn).result.kind == hypertune::OutcomeKind::kComplete);
  std::ostringstream csv;
  for (int c = 0; c < 64; ++c) csv << (c ? "," : "") << "p" << c;
  csv << "\n";
  for (int i = 0; i < 20; ++i)
    for (int c = 0; c < 64; ++c)
      csv << static_cast<int>(images.data[static_cast<size_t>(i * 64 + c)])
          << (c == 63 ? "\n" : ",");

  const std::string cmd =
      "/usr/bin/python3 " HYPERTUNE_SOURCE_DIR "/tests/pipelines/check_export.py" +
      export_check_args(dir, dir.file("mlp/model"), rows, "mlp") +
      export_check_args(dir, dir.file("reg/model"), reg_rows, "reg") +
      export_check_args(dir, dir.file("cnn/model"), pl::parse_csv(csv.str(), "pixels.csv"), "cnn");
  CHECK(std::system(cmd.c_str()) == 0);
}
