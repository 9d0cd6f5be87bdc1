#pragma once
// The storage actor: the engine's writer for everything but the client batches an I/O
// thread commits itself (group_commit.hpp: one writer role, taken in turn). Spawn it
// detached (SQLite blocks, and so does waiting for the role).
//
// Group commit: a batch is queued, and the first queued batch sends the actor a
// flush_atom. That message lands behind every batch already in the mailbox, so when it
// is handled, all of them are committed in one transaction (with whatever the I/O
// threads left waiting for the role). Each outcome goes to its requester (versioned
// writes) or to the completion board for its I/O thread, in arrival order.
#include <chrono>
#include <memory>
#include <optional>

#include "actors/durability/batch_codec.hpp" // for the senders that pack batches
#include "actors/durability/group_commit.hpp"
#include "actors/io/completion_board.hpp"
#include "protocol/actors.hpp"
#include "protocol/options.hpp"
#include "storage/engine.hpp"

namespace minivault {

struct storage_state {
  static inline const char* name = "minivault.storage";
  storage::engine* engine = nullptr; // owned by the node, outlives the actor
  group_commit* writer = nullptr;    // the same
  completion_board* board = nullptr;
  fsync_policy fsync = fsync_policy::none;
  std::chrono::milliseconds tick_interval{100}; // compaction checks
  /// Batches waiting for the next group commit: client batches (origin, ticket) or
  /// versioned writes (origin and ticket unused: their promise is pending).
  std::vector<write_batch> queued; // bounded: see queued_bytes_max
  /// Parallel to `queued`: the requester's promise for (replicate_atom, writes) requests;
  /// not pending for I/O-thread batches, whose outcome goes to the completion board.
  std::vector<caf::typed_response_promise<replica_ack>> promises;
  std::size_t queued_bytes = 0;
  shipper_actor shipper;    // null: one region (nothing is shipped)
  versioned_writes to_ship; // scratch: a group's committed `ship` batches
  bool flush_pending = false;
  bool compaction_pending = false;
};

/// How often the storage actor checks whether compaction is needed.
inline constexpr std::uint32_t storage_tick_ms = 100;
/// Queued batch bytes that force a commit without waiting for the flush message.
inline constexpr std::size_t storage_queued_bytes_max = 32u << 20;
/// Bytes of old log one compaction step may rewrite before writes get a turn again.
/// (Smaller steps keep tail latency down: a step holds the writer for its duration.)
inline constexpr std::size_t compaction_step_bytes = 2u << 20;

/// For the replication actor and the peer endpoint (actors that must not wait): commits
/// versioned writes `w` in place when the writer role is free, and hands them to
/// `shipper` (if any) after their commit when marked `ship`, as the storage actor does.
/// nullopt: the role is taken; send them to the storage actor instead.
std::optional<replica_ack> commit_versioned_here(group_commit& writer, versioned_writes w,
                                                 const shipper_actor& shipper);

/// `writer` commits on `engine` (both outlive the actor); `board` takes the outcomes of
/// the client batches sent to the actor.
storage_actor::behavior_type storage_actor_impl(storage_actor::stateful_pointer<storage_state> self,
                                                storage::engine* engine, group_commit* writer,
                                                completion_board* board, fsync_policy fsync,
                                                std::chrono::milliseconds tick_interval);

} // namespace minivault
