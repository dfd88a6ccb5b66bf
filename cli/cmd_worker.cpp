// `hypertune worker --connect tcp://HOST:5555`: runs the trials a scheduler hands out.

#include <csignal>
#include <cstdio>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/gpus.h"
#include "protocol/keys.h"
#include "base/error.h"
#include "worker/agent.h"
#include "worker/runners.h"

namespace hypertune::cli {

namespace {

std::atomic<worker::Agent*> g_agent{nullptr};
std::atomic<int> g_signals{0};

void on_signal(int) {
  // First signal: stop the trials and tell the scheduler (it re-queues them). Second: leave now.
  if (g_signals.fetch_add(1) >= 1) std::_Exit(kExitInterrupted);
  if (auto* a = g_agent.load()) a->request_stop();
}

struct WorkerArgs {
  std::string connect;
  int slots = 1;
  int prefetch = 0;
  std::string gpus;
  std::string name;
  std::optional<std::string> keys;
  std::optional<std::string> server_key;
  int64_t heartbeat_ms = 1000;
  int64_t lease_ms = 10000;
  int64_t reconnect_min_ms = 1000;
  int64_t reconnect_max_ms = 32000;
  std::optional<double> give_up_after_s;
  bool keep_serving = false;
  std::optional<std::string> checkpoint_dir;
  std::optional<std::string> work_dir;
  bool quiet = false;
  bool verbose = false;
};

void serve(const WorkerArgs& args) {
  if (args.quiet) spdlog::set_level(spdlog::level::warn);
  if (args.verbose) spdlog::set_level(spdlog::level::debug);

  worker::AgentOptions opts;
  opts.connect = args.connect;
  opts.name = args.name;
  opts.slots = args.slots;
  opts.prefetch = args.prefetch;
  opts.gpus = parse_gpus(args.gpus);
  opts.heartbeat = std::chrono::milliseconds(args.heartbeat_ms);
  opts.lease = std::chrono::milliseconds(args.lease_ms);
  opts.reconnect_min = std::chrono::milliseconds(args.reconnect_min_ms);
  opts.reconnect_max = std::chrono::milliseconds(args.reconnect_max_ms);
  if (args.give_up_after_s) {
    opts.give_up_after = std::chrono::milliseconds(static_cast<int64_t>(*args.give_up_after_s * 1000.0));
  }
  opts.keep_serving = args.keep_serving;
  opts.checkpoint_root = args.checkpoint_dir;
  opts.work_dir = args.work_dir;
  opts.make_runner = [](const nlohmann::json& trial) { return worker::make_runner(trial); };

  if (args.keys.has_value() != args.server_key.has_value()) {
    throw ConfigError(args.keys ? "--server-key" : "--keys",
                      "CURVE needs both this worker's secret key (--keys) and the scheduler's public key (--server-key)");
  }
  if (args.keys) {
    const auto pair = protocol::load_secret_key(*args.keys, "--keys");
    opts.curve = worker::CurveClientOptions{pair.secret_z85, pair.public_z85,
                                            protocol::load_public_key(*args.server_key, "--server-key")};
  }

  worker::Agent agent(std::move(opts));
  // Handlers first: once the line below is printed, SIGTERM is a clean stop.
  g_agent.store(&agent);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  spdlog::info("worker '{}' ({} slot{}) connecting to {}{}", agent.name(), args.slots, args.slots == 1 ? "" : "s",
               args.connect, args.keys ? " with CURVE" : "");
  const worker::AgentSummary summary = agent.run();
  g_agent.store(nullptr);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  spdlog::info("worker '{}' done ({}): {} trial{} run", agent.name(), worker::to_string(summary.end),
               summary.trials_started, summary.trials_started == 1 ? "" : "s");
  switch (summary.end) {
    case worker::AgentEnd::kSweepFinished:
    case worker::AgentEnd::kStopped:
      return;
    case worker::AgentEnd::kRefused:
      std::fprintf(stderr, "error: %s\n", summary.reason.c_str());
      throw CLI::RuntimeError(kExitConfig);
    case worker::AgentEnd::kGaveUp:
      std::fprintf(stderr, "error: %s\n", summary.reason.c_str());
      throw CLI::RuntimeError(kExitFailure);
  }
}

}  // namespace

void add_worker_command(CLI::App& app) {
  auto args = std::make_shared<WorkerArgs>();
  auto* cmd = app.add_subcommand("worker", "Run trials for a scheduler (joins and leaves at any time)");
  cmd->add_option("-c,--connect", args->connect, "The scheduler's endpoint, e.g. tcp://head-node:5555")
      ->envname("HYPERTUNE_SCHEDULER")
      ->required();
  cmd->add_option("--slots", args->slots, "Trials run at once")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--prefetch", args->prefetch,
                  "Trials held queued beyond --slots, started as soon as a slot frees (for trials of "
                  "milliseconds, where the round trip to the scheduler dominates)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->add_option("--gpus", args->gpus, "CUDA devices to use, e.g. 0,1 (slot i gets the (i mod n)-th)")
      ->envname("HYPERTUNE_GPUS");
  cmd->add_option("--name", args->name, "Name shown by the scheduler (default: HOST:PID)")->envname("HYPERTUNE_WORKER_NAME");
  cmd->add_option("--keys", args->keys, "This worker's CURVE secret key: a file from `hypertune keygen`, or the key")
      ->envname("HYPERTUNE_KEYS");
  cmd->add_option("--server-key", args->server_key, "The scheduler's CURVE public key: a .pub file, or the key")
      ->envname("HYPERTUNE_SERVER_KEY");
  cmd->add_option("--heartbeat-ms", args->heartbeat_ms, "Heartbeat until the scheduler says otherwise")
      ->check(CLI::Range(int64_t{10}, int64_t{600000}))
      ->capture_default_str();
  cmd->add_option("--lease-ms", args->lease_ms, "Silence before reconnecting, until the scheduler says otherwise")
      ->check(CLI::Range(int64_t{20}, int64_t{3600000}))
      ->capture_default_str();
  cmd->add_option("--reconnect-min-ms", args->reconnect_min_ms, "First reconnect delay (doubles each failure)")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}))
      ->capture_default_str();
  cmd->add_option("--reconnect-max-ms", args->reconnect_max_ms, "Longest reconnect delay")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}))
      ->capture_default_str();
  cmd->add_option("--give-up-after", args->give_up_after_s, "Exit when no scheduler answered for this many seconds")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--keep-serving", args->keep_serving, "After a sweep ends, wait for the next scheduler");
  cmd->add_option("--checkpoint-dir", args->checkpoint_dir,
                  "Save checkpoints under this directory instead of the scheduler's (trial-N below it)");
  cmd->add_option("--work-dir", args->work_dir, "Resolve the config's relative paths here instead of its directory");
  cmd->add_flag("-q,--quiet", args->quiet, "Log only warnings and errors");
  cmd->add_flag("-v,--verbose", args->verbose, "Log every trial event");
  cmd->callback([args] { serve(*args); });
}

}  // namespace hypertune::cli
