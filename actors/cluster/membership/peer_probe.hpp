#pragma once
// A peer's identity, asked over its client port: a HEALTH request (always open, never
// rate limited) whose JSON carries node_id, region and cluster_port. This is the "hello"
// that finds a peer's cluster endpoint from the client address CLUSTER_NODES lists, and
// it doubles as the TCP probe that keeps a dead or black-holed address from ever
// reaching CAF's middleman (whose connect blocks, one at a time). It speaks through the
// C++ client library (client/), over IPv4 as the nodes listen.
#include <chrono>
#include <cstdint>
#include <string>

#include "protocol/options.hpp"
#include "protocol/status.hpp"

namespace minivault {

struct peer_identity {
  std::string node_id;
  std::string region;
  std::uint16_t cluster_port = 0;
};

/// The largest HEALTH answer a probe reads; a longer one fails the probe.
inline constexpr std::size_t probe_health_bytes_max = std::size_t{1} << 20;

/// Blocking: connects to the peer's client port, asks HEALTH once, then checks that the
/// cluster port it names accepts a connection; all of it bounded by `timeout` as a
/// whole (name resolution excepted). The peer's identity, or why not:
/// - timeout: no connection or no complete answer in time;
/// - io_error: unresolvable, refused or unreachable, the connection broke, or the
///   cluster port does not accept connections;
/// - bad_frame: HEALTH refused, or its answer unparseable or over probe_health_bytes_max;
/// - config_error: the answer is not a clustered node's health (no valid cluster_port).
[[nodiscard]] result<peer_identity> probe_peer(const peer_address& address,
                                               std::chrono::milliseconds timeout);

} // namespace minivault
