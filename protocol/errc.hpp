#pragma once
// The single error-code enum of minivault. Every fallible call returns one of these
// (inside an `outcome`, `caf::error` or a wire error reply); a missing key is `not_found`,
// a normal result rather than a failure.
#include <cstdint>
#include <iterator>
#include <string_view>

#include "protocol/enum_names.hpp"

namespace minivault {

enum class errc : std::uint8_t {
  ok = 0,
  not_found,       // key absent (or deleted)
  bad_request,     // parseable but invalid request (empty key, bad flag)
  bad_frame,       // unparseable frame or unknown opcode: the connection closes
  too_large,       // a claimed or decompressed size over its limit
  bad_compression, // the zstd frame could not be decoded
  unauthorized,    // auth required and missing/wrong
  rate_limited,    // over the configured rate
  overloaded,      // a bounded queue is full
  io_error,        // the disk refused (full, read-only, I/O error)
  corrupt,         // a checksum did not match
  shutting_down,   // the node is stopping
  no_quorum,       // fewer replicas than the write quorum are reachable
  timeout,         // a replica or the store did not answer in time
  config_error,    // a configuration value was refused
};

/// Short, stable, lower-case text for wire error replies and logs (protocol/README.md §2),
/// in the order of the enumerators.
inline constexpr std::string_view errc_names[] = {
    "ok",           "not found",    "bad request",  "bad frame", "too large", "bad compression",
    "unauthorized", "rate limited", "overloaded",   "io error",  "corrupt",   "shutting down",
    "no quorum",    "timeout",      "config error",
};
static_assert(std::size(errc_names) == static_cast<std::size_t>(errc::config_error) + 1);

[[nodiscard]] constexpr std::string_view to_string(errc e) noexcept {
  return enum_name(e, errc_names, std::string_view("unknown error"));
}

} // namespace minivault
