// `hypertune scheduler CONFIG --bind tcp://*:5555`: owns the study and serves workers; never trains.

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/live_status.h"
#include "cli/progress.h"
#include "cli/study_setup.h"
#include "cli/study_view.h"
#include "protocol/keys.h"
#include "scheduler/dispatcher.h"

namespace hypertune::cli {

namespace {

std::atomic<scheduler::Dispatcher*> g_dispatcher{nullptr};
std::atomic<int> g_signals{0};

void on_signal(int) {
  // First signal: finish what runs, create nothing new. Second: leave now (state is durable; a
  // restarted scheduler picks the sweep up and the workers reconnect).
  const int n = g_signals.fetch_add(1);
  if (auto* d = g_dispatcher.load()) d->request_stop(/*drain=*/n == 0);
}

struct SchedulerArgs {
  std::string config;
  std::string bind = "tcp://127.0.0.1:5555";
  std::optional<std::string> storage;
  std::optional<uint64_t> seed;
  std::optional<std::string> keys;
  std::optional<std::string> allow;
  bool insecure = false;
  int64_t heartbeat_ms = 1000;
  int64_t lease_ms = 10000;
  std::optional<std::string> endpoint_file;
  bool stay = false;
  bool quiet = false;
  bool verbose = false;
};

// The address workers should use: a wildcard bind is advertised under this host's name.
std::string advertised(const std::string& endpoint) {
  const std::string wildcard = "tcp://0.0.0.0:";
  if (endpoint.rfind(wildcard, 0) != 0) return endpoint;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return endpoint;
  return "tcp://" + std::string(host) + ":" + endpoint.substr(wildcard.size());
}

void write_endpoint_file(const std::string& path, const std::string& endpoint) {
  // Written whole, then renamed: a worker polling for the file never reads half of it.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << endpoint << "\n";
    if (!out) throw Error("cannot write the endpoint file " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

void serve(const SchedulerArgs& args) {
  if (args.quiet) spdlog::set_level(spdlog::level::warn);
  if (args.verbose) spdlog::set_level(spdlog::level::debug);

  if (args.keys.has_value() != args.allow.has_value()) {
    throw ConfigError(args.keys ? "--allow" : "--keys",
                      "CURVE needs both the scheduler's secret key (--keys) and the workers' public keys (--allow)");
  }
  if (!args.keys && !args.insecure && !scheduler::is_loopback_endpoint(args.bind)) {
    throw ConfigError("--bind", "'" + args.bind +
                                    "' is reachable from other machines, and without CURVE keys anyone could "
                                    "connect: give --keys and --allow (see `hypertune keygen`), or --insecure");
  }
  scheduler::DispatcherOptions opts;
  opts.bind = args.bind;
  opts.heartbeat = std::chrono::milliseconds(args.heartbeat_ms);
  opts.lease = std::chrono::milliseconds(args.lease_ms);
  if (args.keys) {
    const auto pair = protocol::load_secret_key(*args.keys, "--keys");
    opts.curve = scheduler::CurveServerOptions{pair.secret_z85, protocol::load_allow_list(*args.allow, "--allow")};
  }

  OpenedStudy s = open_study(args.config, args.storage, args.seed);
  const auto& cfg = *s.config;
  auto& study = *s.study;
  opts.trial = cfg.trial;
  opts.work_dir = cfg.config_dir.string();
  opts.artifacts_dir = std::filesystem::absolute(s.artifacts_dir).lexically_normal().string();
  opts.threads_per_trial = cfg.workers.threads_per_trial;
  opts.gpus_per_trial = cfg.workers.gpus_per_trial;

  const Verbosity verbosity = args.quiet ? Verbosity::kQuiet : args.verbose ? Verbosity::kVerbose : Verbosity::kNormal;
  ProgressPrinter printer(verbosity, cfg.max_trials, cfg.timeout);
  std::optional<LiveStatusWriter> live;
  scheduler::Dispatcher* self = nullptr;
  opts.on_tick = [&](const scheduler::Progress& p) {
    printer.tick(p);
    if (live && self) live->update(self->stats());
  };

  scheduler::Dispatcher dispatcher(study, *s.store, std::move(opts));
  self = &dispatcher;
  const std::string endpoint = advertised(dispatcher.endpoint());
  live.emplace(s.storage_path, endpoint);
  live->update(dispatcher.stats());
  if (args.endpoint_file) write_endpoint_file(*args.endpoint_file, endpoint);
  if (verbosity != Verbosity::kQuiet) {
    std::printf("%s study '%s' in %s; scheduler listening on %s%s\n", s.resumed ? "Resuming" : "Starting",
                cfg.name.c_str(), s.storage_path.c_str(), endpoint.c_str(), args.keys ? " (CURVE)" : "");
    std::printf("Start workers with: hypertune worker --connect %s\n", endpoint.c_str());
    std::fflush(stdout);
  }

  g_dispatcher.store(&dispatcher);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const auto ending = dispatcher.run();
  printer.finish(study.progress());
  if (ending == scheduler::Dispatcher::Ending::kDone && args.stay && g_signals.load() == 0) {
    print_best(std::cout, study);
    std::fflush(stdout);
    dispatcher.serve_finished();
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  g_dispatcher.store(nullptr);

  const auto st = dispatcher.stats();
  if (st.dropped || st.refused_version || st.auth_refused || st.handshake_failed) {
    spdlog::warn("{} malformed message(s) dropped, {} worker(s) refused for their protocol version, {} for their key, "
                 "{} failed security handshake(s)",
                 st.dropped, st.refused_version, st.auth_refused, st.handshake_failed);
  }
  if (ending == scheduler::Dispatcher::Ending::kStopped) {
    std::fprintf(stderr,
                 "Stopped: running trials stay with their workers; everything else is saved in %s.\n"
                 "Resume with: hypertune scheduler %s --storage %s --bind %s\n",
                 s.storage_path.c_str(), args.config.c_str(), s.storage_path.c_str(), args.bind.c_str());
    throw CLI::RuntimeError(kExitInterrupted);
  }
  if (!args.stay) print_best(std::cout, study);
  if (verbosity != Verbosity::kQuiet) {
    std::printf("\nStorage: %s  (hypertune status|best|export %s)\n", s.storage_path.c_str(), s.storage_path.c_str());
  }
  if (g_signals.load() > 0 && !args.stay) throw CLI::RuntimeError(kExitInterrupted);
}

}  // namespace

void add_scheduler_command(CLI::App& app) {
  auto args = std::make_shared<SchedulerArgs>();
  auto* cmd = app.add_subcommand("scheduler", "Serve a sweep to remote workers (owns the study; never trains)");
  cmd->add_option("config", args->config, "Sweep config (YAML)")->required()->check(CLI::ExistingFile);
  cmd->add_option("-b,--bind", args->bind, "ZeroMQ endpoint to listen on (tcp://*:5555; port * lets the OS pick)")
      ->capture_default_str();
  cmd->add_option("-s,--storage", args->storage, "SQLite file for trial state (default: config's storage or NAME.db)");
  cmd->add_option("--seed", args->seed, "Study seed (overrides the config's seed for a new study)");
  cmd->add_option("--keys", args->keys, "The scheduler's CURVE secret key: a file from `hypertune keygen`, or the key")
      ->envname("HYPERTUNE_KEYS");
  cmd->add_option("--allow", args->allow,
                  "Workers' public keys: a directory of *.pub files, a file of keys, or keys separated by commas")
      ->envname("HYPERTUNE_ALLOW");
  cmd->add_flag("--insecure", args->insecure, "Allow a non-loopback --bind without CURVE keys");
  cmd->add_option("--heartbeat-ms", args->heartbeat_ms, "Heartbeat interval, both ways")
      ->check(CLI::Range(int64_t{10}, int64_t{600000}))
      ->capture_default_str();
  cmd->add_option("--lease-ms", args->lease_ms, "A worker silent this long is lost; its trials are re-queued")
      ->check(CLI::Range(int64_t{20}, int64_t{3600000}))
      ->capture_default_str();
  cmd->add_option("--endpoint-file", args->endpoint_file,
                  "Write the address workers should connect to into this file once listening");
  cmd->add_flag("--stay", args->stay,
                "After the sweep, stay up (telling late workers it is over) until SIGTERM: for a Deployment");
  cmd->add_flag("-q,--quiet", args->quiet, "Print only warnings and the result");
  cmd->add_flag("-v,--verbose", args->verbose, "Log every worker event");
  cmd->callback([args] { serve(*args); });
}

}  // namespace hypertune::cli
