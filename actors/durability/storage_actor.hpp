#pragma once
// The storage actor: the only writer of the engine. Spawn it detached (SQLite blocks).
//
// Group commit: a client_batch is queued, and the first queued batch sends the actor a
// flush_atom. That message lands behind every batch already in the mailbox, so when it
// is handled, all of them are committed in one transaction. Each batch's outcome is then
// posted to the completion board for its I/O thread, in arrival order.
#include <chrono>
#include <memory>

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
  };
  std::vector<queued_batch> queued; // bounded: see queued_bytes_max
  /// Parallel to `queued`: the requester's promise for (replicate_atom, writes) requests;
  /// not pending for I/O-thread batches, whose outcome goes to the completion board.
  std::vector<caf::typed_response_promise<replica_ack>> promises;
  std::size_t queued_bytes = 0;
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

/// Appends one write to a client batch in the packed form `unpack_batch` reads. A local
/// write: the engine gives it its version.
void pack_write(client_batch& batch, bool del, std::string_view key, std::string_view value);

/// Appends one write that already has its version (replication: the node that took the
/// write versioned it) to `ops`, counting it in `count`. Packed as flags bit1, then
/// [hlc:u64][node:u32] after the header.
void pack_versioned_write(std::string& ops, std::uint32_t& count, bool del, std::string_view key,
                          std::string_view value, const storage::version& ver);
/// The same, appended to a batch message (versioned_writes, pull_reply, read_reply; and
/// client_batch in tests).
template <class Batch>
void pack_versioned_write(Batch& batch, bool del, std::string_view key, std::string_view value,
                          const storage::version& ver) {
  pack_versioned_write(batch.ops, batch.count, del, key, value, ver);
}

/// Appends a read of `key` (a cluster's I/O thread asks the replication actor for it:
/// `quorum` for a quorum read, else a read this node cannot serve itself). Never valid in
/// a batch for the storage actor. Packed as flags bit2 (+ bit3 for quorum), no value.
void pack_read(client_batch& batch, std::string_view key, bool quorum);

/// One op of a packed batch, as views into the batch's bytes.
struct packed_op {
  bool read = false;   // a read (pack_read), not a write
  bool quorum = false; // read: a quorum read
  bool del = false;
  std::string_view key;
  std::string_view value;
  storage::version ver; // hlc == 0: unversioned (a local write)
};

/// Decodes the op at `offset` of `ops` and advances `offset` past it. Returns false when
/// the bytes there are not a whole op.
[[nodiscard]] bool decode_packed_op(std::string_view ops, std::size_t& offset, packed_op& out);

/// Decodes `count` packed writes into engine ops (views into `ops`). Returns false when
/// the packing is malformed or holds a read (a bug in the sender: nothing is applied then).
[[nodiscard]] bool unpack_writes(std::string_view ops, std::uint32_t count,
                                 std::vector<storage::write_op>& out);
/// The same for a batch message (client_batch, versioned_writes, pull_reply, read_reply).
template <class Batch>
[[nodiscard]] bool unpack_batch(const Batch& batch, std::vector<storage::write_op>& out) {
  return unpack_writes(batch.ops, batch.count, out);
}

} // namespace minivault
