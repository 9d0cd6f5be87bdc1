#pragma once
// The health report of SPEC §2 (same JSON on the binary protocol and GET /health).
#include <cstdint>
#include <string>

#include "storage/engine.hpp"

namespace minivault {

struct health_inputs {
  std::string node_id;
  std::string region;
  std::uint64_t uptime_seconds = 0;
  storage::engine_stats storage;
  std::uint64_t connections = 0;
};

/// Renders the health JSON object. Peers are listed once clustering exists; a single
/// node is `healthy`.
[[nodiscard]] std::string render_health(const health_inputs& in);

/// Resident set size of this process in bytes (0 if unknown).
[[nodiscard]] std::uint64_t resident_bytes();

} // namespace minivault
