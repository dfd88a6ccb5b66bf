#include "cli/live_status.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "scheduler/study.h"

namespace hypertune::cli {

namespace {

constexpr int64_t kFreshMs = 15000;  // a tick is about a second; allow for a busy machine

std::string live_path(const std::string& storage) { return storage + ".live.json"; }

}  // namespace

LiveStatusWriter::LiveStatusWriter(std::string storage_path, std::string endpoint)
    : path_(live_path(storage_path)), endpoint_(std::move(endpoint)) {}

LiveStatusWriter::~LiveStatusWriter() { std::remove(path_.c_str()); }

void LiveStatusWriter::update(const scheduler::DispatcherStats& s) {
  const nlohmann::json j = {{"pid", static_cast<int64_t>(::getpid())},
                            {"endpoint", endpoint_},
                            {"workers", s.workers},
                            {"updated_ms", scheduler::now_ms()},
                            {"workers_joined", s.workers_joined},
                            {"workers_lost", s.workers_lost},
                            {"requeued", s.requeued},
                            {"dropped", s.dropped}};
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream f(tmp);
    if (!f) return;
    f << j.dump() << "\n";
    if (!f) return;
  }
  std::rename(tmp.c_str(), path_.c_str());
}

std::optional<LiveStatus> read_live_status(const std::string& storage_path) {
  std::ifstream f(live_path(storage_path));
  if (!f) return std::nullopt;
  std::stringstream text;
  text << f.rdbuf();
  try {
    const auto j = nlohmann::json::parse(text.str());
    LiveStatus s;
    s.pid = j.at("pid").get<int64_t>();
    s.endpoint = j.at("endpoint").get<std::string>();
    s.workers = j.at("workers").get<int64_t>();
    s.updated_ms = j.at("updated_ms").get<int64_t>();
    s.workers_joined = j.value("workers_joined", uint64_t{0});
    s.workers_lost = j.value("workers_lost", uint64_t{0});
    s.requeued = j.value("requeued", uint64_t{0});
    s.dropped = j.value("dropped", uint64_t{0});
    const bool alive = s.pid > 0 && (::kill(static_cast<pid_t>(s.pid), 0) == 0 || errno == EPERM);
    if (!alive || scheduler::now_ms() - s.updated_ms > kFreshMs) return std::nullopt;
    return s;
  } catch (const std::exception&) {
    return std::nullopt;  // a stale or foreign file: no live scheduler to show
  }
}

}  // namespace hypertune::cli
