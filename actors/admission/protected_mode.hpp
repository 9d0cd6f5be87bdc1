#pragma once
// Protected mode, after Redis's: a node started with no -auth and no explicit -bind
// listens on every interface (the default 0.0.0.0) but serves client connections, binary
// and HTTP alike, only from loopback (127.0.0.0/8). Everyone else gets one error reply
// saying why (`protected_mode_refusal`) and the connection closes. -auth KEY, -bind ADDR
// or -protected-mode no turn it off.
//
// It applies to clustered nodes too, and then covers the cluster port as well (published
// on 127.0.0.1 only): without -auth that port would take any peer. So nodes on different
// hosts need -auth (recommended: peers then prove the key) or an explicit -bind; until
// then they cannot reach each other, and the log says why. A clustered node that is not
// protected but has no -auth gets a warning (protected_mode_notice).
//
// Pure functions: the I/O threads call client_allowed() on every accept; the node logs
// protected_mode_notice() at start.
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/options.hpp"

namespace minivault {

/// The reason a refused client reads (binary error payload, HTTP 403 error text).
inline constexpr std::string_view protected_mode_refusal =
    "protected mode: this node has no -auth and no -bind, so it serves loopback clients only; "
    "start it with -auth KEY, -bind ADDR or -protected-mode no";

/// True when client (and peer) connections are restricted to loopback: -protected-mode
/// yes (the default), and neither -auth nor -bind was given.
[[nodiscard]] bool protected_mode_active(const node_options& o) noexcept;

/// True when a client at IPv4 address `ipv4` (host byte order) may be served.
[[nodiscard]] bool client_allowed(bool protected_active, std::uint32_t ipv4) noexcept;

/// The warning the node logs at start: protected mode is on, or a clustered node has no
/// -auth ("" otherwise).
[[nodiscard]] std::string protected_mode_notice(const node_options& o);

} // namespace minivault
