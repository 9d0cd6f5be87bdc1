#pragma once
// The replication actor: between the I/O threads and the replicas of every write.
//
// For each client_batch:
//  1. every op gets a version from the cluster clock (consecutive within the batch);
//  2. each op goes to the replicas of its partition in every region (placement.hpp):
//     this node's storage actor if it is one, and the peers' endpoints, one versioned
//     batch per replica;
//  3. the batch's outcome is posted (in ticket order, ordered_outcomes.hpp) once every op
//     is durable on the replicas its consistency level needs (quorum.hpp: per region,
//     e.g. `write_quorum` of this region for local_quorum), this node among them when it
//     is one of the op's replicas (so a read here after the ack sees the write): ok; or as
//     soon as one op cannot get there (this node's own replica failing counts as that:
//     io_error): `no_quorum` (replicas known down, nothing written when that is known up
//     front) or `timeout` (a replica did not answer within the request timeout), with a
//     text naming what fell short.
//  A replica that missed a batch (down, window full, error, timeout) gets it as a hint
//  (handoff_actor), so it catches up when it returns.
//
// Bounds: per peer at most `workers` requests and `peer_window_bytes` in flight. BASP has
// no backpressure, so bytes sent to a peer that stopped answering stay counted until it
// answers again or its connection drops; past the window the peer is skipped (hinted).
// Pending batches are bounded by the I/O threads' own in-flight limits.
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "actors/cluster/repair/handoff_actor.hpp"
#include "actors/cluster/replication/cluster_clock.hpp"
#include "actors/cluster/replication/ordered_outcomes.hpp"
#include "actors/cluster/replication/placement.hpp"
#include "actors/cluster/replication/quorum.hpp"
#include "actors/cluster/replication/request_deadlines.hpp"
#include "actors/durability/batch_codec.hpp"
#include "actors/durability/storage_actor.hpp" // group_commit, commit_versioned_here
#include "actors/io/completion_board.hpp"
#include "protocol/actors.hpp"
#include "protocol/limits.hpp"

namespace minivault {

/// Counters for metrics and health (any thread reads).
struct replication_counters {
  std::atomic<std::uint64_t> batches_ok{0}, batches_no_quorum{0}, batches_timeout{0},
      hinted_batches{0}, peer_failures{0};
  std::atomic<std::uint64_t> superseded_rounds{0}; // batches versioned anew and sent again
  /// Bytes of versioned writes sent to replicas of each region (placement's order; [0],
  /// this node's region, stays 0): what crosses the WAN, before BASP's framing.
  std::array<std::atomic<std::uint64_t>, regions_max> wan_bytes{};
};

/// A later write wins: a write that begins after another write of the same key was
/// acknowledged must end with the higher version, whichever nodes coordinate the two and
/// however their clocks compare. Clocks alone do not promise it (two nodes hand out
/// versions in the same millisecond, and the second may not have seen the first write).
/// So a batch takes at most two rounds:
///  1. sent with fresh versions; each replica answers with the highest version it kept
///     instead of one of the batch's writes (0: none). Once a quorum has answered, and
///     none of them kept anything newer, the batch is acknowledged.
///  2. otherwise it is versioned anew past the highest of those answers and sent again,
///     and this round is acknowledged on its quorum whatever the answers say.
/// Why that is enough: a write acknowledged before this one began was durable on a write
/// quorum before round 1 reached any replica, and quorums intersect, so one of round 1's
/// answers reported its version (or a newer one): round 2 beats it. What a replica keeps
/// instead of round 2's writes came from writes that began after this one did:
/// concurrent, so either order is right (last writer wins, the same everywhere).
/// Two limits: versions of this node itself never call for round 2 (it hands them out in
/// the order its writes begin, so they belong to later writes, e.g. the same client's
/// next write of the key in the same pipeline); and when a later batch of the same I/O
/// thread writes one of the keys and is still in flight, round 2 would overtake it, so
/// the batch fails with `timeout` (outcome unknown) instead (also a batch that carries
/// quorum reads: see maybe_done).

struct replication_config {
  /// -write-quorum: a region's quorum where it holds that many replicas (quorum.hpp).
  std::size_t write_quorum = write_quorum_default;
  std::chrono::milliseconds timeout{request_timeout_ms_default};
  std::size_t workers = workers_default;     // requests in flight per peer
  std::size_t peer_window_bytes = 64u << 20; // bytes in flight per peer
  /// Which member each peer (node_options::peers) is.
  peer_map members;
  /// Where the clock lease lives (clock_lease.hpp); empty: no lease (tests).
  std::string lease_path;
  std::uint64_t lease = 0; // the lease already stored there
};

struct replication_state {
  static inline const char* name = "minivault.replication";

