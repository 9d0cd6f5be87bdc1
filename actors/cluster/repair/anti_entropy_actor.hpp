#pragma once
// The anti-entropy actor: replicas compare what they hold and pull what they miss, so a
// node that was down, frozen or wiped converges by itself (hints cover the common case
// faster; this covers everything else: lost or dropped hints, a wiped disk, writes that
// failed their quorum after reaching one replica, writes shipping did not deliver).
//
// One round, every `period` (after period / 20 while rounds find differences, for at
// most anti_entropy_busy_rounds_max rounds in a row), with one peer at a time:
//
// With a peer of this region (round-robin):
//  1. ask the peer for its partition digests (one message, 8 KiB);
//  2. for each partition both hold whose digests differ (at most `partitions_per_round`):
//     send the peer this node's (key, version) list of it and receive the records the
//     peer holds in a newer version (at most `pull_bytes_max` per answer); apply them
//     through the storage actor (last writer wins).
//
// With another region (region_round.cpp), each region at most once per `remote_period`
// (once per `period` while it has repair marks, cluster/geo/repair_marks.hpp, or the
// last round's pull left records for the next), with one member there: the first up
// one in relay order (placement::relay_order) that holds the partition this node
// compared with that region longest ago:
//  1. its digests, as above; an equal partition is in sync with that region as of the
//     round's start (`region_sync_ms`), and its repair mark, if any, goes;
//  2. the differing marked partitions this node leads (a follower: once its mark is
//     older than `follower_grace`) are pushed: the member's (key, version) lists of
//     them (one keys_atom request), then the records it lacks as one ship_batch it
//     relays to its region (relay_path.cpp); their marks go once a push sent everything;
//  3. the other differing partitions this node leads (placement::leads) are pulled, all
//     in one request (at most `partitions_per_round`, and as many as this node's keys of
//     them fit in `pull_bytes_max`; the answer at most `pull_bytes_max`, without what
//     was written in the last `shipping_settle`), then
//     sent to this region's other up replicas: pulled once across the WAN.
// The other region's leaders do the same the other way: each partition crosses the WAN
// once per direction, whatever the replication factor.
//
// Bandwidth: one request in flight to the peer compared with (plus the best-effort
// fan-out of cross-region pulls in this region), each answer bounded.
//
// Tombstone GC: when every shared partition matched a peer at wall time T, everything
// older than T is on that peer. The engine may drop tombstones older than the minimum
// of those times over this region's peers and of `region_sync_ms` over the other regions
// and the partitions this node holds (and their grace period): a tombstone goes only
// once every region has it.
//
// It also serves peers' pulls, key lists and reads (delegated by the peer endpoint).
// Spawn detached: reading a value that is not cached touches SQLite.
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "actors/cluster/geo/repair_marks.hpp"
#include "actors/cluster/replication/cluster_clock.hpp"
#include "actors/cluster/replication/placement.hpp"
#include "protocol/actors.hpp"
#include "storage/engine.hpp"

