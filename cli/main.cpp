#include <cstdio>
#include <exception>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "search/error.h"

#ifndef HYPERTUNE_VERSION
#define HYPERTUNE_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{"HyperTune: distributed hyperparameter tuning and AutoML", "hypertune"};
  app.set_version_flag("--version", std::string("hypertune ") + HYPERTUNE_VERSION);
  app.require_subcommand(1);

  using namespace hypertune::cli;
  add_run_command(app);
  add_validate_command(app);
  add_export_command(app);
  add_best_command(app);
  add_status_command(app);
  add_scheduler_command(app);
  add_worker_command(app);
  add_keygen_command(app);
  add_report_command(app);
  add_predict_command(app);
#ifdef HYPERTUNE_WITH_PIPELINES
  add_baseline_command(app);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a subcommand's own status, already explained on stderr
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitConfig;
  } catch (const hypertune::ConfigError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitFailure;
  }
  return kExitOk;
}
