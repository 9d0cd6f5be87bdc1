#pragma once
// The storage actor: the only writer of the engine. Spawn it detached (SQLite blocks).
//
// Group commit: a client_batch is queued, and the first queued batch sends the actor a
// flush_atom. That message lands behind every batch already in the mailbox, so when it
// is handled, all of them are committed in one transaction. Each batch's outcome is then
// posted to the completion board for its I/O thread, in arrival order.
#include <chrono>
#include <memory>

#include "actors/durability/batch_codec.hpp" // for the senders that pack batches
#include "actors/io/completion_board.hpp"
#include "actors/telemetry/metrics.hpp"
#include "protocol/actors.hpp"
#include "protocol/options.hpp"
#include "storage/engine.hpp"

namespace minivault {

struct storage_state {
  static inline const char* name = "minivault.storage";
  storage::engine* engine = nullptr; // owned by the node, outlives the actor
  completion_board* board = nullptr;
  fsync_policy fsync = fsync_policy::none;
  std::chrono::milliseconds tick_interval{100}; // compaction checks
  /// A batch waiting for the next group commit: a client batch (origin, ticket) or
  /// versioned writes (origin and ticket unused: their promise is pending).
  struct queued_batch {
    std::uint32_t origin = 0;
    std::uint64_t ticket = 0;
    std::uint32_t count = 0;
    std::string ops;
    bool ship = false; // versioned_writes::ship
  };
  std::vector<queued_batch> queued; // bounded: see queued_bytes_max
  /// Parallel to `queued`: the requester's promise for (replicate_atom, writes) requests;
  /// not pending for I/O-thread batches, whose outcome goes to the completion board.
  std::vector<caf::typed_response_promise<replica_ack>> promises;
  std::size_t queued_bytes = 0;
  shipper_actor shipper;    // null: one region (nothing is shipped)
  versioned_writes to_ship; // scratch: a group's committed `ship` batches
  bool flush_pending = false;
  bool compaction_pending = false;
  std::vector<storage::write_op> ops;       // scratch: decoded ops of one group
  std::vector<storage::version> assigned;   // scratch: each op's resulting version
  commit_histogram* commit_sizes = nullptr; // optional metric: writes per group commit
  std::size_t failures_unreported = 0;
  std::chrono::steady_clock::time_point last_failure_log{};
};

/// How often the storage actor checks whether compaction is needed.
inline constexpr std::uint32_t storage_tick_ms = 100;
/// Queued batch bytes that force a commit without waiting for the flush message.
inline constexpr std::size_t storage_queued_bytes_max = 32u << 20;
/// Bytes of old log one compaction step may rewrite before writes get a turn again.
/// (Smaller steps keep tail latency down: a step holds the writer for its duration.)
inline constexpr std::size_t compaction_step_bytes = 2u << 20;

/// `commit_sizes` (optional) gets the number of writes of every group commit.
storage_actor::behavior_type storage_actor_impl(storage_actor::stateful_pointer<storage_state> self,
                                                storage::engine* engine, completion_board* board,
                                                fsync_policy fsync,
                                                std::chrono::milliseconds tick_interval,
                                                commit_histogram* commit_sizes);

} // namespace minivault
