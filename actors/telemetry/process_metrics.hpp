#pragma once
// The process's own figures for `GET /metrics`: uptime and resident memory.
#include <chrono>

#include "actors/telemetry/metrics_registry.hpp"

namespace minivault {

/// Registers `minivault_uptime_seconds` (since `started`) and
/// `minivault_resident_memory_bytes`; both are read at each scrape, from any thread.
[[nodiscard]] status register_process_metrics(metrics_registry& registry,
                                              std::chrono::steady_clock::time_point started);

} // namespace minivault
