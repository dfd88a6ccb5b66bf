// A scheduler at 100,000 stored trials: memory and ask latency.
//
//   hypertune_large_study_bench fill    --storage FILE [--trials N] [--seed S]
//   hypertune_large_study_bench measure --storage FILE [--sampler tpe|random] [--asks K]
//
// fill: creates a study of N trials the way a sweep would (Study::ask -> report per step ->
//       finish, ASHA pruning in stopping mode up to 27 steps, random sampling so that filling is
//       quick), committing a batch of 1,000 trials at a time. The trials are the same whatever
//       sampler measures them later.
// measure: in a fresh process, what a restarted `hypertune scheduler` does: opens the storage,
//       replays every stored trial into the sampler and pruner (Study's constructor), then runs
//       K more trials one at a time, each committed on its own as the dispatcher does, timing
//       Study::ask alone and the whole ask -> reports -> finish cycle. Prints one JSON line:
//       open seconds, resident memory after opening (VmRSS) and at the end (VmHWM, the peak),
//       and the latency distribution.
// Same 7-parameter mixed space as the sampler benchmark: 3 floats (one log), 2 ints (one log),
// a stepped float and a 3-way categorical.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "scheduler/study.h"
#include "scheduler/trial_store.h"
#include "search/pruner.h"
#include "search/sampler.h"

using namespace hypertune;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kMaxSteps = 27;

search::SearchSpace bench_space() {
  search::SearchSpace s;
  s.add({"lr", search::Distribution::Float(1e-5, 1e-1, /*log=*/true), std::nullopt});
  s.add({"dropout", search::Distribution::Float(0.0, 0.5), std::nullopt});
  s.add({"momentum", search::Distribution::Float(0.5, 0.99), std::nullopt});
  s.add({"layers", search::Distribution::Int(1, 6), std::nullopt});
  s.add({"units", search::Distribution::Int(16, 1024, /*log=*/true), std::nullopt});
  s.add({"decay", search::Distribution::Float(0.0, 0.1, false, 0.005), std::nullopt});
  s.add({"optimizer", search::Distribution::Categorical({std::string("sgd"), std::string("adam"),
                                                         std::string("adamw")}),
         std::nullopt});
  s.finalize();
  return s;
}

// A smooth loss over the space that improves with steps, like a learning curve.
double loss(const nlohmann::json& p, int64_t step) {
  const double lr = std::log10(p.at("lr").get<double>());
  const double units = std::log2(p.at("units").get<double>());
  const std::string opt = p.at("optimizer").get<std::string>();
  double f = (lr + 3.0) * (lr + 3.0) + 4.0 * std::pow(p.at("dropout").get<double>() - 0.2, 2) +
             std::pow(p.at("momentum").get<double>() - 0.9, 2) +
             0.05 * std::pow(p.at("layers").get<double>() - 3.0, 2) + 0.02 * std::pow(units - 8.0, 2) +
             10.0 * p.at("decay").get<double>() + (opt == "adamw" ? 0.0 : opt == "adam" ? 0.05 : 0.2);
  return f + 1.0 / std::sqrt(static_cast<double>(step));
}

scheduler::StudyRecord bench_record(const search::SearchSpace& space, uint64_t seed) {
  scheduler::StudyRecord rec;
  rec.name = "large-study-bench";
  rec.seed = seed;
  rec.config_text = "large-study-bench";
  rec.config_hash = "large-study-bench";
  rec.space_signature = space.signature();
  rec.version = "bench";
  return rec;
}

std::unique_ptr<search::Pruner> bench_pruner() {
  search::HalvingOptions o;
  o.min_resource = 1;
  o.max_resource = kMaxSteps;
  o.reduction_factor = 3;
  o.mode = search::HalvingMode::kStopping;
  return search::make_successive_halving(o);
}

// Runs one trial to its end; returns the seconds spent in Study::ask.
double run_trial(scheduler::Study& study, const std::string& worker, bool& created) {
  const auto t0 = Clock::now();
  std::optional<hypertune::TrialSpec> a = study.ask(worker);
  const double ask_s = std::chrono::duration<double>(Clock::now() - t0).count();
  created = a.has_value();
  if (!a) return ask_s;
  int64_t step = a->start_step;
  const int64_t last = a->max_steps.value_or(kMaxSteps);
  double value = 0;
  hypertune::Outcome out;
  out.kind = hypertune::OutcomeKind::kComplete;
  while (step < last) {
    ++step;
    value = loss(a->params, step);
    const hypertune::Verdict v = study.report(a->number, step, {{"value", value}}, worker);
    if (v.decision == hypertune::Decision::kPrune) {
      out.kind = hypertune::OutcomeKind::kPruned;
      break;
    }
  }
  out.metrics = {{"value", value}};
  out.last_step = step;
  study.finish(a->number, out, worker);
  return ask_s;
}

