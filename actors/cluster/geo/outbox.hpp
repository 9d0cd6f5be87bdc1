#pragma once
// The outbox: writes this replica committed that another region has not acknowledged
// yet (shipping: README.md here). One entry per (remote region, key): a newer write of a
// key replaces the older entry, since only the newest version needs to cross the WAN
// (the value itself is read from the engine when the entry is shipped). Durable in
// `<data>/outbox.db` (SQLite, WAL): entries survive the process being killed and are
// shipped after the restart. Not thread-safe: owned by the shipper actor.
//
// Per region, entries wait in two queues, oldest first: those of partitions this node
// leads (shipped at once) and the others (their leader ships them and says so; they are
// shipped from here only once old enough that the leader evidently did not). An entry
// being shipped is in neither queue until shipped() or unshipped().
#include <sqlite3.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/errc.hpp"
#include "protocol/status.hpp"
#include "storage/version.hpp"

namespace minivault {

/// Entries kept at most, all regions together (each costs an index entry in memory).
inline constexpr std::size_t outbox_rows_max_default = 1u << 20;
/// Keys per region whose shipped version is remembered, so a write that reaches this
/// replica after its leader shipped it is not queued again.
inline constexpr std::size_t outbox_recent_max = 1u << 16;

class outbox {
public:
  /// One committed write to keep for every remote region.
  struct write {
    std::string_view key;
    std::uint32_t partition = 0;
    storage::version ver;
    std::uint32_t bytes = 0; // key and value size: what the backlog holds
  };
  /// An entry taken for shipping.
  struct entry {
    std::string key;
    storage::version ver;
    std::uint64_t seq = 0;      // which queuing of the key this is
    std::uint64_t added_ms = 0; // wall time it was committed here
  };
  using shipped_list = std::vector<std::pair<std::string, storage::version>>;

  /// Opens (or creates) the outbox at `path`. `regions[r]` names remote region r
  /// (placement's index; [0], this node's region, is unused). Rows of regions no longer
  /// configured are deleted. Errors: io_error, naming the file.
  [[nodiscard]] static result<std::unique_ptr<outbox>>
  open(const std::string& path, std::vector<std::string> regions, std::size_t rows_max);
  ~outbox();
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;

  /// A write not kept for a region: that region's anti-entropy must repair its partition.
  struct overflow {
    std::size_t region = 0;
    std::uint32_t partition = 0;
  };
  /// Keeps `writes` for every remote region, in one transaction. A write no newer than
  /// the entry of its key, or than what was shipped of it lately, is skipped. Past
  /// rows_max a write is not kept: appended to `dropped` (the shipper marks its
  /// partition for repair, repair_marks.hpp). Errors: io_error (nothing is kept then).
  [[nodiscard]] errc add(const std::vector<write>& writes, std::uint64_t now_ms,
                         std::vector<overflow>& dropped);

  /// Takes entries of region `r` to ship, oldest first, until `rows_max` or `bytes_max`:
  /// first those of partitions this node leads, then the others committed at or before
  /// `follow_before_ms` (0: none of them). With more than `rows_max` of the first kind
  /// waiting, a quarter of the batch are the newest of them (live writes are not queued
  /// behind a catch-up).
  void take(std::size_t r, std::size_t rows_max, std::size_t bytes_max,
            std::uint64_t follow_before_ms, std::vector<entry>& out);
  /// Region `r` holds these versions (or newer) durably: entries at or below them leave,
  /// also from the database. Errors: io_error (they stay in the database: shipped again
  /// after a restart, which is harmless).
  [[nodiscard]] errc shipped(std::size_t r, const shipped_list& done);
  /// Taken entries that did not get through wait again, where no newer write replaced them.
  void unshipped(std::size_t r, const std::vector<entry>& batch);
  /// Which partitions (by index) this node leads from now on.
  void set_leading(std::vector<bool> leading);

  [[nodiscard]] std::size_t rows(std::size_t r) const { return regions_[r].by_key.size(); }
  [[nodiscard]] std::uint64_t bytes(std::size_t r) const { return regions_[r].bytes; }
  /// Wall time the oldest entry of region `r` was committed (0: none).
  [[nodiscard]] std::uint64_t oldest_ms(std::size_t r) const;
  [[nodiscard]] std::size_t regions() const noexcept { return regions_.size(); }

private:
  struct item {
    std::uint32_t partition = 0;
    storage::version ver;
    std::uint64_t added_ms = 0;
    std::uint32_t bytes = 0;
    std::uint64_t seq = 0;
    bool flying = false; // taken, not yet shipped or returned
  };
  struct region_queue {
    std::string name;
    std::unordered_map<std::string, item> by_key;
    std::map<std::uint64_t, std::string> lead, follow, flying; // seq -> key
    std::uint64_t bytes = 0;
    std::unordered_map<std::string, storage::version> recent; // shipped lately
    std::deque<std::string> recent_order;
  };

  outbox() = default;
  [[nodiscard]] bool leads(std::uint32_t partition) const {
    return partition < leading_.size() && leading_[partition];
  }
  void enqueue(region_queue& q, const std::string& key, const item& it);
  void forget(region_queue& q, std::unordered_map<std::string, item>::iterator it);
  void remember_shipped(region_queue& q, const std::string& key, storage::version v);
  [[nodiscard]] bool exec(const char* sql);
  [[nodiscard]] bool store(const std::string& region, const std::string& key, const item& it);
  [[nodiscard]] bool erase(const std::string& region, const std::string& key);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  std::vector<region_queue> regions_;
  std::vector<bool> leading_;
  std::size_t rows_max_ = 0;
  std::size_t total_rows_ = 0;
  std::uint64_t next_seq_ = 1;
};

} // namespace minivault
