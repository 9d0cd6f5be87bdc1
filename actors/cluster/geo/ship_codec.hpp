#pragma once
// The shipped form of a region's writes (ship_batch, protocol/actors.hpp): the packed
// versioned writes of one batch, compressed as one zstd frame. Pure functions.
#include <cstddef>

#include "protocol/actors.hpp"
#include "protocol/errc.hpp"

namespace minivault {

/// The largest batch (uncompressed) a relay accepts; a shipper sends far less
/// (shipper_config::batch_bytes).
inline constexpr std::size_t ship_batch_raw_max = 16u << 20;

/// `w`'s ops, compressed (zstd level 1: the WAN is the bottleneck, but the shipper's
/// thread is shared with the rest of the node).
[[nodiscard]] ship_batch pack_ship_batch(const versioned_writes& w);

/// The writes of `b`. Errors: bad_compression (not one zstd frame, truncated, corrupt),
/// too_large (more than ship_batch_raw_max), bad_request (the ops are not `count` whole
/// versioned writes). `out.ship` is false: shipped writes are never shipped again.
[[nodiscard]] errc unpack_ship_batch(const ship_batch& b, versioned_writes& out);

} // namespace minivault
