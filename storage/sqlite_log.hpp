#pragma once
// Thin RAII layer over SQLite for the log table. `sqlite_log` is the writer connection
// (one thread at a time: the engine's writer); `reader_pool` hands out read-only
// connections to any thread for cache misses. Every call that can fail returns a
// `status` (or `result<T>`): the errc plus the SQLite message; nothing throws.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errc.hpp"
#include "protocol/options.hpp"
#include "protocol/status.hpp"
#include "protocol/thread_annotations.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace minivault::storage {

struct sqlite_settings {
  std::string path;
  fsync_policy fsync = fsync_policy::none;
  std::uint32_t page_bytes = 16384;
  std::uint64_t pages_max = 0; // 0 = unlimited
  /// WAL bytes after which the writer checkpoints by itself (0 = SQLite's default of
  /// 1000 pages). With a wal_checkpointer running elsewhere this is only a safety net
  /// (see engine_options). Converted with the file's actual page size.
  std::uint64_t autocheckpoint_bytes = 0;
  /// WAL file size kept after the WAL starts over (journal_size_limit); -1 = keep it
  /// whole. Truncating is done by the writer and costs it tens of milliseconds.
  std::int64_t wal_keep_bytes = 64 << 20;
};

/// The PRAGMA matching a fsync policy, for every connection that writes or checkpoints.
[[nodiscard]] const char* synchronous_pragma(fsync_policy p);

/// The size of the file at `path` in bytes; 0 when it is missing (a WAL not yet made).
[[nodiscard]] std::uint64_t file_bytes(const std::string& path);

class sqlite_log {
public:
  /// Opens or creates the database, applies the pragmas (WAL, synchronous per policy)
  /// and creates the schema. The error's reason names the file.
  [[nodiscard]] static result<std::unique_ptr<sqlite_log>> open(const sqlite_settings& s);
  ~sqlite_log();
  sqlite_log(const sqlite_log&) = delete;
  sqlite_log& operator=(const sqlite_log&) = delete;

  [[nodiscard]] status begin();
  [[nodiscard]] status commit();
  void rollback() noexcept;
  /// Runs `body` (returning a status) between `begin` and `commit`; when any of the
  /// three fails, rolls back and returns that failure.
  template <class F> [[nodiscard]] status transaction(F&& body) {
    status st = begin();
    if (st) st = body();
    if (st) st = commit();
    if (!st) rollback();
    return st;
  }

  [[nodiscard]] status insert_row(std::uint64_t seq, std::string_view body);
  [[nodiscard]] status update_row(std::uint64_t seq, std::string_view body);
  [[nodiscard]] status delete_row(std::uint64_t seq);
  /// The row's body; `not_found` when there is no such row.
  [[nodiscard]] result<std::string> read_row(std::uint64_t seq);
  /// Copies a damaged row aside (table `quarantine`) before it is cut.
  [[nodiscard]] status quarantine_row(std::uint64_t seq, std::string_view body);

  /// Calls `fn(seq, body)` for every log row in seq order; `fn` returns false to stop.
  [[nodiscard]] status scan(const std::function<bool(std::uint64_t, std::string_view)>& fn);

  /// The value stored under `key`; an empty optional when there is none.
  [[nodiscard]] result<std::optional<std::string>> meta_get(const std::string& key);
  [[nodiscard]] status meta_put(const std::string& key, const std::string& value);

  /// fdatasync of the WAL file: makes every committed transaction power-loss safe.
  /// Thread-safe (the writer under policy `always`, the sync actor under `interval`).
  [[nodiscard]] status sync_wal();

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// The database's page size (an existing file keeps the one it was created with).
  [[nodiscard]] std::uint32_t page_bytes() const noexcept { return page_bytes_; }

private:
  sqlite_log() = default;
  /// The status of a failed call: `rc` mapped to an errc, with the connection's message.
  [[nodiscard]] status fail(int rc) const;
  /// The name of a table that is not minivault's, or "" (none, or unreadable).
  std::string foreign_table();
  [[nodiscard]] status exec(const char* sql);
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  // Prepared once: parsing "BEGIN IMMEDIATE" and "COMMIT" anew for every transaction was
  // 1-3% of a replica's CPU (sqlite3RunParser).
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  /// Steps a prepared statement that returns no rows, then resets it.
  [[nodiscard]] status run(sqlite3_stmt* st);
  std::string path_;
  std::uint32_t page_bytes_ = 4096;
  minivault::mutex wal_mutex_;
  int wal_fd_ MV_GUARDED_BY(wal_mutex_) = -1;
};

/// A connection of its own that copies the WAL back into the database file from another
/// thread, so the writer never pays for checkpoints (reading the WAL, writing the
/// database, and the fsyncs around both). Thread-safe: calls are serialised.
class wal_checkpointer {
public:
  wal_checkpointer(std::string path, fsync_policy fsync) : path_(std::move(path)), fsync_(fsync) {}
  ~wal_checkpointer();
  wal_checkpointer(const wal_checkpointer&) = delete;
  wal_checkpointer& operator=(const wal_checkpointer&) = delete;

  struct outcome {
    int wal_frames = 0; // frames in the WAL when the checkpoint ran
    int backfilled = 0; // of which now copied into the database
  };
  /// passive (`restart == false`): copies what it can without waiting for anyone; a
  /// writer appending meanwhile is not slowed. restart: waits briefly for the writer's
  /// current transaction, then holds writers off while it copies the rest and syncs,
  /// and makes the next write start the WAL from its beginning (bounding its size under
  /// endless writes, which passive alone cannot). SQLITE_BUSY counts as ok (try later).
  [[nodiscard]] result<outcome> run(bool restart);

private:
  std::string path_;
  fsync_policy fsync_;
  minivault::mutex mutex_;
  sqlite3* db_ MV_GUARDED_BY(mutex_) = nullptr; // opened on first use
};

/// Read-only connections for cache misses, shared by all reader threads. Thread-safe.
/// Each read opens the row as an incremental blob and closes it at once, so no reader
/// pins a WAL snapshot (which would stop checkpoints from recycling the WAL).
class reader_pool {
public:
  explicit reader_pool(std::string path) : path_(std::move(path)) {}
  ~reader_pool();
  /// Reads `len` bytes at `offset` of row `seq`. `not_found` when the row is gone
  /// (compaction moved it: the caller looks the key up again).
  [[nodiscard]] errc read_range(std::uint64_t seq, std::uint32_t offset, std::uint32_t len,
                                std::string& out);

private:
  [[nodiscard]] result<sqlite3*> acquire();
  void release(sqlite3* db);
  std::string path_;
  minivault::mutex mutex_;
  std::vector<sqlite3*> idle_ MV_GUARDED_BY(mutex_);
};

} // namespace minivault::storage
