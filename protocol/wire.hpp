#pragma once
// Binary protocol framing (protocol/README.md §1): incremental request parsing for the
// server and reply parsing for clients. Pure functions over byte ranges; no I/O, no
// allocation except where a function appends to a caller's buffer. All integers
// little-endian.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/errc.hpp"

namespace minivault::wire {

/// `qget` (0x07, minivault's addition): a GET answered by a read quorum of the key's
/// replicas (newest version wins; stale replicas are repaired). Same frame as GET.
/// `consistency` (0x08): the key field names a level (protocol/consistency.hpp) for the
/// connection's later SET, DELETE and QGET; replied like AUTH, an unknown level with an
/// error while the connection stays open.
enum class opcode : std::uint8_t {
  get = 0x01,
  set = 0x02,
  del = 0x03,
  health = 0x05,
  auth = 0x06,
  qget = 0x07,
  consistency = 0x08,
};

inline constexpr std::uint8_t status_ok = 0x00;
inline constexpr std::uint8_t status_error = 0xFF;

/// Sizes of the fixed parts of frames.
inline constexpr std::size_t request_header_bytes = 3;   // op + keylen
inline constexpr std::size_t set_value_header_bytes = 5; // vallen + compressed
inline constexpr std::size_t reply_header_bytes = 5;     // status + len

/// One parsed request; views point into the caller's buffer and live as long as it.
struct request {
  opcode op = opcode::get;
  std::string_view key;
  std::string_view value;  // SET only
  bool compressed = false; // SET only
};

enum class parse_state : std::uint8_t {
  complete,  // `req` is valid, `consumed` bytes form the frame
  need_more, // the frame is incomplete; `frame_bytes` is its full size once known, else 0
  invalid,   // the stream cannot be parsed further: reply `error` and close
};

struct parse_result {
  parse_state state = parse_state::need_more;
  std::size_t consumed = 0;
  std::size_t frame_bytes = 0;
  request req;
  errc error = errc::ok;
};

/// Parses the first request in [data, data+len). A claimed value length above
/// `value_bytes_max` is `invalid`/`too_large` before any of the value is read, so a
/// caller never buffers (or allocates) a claimed size over the limit. An empty key is
/// parsed as `complete`; the caller decides that it is a bad request.
[[nodiscard]] parse_result parse_request(const char* data, std::size_t len,
                                         std::size_t value_bytes_max) noexcept;

/// Appends a reply frame `[status][len:u32][payload]`.
void append_reply(std::string& out, std::uint8_t status, std::string_view payload = {});
/// Appends an error reply whose payload is `to_string(e)`.
void append_error(std::string& out, errc e);

// -- client side ------------------------------------------------------------------------

/// Appends one request frame. `value`/`compressed` only matter for SET.
void append_request(std::string& out, opcode op, std::string_view key, std::string_view value = {},
                    bool compressed = false);

struct reply {
  std::uint8_t status = status_error;
  std::string_view payload;
};

struct reply_result {
  parse_state state = parse_state::need_more;
  std::size_t consumed = 0;
  reply rep;
  errc error = errc::ok;
};

/// Parses the first reply in [data, data+len); a payload over `payload_bytes_max` is
/// `invalid`/`too_large`.
[[nodiscard]] reply_result parse_reply(const char* data, std::size_t len,
                                       std::size_t payload_bytes_max) noexcept;

// -- little-endian helpers --------------------------------------------------------------
[[nodiscard]] inline std::uint16_t load_u16(const char* p) noexcept {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>(b[0] | (b[1] << 8));
}
[[nodiscard]] inline std::uint32_t load_u32(const char* p) noexcept {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint32_t>(b[0]) | (static_cast<std::uint32_t>(b[1]) << 8) |
         (static_cast<std::uint32_t>(b[2]) << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
}
[[nodiscard]] inline std::uint64_t load_u64(const char* p) noexcept {
  return static_cast<std::uint64_t>(load_u32(p)) |
         (static_cast<std::uint64_t>(load_u32(p + 4)) << 32);
}
inline void store_u16(char* p, std::uint16_t v) noexcept {
  p[0] = static_cast<char>(v & 0xFF);
  p[1] = static_cast<char>(v >> 8);
}
inline void store_u32(char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
inline void store_u64(char* p, std::uint64_t v) noexcept {
  store_u32(p, static_cast<std::uint32_t>(v));
  store_u32(p + 4, static_cast<std::uint32_t>(v >> 32));
}

} // namespace minivault::wire
