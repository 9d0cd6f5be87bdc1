#pragma once
// Group commit with a rotating writer (the leader/follower scheme of LevelDB's writer
// queue). The engine has one writer role; whoever finds it free takes it and commits
// every batch waiting, its own among them; whoever finds it taken leaves its batch to the
// holder. On one node an I/O thread with a batch and an idle writer commits that batch
// itself and answers its clients in the same loop iteration, without waking any other
// thread (the storage actor and the completion board's eventfd were two wake-ups per
// commit). The storage actor takes the role, waiting for it, for what stays its job:
// versioned writes, compaction steps and the last commit at stop.
//
// Contract:
//  - In a cluster, the replication actor and the peer endpoint commit this node's share
//    of a batch in place the same way when the role is free (try_commit), instead of a
//    round trip through the storage actor's thread.
//  - One holder at a time. Only the holder calls the engine's writer functions
//    (storage/engine.hpp: apply, compact_step, maintenance) and `commit`.
//  - A batch left waiting is committed before the role is free again: `release` commits
//    what waits, in arrival order, until nothing does. An I/O thread stops after
//    `io_rounds_max` groups and hands the rest to the storage actor (`wake_writer`), so
//    its own connections are not held up by another thread's stream of batches.
//  - Per lane, outcomes reach the completion board in ticket order: a lane's batches are
//    committed in the order it submitted them, and a holder posts every outcome before it
//    lets go. A holder posts the outcomes of its own lane without waking it (the caller
//    takes them as soon as `submit` returns); every other lane is woken.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/io/completion_board.hpp"
#include "actors/telemetry/metrics.hpp"
#include "protocol/thread_annotations.hpp"
#include "storage/engine.hpp"

namespace minivault {

/// One batch of packed ops (protocol/actors.hpp) waiting for a group commit.
struct write_batch {
  std::uint32_t origin = 0; // client batch: its I/O thread (lane) ...
  std::uint64_t ticket = 0; // ... and ticket; versioned writes: unused
  std::uint32_t count = 0;
  std::string ops;
  bool ship = false;      // versioned_writes::ship
  bool versioned = false; // from elsewhere (replication, hints, repair): ops a node can
                          // never store are dropped instead of failing the batch
};

/// Where one batch's outcome goes: (index in the group, outcome, newer_hlc) where
/// newer_hlc is the highest version of another node kept instead of one of its ops (0
/// when none: replica_ack::newer_hlc in protocol/actors.hpp).
using outcome_sink = std::function<void(std::size_t, errc, std::uint64_t)>;

/// Groups an I/O thread commits before handing what still waits to the storage actor.
inline constexpr int group_commit_io_rounds_max = 2;
class group_commit {
public:
  /// `commit_sizes` (optional) gets the number of writes of every group.
  group_commit(storage::engine& engine, completion_board& board, commit_histogram* commit_sizes);
  group_commit(const group_commit&) = delete;
  group_commit& operator=(const group_commit&) = delete;

  /// How an I/O thread hands the storage actor what it left waiting (it then takes the
  /// role, and `release` commits the rest). Set once, before any I/O thread starts.
  void set_wake_writer(std::function<void()> wake) { wake_writer_ = std::move(wake); }

  /// I/O thread `b.origin` (a client batch). true: the caller took the role and
  /// committed `b` with what waited; the outcomes of its lane are on the board without a
  /// wake-up, to take now. false: `b` waits for the holder, or (`here` false, or the
  /// role taken) for the storage actor, who posts its outcome.
  /// `here`: the caller has nothing else to do (its loop round is over). One that still
  /// has input to read hands the batch on and reads while it is committed: committing in
  /// place mid-round stopped reading under load, so reading and committing no longer
  /// overlapped (measured: SET at 16 in flight fell from 1.24x Redis to 0.7x when every
  /// batch was committed in place; at 1 in flight 0.71x became 1.0x).
  bool submit(write_batch&& b, bool here) MV_EXCLUDES(mutex_);

  /// What a versioned batch committed in place came to (see outcome_sink).
  struct outcome {
    errc result = errc::ok;
    std::uint64_t newer_hlc = 0;
  };
  /// An actor that must not wait (replication, the peer endpoint) with versioned writes:
  /// commits `b` here (with what waited) when the role is free and returns its outcome;
  /// nullopt: the role is taken, `b` untouched (send it to the storage actor instead).
  /// Shipping a `ship` batch after its commit is the caller's job.
  std::optional<outcome> try_commit(write_batch& b) MV_EXCLUDES(mutex_);

  /// The storage actor: blocks until the role is free, then holds it.
  void acquire() MV_EXCLUDES(mutex_);
  /// The holder (the storage actor): commits `batches` as one transaction (each alone if
  /// that fails before reaching the log, so one bad batch does not fail its neighbours)
  /// and calls `done` for each, in order.
  void commit(std::vector<write_batch>& batches, const outcome_sink& done);
  /// The holder (the storage actor): commits what waits, then frees the role.
  void release() MV_EXCLUDES(mutex_);

  /// Groups committed by an I/O thread or an actor itself / by the storage actor.
  [[nodiscard]] std::uint64_t groups_by_io() const noexcept {
    return by_io_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t groups_by_writer() const noexcept {
    return by_writer_.load(std::memory_order_relaxed);
  }

private:
  static constexpr std::uint32_t no_lane = ~std::uint32_t{0}; // posts wake every lane

  /// Takes the role if it is free (and no storage actor waits for it); what waits becomes
  /// the start of the holder's group.
  bool take_role() MV_REQUIRES(mutex_);
  /// After an I/O thread's or an actor's own group: commits what waits (bounded), frees
  /// the role, and hands what is left to the storage actor.
  void end_turn(std::uint32_t quiet_lane) MV_EXCLUDES(mutex_);
  /// Commits what waits, `rounds_max` groups at most (0: until nothing does), then frees
  /// the role. Returns false when it stopped with batches still waiting.
  bool drain_and_free(int rounds_max, std::uint32_t quiet_lane) MV_EXCLUDES(mutex_);
  /// Commits `group_` and posts every outcome to the board (quietly for `quiet_lane`).
  void commit_to_board(std::uint32_t quiet_lane);
  errc apply(const write_batch* batches, std::size_t n);
  errc apply_what_fits(const write_batch& b, std::size_t& dropped);
  std::uint64_t newer_hlc(std::size_t first, std::size_t n) const;
  void report_failure(errc e);

  storage::engine& engine_;
  completion_board& board_;
  commit_histogram* commit_sizes_;
  std::function<void()> wake_writer_;
  std::atomic<std::uint64_t> by_io_{0};
  std::atomic<std::uint64_t> by_writer_{0};

  minivault::mutex mutex_;
  std::condition_variable_any freed_; // signalled when the role is freed and someone waits
  std::vector<write_batch> waiting_ MV_GUARDED_BY(mutex_);
  bool held_ MV_GUARDED_BY(mutex_) = false;
  bool wake_pending_ MV_GUARDED_BY(mutex_) = false; // the storage actor was sent a wake-up
  int acquirers_ MV_GUARDED_BY(mutex_) = 0;         // storage actor blocked in acquire

  // The holder's scratch (only the holder touches these; the role orders the accesses).
  std::vector<write_batch> group_;
  std::vector<storage::write_op> ops_;
  std::vector<storage::version> assigned_;
  std::size_t failures_unreported_ = 0;
  std::chrono::steady_clock::time_point last_failure_log_{};
};

} // namespace minivault
