#pragma once
// The client-facing figures for `GET /metrics`, registered by the I/O side: requests by
// protocol, op and result, their latency, auth and rate-limit refusals (summed over the
// per-thread `front_metrics` shards of `ctx.metrics`), and client connections
// (`ctx`'s connection counters).
#include "actors/io/server_context.hpp"
#include "actors/telemetry/metrics_registry.hpp"

namespace minivault {

/// Registers the request and connection families. `ctx` and `*ctx.metrics` must outlive
/// every scrape of `registry`; both are read with relaxed loads from any thread.
/// config_error if `ctx.metrics` is null.
[[nodiscard]] status register_io_metrics(metrics_registry& registry, const server_context& ctx);

} // namespace minivault
