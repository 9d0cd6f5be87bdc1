#pragma once
// A lease on the cluster clock, kept in `<data>/clock`: the node promises never to have
// handed out a version at or above the lease, so after a restart it seeds its clock from
// max(lease, highest version in the log). Without it, versions handed out that never
// reached the local log (a failed local apply; keys this node does not hold) could be
// handed out again after a restart while the clock ran ahead of the wall clock, and an
// equal version is taken by replicas as "already have it".
//
// Renewed (written to a temporary file, then renamed over the old one) before the clock
// passes it, `clock_lease_span` ahead, so it costs one small write per second of writes.
// The span is kept short because a restarted node's clock starts at the lease, up to one
// span ahead of the wall clock, and its first writes win over that much of other nodes'.
#include <cstdint>
#include <string>

namespace minivault {

/// How far ahead of the clock a renewed lease reaches (1 s in HLC units).
inline constexpr std::uint64_t clock_lease_span = 1000ull << 16;

/// The lease stored at `path` (0 when there is none or it is unreadable).
[[nodiscard]] std::uint64_t read_clock_lease(const std::string& path);

/// Stores `lease` at `path` (atomically: temp file + rename). False on failure.
[[nodiscard]] bool write_clock_lease(const std::string& path, std::uint64_t lease);

} // namespace minivault
