#pragma once
// What every I/O thread shares: read-only settings, the engine (read side only), the
// storage actor handle, the completion board and the health reporter. Built by the node
// before the connections actor starts and outliving it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "actors/admission/ip_limiter.hpp"
#include "actors/admission/rate_limiter.hpp"
#include "actors/cluster/replication/placement.hpp"
#include "actors/durability/group_commit.hpp"
#include "actors/io/completion_board.hpp"
#include "actors/telemetry/metrics.hpp"
#include "protocol/actors.hpp"
#include "protocol/front_codec.hpp"
#include "protocol/options.hpp"
#include "storage/engine.hpp"

namespace minivault {

struct server_context {
  const node_options* options = nullptr;
  storage::engine* engine = nullptr; // readers only: writes go through `storage`
  storage_actor storage;
  /// One node: the engine's writer role, which an I/O thread takes to commit its own
  /// batches (actors/durability/group_commit.hpp); null: batches go to `storage` (or to
  /// `replication`). Outlives the I/O threads.
  group_commit* writer = nullptr;
  /// In a cluster, client write batches go here instead of `storage` (quorum writes).
  replication_actor replication;
  /// In a cluster: who holds which keys (reads of keys this node does not hold are
  /// forwarded). Null on a single node.
  const placement* place = nullptr;
  completion_board* board = nullptr;
  node_metrics* metrics = nullptr; // optional: counters for GET /metrics
  token_pool* tokens = nullptr;    // optional: -ratelimit (nullptr or disabled = unlimited)
  ip_limiter* ip_limits = nullptr; // optional: -ratelimit-per-ip (nullptr or disabled = off)
  /// Builds the health JSON (thread-safe).
  std::function<std::string()> health_json;
  /// The front protocol (HTTP) served on `front_listen_fd`, if any (outlives the node).
  const front_codec* front = nullptr;
  int front_listen_fd = -1;
  /// Renders every metric in the Prometheus text format (thread-safe).
  std::function<std::string()> metrics_text;
  /// Called (once, from an actor) when the node cannot go on, e.g. the storage actor
  /// died: the node stops in order and the process exits non-zero.
  std::function<void(const std::string&)> on_fatal;
  /// Open client connections across all I/O threads (for the connection limit).
  std::atomic<std::uint64_t> open_connections{0};
  /// Connections accepted, and closed at accept (limit, out of fds), on both protocols.
  std::atomic<std::uint64_t> accepted_connections{0};
  std::atomic<std::uint64_t> refused_connections{0};
};

} // namespace minivault