  struct link {
    peer_endpoint_actor endpoint; // null while the peer is down
    peer_id peer;                 // the same node as a CLUSTER_NODES entry
    std::uint64_t epoch = 0;      // bumped on up/down: late answers of old epochs are ignored
    std::size_t requests = 0;     // in flight
    std::size_t bytes = 0;        // in flight, including `stale`
    std::size_t stale = 0;        // of requests that timed out (maybe still queued in BASP)
  };

  /// One read a batch carries, until its replicas answered.
  struct read_job {
    std::string key;
    consistency level = consistency::local_quorum;
    read_tally tally; // how many asked, answered, failed, and how many it needs
    bool resolved = false;
    bool found = false;    // some replica holds a record (maybe a tombstone)
    storage::version best; // the newest record seen
    bool best_tombstone = false;
    std::string best_value;
    std::vector<std::pair<member_id, storage::version>> seen; // (member, its version)
  };

  /// One client batch until every replica answered.
  struct pending {
    std::uint32_t origin = 0;
    std::uint64_t ticket = 0;
    bool uniform = true;         // every replica got every op: one tally for all
    std::vector<op_tally> tally; // per op (one entry when uniform; none without writes)
    std::vector<std::vector<std::uint32_t>> ops_of; // per member: its ops (not uniform)
    std::size_t satisfied = 0;                      // ops (or the one group) at the write quorum
    std::size_t outstanding = 0;                    // replicas yet to answer
    bool answered = false;
    bool saw_timeout = false;
    bool writes = false;         // the batch carries writes
    std::vector<read_job> reads; // the batch's reads, in order
    std::vector<read_result> read_results;
    std::size_t reads_left = 0;
    /// The client batch as it came (unversioned), for a second round; which round this
    /// is; the highest newer version a replica reported (see "A later write wins").
    std::shared_ptr<const client_batch> original;
    std::uint32_t round = 0;
    std::uint64_t newer_hlc = 0;
    /// Pending only for writes another region shipped (relay_path.cpp): their shipper's
    /// answer, instead of the completion board.
    caf::typed_response_promise<replica_ack> relay;
  };

  replication_config config;
  std::shared_ptr<const placement> place;
  region_counts layout{}; // replicas of one partition per region (place->region_replicas)
  cluster_clock* clock = nullptr;
  storage_actor storage;
  group_commit* writer = nullptr;    // this node's share, committed in place when free
  shipper_actor shipper;             // where a `ship` share goes after an in-place commit
  storage::engine* engine = nullptr; // this replica's reads
  handoff_actor handoff;
  completion_board* board = nullptr;
  replication_counters* counters = nullptr;
  handoff_counters* hints = nullptr; // the handoff actor's (its mailbox bound)
  std::unique_ptr<ordered_outcomes> outcomes;
  std::vector<link> links; // per member; links[self_member] unused
  /// Per region (0 unused): placement::relay_order, the members this node tries as its
  /// relay there when every member holds every key.
  std::vector<std::vector<member_id>> relay_order;
  std::unordered_map<std::uint64_t, pending> in_flight;
  std::uint64_t next_id = 1;
  /// Timeouts of every request this actor sends (request_deadlines.hpp); `tick_armed`:
  /// a tick_atom is on its way, due at or before the earliest open deadline.
  request_deadlines deadlines;
  bool tick_armed = false;
  std::vector<packed_op> ops; // scratch
};

/// What the replication actor works with besides its configuration. Everything pointed to
/// outlives the actor (the cluster owns it).
struct replication_services {
  std::shared_ptr<const placement> place;
  cluster_clock* clock = nullptr;
  storage::engine* engine = nullptr; // this replica's reads
  storage_actor storage;
  /// Optional: the engine's writer role. This node's share of a batch is committed in
  /// place when the role is free (durability/group_commit.hpp), else sent to `storage`.
  group_commit* writer = nullptr;
  shipper_actor shipper; // several regions: where committed `ship` writes go
  handoff_actor handoff;
  completion_board* board = nullptr;
  replication_counters* counters = nullptr; // optional
  handoff_counters* hints = nullptr;        // optional: the handoff actor's mailbox bound
};

replication_actor::behavior_type
replication_actor_impl(replication_actor::stateful_pointer<replication_state> self,
                       replication_config config, replication_services services);

} // namespace minivault
