#pragma once
// The storage figures for `GET /metrics`: the engine's cache, keys, bytes and group
// commits (from one `storage::engine_stats` per scrape) and the storage actor's
// writes-per-commit histogram.
#include <functional>

#include "actors/telemetry/metrics.hpp"
#include "actors/telemetry/metrics_registry.hpp"
#include "storage/engine.hpp"

namespace minivault {

/// Where the engine figures come from at each scrape (called from any thread).
using engine_stats_source = std::function<storage::engine_stats()>;

/// Registers the engine families (read through `stats`) and
/// `minivault_commit_batch_writes` (`commit_sizes`, which the storage actor fills).
/// `commit_sizes` and what `stats` reads must outlive every scrape of `registry`.
[[nodiscard]] status register_storage_metrics(metrics_registry& registry, engine_stats_source stats,
                                              const commit_histogram& commit_sizes);

/// As above, reading `engine.stats()` (thread-safe).
[[nodiscard]] status register_storage_metrics(metrics_registry& registry,
                                              const storage::engine& engine,
                                              const commit_histogram& commit_sizes);

} // namespace minivault
