#pragma once
// The shipper's metric families (geo_counters), per other region: registered by the
// cluster's metrics when there are several regions.
#include "actors/cluster/geo/repair_marks.hpp"
#include "actors/cluster/geo/shipper_actor.hpp"
#include "actors/cluster/repair/anti_entropy_actor.hpp"
#include "actors/cluster/replication/placement.hpp"
#include "actors/telemetry/metrics_registry.hpp"
#include "protocol/status.hpp"

namespace minivault {

/// Registers minivault_geo_* for regions 1.. of `place`: the shipper's `counters`,
/// cross-region anti-entropy's (`repair`), and the repair marks (`marks`: read at each
/// scrape, since they are opened when the cluster starts, after registration; null
/// counts 0). All outlive the registry.
[[nodiscard]] status register_geo_metrics(metrics_registry& registry, const placement& place,
                                          const geo_counters& counters,
                                          const anti_entropy_counters& repair,
                                          const std::unique_ptr<repair_marks>& marks);

} // namespace minivault
