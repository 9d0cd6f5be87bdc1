#pragma once
// The replication actor: between the I/O threads and the replicas of every write.
//
// For each client write_batch:
//  1. every op gets a version from the cluster clock (consecutive within the batch);
//  2. each op goes to the replicas of its partition (placement.hpp): this node's storage
//     actor if it is one, and the peers' endpoints, one versioned batch per replica;
//  3. the batch's outcome is posted (in ticket order, ordered_outcomes.hpp) once every op
//     is durable on `write_quorum` replicas, this node among them when it is one of the
//     op's replicas (so a read here after the ack sees the write): ok; or as soon as one
//     op cannot get there (this node's own replica failing counts as that: io_error):
//     `no_quorum` (replicas known down, nothing written when that is known up front) or
//     `timeout` (a replica did not answer within the request timeout).
//  A replica that missed a batch (down, window full, error, timeout) gets it as a hint
//  (handoff_actor), so it catches up when it returns.
//
// Bounds: per peer at most `workers` requests and `peer_window_bytes` in flight. BASP has
// no backpressure, so bytes sent to a peer that stopped answering stay counted until it
// answers again or its connection drops; past the window the peer is skipped (hinted).
// Pending batches are bounded by the I/O threads' own in-flight limits.
#include <atomic>
#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "actors/cluster_clock.hpp"
#include "actors/completion_board.hpp"
#include "actors/handoff_actor.hpp"
#include "actors/ordered_outcomes.hpp"
#include "actors/placement.hpp"
#include "actors/storage_actor.hpp"
#include "protocol/actors.hpp"

namespace minivault {

/// Counters for metrics and health (any thread reads).
struct replication_counters {
  std::atomic<std::uint64_t> batches_ok{0}, batches_no_quorum{0}, batches_timeout{0},
      hinted_batches{0}, peer_failures{0};
  std::atomic<std::uint64_t> superseded_rounds{0}; // batches versioned anew and sent again
};

/// Rounds a client batch may take. A replica that keeps a newer version of a key instead
/// of one of the batch's writes (it answers with that version's hlc) does not count for
/// the quorum; the batch is versioned anew past that hlc and sent again. So a write is
/// acknowledged only once a quorum held nothing newer: a write acknowledged before this
/// one began is on one of those replicas (quorums intersect) and loses to it, whichever
/// node coordinated it and however their clocks compare. Past the last round the batch
/// fails with `timeout` (outcome unknown): it takes a stream of newer writes of the same
/// key to get there.
inline constexpr std::uint32_t superseded_rounds_max = 4;

struct replication_config {
  std::size_t write_quorum = 2;
  std::size_t read_quorum = 2; // replicas a quorum read hears from (rf - w + 1)
  std::chrono::milliseconds timeout{2000};
  std::size_t workers = 50;                  // requests in flight per peer
  std::size_t peer_window_bytes = 64u << 20; // bytes in flight per peer
  /// Peer index (node_options::peers) -> member index in the placement (-1: the entry
  /// is this node itself).
  std::vector<int> member_of_peer;
  /// Where the clock lease lives (clock_lease.hpp); empty: no lease (tests).
  std::string lease_path;
  std::uint64_t lease = 0; // the lease already stored there
};

struct replication_state {
  static inline const char* name = "minivault.replication";

  struct link {
    peer_endpoint_actor endpoint; // null while the peer is down
    std::uint32_t peer = 0;       // index in node_options::peers
    std::uint64_t epoch = 0;      // bumped on up/down: late answers of old epochs are ignored
    std::size_t requests = 0;     // in flight
    std::size_t bytes = 0;        // in flight, including `stale`
    std::size_t stale = 0;        // of requests that timed out (maybe still queued in BASP)
  };

  /// One read a batch carries, until its replicas answered.
  struct read_job {
    std::string key;
    std::size_t need = 1; // answers that resolve it
    std::size_t asked = 0, answers = 0, failures = 0;
    bool resolved = false;
    bool saw_timeout = false;
    bool found = false;    // some replica holds a record (maybe a tombstone)
    storage::version best; // the newest record seen
    bool best_tombstone = false;
    std::string best_value;
    std::vector<std::pair<std::size_t, storage::version>> seen; // (member, its version)
  };

  /// Per-op state bits of a pending batch.
  struct op_flag {
    static constexpr std::uint8_t needs_local = 1; // this node is one of the op's replicas
    static constexpr std::uint8_t local_acked = 2; // ... and has made it durable
    static constexpr std::uint8_t counted = 4;     // counted in `satisfied`
  };

  /// One client batch until every replica answered.
  struct pending {
    std::uint32_t origin = 0;
    std::uint64_t ticket = 0;
    bool uniform = true;                // every replica got every op: one counter for all
    std::vector<std::uint8_t> acks;     // per op (one entry when uniform)
    std::vector<std::uint8_t> possible; // replicas that may still ack, per op
    std::vector<std::uint8_t> flags;    // op_flag bits, per op (one entry when uniform)
    std::vector<std::vector<std::uint32_t>> ops_of; // per member: its ops (not uniform)
    std::size_t satisfied = 0;                      // ops (or the one group) at the write quorum
    std::size_t outstanding = 0;                    // replicas yet to answer
    bool answered = false;
    bool saw_timeout = false;
    bool writes = false;         // the batch carries writes
    std::vector<read_job> reads; // the batch's reads, in order
    std::vector<read_result> read_results;
    std::size_t reads_left = 0;
    /// The client batch as it came (unversioned), for another round, and which round
    /// this is (see superseded_rounds_max).
    std::shared_ptr<const write_batch> original;
    std::uint32_t round = 0;
  };

  replication_config config;
  std::shared_ptr<const placement> place;
  cluster_clock* clock = nullptr;
  storage_actor storage;
  storage::engine* engine = nullptr; // this replica's reads
  handoff_actor handoff;
  completion_board* board = nullptr;
  replication_counters* counters = nullptr;
  handoff_counters* hints = nullptr; // the handoff actor's (its mailbox bound)
  std::unique_ptr<ordered_outcomes> outcomes;
  std::vector<link> links; // per member; links[0] (this node) unused
  std::unordered_map<std::uint64_t, pending> in_flight;
  std::uint64_t next_id = 1;
  std::vector<packed_op> ops; // scratch
};

replication_actor::behavior_type
replication_actor_impl(replication_actor::stateful_pointer<replication_state> self,
                       replication_config config, std::shared_ptr<const placement> place,
                       cluster_clock* clock, storage::engine* engine, storage_actor storage,
                       handoff_actor handoff, completion_board* board,
                       replication_counters* counters, handoff_counters* hints);

} // namespace minivault
