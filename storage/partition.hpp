#pragma once
// Partitions: the unit of placement and of anti-entropy. A key belongs to partition
// `partition_of(table::hash_key(key))`, which is taken from the same hash bits as the
// index shard (shard = partition mod shard count), so listing one partition's keys scans
// one shard. Every node of a cluster must compute the same partitions, so these bits and
// the hash are part of the cluster's contract (all nodes run the same build).
#include <cstdint>

#include "storage/version.hpp"

namespace minivault::storage {

inline constexpr std::uint32_t partition_count = 1024;

[[nodiscard]] constexpr std::uint32_t partition_of(std::uint64_t key_hash) noexcept {
  return static_cast<std::uint32_t>(key_hash >> 48) & (partition_count - 1);
}

/// A 64-bit finalizer (splitmix64's): every input bit affects every output bit.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/// One record's contribution to its partition's digest. Digests are sums (mod 2^64) of
/// these, so they can be updated in place when a record is replaced, and two replicas
/// holding the same versions of the same keys have equal digests whatever the order in
/// which the writes arrived.
[[nodiscard]] constexpr std::uint64_t digest_term(std::uint64_t key_hash, const version& v,
                                                  bool tombstone) noexcept {
  return mix64(
      key_hash ^ (v.hlc * 0x9e3779b97f4a7c15ULL) ^
      ((static_cast<std::uint64_t>(v.node) << 1 | (tombstone ? 1u : 0u)) * 0xc2b2ae3d27d4eb4fULL));
}

} // namespace minivault::storage
