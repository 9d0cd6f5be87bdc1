#pragma once
// Repair marks: partitions whose writes another region may lack beyond what shipping will
// deliver, because the outbox had no room for one of them (or could not store it).
// Cross-region anti-entropy (cluster/repair/) compares a marked partition with that region
// first, sends what the region lacks, and unmarks it once a comparison that began after
// its latest mark found both sides equal. So past the outbox's bound nothing is dropped
// silently: the writes stay in the engine and their partitions are repaired.
//
// Durable in `<data>/repair_marks.db` (SQLite, WAL; one row per marked region and
// partition): the marks survive a restart, while the writes they stand for were never in
// the outbox. Thread-safe: the shipper marks, anti-entropy reads and unmarks.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "protocol/status.hpp"

namespace minivault {

class repair_marks {
public:
  /// Opens (or creates) the marks at `path`. `regions[r]` names region r (placement's
  /// index; [0], this node's region, is never marked). Marks of regions no longer
  /// configured are deleted. Errors: io_error, naming the file.
  [[nodiscard]] static result<std::unique_ptr<repair_marks>> open(const std::string& path,
                                                                  std::vector<std::string> regions);
  ~repair_marks();
  repair_marks(const repair_marks&) = delete;
  repair_marks& operator=(const repair_marks&) = delete;

  /// Marks partitions `parts` for region `r` at wall time `now_ms` (a partition marked
  /// already gets the later time). Errors: io_error (the marks hold in memory until the
  /// process ends; the periodic comparison covers them after a restart).
  [[nodiscard]] errc mark(std::size_t r, const std::vector<std::uint32_t>& parts,
                          std::uint64_t now_ms);
  /// Unmarks those of `parts` marked for region `r` at or before `compared_ms` (the wall
  /// time a comparison that found them equal began). Errors: io_error (they stay marked
  /// on disk: compared again after a restart, which is harmless).
  [[nodiscard]] errc clear(std::size_t r, const std::vector<std::uint32_t>& parts,
                           std::uint64_t compared_ms);
  /// The partitions marked for region `r`, ascending.
  [[nodiscard]] std::vector<std::uint32_t> marked(std::size_t r) const;
  /// Is partition `p` marked for region `r`, its latest mark at or before `ms`?
  [[nodiscard]] bool marked_before(std::size_t r, std::uint32_t p, std::uint64_t ms) const;
  /// How many partitions are marked for region `r`.
  [[nodiscard]] std::size_t count(std::size_t r) const;
  [[nodiscard]] std::size_t regions() const noexcept { return regions_.size(); }

private:
  struct region_marks {
    std::string name;
    std::vector<std::uint64_t> marked_ms; // per partition; 0: not marked
    std::size_t count = 0;
  };

  repair_marks() = default;
  /// Inserts (or deletes) the rows of `parts` for `region` in one transaction.
  [[nodiscard]] bool write_rows(bool insert, const std::string& region,
                                const std::vector<std::uint32_t>& parts);
  [[nodiscard]] std::vector<std::uint32_t> marked_unlocked(std::size_t r) const;

  mutable std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  std::vector<region_marks> regions_;
};

} // namespace minivault
