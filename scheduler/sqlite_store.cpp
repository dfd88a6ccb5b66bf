// The SQLite TrialStore (scheduler/trial_store.h has the contract).
//
// File layout (user_version 1, application_id 'HTst'):
//   study   one row: the study record.
//   trials  one row per trial; params is a JSON array aligned with the search space's parameter
//           order, null for an inactive parameter (search::Params, internal representation).
//   reports one row per (trial, step); the first report wins (INSERT OR IGNORE on the key).
// A value that is NaN is stored as the text 'NaN' (SQLite would turn a NaN double into NULL).
// Batches: depth 1 is BEGIN IMMEDIATE / COMMIT / ROLLBACK; a nested batch is a SAVEPOINT, so its
// writes become durable only with the outermost commit and its rollback undoes only its own writes.

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <unordered_map>

#include "scheduler/trial_store.h"

namespace hypertune::scheduler {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kApplicationId = 0x48547374;  // "HTst"
constexpr int kBusyTimeoutMs = 10'000;

using search::TrialState;
using Json = nlohmann::json;

// States are stored by search::to_string(TrialState) ("COMPLETE", ...): the schema's CHECK
// constraint lists the same names, so that function's strings are part of the file format.

constexpr const char* kSchemaSql = R"sql(
CREATE TABLE study (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  name            TEXT NOT NULL,
  direction       TEXT NOT NULL CHECK (direction IN ('minimize', 'maximize')),
  metric          TEXT NOT NULL,
  seed            INTEGER NOT NULL,
  config_path     TEXT NOT NULL,
  config_text     TEXT NOT NULL,
  config_hash     TEXT NOT NULL,
  space_signature TEXT NOT NULL,
  version         TEXT NOT NULL,
  created_ms      INTEGER NOT NULL
);
CREATE TABLE trials (
  number      INTEGER PRIMARY KEY,
  state       TEXT NOT NULL
              CHECK (state IN ('WAITING', 'RUNNING', 'PAUSED', 'COMPLETE', 'PRUNED', 'FAIL')),
  params      TEXT NOT NULL,
  value       REAL,
  seed        INTEGER NOT NULL,
  bracket     INTEGER NOT NULL,
  rung        INTEGER NOT NULL,
  metrics     TEXT NOT NULL,
  worker      TEXT NOT NULL,
  checkpoint  TEXT,
  pause_at    INTEGER,
  retries     INTEGER NOT NULL,
  fail_reason TEXT NOT NULL,
  created_ms  INTEGER NOT NULL,
  started_ms  INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL
);
CREATE TABLE reports (
  trial   INTEGER NOT NULL REFERENCES trials(number),
  step    INTEGER NOT NULL,
  value   REAL,
  metrics TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  PRIMARY KEY (trial, step)
) WITHOUT ROWID;
)sql";

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

