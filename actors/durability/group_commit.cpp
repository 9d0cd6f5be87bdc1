#include "actors/durability/group_commit.hpp"

#include <algorithm>

#include "actors/durability/batch_codec.hpp"
#include "actors/telemetry/log.hpp"
#include "protocol/limits.hpp"

namespace minivault {

group_commit::group_commit(storage::engine& engine, completion_board& board,
                           commit_histogram* commit_sizes)
    : engine_(engine), board_(board), commit_sizes_(commit_sizes) {}

// -- the role ---------------------------------------------------------------------------

bool group_commit::take_role() {
  if (held_ || acquirers_ > 0) return false;
  held_ = true;
  group_.swap(waiting_); // empty unless a holder handed them on: they go first
  return true;
}

void group_commit::end_turn(std::uint32_t quiet_lane) {
  by_io_.fetch_add(1, std::memory_order_relaxed);
  if (!drain_and_free(group_commit_io_rounds_max - 1, quiet_lane) && wake_writer_) wake_writer_();
}

bool group_commit::submit(write_batch&& b, bool here) {
  const std::uint32_t lane = b.origin;
  {
    minivault::lock_guard lock(mutex_);
    if (!here || !take_role()) {
      // The holder commits it before letting go; a storage actor waiting for the role
      // goes first (it has writes of its own), and then commits it. A batch the caller
      // does not commit here goes to the storage actor (it reads on meanwhile).
      waiting_.push_back(std::move(b));
      if (held_ || acquirers_ > 0 || wake_pending_) return false;
      wake_pending_ = true;
    }
  }
  if (!here) {
    if (wake_writer_) wake_writer_();
    return false;
  }
  group_.push_back(std::move(b));
  commit_to_board(lane);
  end_turn(lane);
  return true;
}

std::optional<group_commit::outcome> group_commit::try_commit(write_batch& b) {
  {
    minivault::lock_guard lock(mutex_);
    if (!take_role()) return std::nullopt;
  }
  const std::size_t own = group_.size();
  group_.push_back(std::move(b));
  outcome mine;
  commit(group_, [&](std::size_t i, errc result, std::uint64_t newer) {
    if (i == own)
      mine = outcome{result, newer};
    else
      board_.post(group_[i].origin, group_[i].ticket, result);
  });
  b = std::move(group_[own]); // the caller may still need the ops (shipping)
  group_.clear();
  end_turn(no_lane);
  return mine;
}

void group_commit::acquire() {
  minivault::lock_guard lock(mutex_);
  ++acquirers_;
  while (held_)
    freed_.wait(mutex_); // unlocks while waiting, holds it again on return
  --acquirers_;
  held_ = true;
  wake_pending_ = false;
}

void group_commit::release() {
  (void)drain_and_free(0, no_lane);
}

bool group_commit::drain_and_free(int rounds_max, std::uint32_t quiet_lane) {
  for (int round = 0;; ++round) {
    {
      minivault::lock_guard lock(mutex_);
      KV_ASSERT(held_);
      if (waiting_.empty() || (rounds_max > 0 && round >= rounds_max) || acquirers_ > 0) {
        // A storage actor waiting in acquire() takes the role next and commits what waits.
        const bool left = !waiting_.empty() && acquirers_ == 0 && !wake_pending_;
        held_ = false;
        if (acquirers_ > 0) freed_.notify_one();
        if (left) wake_pending_ = true; // the caller wakes the storage actor
        return !left;
      }
      group_.swap(waiting_);
    }
    commit_to_board(quiet_lane);
    if (rounds_max == 0) // the storage actor's release
      by_writer_.fetch_add(1, std::memory_order_relaxed);
    else
      by_io_.fetch_add(1, std::memory_order_relaxed);
  }
}

void group_commit::commit_to_board(std::uint32_t quiet_lane) {
  commit(group_, [this, quiet_lane](std::size_t i, errc result, std::uint64_t) {
    const write_batch& b = group_[i];
    board_.post(b.origin, b.ticket, result, {}, {}, b.origin != quiet_lane);
  });
  group_.clear();
  if (group_.capacity() > 1024) std::vector<write_batch>().swap(group_);
}

// -- one group --------------------------------------------------------------------------

void group_commit::commit(std::vector<write_batch>& batches, const outcome_sink& done) {
  if (batches.empty()) return;
  const auto transactions_before = engine_.transaction_count();
  errc group = apply(batches.data(), batches.size());
  if (commit_sizes_) {
    std::uint64_t writes = 0;
    for (const auto& b : batches)
      writes += b.count;
    commit_sizes_->observe(commit_bounds_writes, writes);
  }
  // A group that committed but then failed its sync (policy `always`) is not retried:
  // its writes are in the log, outcome unknown; writing them again would duplicate them.
  const bool reached_log = engine_.transaction_count() != transactions_before;
  if (group != errc::ok && !reached_log && (batches.size() > 1 || batches.front().versioned)) {
    // One bad batch must not fail its neighbours: retry each on its own, so every
    // client gets the outcome of its own writes.
    for (std::size_t i = 0; i < batches.size(); ++i) {
      errc alone = apply(&batches[i], 1);
      if ((alone == errc::too_large || alone == errc::bad_request) && batches[i].versioned) {
        std::size_t dropped = 0;
        alone = apply_what_fits(batches[i], dropped);
        if (alone == errc::ok && dropped > 0)
          log(log_level::warning, "dropped " + std::to_string(dropped) +
                                      " replicated write(s) this node cannot store (key or "
                                      "value over its limits; are -value-max-bytes equal on "
                                      "every node?)");
      }
      if (alone != errc::ok) report_failure(alone);
      done(i, alone, alone == errc::ok ? newer_hlc(0, ops_.size()) : 0);
    }
  } else {
    std::size_t first = 0; // the group's ops are the batches' ops, in order
    for (std::size_t i = 0; i < batches.size(); ++i) {
      if (group != errc::ok) report_failure(group);
      done(i, group, group == errc::ok ? newer_hlc(first, batches[i].count) : 0);
      first += batches[i].count;
    }
  }
  if (ops_.capacity() > (1u << 16)) std::vector<storage::write_op>().swap(ops_);
}

/// Applies `batches` as one transaction. Never throws: an exception (e.g. bad_alloc)
/// becomes io_error, and the engine's all-or-nothing apply leaves it consistent.
errc group_commit::apply(const write_batch* batches, std::size_t n) {
  try {
    ops_.clear();
    for (std::size_t i = 0; i < n; ++i)
      if (!unpack_batch(batches[i], ops_)) return errc::bad_request;
    return engine_.apply(ops_.data(), ops_.size(), &assigned_);
  } catch (const std::exception&) {
    return errc::io_error;
  }
}

/// A batch of versioned writes from elsewhere (a peer, a hint, a pull, a repair) that this
/// node refuses whole (a value over this node's -value-max-bytes, a bad key): applied
/// without the ops it can never take, so one such op does not block every other write
/// in the batch forever (hints and pulls would resend it, and fail, without end).
errc group_commit::apply_what_fits(const write_batch& b, std::size_t& dropped) {
  try {
    ops_.clear();
    if (!unpack_batch(b, ops_)) return errc::bad_request;
    const std::size_t limit = engine_.value_bytes_max();
    auto fits = [limit](const storage::write_op& op) {
      return !op.key.empty() && op.key.size() <= key_bytes_max &&
             (op.tombstone || op.value.size() <= limit);
    };
    auto end = std::stable_partition(ops_.begin(), ops_.end(), fits);
    dropped = static_cast<std::size_t>(ops_.end() - end);
    ops_.erase(end, ops_.end());
    return engine_.apply(ops_.data(), ops_.size(), &assigned_);
  } catch (const std::exception&) {
    return errc::io_error;
  }
}

/// The highest version kept instead of one of ops [first, first + n) of the last apply
/// (their stored version won, or a newer op of the same commit did); 0 when none. Only
/// versions of other nodes count: a node hands out its versions in the order its writes
/// begin, so one of its own that beats an op is a write that began later (the same
/// client writing the key again), never one the op must be ordered after.
std::uint64_t group_commit::newer_hlc(std::size_t first, std::size_t n) const {
  const std::size_t end = std::min({first + n, ops_.size(), assigned_.size()});
  std::uint64_t newer = 0;
  for (std::size_t j = first; j < end; ++j) {
    const storage::version& kept = assigned_[j];
    if (ops_[j].ver.hlc != 0 && ops_[j].ver < kept && kept.node != ops_[j].ver.node)
      newer = std::max(newer, kept.hlc);
  }
  return newer;
}

/// Write failures reach the operator, not only the clients: the first one is logged at
/// once, then at most one line per interval with the count since.
void group_commit::report_failure(errc e) {
  ++failures_unreported_;
  auto now = std::chrono::steady_clock::now();
  if (now - last_failure_log_ < std::chrono::seconds(10)) return;
  log(log_level::warning, "write batch failed: " + std::string(to_string(e)) + " (" +
                              std::to_string(failures_unreported_) +
                              " failed batch(es) since the last report)");
  failures_unreported_ = 0;
  last_failure_log_ = now;
}

} // namespace minivault
