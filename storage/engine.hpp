#pragma once
// The storage engine: SQLite is the store of record, organised as an append-only log
// table (one row per group-commit chunk, many checksummed records per row) with an
// in-memory index of every key and a bounded cache of values. See storage/README.md.
//
// Threading contract:
//  - Writer calls (`apply`, `compact_step`, `sync`, `maintenance`) come from one thread
//    at a time (whoever holds the node's writer role: an I/O thread or the storage
//    actor). They are not thread-safe against each other; nothing here is tied to one
//    thread (SQLite's multi-thread mode: a connection moves between threads, never
//    used by two at once).
//  - Reader calls (`get`, `contains`, `stats`) are safe from any thread, concurrently with
//    the writer. A reader sees a write only after the `apply` that carried it returned
//    (i.e. after it is durable), never a partial batch of one key.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errc.hpp"
#include "protocol/options.hpp"
#include "protocol/status.hpp"
#include "storage/version.hpp"

namespace minivault::storage {

struct engine_options {
  std::string dir;                          // created if missing
  std::size_t cache_bytes_max = 512u << 20; // bound on cached value bytes
  fsync_policy fsync = fsync_policy::none;
  std::size_t compress_bytes_min = 4096; // 0 disables compression at rest
  std::size_t value_bytes_max = 64u << 20;
  std::uint32_t node_id = 0; // 0 = load from dir, else generate
  // compaction: runs while the log holds more than `compact_log_bytes_min` and less than
  // `compact_live_ratio_min` of it is live data.
  std::uint64_t compact_log_bytes_min = 64u << 20;
  double compact_live_ratio_min = 0.5;
  std::uint64_t tombstone_grace_ms = 24ull * 3600 * 1000;
  std::uint32_t page_bytes = 16384; // SQLite page size for new files (measured best)
  std::uint64_t db_pages_max = 0;   // 0 = unlimited (tests simulate a full disk)
  /// true: someone calls `checkpoint` periodically from another thread (the node's sync
  /// actor), so the writer only checkpoints as a safety net once the WAL holds
  /// `wal_bytes_safety_max`. false: the writer checkpoints every ~1000 pages itself.
  bool background_checkpoints = false;
  std::uint64_t wal_bytes_safety_max = 1024u << 20;
};

/// One write handed to `apply`. Views must stay valid for the duration of the call.
struct write_op {
  std::string_view key;
  std::string_view value; // ignored for tombstones
  bool tombstone = false;
  version ver; // hlc == 0: a local write, the engine assigns a fresh version
};

struct engine_stats {
  std::uint64_t keys = 0; // live (non-deleted) keys
  std::uint64_t tombstones = 0;
  std::uint64_t index_slots = 0;    // the index's hash slots (8 bytes each), over all shards
  std::uint64_t index_rehashes = 0; // times a shard's slots were rebuilt (grown or reserved)
  std::uint64_t cache_items = 0;
  std::uint64_t cache_bytes = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t log_bytes = 0;  // record bytes in the log table
  std::uint64_t live_bytes = 0; // record bytes the index still points at
  std::uint64_t log_rows = 0;
  std::uint64_t storage_bytes = 0; // database + WAL files on disk
  std::uint64_t commits = 0;
  std::uint64_t writes_committed = 0;
  std::uint64_t corrupt_records_cut = 0; // records cut off at open (checksum failures)
  std::uint64_t commit_failures = 0;     // apply() calls that failed (disk full, I/O)
  std::uint32_t node_id = 0;
};

enum class get_status : std::uint8_t { found, not_found, error };

/// A non-owning callable `void(std::string_view)` (cheaper than std::function on the
/// read path). The callable must outlive the call it is passed to.
class value_sink {
public:
  template <class F>
  value_sink(F& f) noexcept // NOLINT: implicit by design
      : ctx_(&f), fn_([](void* c, std::string_view v) { (*static_cast<F*>(c))(v); }) {}
  void operator()(std::string_view v) const { fn_(ctx_, v); }

private:
  void* ctx_;
  void (*fn_)(void*, std::string_view);
};

class engine {
public:
  /// Opens (or creates) the store in `opts.dir` and rebuilds the index from the log.
  /// Corrupt records are cut off (counted in `corrupt_records_cut`), never fatal.
  /// Errors: `io_error` (directory, lock, SQLite I/O), `config_error` (a database that is
  /// not minivault's), `corrupt`; the reason names the file or the step that failed.
  [[nodiscard]] static result<std::unique_ptr<engine>> open(const engine_options& opts);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // -- writer side ----------------------------------------------------------------------

