#pragma once
// LocalExecutor: runs a Study's trials in threads of this process with the worker's own trial
// runners. It is the engine behind `hypertune run --in-process` and the single-process baseline
// for benchmarks; the default `hypertune run` drives worker processes over the protocol instead.
//
// Threading: one thread per slot; every Study call is made under one mutex (the Study itself is
// single-threaded). Interruption: when `stop` turns true, running trials are told to stop and go
// back to WAITING, so a later run on the same storage resumes them.

#include <atomic>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "scheduler/study.h"

namespace hypertune::cli {

struct LocalRunOptions {
  int slots = 1;
  nlohmann::json trial = nlohmann::json::object();  // the config's `trial:` section
  std::string work_dir = ".";                        // the config file's directory
  std::string artifacts_dir;                         // checkpoints and models: <dir>/trial-<n>
  int threads_per_trial = 1;
  std::vector<std::vector<int>> slot_gpus;  // CUDA devices of slot i (cli/gpus.h); empty: none
  std::function<void(const scheduler::Progress&)> on_tick;  // about once per second, any thread
  const std::atomic<bool>* stop = nullptr;                  // set by a signal handler
};

// Runs until the study is done or `stop` is set. Returns the number of trials re-queued because
// of the stop (0 when the sweep finished).
int run_in_process(scheduler::Study& study, const LocalRunOptions& opts);

}  // namespace hypertune::cli
