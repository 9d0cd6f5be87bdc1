#pragma once
// The handoff actor: hinted handoff. Stores the batches a peer missed (hint_store) and
// delivers them, oldest first and a bounded chunk at a time, while the peer is up; a
// delivered chunk is deleted once the peer has made it durable. It runs on the scheduler
// (see actors/cluster/cluster.cpp for why it is not detached); its SQLite work is small.
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/cluster/repair/hint_store.hpp"
#include "actors/cluster/replication/placement.hpp"
#include "protocol/actors.hpp"

namespace minivault {

struct handoff_counters {
  std::atomic<std::uint64_t> stored{0}, delivered{0}, dropped{0};
  std::atomic<std::uint64_t> pending{0}; // hints waiting, all peers
  /// Bytes of hints sent to the actor and not stored yet (its mailbox): the replication
  /// actor adds, the handoff actor subtracts. Bounded by hint_queue_bytes_max.
  std::atomic<std::uint64_t> queued_bytes{0};
  /// Bytes of hints delivered to each region's peers (placement's region order; [0], this
  /// node's region, stays 0).
  std::array<std::atomic<std::uint64_t>, regions_max> wan_bytes{};
};

/// Hint bytes that may wait in the handoff actor's mailbox; past it, new hints are
/// dropped (counted) and anti-entropy repairs those peers instead.
inline constexpr std::uint64_t hint_queue_bytes_max = 64u << 20;

struct handoff_config {
  std::string path;                        // the hints database
  std::vector<std::string> peer_names;     // by peer_id: the name hints are kept under
  std::vector<std::size_t> peer_regions;   // by peer_id: its region (placement's index)
  std::uint64_t bytes_max = 256u << 20;    // all hints together
  std::size_t chunk_bytes = 1u << 20;      // one delivery request
  std::chrono::milliseconds timeout{5000}; // per delivery request
  std::chrono::milliseconds retry{500};    // the delivery timer
};

struct handoff_state {
  static inline const char* name = "minivault.handoff";
  handoff_config config;
  std::unique_ptr<hint_store> store;          // null when it could not be opened: hints are dropped
  std::vector<peer_endpoint_actor> endpoints; // per peer, while up
  std::vector<bool> delivering;
  handoff_counters* counters = nullptr;
  std::chrono::steady_clock::time_point last_drop_log{};
};

handoff_actor::behavior_type handoff_actor_impl(handoff_actor::stateful_pointer<handoff_state> self,
                                                handoff_config config, handoff_counters* counters);

} // namespace minivault
