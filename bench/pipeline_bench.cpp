// Epoch time of the pipeline trainer on Fashion-MNIST, for comparison with a plain PyTorch loop
// (scripts/bench/pytorch_epoch.py trains the same model on the same data the same way).
//
//   hypertune_pipeline_bench --model mlp|cnn [--limit N] [--epochs E] [--repeats R]
//                            [--batch-size B] [--threads T] [--data DIR]
//
// An epoch is one shuffled pass over the training rows plus the evaluation of the validation rows
// (what a trial does between two reports). Prints one JSON object: wall and process CPU time of
// every epoch after the first of each run, and their medians. The dataset is parsed once (the
// cache), as in a sweep.

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipelines/trainer.h"

namespace pl = hypertune::pipelines;
using nlohmann::json;

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::cerr
      << "hypertune_pipeline_bench: " << why
      << "\nusage: hypertune_pipeline_bench --model mlp|cnn [--limit N] [--epochs E] [--repeats R]"
         " [--batch-size B] [--threads T] [--data DIR]\n";
  std::exit(2);
}

// The models compared with PyTorch: keep in sync with scripts/bench/pytorch_epoch.py.
json model_section(const std::string& model) {
  if (model == "mlp")
    return {{"type", "mlp"}, {"layers", 2}, {"width", 256}, {"activation", "relu"}};
  if (model == "cnn")
    return {{"type", "cnn"}, {"blocks", 2},   {"channels", 16},
            {"kernel", 3},   {"pool", "max"}, {"dense", 64}};
  usage("unknown model '" + model + "'");
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "mlp";
  std::string data = "/usr/share/datasets/fashion-mnist";
  int64_t limit = 12000, epochs = 4, repeats = 3, batch = 128;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value after " + a);
      return argv[++i];
    };
    try {
      if (a == "--model")
        model = value();
      else if (a == "--limit")
        limit = std::stoll(value());
      else if (a == "--epochs")
        epochs = std::stoll(value());
      else if (a == "--repeats")
        repeats = std::stoll(value());
      else if (a == "--batch-size")
        batch = std::stoll(value());
      else if (a == "--threads")
        threads = std::stoi(value());
      else if (a == "--data")
        data = value();
      else
        usage("unknown option '" + a + "'");
    } catch (const std::logic_error&) {
      usage("bad number for " + a);
    }
  }

  hypertune::TrialSpec req;
  req.trial["pipeline"] = {{"data",
                   {{"format", "idx"},
                    {"train_images", data + "/train-images-idx3-ubyte.gz"},
                    {"train_labels", data + "/train-labels-idx1-ubyte.gz"},
                    {"split", 1.0 / 6.0},
                    {"limit", limit}}},
                  {"model", model_section(model)},
                  {"optimizer", {{"type", "adam"}, {"lr", 1e-3}, {"weight_decay", 0.0}}},
                  {"batch_size", batch},
                  {"eval_batch_size", 4096},
                  {"epochs", epochs}};
  req.metric = "accuracy";
  req.threads = threads;

  // Wall time per epoch comes from the trainer (time_s); CPU time of the whole process is taken
  // between two reports, so the first epoch of each run (which follows data loading) is left out
  // of both, as warm-up.
  std::vector<double> wall, cpu;
  json last;
  for (int64_t r = 0; r < repeats; ++r) {
    req.seed = static_cast<uint64_t>(r);
    double cpu_prev = 0.0;
    const hypertune::Outcome res = pl::train(req, [&](int64_t epoch, const json& m) {
      const double now = cpu_seconds();
      if (epoch > 1) {
        wall.push_back(m.at("time_s").get<double>());
        cpu.push_back(now - cpu_prev);
      }
      cpu_prev = now;
      return hypertune::Verdict{};
    });
    if (res.kind != hypertune::OutcomeKind::kComplete) {
      std::cerr << "hypertune_pipeline_bench: training failed: " << res.error << "\n";
      return 1;
    }
    last = res.metrics;
  }
  const json out = {{"impl", "hypertune"},
                    {"model", model},
                    {"images", limit},
                    {"batch_size", batch},
                    {"threads", threads},
                    {"epoch_wall_s", wall},
                    {"epoch_cpu_s", cpu},
                    {"median_wall_s", median(wall)},
                    {"median_cpu_s", median(cpu)},
                    {"final_accuracy", last.value("accuracy", 0.0)}};
  std::cout << out.dump() << std::endl;
  return 0;
}
