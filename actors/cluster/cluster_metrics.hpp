#pragma once
// The cluster figures for `GET /metrics` (a node with peers only): peers up, replication
// outcomes, superseded rounds, replica failures, hinted handoff and anti-entropy, read
// from the cluster's counters and peer board.
#include "actors/cluster/cluster.hpp"
#include "actors/telemetry/metrics_registry.hpp"

namespace minivault {

/// Registers the cluster families. `c` (its counters and peer board) must outlive every
/// scrape of `registry`; they are read from any thread (relaxed atomics, the board's lock).
[[nodiscard]] status register_cluster_metrics(metrics_registry& registry, const cluster& c);

} // namespace minivault