struct DbDeleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string dump(const Json& j) {
  // Replace invalid UTF-8 rather than throw: a metric name from a worker must not stop the store.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

class SqliteStore final : public TrialStore {
 public:
  SqliteStore(std::string path, Durability durability, bool read_only)
      : path_(std::move(path)), read_only_(read_only) {
    sqlite3* raw = nullptr;
    if (!read_only) {
      // The study holds the config text (trial.env included): a new file is the owner's only.
      // SQLite gives its -wal and -shm files the same permissions.
      const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd >= 0) ::close(fd);
    }
    const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    const int rc = sqlite3_open_v2(path_.c_str(), &raw, flags, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) {
      throw StoreError(path_ + ": cannot open" + (read_only ? " (read-only)" : "") + ": " +
                       (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_extended_result_codes(db_.get(), 1);
    sqlite3_busy_timeout(db_.get(), kBusyTimeoutMs);
    exec("PRAGMA foreign_keys = ON", "enable foreign keys");
    // Refuse a file that is not ours before changing anything in it (journal mode included).
    const int version = check_version();
    if (read_only) return;
    // SQLite falls back to read-only without a word when the file is not writable; say so now,
    // not at the first write after "Resuming".
    if (sqlite3_db_readonly(db_.get(), "main") == 1) {
      throw StoreError(path_ + ": the study file is read-only (check its permissions and the file system)");
    }
    if (version == 0 && pragma_int("SELECT count(*) FROM sqlite_master") > 0) {
      throw StoreError(path_ + ": not a HyperTune study file (it holds other tables)");
    }
    {
      Query q = query("PRAGMA journal_mode = WAL");
      if (!q.step() || q.text(0) != "wal") {
        throw StoreError(path_ + ": cannot switch to WAL journal mode (the file system may not "
                                 "support shared memory)");
      }
    }
    exec(durability == Durability::kFull ? "PRAGMA synchronous = FULL"
                                         : "PRAGMA synchronous = NORMAL",
         "set synchronous");
    create_schema();
    // A write at once: a folder that refuses the -wal file, or a full disk, shows here.
    exec("BEGIN IMMEDIATE", "begin a first write");
    exec("COMMIT", "commit a first write");
    identity_ = file_identity();
    if (!identity_) throw StoreError(path_ + ": cannot stat the study file after opening it");
  }

  ~SqliteStore() override {
    if (depth_ > 0 && db_ && !sqlite3_get_autocommit(db_.get())) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    cache_.clear();  // statements go before the connection
  }

  StudyRecord open_study(const StudyRecord& desired) override {
    require_writable("open the study");
    Scope scope(*this);
    if (auto stored = read_study()) {
      auto refuse = [&](const std::string& what, const std::string& stored_v,
                        const std::string& desired_v) {
        throw ConfigError(path_, "the study stored here has a different " + what +
                                     " than the config:\n  stored: " + stored_v +
                                     "\n  config: " + desired_v +
                                     "\nuse another storage file, or the config it was created with");
      };
      if (stored->space_signature != desired.space_signature) {
        refuse("search space", stored->space_signature, desired.space_signature);
      }
      if (stored->name != desired.name) refuse("name", stored->name, desired.name);
      if (stored->direction != desired.direction) {
        refuse("direction", search::to_string(stored->direction),
               search::to_string(desired.direction));
      }
      if (stored->metric != desired.metric) refuse("metric", stored->metric, desired.metric);
      scope.commit();
      return *stored;
    }
    StudyRecord rec = desired;
    if (rec.created_ms == 0) rec.created_ms = now_ms();
    Query q = query(
        "INSERT INTO study (id, name, direction, metric, seed, config_path, config_text, "
        "config_hash, space_signature, version, created_ms) "
        "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, rec.name)
        .bind(2, std::string(search::to_string(rec.direction)))
        .bind(3, rec.metric)
        .bind(4, static_cast<int64_t>(rec.seed))
        .bind(5, rec.config_path)
        .bind(6, rec.config_text)
        .bind(7, rec.config_hash)
        .bind(8, rec.space_signature)
        .bind(9, rec.version)
        .bind(10, rec.created_ms);
    q.run("create the study");
    scope.commit();
    return rec;
  }

  std::optional<StudyRecord> study() override {
    if (!has_schema()) return std::nullopt;
    return read_study();
  }

  std::vector<TrialRecord> load_trials() override {
    std::vector<TrialRecord> out;
    if (!has_schema()) return out;
    // One read transaction, so trials and reports are one snapshot.
    ReadScope snapshot(*this);
    {
      Query q = query(
          "SELECT number, state, params, value, seed, bracket, rung, metrics, worker, checkpoint, "
          "pause_at, retries, fail_reason, created_ms, started_ms, finished_ms "
          "FROM trials ORDER BY number");
      while (q.step()) {
        TrialRecord rec;
        search::FrozenTrial& t = rec.trial;
        t.number = q.int64(0);
        const std::string state = q.text(1);
        const auto st = search::parse_trial_state(state);
        if (!st) corrupt(t.number, "unknown state '" + state + "'");
        t.state = *st;
        t.params = decode_params(t.number, q.text(2));
        t.value = q.optional_real(3);
        t.seed = static_cast<uint64_t>(q.int64(4));
        t.bracket = static_cast<int>(q.int64(5));
        t.rung = static_cast<int>(q.int64(6));
        rec.metrics = decode_json(t.number, "metrics", q.text(7));
        rec.worker = q.text(8);
        if (!q.is_null(9)) rec.checkpoint = q.text(9);
        if (!q.is_null(10)) rec.pause_at = q.int64(10);
        rec.retries = static_cast<int>(q.int64(11));
        rec.fail_reason = q.text(12);
        rec.created_ms = q.int64(13);
        rec.started_ms = q.int64(14);
        rec.finished_ms = q.int64(15);
        out.push_back(std::move(rec));
      }
    }
    {
      Query q = query("SELECT trial, step, value, metrics, time_ms FROM reports ORDER BY trial, step");
      size_t i = 0;
      while (q.step()) {
        const int64_t number = q.int64(0);
        while (i < out.size() && out[i].trial.number < number) ++i;
        if (i == out.size() || out[i].trial.number != number) continue;  // foreign keys forbid it
        Report r;
        r.step = q.int64(1);
        r.value = q.optional_real(2).value_or(std::numeric_limits<double>::quiet_NaN());
        r.metrics = decode_json(number, "report metrics", q.text(3));
        r.time_ms = q.int64(4);
        out[i].trial.intermediate.emplace_back(r.step, r.value);
        out[i].reports.push_back(std::move(r));
      }
    }
    snapshot.done();
    return out;
  }

  void insert_trial(const TrialRecord& rec) override {
    require_writable("insert a trial");
    Scope scope(*this);
    const auto& t = rec.trial;
    Json params = Json::array();
    for (const auto& p : t.params) params.push_back(p ? Json(*p) : Json(nullptr));
    Query q = query(
        "INSERT INTO trials (number, state, params, value, seed, bracket, rung, metrics, worker, "
        "checkpoint, pause_at, retries, fail_reason, created_ms, started_ms, finished_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, t.number)
        .bind(2, std::string(search::to_string(t.state)))
        .bind(3, dump(params))
        .bind(4, t.value)
        .bind(5, static_cast<int64_t>(t.seed))
        .bind(6, int64_t{t.bracket})
        .bind(7, int64_t{t.rung})
        .bind(8, dump(rec.metrics))
        .bind(9, rec.worker)
        .bind(10, rec.checkpoint)
        .bind(11, rec.pause_at)
        .bind(12, int64_t{rec.retries})
        .bind(13, rec.fail_reason)
        .bind(14, rec.created_ms)
        .bind(15, rec.started_ms)
        .bind(16, rec.finished_ms);
    q.run("insert trial " + std::to_string(t.number));
    // Reports given with a new trial (an import); intermediate values without a full report
    // still get a row, so the FrozenTrial reads back whole.
    for (const auto& r : rec.reports) (void)insert_report(t.number, r);
    for (const auto& [step, value] : t.intermediate) {
      Report r;
      r.step = step;
      r.value = value;
      (void)insert_report(t.number, r);
    }
    scope.commit();
  }

  bool update_trial(const TrialRecord& rec) override {
    require_writable("update a trial");
    const auto& t = rec.trial;
    // The state test is in the statement itself: a finished trial cannot change even if another
    // connection finished it after we last read it.
    Query q = query(
        "UPDATE trials SET state = ?, value = ?, metrics = ?, worker = ?, checkpoint = ?, "
        "pause_at = ?, retries = ?, fail_reason = ?, bracket = ?, rung = ?, created_ms = ?, "
        "started_ms = ?, finished_ms = ? "
        "WHERE number = ? AND state NOT IN ('COMPLETE', 'PRUNED', 'FAIL')");
    q.bind(1, std::string(search::to_string(t.state)))
        .bind(2, t.value)
        .bind(3, dump(rec.metrics))
        .bind(4, rec.worker)
        .bind(5, rec.checkpoint)
        .bind(6, rec.pause_at)
        .bind(7, int64_t{rec.retries})
        .bind(8, rec.fail_reason)
        .bind(9, int64_t{t.bracket})
        .bind(10, int64_t{t.rung})
        .bind(11, rec.created_ms)
        .bind(12, rec.started_ms)
        .bind(13, rec.finished_ms)
        .bind(14, t.number);
    q.run("update trial " + std::to_string(t.number));
    return sqlite3_changes(db_.get()) == 1;
  }

  bool add_report(int64_t trial_number, const Report& report) override {
    require_writable("add a report");
    return insert_report(trial_number, report);
  }

 protected:
  void begin() override {
    require_writable("begin a batch");
    if (depth_ == 0) {
      check_file_still_there();
      exec("BEGIN IMMEDIATE", "begin a transaction");
    } else {
      exec(("SAVEPOINT batch" + std::to_string(depth_)).c_str(), "begin a nested batch");
    }
    ++depth_;
  }

  void commit() override {
    if (depth_ == 0) throw Error(path_ + ": commit() without a matching begin()");
    if (depth_ == 1) {
      // On failure the transaction stays open and depth_ stays 1, so the Batch's destructor
      // rolls it back.
      exec("COMMIT", "commit");
    } else {
      exec(("RELEASE batch" + std::to_string(depth_ - 1)).c_str(), "commit a nested batch");
    }
    --depth_;
  }

  void rollback() override {
    // Called from destructors: never throws.
    if (depth_ == 0) return;
    --depth_;
    if (sqlite3_get_autocommit(db_.get())) {
      depth_ = 0;  // SQLite already rolled the whole transaction back (e.g. after an I/O error)
      return;
    }
    if (depth_ == 0) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    } else {
      const std::string name = "batch" + std::to_string(depth_);
      sqlite3_exec(db_.get(), ("ROLLBACK TO " + name + "; RELEASE " + name).c_str(), nullptr,
                   nullptr, nullptr);
    }
  }

 private:
  // A cached prepared statement, reset and unbound when the Query goes out of scope.
  class Query {
   public:
    Query(const SqliteStore& store, sqlite3_stmt* stmt) : store_(store), stmt_(stmt) {}
    ~Query() {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    Query& bind(int i, int64_t v) {
      check(sqlite3_bind_int64(stmt_, i, v));
      return *this;
    }
    Query& bind(int i, double v) {
      if (std::isnan(v)) {
        check(sqlite3_bind_text(stmt_, i, "NaN", -1, SQLITE_STATIC));
      } else {
        check(sqlite3_bind_double(stmt_, i, v));
      }
      return *this;
    }
    Query& bind(int i, const std::string& v) {
      check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
      return *this;
    }
    template <class T>
    Query& bind(int i, const std::optional<T>& v) {
      if (!v) {
        check(sqlite3_bind_null(stmt_, i));
        return *this;
      }
      return bind(i, *v);
    }

    // True while rows come; false when done. Throws StoreError on failure.
    bool step() {
      const int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      store_.fail("query failed", rc);
    }
    void run(const std::string& what) {
      const int rc = sqlite3_step(stmt_);
      if (rc != SQLITE_DONE && rc != SQLITE_ROW) store_.fail(what, rc);
    }

    [[nodiscard]] bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    [[nodiscard]] int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
    [[nodiscard]] std::string text(int col) const {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
      return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
    }
    [[nodiscard]] std::optional<double> optional_real(int col) const {
      switch (sqlite3_column_type(stmt_, col)) {
        case SQLITE_NULL: return std::nullopt;
        case SQLITE_TEXT: return std::numeric_limits<double>::quiet_NaN();  // stored 'NaN'
        default: return sqlite3_column_double(stmt_, col);
      }
    }

   private:
    void check(int rc) const {
      if (rc != SQLITE_OK) store_.fail("bind failed", rc);
    }
    const SqliteStore& store_;
    sqlite3_stmt* stmt_;
  };

  // An internal write transaction that joins an open batch (insert_trial, open_study).
  class Scope {
   public:
    explicit Scope(SqliteStore& store) : store_(store) { store_.begin(); }
    ~Scope() {
      if (!done_) store_.rollback();
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    void commit() {
      store_.commit();
      done_ = true;
    }

   private:
    SqliteStore& store_;
    bool done_ = false;
  };

  // A read transaction for a consistent snapshot, unless a batch is already open.
  class ReadScope {
   public:
    explicit ReadScope(SqliteStore& store) : store_(store), own_(store.depth_ == 0) {
      if (own_) store_.exec("BEGIN", "begin a read");
    }
    ~ReadScope() {
      if (own_ && !sqlite3_get_autocommit(store_.db_.get())) {
        sqlite3_exec(store_.db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      }
    }
    ReadScope(const ReadScope&) = delete;
    ReadScope& operator=(const ReadScope&) = delete;
    void done() {
      if (own_) store_.exec("COMMIT", "end a read");
      own_ = false;
    }

   private:
    SqliteStore& store_;
    bool own_;
  };

  [[noreturn]] void fail(const std::string& what, int rc) const {
    const char* msg = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
    throw StoreError(path_ + ": " + what + ": " + msg);
  }

  void exec(const char* sql, const std::string& what) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      const std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      throw StoreError(path_ + ": " + what + ": " + msg);
    }
  }

  Query query(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* stmt = nullptr;
      const int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size() + 1),
                                        SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) fail("prepare '" + sql.substr(0, 40) + "...'", rc);
      it = cache_.emplace(sql, StmtPtr(stmt)).first;
    }
    return Query(*this, it->second.get());
  }

  void require_writable(const char* what) const {
    if (read_only_) throw StoreError(path_ + ": opened read-only, cannot " + what);
    if (depth_ == 0) check_file_still_there();  // a write outside a batch commits at once
  }

  int pragma_int(const char* sql) {
    Query q = query(sql);
    if (!q.step()) fail(std::string("read ") + sql, SQLITE_ERROR);
    return static_cast<int>(q.int64(0));
  }

  // Version 0 is an empty (or foreign) file; newer versions are refused.
  int check_version() {
    const int version = pragma_int("PRAGMA user_version");
    if (version > kSchemaVersion) {
      throw StoreError(path_ + ": storage format " + std::to_string(version) +
                       " is newer than this program reads (" + std::to_string(kSchemaVersion) +
                       "); use a newer hypertune");
    }
    if (version > 0 && pragma_int("PRAGMA application_id") != kApplicationId) {
      throw StoreError(path_ + ": not a HyperTune study file (another program's SQLite database)");
    }
    return version;
  }

  bool has_schema() {
    if (schema_seen_) return true;
    schema_seen_ = check_version() > 0;
    return schema_seen_;
  }

  void create_schema() {
    Scope scope(*this);
    if (check_version() == 0) {
      if (pragma_int("SELECT count(*) FROM sqlite_master") > 0) {
        throw StoreError(path_ + ": not a HyperTune study file (it holds other tables)");
      }
      exec(kSchemaSql, "create the tables");
      exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str(),
           "set the application id");
      exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str(),
           "set the format version");
    }
    scope.commit();
    schema_seen_ = true;
  }

