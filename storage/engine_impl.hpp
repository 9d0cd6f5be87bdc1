#pragma once
// Private to the storage library: the engine's state, shared by engine.cpp (housekeeping,
// stats), engine_open.cpp (open, replay), engine_write.cpp (apply), engine_read.cpp (get)
// and compaction.cpp. Writer-only members are marked; everything a reader touches is
// either the table (shard locks) or an atomic.
#include <zstd.h>

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "storage/dir_lock.hpp"
#include "storage/engine.hpp"
#include "storage/partition.hpp"
#include "storage/record.hpp"
#include "storage/sqlite_log.hpp"
#include "storage/table.hpp"

namespace minivault::storage {

/// The meta table's key for the index size the open sizes the index from.
inline constexpr const char* index_entries_meta_key = "index_entries";

/// Bookkeeping for one log row: how many of its bytes the index still points at.
struct row_info {
  std::uint32_t total = 0; // 0 = no such row (deleted or never written)
  std::uint32_t live = 0;
};

/// A record ready to be written: where its bytes come from and where they will land.
struct pending_record {
  std::string_view key;
  std::string_view stored;
  version ver;
  std::uint8_t flags = 0;
  location loc; // filled by `layout_rows`
};

struct engine::impl {
  engine_options opts;
  std::unique_ptr<dir_lock> lock;                 // released last (members die in reverse order)
  std::unique_ptr<sqlite_log> log;                // writer only
  std::unique_ptr<reader_pool> readers;           // any thread
  std::unique_ptr<wal_checkpointer> checkpointer; // any thread (serialised inside)
  table tbl;
  hlc_clock clock;                            // writer only
  std::uint64_t next_seq = 1;                 // writer only
  std::deque<row_info> rows;                  // writer only; rows[i] is seq rows_base + i
  std::uint64_t rows_base = 1;                // writer only
  ZSTD_CCtx* cctx = nullptr;                  // writer only
  std::vector<std::string> bodies;            // writer scratch: row bodies (reused across commits)
  std::atomic<std::uint64_t> transactions{0}; // SQLite commits that succeeded (synced or not)
  std::size_t body_count = 0;                 // bodies[0, body_count) hold the current commit
  /// After a commit: drops buffers beyond a few, and any over two segments.
  void release_spare_bodies() noexcept;
  std::vector<std::string> compressed; // writer scratch: compressed values

  /// Per-partition digests (storage/partition.hpp). Written by the writer only (publish,
  /// tombstone drops), read by any thread.
  std::unique_ptr<std::atomic<std::uint64_t>[]> digests;
  void digest_add(std::uint64_t hash, const version& v, bool tombstone, bool remove) noexcept;
  /// The index size the meta table holds as `index_entries` (writer only): the open sizes
  /// the index from it before replaying, so that replay does not grow every shard a
  /// dozen times (growing re-hashes every key; it was a fifth of the open's CPU).
  std::uint64_t index_entries_stored = 0;
  /// Called inside a commit's transaction that adds up to `incoming` entries: stores the
  /// index size (an upper bound after the commit) when the stored one is more than 1/8
  /// too small or more than 1/4 too large, and sets `stored` to what the meta table
  /// then holds (for `index_entries_stored`, once the transaction has committed).
  [[nodiscard]] status note_index_entries(std::size_t incoming, std::uint64_t& stored);
  std::atomic<std::uint64_t> tombstone_horizon_ms{~std::uint64_t{0}};
  std::atomic<std::uint64_t> keys{0}, tombstones{0}, log_bytes{0}, live_bytes{0}, log_rows{0},
      commits{0}, writes_committed{0}, corrupt_cut{0}, commit_failures{0};

  impl(const engine_options& o, std::uint32_t node)
      : opts(o), tbl(256, o.cache_bytes_max), clock(node),
        digests(new std::atomic<std::uint64_t>[partition_count]) {
    for (std::uint32_t p = 0; p < partition_count; ++p)
      digests[p].store(0, std::memory_order_relaxed);
  }
  ~impl() { ZSTD_freeCCtx(cctx); }

  row_info* row(std::uint64_t seq);
  void add_row(std::uint64_t seq, std::uint32_t total);
  void forget_row(std::uint64_t seq);

  /// Assigns each record a row (new seqs from `next_seq`) and offset, encoding the row
  /// bodies into `bodies`. Rows close at `segment_bytes_target`.
  void layout_rows(std::vector<pending_record>& recs);
  /// Stores the value as a zstd frame when it is large enough and compression pays.
  /// `compressed` must have capacity for one more entry.
  void maybe_compress(pending_record& r);
  /// Lays `recs` out into rows and inserts them in one transaction; on success records
  /// the new rows and advances `next_seq`. On failure nothing changed (rolled back).
  /// The caller publishes the records afterwards (their `loc` is set).
  [[nodiscard]] status write_rows(std::vector<pending_record>& recs);

  /// Makes a committed record visible: updates the index entry if `ver` is newer and
  /// keeps row/live accounting. `value` is the plain value (nullptr: do not cache).
  void publish(std::string_view key, std::uint64_t hash, const version& ver, const location& loc,
               bool tombstone, const std::string_view* value, bool replay);

  /// Calls `visit(i)` for every i of `hashes` in order, prefetching the index slots 16
  /// and the entries 8 positions ahead, so the cache misses of random keys overlap
  /// instead of queueing. Only on the writer's thread (or while opening).
  template <class Visit>
  void visit_prefetched(const std::vector<std::uint64_t>& hashes, Visit&& visit) {
    constexpr std::size_t slot_ahead = 16, entry_ahead = 8;
    const std::size_t n = hashes.size();
    for (std::size_t i = 0; i < n && i < slot_ahead; ++i)
      tbl.shard_for(hashes[i]).prefetch_slot(hashes[i]);
    for (std::size_t i = 0; i < n; ++i) {
      if (i + slot_ahead < n)
        tbl.shard_for(hashes[i + slot_ahead]).prefetch_slot(hashes[i + slot_ahead]);
      if (i + entry_ahead < n)
        tbl.shard_for(hashes[i + entry_ahead]).prefetch_entry(hashes[i + entry_ahead]);
      visit(i);
    }
  }

  /// The version the index holds for `key` (of hash `hash`), or hlc 0.
  [[nodiscard]] version stored_version(std::uint64_t hash, std::string_view key);

  [[nodiscard]] status replay();
  void cut_row(std::uint64_t seq, std::string_view body, std::size_t keep_bytes);
};

/// Decompresses a stored zstd value, bounded by `max_bytes`. Readers pass the ceiling
/// of the value limit, not the current limit: a value stored under a larger limit stays
/// readable after the limit is lowered.
[[nodiscard]] errc decompress_value(std::string_view stored, std::size_t max_bytes,
                                    std::string& out);

} // namespace minivault::storage
