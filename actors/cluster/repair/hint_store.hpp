#pragma once
// Durable hints for hinted handoff: versioned write batches that a peer missed, kept in
// `<data>/hints.db` (SQLite, WAL; survives the process being killed) until the peer has
// them. Not thread-safe: owned by the handoff actor.
//
// Bounded: at most `bytes_max` of hints in total. Past that a new hint is refused and the
// peer catches up through anti-entropy instead (slower, but nothing is lost: every hint
// is also in this node's own store, or in the quorum that acknowledged it).
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errc.hpp"

namespace minivault {

/// At most this many hints are kept, whatever their bytes (each costs an index entry).
inline constexpr std::size_t hint_rows_max = 1u << 20;

class hint_store {
public:
  struct hint {
    std::int64_t id = 0;
    std::uint32_t count = 0;
    std::string ops; // packed versioned writes (batch_codec.hpp)
  };

  /// Opens (or creates) the store at `path`. nullptr with `error` set on failure.
  [[nodiscard]] static std::unique_ptr<hint_store>
  open(const std::string& path, std::uint64_t bytes_max, std::string& error);
  ~hint_store();
  hint_store(const hint_store&) = delete;
  hint_store& operator=(const hint_store&) = delete;

  /// Stores a hint for `peer`. too_large/overloaded when over the bound, io_error when
  /// SQLite refused.
  [[nodiscard]] errc add(const std::string& peer, std::string_view ops, std::uint32_t count);
  /// The oldest hints of `peer`, up to about `bytes_max` (at least one if any).
  [[nodiscard]] errc oldest(const std::string& peer, std::size_t bytes_max, std::vector<hint>& out);
  /// Removes delivered hints.
  [[nodiscard]] errc remove(const std::vector<std::int64_t>& ids);

  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::uint64_t count(const std::string& peer) const;
  [[nodiscard]] std::uint64_t total() const noexcept;

private:
  hint_store() = default;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  std::uint64_t bytes_max_ = 0;
  std::uint64_t bytes_ = 0;
  std::map<std::string, std::uint64_t> counts_;                       // hints per peer
  std::map<std::int64_t, std::pair<std::string, std::size_t>> sizes_; // id -> (peer, bytes)
};

} // namespace minivault
