#pragma once
// The single error-code enum of minivault. Every fallible call returns one of these
// (inside an `outcome`, `caf::error` or a wire error reply); a missing key is `not_found`,
// a normal result rather than a failure.
#include <cstdint>
#include <string_view>

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

/// Short, stable, lower-case text for wire error replies and logs.
[[nodiscard]] constexpr std::string_view to_string(errc e) noexcept {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::not_found:
    return "not found";
  case errc::bad_request:
    return "bad request";
  case errc::bad_frame:
    return "bad frame";
  case errc::too_large:
    return "too large";
  case errc::bad_compression:
    return "bad compression";
  case errc::unauthorized:
    return "unauthorized";
  case errc::rate_limited:
    return "rate limited";
  case errc::overloaded:
    return "overloaded";
  case errc::io_error:
    return "io error";
  case errc::corrupt:
    return "corrupt";
  case errc::shutting_down:
    return "shutting down";
  case errc::no_quorum:
    return "no quorum";
  case errc::timeout:
    return "timeout";
  case errc::config_error:
    return "config error";
  }
  return "unknown error";
}

} // namespace minivault
