#include "worker/torch_plugin.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "base/error.h"

namespace hypertune::worker {

namespace {

std::string executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

}  // namespace

std::string torch_plugin_path() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (const char* env = std::getenv("HYPERTUNE_TORCH_PLUGIN"); env && *env) return env;
  const std::string dir = executable_dir();
  if (!dir.empty() && fs::exists(fs::path(dir) / "libhypertune_torch.so", ec)) {
    return (fs::path(dir) / "libhypertune_torch.so").string();
  }
#ifdef HYPERTUNE_TORCH_PLUGIN_BUILD_PATH
  if (fs::exists(HYPERTUNE_TORCH_PLUGIN_BUILD_PATH, ec)) return HYPERTUNE_TORCH_PLUGIN_BUILD_PATH;
#endif
  return {};
}

const TorchPlugin& load_torch_plugin(const std::string& what_needs_it) {
  static std::mutex mu;
  static const TorchPlugin* loaded = nullptr;
  std::lock_guard lock(mu);
  if (loaded) return *loaded;
  const std::string path = torch_plugin_path();
  if (path.empty()) {
    throw ConfigError(what_needs_it, "this hypertune was built without LibTorch (HYPERTUNE_WITH_TORCH=OFF): "
                                     "libhypertune_torch.so is not next to the executable");
  }
  // RTLD_GLOBAL: LibTorch's own libraries find each other's symbols; never unloaded.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
  if (!handle) throw Error("cannot load the LibTorch plugin " + path + ": " + ::dlerror());
  auto* entry = reinterpret_cast<const TorchPlugin* (*)()>(::dlsym(handle, "hypertune_torch_plugin"));
  if (!entry) throw Error("the LibTorch plugin " + path + " has no entry point hypertune_torch_plugin");
  loaded = entry();
  return *loaded;
}

}  // namespace hypertune::worker
