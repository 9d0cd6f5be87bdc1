#pragma once
// The health report of protocol/README.md §5.1 (same JSON on the binary protocol and GET /health).
#include <cstdint>
#include <string>

#include "actors/cluster/membership/peer_tracker.hpp"
#include "storage/engine.hpp"

namespace minivault {

/// One region of the cluster as health shows it (this node's first).
struct region_view {
  std::string name;
  std::size_t nodes = 0;
  std::size_t nodes_up = 0; // this node counts as up in its own region
  /// Other regions only (shipping, actors/cluster/geo/): what this node's outbox holds
  /// for the region, the age of its oldest entry, the last shipped write's lag.
  bool remote = false;
  std::uint64_t backlog_writes = 0;
  std::uint64_t oldest_unshipped_ms = 0; // age; 0: nothing waiting
  std::uint64_t lag_ms = 0;
};

struct health_inputs {
  std::string node_id;
  std::string region;
  std::uint64_t uptime_seconds = 0;
  storage::engine_stats storage;
  std::uint64_t connections = 0;
  // Cluster: only when the node has peers.
  std::uint16_t cluster_port = 0; // 0 = no cluster
  std::vector<peer_view> peers;
  std::vector<region_view> regions;
  bool all_peers_up = true;
  bool write_quorum_reachable = true; // false: fewer nodes of this region up than its quorum
};

/// Renders the health JSON object: `healthy`; `degraded` while a peer is not up;
/// `no_quorum` while too few replicas are reachable for a write quorum.
/// `cluster_port` appears only on a node with peers (peers find each other's cluster
/// endpoint through it).
[[nodiscard]] std::string render_health(const health_inputs& in);

/// Resident set size of this process in bytes (0 if unknown).
[[nodiscard]] std::uint64_t resident_bytes();

} // namespace minivault
