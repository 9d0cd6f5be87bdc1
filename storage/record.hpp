#pragma once
// The log record codec. A log row's body is a sequence of records:
//   [crc32c:u32][flags:u8][key_len:u16][stored_len:u32][hlc:u64][node:u32][key][stored value]
// little-endian; the crc covers every byte after it. flags: bit0 tombstone, bit1 the
// stored value is a zstd frame. Decoding checks bounds and the checksum of each record.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/version.hpp"

namespace minivault::storage {

inline constexpr std::size_t record_header_bytes = 23;
inline constexpr std::uint8_t flag_tombstone = 0x01;
inline constexpr std::uint8_t flag_zstd = 0x02;

struct record_view {
  std::string_view key;
  std::string_view stored; // as stored: compressed when `flags & flag_zstd`
  version ver;
  std::uint8_t flags = 0;
  [[nodiscard]] bool tombstone() const noexcept { return flags & flag_tombstone; }
  [[nodiscard]] bool compressed() const noexcept { return flags & flag_zstd; }
};

/// Appends one record to `out`; returns its encoded size.
std::size_t encode_record(std::string& out, std::string_view key, std::string_view stored,
                          const version& ver, std::uint8_t flags);

enum class decode_state : std::uint8_t { ok, end, corrupt };

/// Decodes the record at `offset` of `body`; on ok sets `rec` and advances `offset`.
/// `end` when offset == body.size(); `corrupt` for a short, oversized or bad-checksum
/// record (the caller cuts the row there).
[[nodiscard]] decode_state decode_record(std::string_view body, std::size_t& offset,
                                         record_view& rec) noexcept;

} // namespace minivault::storage
