#include "cli/gpus.h"

#include <set>
#include <sstream>
#include <stdexcept>

#include "base/error.h"

namespace hypertune::cli {

std::vector<int> parse_gpus(const std::string& text) {
  std::vector<int> out;
  std::set<int> seen;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    int g = -1;
    try {
      size_t used = 0;
      g = std::stoi(item, &used);
      if (used != item.size() || g < 0) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw ConfigError("--gpus", "'" + item + "' is not a device index (expected a list like 0,1,3)");
    }
    if (!seen.insert(g).second) throw ConfigError("--gpus", "device " + item + " is listed twice");
    out.push_back(g);
  }
  return out;
}

std::vector<std::vector<int>> split_gpus(const std::vector<int>& gpus, int slots, int gpus_per_trial) {
  std::vector<std::vector<int>> out(static_cast<size_t>(std::max(slots, 0)));
  if (gpus.empty()) return out;
  if (gpus_per_trial <= 0) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = {gpus[i % gpus.size()]};
    return out;
  }
  const size_t per = static_cast<size_t>(gpus_per_trial);
  if (gpus.size() < per * out.size()) {
    throw ConfigError("--gpus", std::to_string(slots) + " trials at once with workers.gpus_per_trial " +
                                    std::to_string(gpus_per_trial) + " need " + std::to_string(per * out.size()) +
                                    " devices, and --gpus gives " + std::to_string(gpus.size()) +
                                    " (run fewer workers, or give more devices)");
  }
  for (size_t i = 0; i < out.size(); ++i) out[i].assign(gpus.begin() + i * per, gpus.begin() + (i + 1) * per);
  return out;
}

std::string join_gpus(const std::vector<int>& gpus) {
  std::string s;
  for (int g : gpus) s += (s.empty() ? "" : ",") + std::to_string(g);
  return s;
}

}  // namespace hypertune::cli
