#pragma once
// A unique temporary directory per test, removed at scope exit; safe under `ctest -j`.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>

namespace hypertune::test {

class TempDir {
 public:
  explicit TempDir(const std::string& tag = "ht") {
    static std::atomic<int> counter{0};
    const auto base = std::filesystem::temp_directory_path();
    for (int attempt = 0;; ++attempt) {
      path_ = base / (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                      std::to_string(attempt));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace hypertune::test
