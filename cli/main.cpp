#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "base/error.h"
#include "worker/torch_plugin.h"

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

  // `predict` and `baseline` train or run models: they live in the LibTorch plugin, loaded only
  // when one of them is the command (worker/torch_plugin.h). Otherwise they are listed in --help
  // without loading anything.
  std::string command;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') {
      command = argv[i];
      break;
    }
  }
  try {
    if (command == "predict" || command == "baseline") {
      hypertune::worker::load_torch_plugin(command).add_commands(app);
    } else {
      app.add_subcommand("predict", "Predict with an exported model (a trial's model/ directory)")->allow_extras();
      app.add_subcommand("baseline", "AutoML baseline: plan and run a sweep on a CSV or IDX image set, refit the "
                                     "best model, predict the test file (docs/baseline.md)")
          ->allow_extras();
    }
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
