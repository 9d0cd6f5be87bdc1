#pragma once
// A peer's identity, asked over its client port: a HEALTH request (always open, never
// rate limited) whose JSON carries node_id, region and cluster_port. This is the "hello"
// that finds a peer's cluster endpoint from the client address CLUSTER_NODES lists, and
// it doubles as the TCP probe that keeps a dead or black-holed address from ever
// reaching CAF's middleman (whose connect blocks, one at a time).
#include <chrono>
#include <cstdint>
#include <string>

#include "protocol/options.hpp"

namespace minivault {

struct peer_identity {
  std::string node_id;
  std::string region;
  std::uint16_t cluster_port = 0;
};

/// Blocking, bounded by `timeout` as a whole (name resolution excepted). False with
/// `error` set when the peer cannot be reached or its answer is not a node's health.
[[nodiscard]] bool probe_peer(const peer_address& address, std::chrono::milliseconds timeout,
                              peer_identity& out, std::string& error);

} // namespace minivault