namespace minivault {

struct anti_entropy_counters {
  std::atomic<std::uint64_t> rounds{0}, partitions_repaired{0}, records_pulled{0};
  /// Of records_pulled, those pulled from each other region's nodes (placement's region
  /// order; [0] unused): cross-region repairs, what shipping did not deliver.
  std::array<std::atomic<std::uint64_t>, regions_max> remote_records_pulled{};
  /// Records pushed to each other region for its repair marks, and their bytes
  /// (compressed, as sent).
  std::array<std::atomic<std::uint64_t>, regions_max> remote_records_pushed{},
      remote_bytes_pushed{};
};

struct anti_entropy_config {
  std::chrono::milliseconds period{1000};
  std::chrono::milliseconds timeout{5000};
  std::size_t partitions_per_round = 64;
  std::size_t pull_bytes_max = 4u << 20;
  /// At most one round per this period with a peer of another region (the others: this
  /// region's peers). Other regions get writes by shipping (cluster/geo/): comparing with
  /// them is the backstop, and each comparison crosses the WAN (8 KiB of digests, then the
  /// key lists of differing partitions, and records that may be on their way already).
  std::chrono::milliseconds remote_period{10000};
  /// A follower pushes a marked partition once its mark is this old (its leader
  /// evidently could not), as the shipper's followers do with their entries.
  std::chrono::milliseconds follower_grace{30000};
  /// Another region's pull leaves out records written in the last this long: shipping
  /// delivers them (a few tens of ms after the write normally), and pulling them too
  /// would send them twice, in bursts that also slow this region's writes.
  std::chrono::milliseconds shipping_settle{5000};
  peer_map members; // as replication_config
};

struct anti_entropy_state {
  static inline const char* name = "minivault.anti_entropy";
  anti_entropy_config config;
  storage::engine* engine = nullptr;
  storage_actor storage;
  cluster_clock* clock = nullptr;
  std::shared_ptr<const placement> place;
  anti_entropy_counters* counters = nullptr;
  repair_marks* marks = nullptr;               // null with one region
  std::vector<peer_endpoint_actor> endpoints;  // per peer, while up
  std::vector<std::optional<peer_id>> peer_of; // per member ([0], this node: none)
  std::vector<std::uint64_t> in_sync_ms;       // per peer: wall time of the last full match
  /// Per other region ([0] unused) and partition: wall time a round that found this
  /// node's copy equal to that region's began (0: never).
  std::vector<std::vector<std::uint64_t>> region_sync_ms;
  /// Per region ([0] unused): when its last round began, and whether its pull left
  /// records for the next (which then comes after `period`, not `remote_period`).
  std::vector<std::chrono::steady_clock::time_point> last_region_round;
  std::vector<bool> region_behind;
  std::size_t next_peer = 0;
  std::size_t next_region = 1;
  bool last_round_remote = false; // the last round was with another region
  bool busy = false;
  bool found_differences = false;
  bool tick_pending = false;
  std::size_t busy_rounds = 0; // consecutive rounds that found differences
};

/// Rounds in a row that may follow each other quickly (period / 20) while differences
/// are found; then the normal period again.
inline constexpr std::size_t anti_entropy_busy_rounds_max = 64;

anti_entropy_actor::behavior_type
anti_entropy_actor_impl(anti_entropy_actor::stateful_pointer<anti_entropy_state> self,
                        anti_entropy_config config, storage::engine* engine, storage_actor storage,
                        cluster_clock* clock, std::shared_ptr<const placement> place,
                        anti_entropy_counters* counters, repair_marks* marks = nullptr);

/// The records of `engine` in partition `p` that the asker lacks or holds older
/// (`have`: pack_key_versions bytes), as versioned writes, stopping past `bytes_max`.
[[nodiscard]] pull_reply newer_records(storage::engine& engine, std::uint32_t p,
                                       std::string_view have, std::size_t bytes_max);
/// The same over several partitions; `*truncated`, when given, says whether it stopped
/// before the end; records whose version is from `written_before_ms` (wall ms) or later
/// are left out (0: none is).
[[nodiscard]] pull_reply newer_records(storage::engine& engine,
                                       const std::vector<std::uint32_t>& parts,
                                       std::string_view have, std::size_t bytes_max,
                                       bool* truncated = nullptr,
                                       std::uint64_t written_before_ms = 0);

/// The horizon below which tombstones may go (see the top of this file): the minimum of
/// `in_sync_ms` over this region's peers (`local[i]`: entry i is one) and of
/// `region_sync_ms[r][p]` over regions r >= 1 and the partitions this node holds
/// (`held[p]`). ~0 when there is nothing to wait for.
[[nodiscard]] std::uint64_t
tombstone_horizon_ms(const std::vector<std::uint64_t>& in_sync_ms, const std::vector<bool>& local,
                     const std::vector<std::vector<std::uint64_t>>& region_sync_ms,
                     const std::vector<bool>& held);

/// `key`'s record in `engine` as a batch of 0 (unknown) or 1 versioned write. `status`,
/// when given, receives the lookup's outcome (error: the batch says nothing).
[[nodiscard]] read_reply record_of(storage::engine& engine, const std::string& key,
                                   storage::get_status* status = nullptr);

/// The records of `count` keys packed as reads (pack_read) in `keys`, one op per key in
/// order: its versioned record, or the read again when this node has none (the answer
/// to a peer's batched read_atom). Stops after the key that takes the answer past
/// read_reply_bytes_soft_max (its count then says how many keys it answers). bad_request
/// when `keys` is not `count` reads, io_error when the engine failed to read one.
[[nodiscard]] result<read_reply> records_of(storage::engine& engine, std::uint32_t count,
                                            std::string_view keys);

} // namespace minivault
