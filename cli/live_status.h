#pragma once
// What a running scheduler tells `hypertune status` beside the storage: its pid, endpoint and the
// workers connected now, in <storage>.live.json, rewritten atomically every tick and removed when
// the scheduler ends. Status shows it only while that pid is alive and the file is fresh.

#include <cstdint>
#include <optional>
#include <string>

#include "scheduler/dispatcher.h"

namespace hypertune::cli {

struct LiveStatus {
  int64_t pid = 0;
  std::string endpoint;
  int64_t workers = 0;
  int64_t updated_ms = 0;
  uint64_t workers_joined = 0, workers_lost = 0, requeued = 0, dropped = 0;
};

class LiveStatusWriter {
 public:
  LiveStatusWriter(std::string storage_path, std::string endpoint);
  ~LiveStatusWriter();  // removes the file
  LiveStatusWriter(const LiveStatusWriter&) = delete;
  LiveStatusWriter& operator=(const LiveStatusWriter&) = delete;
  // Rewrites the file (write to a temporary name, rename). Failures are ignored: status is advisory.
  void update(const scheduler::DispatcherStats& stats);

 private:
  std::string path_;
  std::string endpoint_;
};

// The live status of a scheduler serving `storage_path`, when one is running now.
[[nodiscard]] std::optional<LiveStatus> read_live_status(const std::string& storage_path);

}  // namespace hypertune::cli
