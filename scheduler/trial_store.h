#pragma once
// TrialStore: the durable record of one study (sweep). SQLite (WAL) is the embedded default.
//
// The contract (every implementation honours it; tests/scheduler/trial_store_test.cpp checks it):
//  * Every write is durable when the call returns (or, inside a Batch, when the Batch commits):
//    the study acknowledges nothing to a worker before that.
//  * Finished trials (COMPLETE, PRUNED, FAIL) never change: update_trial() on one is refused
//    (returns false) and leaves the row untouched.
//  * The first report of a (trial, step) wins: a second add_report() for it returns false and
//    changes nothing.
//  * Reads return snapshots: a loaded TrialRecord never changes under the caller.
//  * One file holds one study. Opening a file whose study has a different search-space signature
//    is refused with ConfigError naming both.
// Durability level: `kNormal` (WAL, synchronous=NORMAL) survives the crash of any process;
// `kFull` (synchronous=FULL) also survives power loss, at the cost of an fsync per commit.
// Thread-safety: a TrialStore is used from one thread at a time (the scheduler's loop). Readers in
// other processes (`hypertune status`, `report`) open their own read-only connection.
// Errors: I/O failures throw StoreError with SQLite's message and the file path.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "search/trial.h"

namespace hypertune::scheduler {

class StoreError : public Error {
 public:
  using Error::Error;
};

enum class Durability { kNormal, kFull };

struct StudyRecord {
  std::string name;
  search::Direction direction = search::Direction::kMinimize;
  std::string metric = "value";
  uint64_t seed = 0;
  std::string config_path;      // as given on the command line
  std::string config_text;      // the whole file, so any trial can be re-run exactly
  std::string config_hash;      // hex SHA-256 of config_text
  std::string space_signature;  // search::SearchSpace::signature()
  std::string version;          // program version that created the study
  int64_t created_ms = 0;       // unix epoch milliseconds
};

struct Report {
  int64_t step = 0;
  double value = 0.0;                                  // objective metric at this step
  nlohmann::json metrics = nlohmann::json::object();   // every metric reported at this step
  int64_t time_ms = 0;
};

struct TrialRecord {
  search::FrozenTrial trial;                  // number, state, params (internal repr), value, seed,
                                              // bracket, rung, intermediate (= reports' values)
  std::vector<Report> reports;                // full per-step metrics, same order as intermediate
  nlohmann::json metrics = nlohmann::json::object();  // final metrics (COMPLETE)
  std::string worker;                         // last worker that ran it
  std::optional<std::string> checkpoint;      // where it resumes (paused / its run was lost), or
                                              // the run folder with the exports (complete)
  std::optional<int64_t> pause_at;            // current pause point (promotion schedulers)
  int retries = 0;                            // times re-queued after a lost worker
  std::string fail_reason;                    // FAIL only
  int64_t created_ms = 0;
  int64_t started_ms = 0;                     // first time RUNNING; 0 if never
  int64_t finished_ms = 0;                    // 0 until finished
};

class TrialStore {
 public:
  virtual ~TrialStore() = default;

  // Creates the study if the store is empty, else checks it matches `desired` (same space
  // signature; name/direction/metric mismatch also refused) and returns the stored record.
  [[nodiscard]] virtual StudyRecord open_study(const StudyRecord& desired) = 0;
  // The stored study, if any (read-only tools).
  [[nodiscard]] virtual std::optional<StudyRecord> study() = 0;

  // Every trial with its reports, ordered by number.
  [[nodiscard]] virtual std::vector<TrialRecord> load_trials() = 0;

  // Inserts a new trial (its number must be new).
  virtual void insert_trial(const TrialRecord& rec) = 0;
  // Writes the mutable fields of a trial (state, value, metrics, worker, checkpoint, pause_at,
  // retries, fail_reason, bracket, rung, timestamps). Returns false, changing nothing, when the
  // stored trial is already finished or does not exist.
  [[nodiscard]] virtual bool update_trial(const TrialRecord& rec) = 0;
  // Records the report of (trial, step). False if that step was already recorded.
  [[nodiscard]] virtual bool add_report(int64_t trial_number, const Report& report) = 0;

  // Groups writes in one transaction; commits when commit() is called, rolls back if destroyed
  // without commit. Nested batches join the outer one.
  class Batch {
   public:
    explicit Batch(TrialStore& store) : store_(store) { store_.begin(); }
    ~Batch() {
      if (!done_) store_.rollback();
    }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    void commit() {
      store_.commit();
      done_ = true;
    }

   private:
    TrialStore& store_;
    bool done_ = false;
  };

 protected:
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
};

// Opens (creating if needed) an SQLite store. `read_only` opens without creating or writing.
// One driver per study: a scheduler or `hypertune run` holds this lock on the study file while it
// serves the study, so that a second one is refused instead of interleaving trial numbers and
// leases. Read-only commands (status, export, report) do not take it. Throws StoreError naming
// the file when another process holds it. The kernel drops it when the holder dies.
class StudyFileLock {
 public:
  explicit StudyFileLock(const std::string& path);
  ~StudyFileLock();
  StudyFileLock(const StudyFileLock&) = delete;
  StudyFileLock& operator=(const StudyFileLock&) = delete;

 private:
  int fd_ = -1;
};

[[nodiscard]] std::unique_ptr<TrialStore> open_sqlite_store(const std::string& path,
                                                            Durability durability = Durability::kNormal,
                                                            bool read_only = false);

}  // namespace hypertune::scheduler
