// `hypertune predict --model DIR --input FILE --output preds.csv`: inference with an exported model.

#include <cstdio>

#include "cli/commands.h"
#include "base/error.h"
#ifdef HYPERTUNE_WITH_PIPELINES
#include "pipelines/predict.h"
#endif

namespace hypertune::cli {

void add_predict_command(CLI::App& app) {
  struct Args {
    std::string model, input, output;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("predict", "Predict with an exported model (a trial's model/ directory)");
  cmd->add_option("-m,--model", args->model, "Model directory (model.json + weights.pt)")->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-i,--input", args->input, "Input CSV (training columns) or IDX images")->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->output, "Where to write the predictions CSV")->required();
  cmd->callback([args] {
#ifdef HYPERTUNE_WITH_PIPELINES
    pipelines::predict(args->model, args->input, args->output);
    std::printf("Wrote %s\n", args->output.c_str());
#else
    throw ConfigError("predict", "this hypertune was built without LibTorch (HYPERTUNE_WITH_TORCH=OFF)");
#endif
  });
}

}  // namespace hypertune::cli
