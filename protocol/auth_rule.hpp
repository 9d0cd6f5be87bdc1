#pragma once
// The auth rule of both client protocols (protocol/README.md §6), in one place: the binary
// protocol's I/O path and the HTTP codec both ask it, so they cannot disagree.
#include <cstdint>

#include "protocol/options.hpp"

namespace minivault {

/// What a request does, as far as auth is concerned.
enum class access : std::uint8_t {
  open,  // health, and the binary AUTH request itself: never needs the key
  read,  // GET of a key, GET /metrics
  write, // SET/PUT/POST, DELETE (and any other HTTP method)
};

/// Whether a request of class `a` must carry the node's key. A node without a key (or
/// with -auth none) never asks for one; `writes` guards writes; `all` guards reads too.
[[nodiscard]] constexpr bool needs_credential(auth_mode mode, bool key_set, access a) noexcept {
  if (!key_set || a == access::open) return false;
  switch (mode) {
  case auth_mode::none:
    return false;
  case auth_mode::writes:
    return a == access::write;
  case auth_mode::all:
    return true;
  }
  return true;
}

} // namespace minivault
