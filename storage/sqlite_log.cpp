#include "storage/sqlite_log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace minivault::storage {

std::uint64_t file_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

namespace {

errc map_rc(int rc) noexcept {
  switch (rc & 0xFF) {
  case SQLITE_OK:
  case SQLITE_DONE:
  case SQLITE_ROW:
    return errc::ok;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return errc::corrupt;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return errc::overloaded;
  default:
    return errc::io_error; // FULL, IOERR, READONLY, CANTOPEN, NOMEM, ...
  }
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK)
    return nullptr;
  return st;
}

} // namespace

// `always` uses NORMAL too: the storage actor syncs the WAL itself before acknowledging
// (one fdatasync per group commit; FULL would add a second one inside SQLite's commit).
// NORMAL also makes checkpoints sync the WAL before and the database after copying.
const char* synchronous_pragma(fsync_policy p) {
  switch (p) {
  case fsync_policy::none:
    return "PRAGMA synchronous=OFF";
  case fsync_policy::interval:
  case fsync_policy::always:
    return "PRAGMA synchronous=NORMAL";
  }
  return "PRAGMA synchronous=NORMAL";
}

namespace {

/// `s` with its reason prefixed by the database's path.
status in_file(const std::string& path, const status& s) {
  return status(s.code(), path + ": " + s.reason());
}

} // namespace

