#pragma once
// GPU lists on the command line (`--gpus 0,1,3`) and their split over the trial slots of one
// machine (`hypertune run --workers N`, its in-process executor).

#include <string>
#include <vector>

namespace hypertune::cli {

// "0,1,3" -> {0, 1, 3}; empty items are skipped. Throws ConfigError naming --gpus.
[[nodiscard]] std::vector<int> parse_gpus(const std::string& text);

// The devices of each of `slots` slots. With gpus_per_trial > 0, slot i gets its own
// gpus_per_trial devices (ConfigError when there are not enough for every slot); with 0, slot i
// shares the (i mod n)-th device. No devices: every slot gets none.
[[nodiscard]] std::vector<std::vector<int>> split_gpus(const std::vector<int>& gpus, int slots,
                                                       int gpus_per_trial);

// "0,1" for CUDA_VISIBLE_DEVICES and --gpus.
[[nodiscard]] std::string join_gpus(const std::vector<int>& gpus);

}  // namespace hypertune::cli