long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
  }
  return -1;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s fill --storage FILE [--trials N] [--seed S]\n"
               "       %s measure --storage FILE [--sampler tpe|random] [--asks K]\n",
               argv0, argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(argv[0]);
  const std::string mode = argv[1];
  std::string storage;
  std::string sampler_name = "tpe";
  int64_t trials = 100000;
  int asks = 200;
  uint64_t seed = 1;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--storage" && has_value) {
      storage = argv[++i];
    } else if (a == "--trials" && has_value) {
      trials = std::stoll(argv[++i]);
    } else if (a == "--asks" && has_value) {
      asks = std::stoi(argv[++i]);
    } else if (a == "--seed" && has_value) {
      seed = std::stoull(argv[++i]);
    } else if (a == "--sampler" && has_value) {
      sampler_name = argv[++i];
    } else {
      return usage(argv[0]);
    }
  }
  if (storage.empty() || (mode != "fill" && mode != "measure") ||
      (sampler_name != "tpe" && sampler_name != "random") || trials < 1 || asks < 1) {
    return usage(argv[0]);
  }
  spdlog::set_level(spdlog::level::warn);
  const auto space = bench_space();
  const auto dir = search::Direction::kMinimize;

  if (mode == "fill") {
    auto store = scheduler::open_sqlite_store(storage);
    scheduler::Budget budget;
    budget.max_trials = trials;
    scheduler::Study study(bench_record(space, seed), space, search::make_random_sampler(space, dir),
                           bench_pruner(), *store, budget);
    const auto t0 = Clock::now();
    int64_t done = study.progress().created;
    while (done < trials) {
      scheduler::TrialStore::Batch batch(*store);
      for (int k = 0; k < 1000 && done < trials; ++k, ++done) {
        bool created = false;
        (void)run_trial(study, "fill", created);
        if (!created) break;
      }
      batch.commit();
    }
    const auto p = study.progress();
    std::printf("{\"mode\": \"fill\", \"trials\": %lld, \"complete\": %lld, \"pruned\": %lld, \"seconds\": %.2f}\n",
                static_cast<long long>(p.created), static_cast<long long>(p.complete),
                static_cast<long long>(p.pruned), std::chrono::duration<double>(Clock::now() - t0).count());
    return 0;
  }

  const long rss_before = status_kib("VmRSS");
  const auto t0 = Clock::now();
  auto store = scheduler::open_sqlite_store(storage);
  search::TpeOptions tpe;  // the defaults a config gets (univariate, constant liar)
  auto sampler = sampler_name == "tpe" ? search::make_tpe_sampler(space, dir, tpe)
                                       : search::make_random_sampler(space, dir);
  scheduler::Budget budget;
  budget.max_trials = std::numeric_limits<int64_t>::max();
  scheduler::Study study(bench_record(space, seed), space, std::move(sampler), bench_pruner(), *store, budget);
  const double open_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const long rss_open = status_kib("VmRSS");
  const int64_t stored = study.progress().created;

  std::vector<double> ask_ms, cycle_ms;
  for (int i = 0; i < asks; ++i) {
    const auto c0 = Clock::now();
    bool created = false;
    double ask_s = 0;
    {
      scheduler::TrialStore::Batch batch(*store);  // the dispatcher commits once per round
      ask_s = run_trial(study, "measure", created);
      batch.commit();
    }
    if (!created) break;
    ask_ms.push_back(ask_s * 1e3);
    cycle_ms.push_back(std::chrono::duration<double>(Clock::now() - c0).count() * 1e3);
  }
  nlohmann::json out = {
      {"mode", "measure"},
      {"sampler", sampler_name},
      {"stored_trials", stored},
      {"open_seconds", open_s},
      {"rss_before_open_mib", rss_before / 1024.0},
      {"rss_after_open_mib", rss_open / 1024.0},
      {"peak_rss_mib", status_kib("VmHWM") / 1024.0},
      {"storage_mib", static_cast<double>(std::filesystem::file_size(storage)) / (1024.0 * 1024.0)},
      {"asks", ask_ms.size()},
      {"ask_ms", {{"median", quantile(ask_ms, 0.5)}, {"p95", quantile(ask_ms, 0.95)}, {"max", quantile(ask_ms, 1.0)}}},
      {"cycle_ms",
       {{"median", quantile(cycle_ms, 0.5)}, {"p95", quantile(cycle_ms, 0.95)}, {"max", quantile(cycle_ms, 1.0)}}},
  };
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