result<std::unique_ptr<sqlite_log>> sqlite_log::open(const sqlite_settings& s) {
  std::unique_ptr<sqlite_log> log(new sqlite_log());
  log->path_ = s.path;
  int rc =
      sqlite3_open_v2(s.path.c_str(), &log->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK)
    return status(map_rc(rc), "cannot open " + s.path + ": " +
                                  (log->db_ ? sqlite3_errmsg(log->db_) : sqlite3_errstr(rc)));
  sqlite3_busy_timeout(log->db_, 5000);
  std::string page = "PRAGMA page_size=" + std::to_string(s.page_bytes);
  std::string pages_max =
      "PRAGMA max_page_count=" + std::to_string(s.pages_max ? s.pages_max : 4294967294ull);
  const char* schema =
      "CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, body BLOB NOT NULL);"
      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS quarantine(id INTEGER PRIMARY KEY, seq INTEGER,"
      " body BLOB, cut_at INTEGER);";
  // Refuse a database that holds someone else's tables before changing anything in it
  // (not even its journal mode): -data pointed at the wrong directory must not adopt it.
  if (std::string foreign = log->foreign_table(); !foreign.empty())
    return status(errc::config_error,
                  s.path + " holds table '" + foreign +
                      "', which minivault does not own: not a minivault data directory");
  std::string size_limit = "PRAGMA journal_size_limit=" + std::to_string(s.wal_keep_bytes);
  std::string autocheckpoint = "PRAGMA wal_autocheckpoint=1000"; // set below, per page size
  for (const char* sql : {page.c_str(), "PRAGMA journal_mode=WAL", synchronous_pragma(s.fsync),
                          size_limit.c_str(), autocheckpoint.c_str(), pages_max.c_str(), schema}) {
    if (status st = log->exec(sql); !st) return in_file(s.path, st);
  }
  if (sqlite3_stmt* ps = prepare(log->db_, "PRAGMA page_size")) {
    if (sqlite3_step(ps) == SQLITE_ROW)
      log->page_bytes_ = static_cast<std::uint32_t>(sqlite3_column_int(ps, 0));
    sqlite3_finalize(ps);
  }
  if (s.autocheckpoint_bytes > 0) {
    std::uint64_t pages = std::max<std::uint64_t>(1000, s.autocheckpoint_bytes / log->page_bytes_);
    std::string sql = "PRAGMA wal_autocheckpoint=" + std::to_string(pages);
    if (status st = log->exec(sql.c_str()); !st) return in_file(s.path, st);
  }
  log->insert_ = prepare(log->db_, "INSERT INTO log(seq, body) VALUES(?1, ?2)");
  log->update_ = prepare(log->db_, "UPDATE log SET body = ?2 WHERE seq = ?1");
  log->delete_ = prepare(log->db_, "DELETE FROM log WHERE seq = ?1");
  log->select_ = prepare(log->db_, "SELECT body FROM log WHERE seq = ?1");
  log->begin_ = prepare(log->db_, "BEGIN IMMEDIATE");
  log->commit_ = prepare(log->db_, "COMMIT");
  log->rollback_ = prepare(log->db_, "ROLLBACK");
  if (!log->insert_ || !log->update_ || !log->delete_ || !log->select_ || !log->begin_ ||
      !log->commit_ || !log->rollback_)
    return status(errc::io_error, s.path + ": " + sqlite3_errmsg(log->db_));
  return log;
}

sqlite_log::~sqlite_log() {
  for (auto* st : {insert_, update_, delete_, select_, begin_, commit_, rollback_})
    sqlite3_finalize(st);
  if (db_) sqlite3_close_v2(db_);
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

std::string sqlite_log::foreign_table() {
  sqlite3_stmt* st = prepare(db_, "SELECT name FROM sqlite_master WHERE type = 'table' AND name "
                                  "NOT IN ('log', 'meta', 'quarantine') AND name NOT LIKE "
                                  "'sqlite_%' LIMIT 1");
  if (!st) return {}; // not readable as a database: the pragmas below report it
  std::string name;
  if (sqlite3_step(st) == SQLITE_ROW)
    name = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return name;
}

status sqlite_log::fail(int rc) const {
  return status(map_rc(rc), sqlite3_errmsg(db_));
}

status sqlite_log::exec(const char* sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    status st(map_rc(rc), msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return st;
  }
  return {};
}

namespace {

int step_once(sqlite3_stmt* st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

} // namespace

status sqlite_log::run(sqlite3_stmt* st) {
  int rc = step_once(st);
  return rc == SQLITE_DONE ? status() : fail(rc);
}

status sqlite_log::begin() {
  return run(begin_);
}
status sqlite_log::commit() {
  return run(commit_);
}
void sqlite_log::rollback() noexcept {
  if (!sqlite3_get_autocommit(db_)) (void)run(rollback_);
}

status sqlite_log::insert_row(std::uint64_t seq, std::string_view body) {
  sqlite3_bind_int64(insert_, 1, static_cast<sqlite3_int64>(seq));
  sqlite3_bind_blob64(insert_, 2, body.data(), body.size(), SQLITE_STATIC);
  return run(insert_);
}

status sqlite_log::update_row(std::uint64_t seq, std::string_view body) {
  sqlite3_bind_int64(update_, 1, static_cast<sqlite3_int64>(seq));
  sqlite3_bind_blob64(update_, 2, body.data(), body.size(), SQLITE_STATIC);
  return run(update_);
}

status sqlite_log::delete_row(std::uint64_t seq) {
  sqlite3_bind_int64(delete_, 1, static_cast<sqlite3_int64>(seq));
  return run(delete_);
}

result<std::string> sqlite_log::read_row(std::uint64_t seq) {
  sqlite3_bind_int64(select_, 1, static_cast<sqlite3_int64>(seq));
  int rc = sqlite3_step(select_);
  result<std::string> body = std::string();
  if (rc == SQLITE_ROW) {
    auto p = static_cast<const char*>(sqlite3_column_blob(select_, 0));
    body->assign(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(select_, 0)));
  } else {
    body = rc == SQLITE_DONE ? status(errc::not_found, {}) : fail(rc);
  }
  sqlite3_reset(select_);
  sqlite3_clear_bindings(select_);
  return body;
}

status sqlite_log::quarantine_row(std::uint64_t seq, std::string_view body) {
  sqlite3_stmt* st =
      prepare(db_, "INSERT INTO quarantine(seq, body, cut_at) VALUES(?1, ?2, strftime('%s'))");
  if (!st) return fail(SQLITE_ERROR);
  sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(seq));
  sqlite3_bind_blob64(st, 2, body.data(), body.size(), SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? status() : fail(rc);
}

status sqlite_log::scan(const std::function<bool(std::uint64_t, std::string_view)>& fn) {
  sqlite3_stmt* st = prepare(db_, "SELECT seq, body FROM log ORDER BY seq");
  if (!st) return fail(SQLITE_ERROR);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
    auto p = static_cast<const char*>(sqlite3_column_blob(st, 1));
    auto n = static_cast<std::size_t>(sqlite3_column_bytes(st, 1));
    if (!fn(seq, std::string_view(p ? p : "", n))) {
      rc = SQLITE_DONE;
      break;
    }
  }
  status result = rc == SQLITE_DONE ? status() : fail(rc);
  sqlite3_finalize(st);
  return result;
}

result<std::optional<std::string>> sqlite_log::meta_get(const std::string& key) {
  sqlite3_stmt* st = prepare(db_, "SELECT value FROM meta WHERE key = ?1");
  if (!st) return fail(SQLITE_ERROR);
  sqlite3_bind_text(st, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  result<std::optional<std::string>> value = std::optional<std::string>();
  if (rc == SQLITE_ROW)
    *value = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  else if (rc != SQLITE_DONE)
    value = fail(rc);
  sqlite3_finalize(st);
  return value;
}

status sqlite_log::meta_put(const std::string& key, const std::string& value) {
  sqlite3_stmt* st = prepare(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)");
  if (!st) return fail(SQLITE_ERROR);
  sqlite3_bind_text(st, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, value.c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? status() : fail(rc);
}

status sqlite_log::sync_wal() {
  lock_guard guard(wal_mutex_);
  const std::string wal = path_ + "-wal";
  if (wal_fd_ < 0) {
    wal_fd_ = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_fd_ < 0) {
      const int e = errno;
      if (e == ENOENT) return {}; // nothing to sync
      return status(errc::io_error, "cannot open " + wal + ": " + std::strerror(e));
    }
  }
  if (::fdatasync(wal_fd_) != 0) {
    const int e = errno;
    return status(errc::io_error, "fdatasync " + wal + ": " + std::strerror(e));
  }
  return {};
}

// -- wal_checkpointer ---------------------------------------------------------------------

wal_checkpointer::~wal_checkpointer() {
  if (db_) sqlite3_close_v2(db_);
}

result<wal_checkpointer::outcome> wal_checkpointer::run(bool restart) {
  lock_guard guard(mutex_);
  if (db_ == nullptr) {
    int rc =
        sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc == SQLITE_OK)
      rc = sqlite3_exec(db_, synchronous_pragma(fsync_), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      status failed(map_rc(rc), db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close_v2(db_);
      db_ = nullptr;
      return failed;
    }
  }
  // A restart waits for the writer's transaction (a group commit: milliseconds).
  sqlite3_busy_timeout(db_, restart ? 200 : 0);
  outcome out;
  int rc = sqlite3_wal_checkpoint_v2(
      db_, nullptr, restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE,
      &out.wal_frames, &out.backfilled);
  if (rc == SQLITE_BUSY) return out; // someone was in the way: try again next time
  if (rc != SQLITE_OK) return status(map_rc(rc), sqlite3_errmsg(db_));
  return out;
}

// -- reader_pool ------------------------------------------------------------------------

reader_pool::~reader_pool() {
  for (auto* db : idle_)
    sqlite3_close_v2(db);
}

result<sqlite3*> reader_pool::acquire() {
  {
    lock_guard guard(mutex_);
    if (!idle_.empty()) {
      sqlite3* db = idle_.back();
      idle_.pop_back();
      return db;
    }
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    status failed(map_rc(rc), db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    if (db) sqlite3_close_v2(db);
    return failed;
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

void reader_pool::release(sqlite3* db) {
  lock_guard guard(mutex_);
  idle_.push_back(db);
}

errc reader_pool::read_range(std::uint64_t seq, std::uint32_t offset, std::uint32_t len,
                             std::string& out) {
  auto acquired = acquire();
  if (!acquired) return acquired.error().code();
  sqlite3* db = *acquired;
  sqlite3_blob* blob = nullptr;
  int rc = sqlite3_blob_open(db, "main", "log", "body", static_cast<sqlite3_int64>(seq), 0, &blob);
  if (rc != SQLITE_OK) {
    release(db);
    // A missing row means compaction moved the record; anything else is an error.
    return (rc & 0xFF) == SQLITE_ERROR ? errc::not_found : map_rc(rc);
  }
  if (static_cast<std::uint64_t>(offset) + len >
      static_cast<std::uint64_t>(sqlite3_blob_bytes(blob))) {
    sqlite3_blob_close(blob);
    release(db);
    return errc::not_found; // the row was rewritten since the location was read
  }
  out.resize(len);
  rc = sqlite3_blob_read(blob, out.data(), static_cast<int>(len), static_cast<int>(offset));
  sqlite3_blob_close(blob);
  release(db);
  return rc == SQLITE_OK ? errc::ok : map_rc(rc);
}

} // namespace minivault::storage
