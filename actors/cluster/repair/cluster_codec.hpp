#pragma once
// Compact encodings of what peers exchange besides write batches: a partition's keys with
// their versions (anti-entropy), partition lists and digests; and splitting a batch by
// the replicas of one region. Little-endian throughout.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/cluster/replication/placement.hpp"
#include "protocol/actors.hpp"
#include "storage/engine.hpp"

namespace minivault {

/// Appends `[klen:u16][key][hlc:u64][node:u32][tombstone:u8]` per entry.
void pack_key_versions(const std::vector<storage::engine::key_version>& in, std::string& out);

/// What a peer holds of one partition: key -> version (views into the packed bytes).
struct held_version {
  storage::version ver;
  bool tombstone = false;
};
/// Decodes pack_key_versions' output. False when the bytes are malformed.
[[nodiscard]] bool unpack_key_versions(std::string_view in,
                                       std::unordered_map<std::string_view, held_version>& out);

void pack_digests(const std::vector<std::uint64_t>& in, std::string& out);
[[nodiscard]] bool unpack_digests(std::string_view in, std::vector<std::uint64_t>& out);

/// Partition indexes as little-endian u32s (a keys_atom request).
void pack_partitions(const std::vector<std::uint32_t>& in, std::string& out);
/// Decodes pack_partitions' output. False when malformed, when an index is not below
/// storage::partition_count, or with more than partition_count of them.
[[nodiscard]] bool unpack_partitions(std::string_view in, std::vector<std::uint32_t>& out);

/// `w`'s writes split by member: `out[m]` (one entry per member of `pl`) gets those of
/// them that member `m` holds as a replica in region `region`; this node's share stays
/// empty. For sending writes on to the replicas of one region.
void split_by_replica(const placement& pl, std::size_t region, const versioned_writes& w,
                      std::vector<versioned_writes>& out);

/// The highest version among a batch's versioned ops (hlc 0 if none or malformed).
[[nodiscard]] storage::version max_version(std::string_view packed_ops, std::uint32_t count);

} // namespace minivault
