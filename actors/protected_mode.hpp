#pragma once
// Protected mode, after Redis's: a node started with no -auth and no explicit -bind
// listens on every interface (the default 0.0.0.0) but serves client connections, binary
// and HTTP alike, only from loopback (127.0.0.0/8). Everyone else gets one error reply
// saying why (`protected_mode_refusal`) and the connection closes. -auth KEY, -bind ADDR
// or -protected-mode no turn it off.
//
// It applies to single nodes. A node given peers (-cluster-nodes / CLUSTER_NODES) was
// pointed at the network by its operator, and its peers must reach its client port (they
// learn its cluster port by asking it for HEALTH); guarding only that port would not
// protect it either, since without -auth its cluster port takes any peer. Such a node
// logs a warning instead (protected_mode_notice).
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

/// True when client connections are restricted to loopback: -protected-mode yes (the
/// default), no peers, and neither -auth nor -bind was given.
[[nodiscard]] bool protected_mode_active(const node_options& o) noexcept;

/// True when a client at IPv4 address `ipv4` (host byte order) may be served.
[[nodiscard]] bool client_allowed(bool protected_active, std::uint32_t ipv4) noexcept;

/// The warning the node logs at start: protected mode is on, or a clustered node has no
/// -auth ("" otherwise).
[[nodiscard]] std::string protected_mode_notice(const node_options& o);

} // namespace minivault
