// `hypertune run CONFIG`: the whole sweep on this machine.

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/gpus.h"
#include "cli/local_cluster.h"
#include "cli/live_status.h"
#include "cli/local_executor.h"
#include "cli/progress.h"
#include "cli/study_setup.h"
#include "cli/study_view.h"
#include "scheduler/dispatcher.h"

namespace hypertune::cli {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signals{0};
std::atomic<scheduler::Dispatcher*> g_dispatcher{nullptr};

void on_signal(int) {
  g_stop.store(true);
  if (auto* d = g_dispatcher.load()) d->request_stop(/*drain=*/false);
  if (g_signals.fetch_add(1) >= 1) {
    // Second Ctrl-C: the user insists. Committed state is safe in storage.
    std::_Exit(kExitInterrupted);
  }
}

struct RunArgs {
  std::string config;
  int workers = 1;
  std::optional<std::string> storage;
  std::optional<uint64_t> seed;
  bool in_process = false;
  bool quiet = false;
  bool verbose = false;
  std::string gpus;
};

void run(const RunArgs& args) {
  OpenedStudy s = open_study(args.config, args.storage, args.seed);
  const auto& cfg = *s.config;
  // One trial slot per worker: slot i's devices (checked before anything runs).
  const auto slot_gpus = split_gpus(parse_gpus(args.gpus), args.workers, cfg.workers.gpus_per_trial);
  auto& study = *s.study;
  const Verbosity verbosity = args.quiet ? Verbosity::kQuiet : args.verbose ? Verbosity::kVerbose : Verbosity::kNormal;

  if (verbosity != Verbosity::kQuiet) {
    std::printf("%s study '%s' in %s (%s %s, %lld trials max, %d worker%s)\n",
                s.resumed ? "Resuming" : "Starting", cfg.name.c_str(), s.storage_path.c_str(),
                to_string(cfg.direction), cfg.metric.c_str(), static_cast<long long>(cfg.max_trials),
                args.workers, args.workers == 1 ? "" : "s");
    std::fflush(stdout);
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  ProgressPrinter printer(verbosity, cfg.max_trials, cfg.timeout);
  int requeued = 0;
  if (args.in_process) {
    LocalRunOptions opts;
    opts.slots = args.workers;
    opts.trial = cfg.trial;
    opts.work_dir = cfg.config_dir.string();
    opts.artifacts_dir = s.artifacts_dir;
    opts.threads_per_trial = cfg.workers.threads_per_trial;
    opts.slot_gpus = slot_gpus;
    opts.stop = &g_stop;
    opts.on_tick = [&](const scheduler::Progress& p) { printer.tick(p); };
    requeued = run_in_process(study, opts);
  } else {
    // The default: a scheduler in this process and N worker processes on loopback, the same
    // pieces as on a cluster. Trials left RUNNING by an earlier run of ours have no worker.
    study.requeue_all_running("the previous run stopped while this trial was running");
    scheduler::DispatcherOptions opts;
    opts.bind = "tcp://127.0.0.1:*";
    opts.trial = cfg.trial;
    opts.work_dir = cfg.config_dir.string();
    opts.artifacts_dir = std::filesystem::absolute(s.artifacts_dir).lexically_normal().string();
    opts.threads_per_trial = cfg.workers.threads_per_trial;
    opts.gpus_per_trial = cfg.workers.gpus_per_trial;
    std::optional<LocalCluster> cluster;
    std::optional<LiveStatusWriter> live;
    std::string lost_all;
    scheduler::Dispatcher* self = nullptr;
    opts.on_tick = [&](const scheduler::Progress& p) {
      printer.tick(p);
      if (live && self) live->update(self->stats());
      if (!cluster) return;
      for (const auto& exit : cluster->reap_exited()) {
        if (verbosity != Verbosity::kQuiet) std::fprintf(stderr, "%s\n", exit.describe().c_str());
      }
      if (cluster->running() == 0 && self) {
        lost_all = "every worker process exited before the sweep was done";
        self->request_stop(/*drain=*/false);
      }
    };
    scheduler::Dispatcher dispatcher(study, *s.store, std::move(opts));
    self = &dispatcher;
    live.emplace(s.storage_path, dispatcher.endpoint());
    LocalClusterOptions copts;
    copts.endpoint = dispatcher.endpoint();
    copts.workers = args.workers;
    copts.slots_per_worker = 1;
    copts.worker_gpus = slot_gpus;
    cluster.emplace(copts);
    g_dispatcher.store(&dispatcher);
    const auto ending = dispatcher.run();
    g_dispatcher.store(nullptr);
    // Workers leave on their own once told the sweep is over; only a stop counts them lost.
    if (ending == scheduler::Dispatcher::Ending::kDone) lost_all.clear();
    for (const auto& exit : cluster->stop(std::chrono::seconds(3))) {
      if (args.verbose) std::fprintf(stderr, "%s\n", exit.describe().c_str());
    }
    if (ending == scheduler::Dispatcher::Ending::kStopped) {
      requeued = study.requeue_all_running(g_stop.load() ? "interrupted" : lost_all);
    }
    if (!lost_all.empty() && !g_stop.load()) {
      printer.finish(study.progress());
      throw Error(lost_all + "; state is saved in " + s.storage_path + ", run the same command to resume");
    }
  }
  printer.finish(study.progress());

  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  if (g_stop.load()) {
    std::fprintf(stderr,
                 "Interrupted: %d running trial%s re-queued; everything else is saved in %s.\n"
                 "Resume with: hypertune run %s --storage %s\n",
                 requeued, requeued == 1 ? " was" : "s were", s.storage_path.c_str(), args.config.c_str(),
                 s.storage_path.c_str());
    throw CLI::RuntimeError(kExitInterrupted);
  }
  if (const auto p = study.progress(); study.past_deadline() && p.waiting > 0) {
    std::fprintf(stderr,
                 "The sweep's timeout was reached: %lld trial%s waiting (stopped at the timeout or re-queued) "
                 "run when it is resumed.\nResume with: hypertune run %s --storage %s\n",
                 static_cast<long long>(p.waiting), p.waiting == 1 ? " is" : "s are", args.config.c_str(),
                 s.storage_path.c_str());
  }
  print_best(std::cout, study);
  if (verbosity != Verbosity::kQuiet) {
    std::printf("\nStorage: %s  (hypertune status|best|export %s)\n", s.storage_path.c_str(),
                s.storage_path.c_str());
  }
  if (!study.best()) {
    // A sweep that produced no result is a failure for scripts and CI, with the first reason.
    const auto p = study.progress();
    std::string first;
    for (int64_t n = 0; n < p.created && first.empty(); ++n) {
      const auto* t = study.trial(n);
      if (t && t->trial.state == search::TrialState::kFail) first = "trial " + std::to_string(n) + ": " + t->fail_reason;
    }
    throw Error("no trial completed (" + std::to_string(p.failed) + " failed, " + std::to_string(p.pruned) +
                " pruned of " + std::to_string(p.created) + ")" + (first.empty() ? "" : "; first failure: " + first));
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run a sweep on this machine until its budget is spent");
  cmd->add_option("config", args->config, "Sweep config (YAML)")->required()->check(CLI::ExistingFile);
  cmd->add_option("-w,--workers", args->workers, "Worker processes (trials run at once)")->check(CLI::Range(1, 4096));
  cmd->add_option("-s,--storage", args->storage, "SQLite file for trial state (default: config's storage or NAME.db)");
  cmd->add_option("--seed", args->seed, "Study seed (overrides the config's seed for a new study)");
  cmd->add_option("--gpus", args->gpus,
                  "CUDA devices to use, e.g. 0,1: each worker gets workers.gpus_per_trial of its own, "
                  "or with 0 per trial, worker i shares the (i mod n)-th");
  cmd->add_flag("--in-process", args->in_process, "Run trials in threads of this process instead of worker processes");
  cmd->add_flag("-q,--quiet", args->quiet, "Print only the result");
  cmd->add_flag("-v,--verbose", args->verbose, "Print progress every second when not on a terminal");
  cmd->callback([args] { run(*args); });
}

}  // namespace hypertune::cli
