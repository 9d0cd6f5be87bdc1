#pragma once
// The two request/reply codecs the load generator speaks, so the *same* client drives
// minivault (binary protocol, protocol/README.md §1) and Redis (RESP2). Encoding appends
// to a buffer; decoding parses one reply from the front of a byte range. No I/O, no
// allocation beyond the caller's buffer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace minivault::bench {

enum class wire_protocol : std::uint8_t { minivault, resp };

enum class reply_kind : std::uint8_t {
  ok,    // success (a GET hit, +OK, ...)
  miss,  // GET of a missing key (minivault "not found", RESP nil bulk)
  error, // an error reply (minivault 0xFF, RESP '-')
};

struct decoded_reply {
  enum class state : std::uint8_t { complete, need_more, invalid } st = state::need_more;
  std::size_t consumed = 0;
  reply_kind kind = reply_kind::ok;
  std::string_view payload; // value, or error text
};

void encode_get(wire_protocol p, std::string& out, std::string_view key);
void encode_set(wire_protocol p, std::string& out, std::string_view key, std::string_view value);
void encode_auth(wire_protocol p, std::string& out, std::string_view secret);

/// Parses one reply; payloads over `payload_bytes_max` are `invalid`.
[[nodiscard]] decoded_reply decode_reply(wire_protocol p, const char* data, std::size_t len,
                                         std::size_t payload_bytes_max) noexcept;

} // namespace minivault::bench
