#include "worker/run_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "base/error.h"

namespace hypertune::worker {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "run-";

// "run-12" -> 12; anything else -> nullopt.
std::optional<int64_t> epoch_of_name(std::string_view name) {
  if (!name.starts_with(kPrefix) || name.size() == kPrefix.size()) return std::nullopt;
  int64_t e = 0;
  const char* first = name.data() + kPrefix.size();
  const char* last = name.data() + name.size();
  const auto [ptr, ec] = std::from_chars(first, last, e);
  if (ec != std::errc() || ptr != last || e < 1 || *first == '0') return std::nullopt;
  return e;
}

int64_t highest_epoch(const fs::path& dir) {
  int64_t high = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (const auto e = epoch_of_name(it->path().filename().string())) high = std::max(high, *e);
  }
  if (ec) throw Error("cannot list the trial folder '" + dir.string() + "': " + ec.message());
  return high;
}

}  // namespace

Artifacts artifacts_of(const nlohmann::json& trial) {
  if (!trial.is_object()) return Artifacts::kNone;
  if (trial.contains("pipeline")) return Artifacts::kAtEnd;
  if (trial.contains("command")) {
    const auto c = trial.find("checkpoint");
    return c != trial.end() && c->is_boolean() && c->get<bool>() ? Artifacts::kEveryStep : Artifacts::kNone;
  }
  return Artifacts::kNone;
}

std::optional<int64_t> run_epoch_of(std::string_view trial_dir, std::string_view path) {
  const fs::path rel = fs::path(path).lexically_normal().lexically_relative(fs::path(trial_dir).lexically_normal());
  if (rel.empty() || rel.begin() == rel.end()) return std::nullopt;
  return epoch_of_name(rel.begin()->string());
}

RunDir claim_run_dir(const std::string& trial_dir, const std::optional<std::string>& resume_from) {
  const fs::path dir(trial_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create the trial folder '" + trial_dir + "': " + ec.message());
  // create_directories() honours the umask; checkpoints may hold what the trial section holds.
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);

  // mkdir either creates the folder or fails with EEXIST: a claim that loses a race retries with
  // the next number, so every claim ends with a folder nobody else has.
  int64_t epoch = highest_epoch(dir) + 1;
  for (int tries = 0;; ++tries, ++epoch) {
    const fs::path run = dir / (std::string(kPrefix) + std::to_string(epoch));
    if (::mkdir(run.c_str(), 0700) == 0) {
      if (resume_from) {
        if (const auto from = run_epoch_of(trial_dir, *resume_from)) {
          for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const auto e = epoch_of_name(it->path().filename().string());
            std::error_code ignored;  // a stale folder that cannot go is only disk space
            if (e && *e < *from) fs::remove_all(it->path(), ignored);
          }
        }
      }
      return {run.string(), epoch};
    }
    if (errno != EEXIST || tries >= 1000) {
      throw Error("cannot create the run folder '" + run.string() + "': " + std::strerror(errno));
    }
  }
}

std::optional<std::string> begin_run(TrialSpec& spec) {
  const Artifacts kind = artifacts_of(spec.trial);
  if (kind == Artifacts::kNone || spec.checkpoint_dir.empty()) return std::nullopt;
  spec.checkpoint_dir = claim_run_dir(spec.checkpoint_dir, spec.checkpoint).path;
  if (kind == Artifacts::kEveryStep) return spec.checkpoint_dir;
  return std::nullopt;
}

void end_run(const TrialSpec& spec, Outcome& outcome) {
  if (outcome.kind == OutcomeKind::kComplete && !outcome.checkpoint && !spec.checkpoint_dir.empty() &&
      artifacts_of(spec.trial) != Artifacts::kNone)
    outcome.checkpoint = spec.checkpoint_dir;
}

}  // namespace hypertune::worker