  std::optional<StudyRecord> read_study() {
    Query q = query(
        "SELECT name, direction, metric, seed, config_path, config_text, config_hash, "
        "space_signature, version, created_ms FROM study WHERE id = 1");
    if (!q.step()) return std::nullopt;
    StudyRecord rec;
    rec.name = q.text(0);
    rec.direction =
        q.text(1) == "maximize" ? search::Direction::kMaximize : search::Direction::kMinimize;
    rec.metric = q.text(2);
    rec.seed = static_cast<uint64_t>(q.int64(3));
    rec.config_path = q.text(4);
    rec.config_text = q.text(5);
    rec.config_hash = q.text(6);
    rec.space_signature = q.text(7);
    rec.version = q.text(8);
    rec.created_ms = q.int64(9);
    return rec;
  }

  bool insert_report(int64_t trial_number, const Report& r) {
    // Only while the trial exists and is not finished; the primary key makes the first one win.
    Query q = query(
        "INSERT OR IGNORE INTO reports (trial, step, value, metrics, time_ms) "
        "SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM trials WHERE number = ?1 AND "
        "state NOT IN ('COMPLETE', 'PRUNED', 'FAIL'))");
    q.bind(1, trial_number).bind(2, r.step).bind(3, r.value).bind(4, dump(r.metrics)).bind(5, r.time_ms);
    q.run("add report of trial " + std::to_string(trial_number) + " step " + std::to_string(r.step));
    return sqlite3_changes(db_.get()) == 1;
  }

