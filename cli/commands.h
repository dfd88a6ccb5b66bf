#pragma once
// The `hypertune` command line: one binary, one subcommand per file (cmd_*.cpp).
// Each add_*_command() registers its subcommand and callback on the app. Callbacks signal their
// exit status by throwing CLI::RuntimeError(code); configuration errors exit with code 2.

#include <CLI/CLI.hpp>

namespace hypertune::cli {

void add_run_command(CLI::App& app);
void add_validate_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_best_command(CLI::App& app);
void add_status_command(CLI::App& app);
void add_scheduler_command(CLI::App& app);
void add_worker_command(CLI::App& app);
void add_keygen_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_baseline_command(CLI::App& app);

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // runtime failure (I/O, network)
inline constexpr int kExitConfig = 2;       // bad config, bad arguments, bad input data
inline constexpr int kExitInterrupted = 130;

}  // namespace hypertune::cli