  /// Applies `n` writes in one transaction: assigns versions to local writes, skips
  /// replicated writes that lose against the stored version, commits (durable per the
  /// fsync policy once this returns ok), then makes them visible to readers.
  /// All-or-nothing: on error nothing is applied and the engine stays usable.
  /// `assigned`, when given, receives each op's resulting version (in order).
  /// Returns a bare errc (no reason): it is the per-write code clients receive, and
  /// this is the hot path.
  [[nodiscard]] errc apply(const write_op* ops, std::size_t n,
                           std::vector<version>* assigned = nullptr);

  /// Runs one bounded step of compaction (at most `budget_bytes` of old log) if the log
  /// needs it. The value: whether another step would still help.
  [[nodiscard]] result<bool> compact_step(std::size_t budget_bytes);

  // -- any thread (durability housekeeping, run off the writer's thread) -----------------

  /// Forces the log to stable storage (the sync actor calls this under policy
  /// `interval`; under `always`, `apply` syncs each commit itself before publishing).
  /// Thread-safe.
  [[nodiscard]] status sync();

  /// Copies the WAL back into the database file (see wal_checkpointer): passive, or
  /// restart to let the WAL start over. Thread-safe. A passive checkpoint never blocks
  /// the writer; a restart holds it off while it copies the rest and syncs (measured
  /// 15-50 ms under fsync policies that sync, sometimes 200 ms).
  /// The value: the pages the WAL held (since it last started over).
  [[nodiscard]] result<std::uint64_t> checkpoint(bool restart);
  [[nodiscard]] std::uint32_t page_bytes() const noexcept;

  /// Current size of the WAL file in bytes.
  [[nodiscard]] std::uint64_t wal_bytes() const;

  // -- reader side (any thread) ----------------------------------------------------------

  /// Looks `key` up and, when found, calls `on_value` with the value bytes. The view is
  /// valid only during the call (it may point into a locked cache entry: keep it short,
  /// do not call back into the engine).
  get_status get(std::string_view key, value_sink on_value);

  /// A hint before several lookups (pipelined GETs): starts loading the index slots,
  /// then the entries, of `keys[0..n)` (at most `prefetch_keys_max`), so they arrive
  /// from memory in parallel rather than one miss after another. Thread-safe; changes
  /// nothing.
  static constexpr std::size_t prefetch_keys_max = 32;
  void prefetch(const std::string_view* keys, std::size_t n) const noexcept;

  /// Convenience: copies the value into `out`.
  get_status get(std::string_view key, std::string& out);

  /// The stored version of `key` (tombstones included), or hlc == 0 when unknown.
  [[nodiscard]] version version_of(std::string_view key) const;

  /// Reads `key`'s record whatever it is: its version, whether it is a tombstone, and
  /// (live records only) its value. not_found: the engine holds no record of the key.
  get_status read_record(std::string_view key, std::string& value, version& ver, bool& tombstone);

  // -- replication support (any thread unless noted) --------------------------------------

  /// The highest hlc this engine has handed out or seen (replay included). Call before
  /// the writer starts, or from the writer.
  [[nodiscard]] std::uint64_t last_hlc() const noexcept;

  /// The digest of every partition (storage/partition.hpp), `partition_count` entries.
  /// Replicas holding the same versions of the same keys have equal digests.
  void partition_digests(std::vector<std::uint64_t>& out) const;

  struct key_version {
    std::string key;
    version ver;
    bool tombstone = false;
  };
  /// Appends the keys of partition `p` with their versions (tombstones included).
  void partition_keys(std::uint32_t p, std::vector<key_version>& out) const;

  /// Tombstones may be dropped (after their grace period) only if their version's
  /// physical time is below this horizon: the cluster raises it once every replica is
  /// known to hold everything written before it. Default: no limit (a single node).
  void set_tombstone_horizon_ms(std::uint64_t ms) noexcept;

  [[nodiscard]] engine_stats stats() const;
  /// Transactions committed so far (cheap: one atomic load).
  [[nodiscard]] std::uint64_t commit_count() const noexcept;
  /// SQLite transactions that committed, including ones whose sync then failed (under
  /// `always`): when `apply` fails but this moved, the writes reached the log and their
  /// outcome is unknown, so they must not be written again.
  [[nodiscard]] std::uint64_t transaction_count() const noexcept;
  [[nodiscard]] std::uint32_t node_id() const noexcept;
  /// The largest value `apply` accepts (engine_options::value_bytes_max).
  [[nodiscard]] std::size_t value_bytes_max() const noexcept;

  struct impl;

private:
  explicit engine(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace minivault::storage
