#pragma once
// The shipper's metric families (geo_counters), per other region: registered by the
// cluster's metrics when there are several regions.
#include "actors/cluster/geo/shipper_actor.hpp"
#include "actors/cluster/replication/placement.hpp"
#include "actors/telemetry/metrics_registry.hpp"
#include "protocol/status.hpp"

namespace minivault {

/// Registers minivault_geo_* for regions 1.. of `place`; `repaired[r]`: records
/// anti-entropy pulled from region r's nodes. Both outlive the registry.
[[nodiscard]] status
register_geo_metrics(metrics_registry& registry, const placement& place,
                     const geo_counters& counters,
                     const std::array<std::atomic<std::uint64_t>, regions_max>& repaired);

} // namespace minivault