  [[noreturn]] void corrupt(int64_t number, const std::string& what) const {
    throw StoreError(path_ + ": trial " + std::to_string(number) + ": " + what);
  }

  search::Params decode_params(int64_t number, const std::string& text) const {
    const Json j = Json::parse(text, nullptr, false);
    if (!j.is_array()) corrupt(number, "params are not a JSON array: " + text.substr(0, 80));
    search::Params out;
    out.reserve(j.size());
    for (const auto& v : j) {
      if (v.is_null()) {
        out.emplace_back(std::nullopt);
      } else if (v.is_number()) {
        out.emplace_back(v.get<double>());
      } else {
        corrupt(number, "a parameter value is neither a number nor null: " + v.dump());
      }
    }
    return out;
  }

  Json decode_json(int64_t number, const char* what, const std::string& text) const {
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) corrupt(number, std::string(what) + " are not valid JSON");
    return j;
  }

  std::string path_;
  // (device, inode) of the study file, to notice it being deleted or replaced while open: SQLite
  // would go on writing to the unlinked inode and every result would be lost with it.
  std::optional<std::pair<dev_t, ino_t>> file_identity() const {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) return std::nullopt;
    return std::make_pair(st.st_dev, st.st_ino);
  }
  void check_file_still_there() const {
    if (!identity_) return;
    const auto now = file_identity();
    if (!now) {
      throw StoreError(path_ + ": the study file was deleted while the sweep ran; nothing more can be "
                               "recorded (stopping now so that no result is acknowledged and lost)");
    }
    if (*now != *identity_) {
      throw StoreError(path_ + ": the study file was replaced by another file while the sweep ran; "
                               "stopping rather than writing to the old one");
    }
  }
  std::optional<std::pair<dev_t, ino_t>> identity_;
  bool read_only_ = false;
  std::unique_ptr<sqlite3, DbDeleter> db_;
  std::unordered_map<std::string, StmtPtr> cache_;
  int depth_ = 0;
  bool schema_seen_ = false;
};

}  // namespace

StudyFileLock::StudyFileLock(const std::string& path) {
  // flock() is independent of SQLite's fcntl() locks on Linux and the kernel releases it when the
  // process dies, however it dies, so a crashed scheduler never leaves a stale lock behind.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw StoreError(path + ": cannot open to lock it: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw StoreError(path + ": another HyperTune process is serving this study (a scheduler or "
                            "`hypertune run`); stop it first, or use another storage file");
  }
}

StudyFileLock::~StudyFileLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<TrialStore> open_sqlite_store(const std::string& path, Durability durability,
                                              bool read_only) {
  return std::make_unique<SqliteStore>(path, durability, read_only);
}

}  // namespace hypertune::scheduler
