// Message flow:
//   I/O thread --client_batch--> queued (+ flush_atom to self, once)
//   (replicate_atom, versioned_writes) --> queued, with its promise (replica_ack)
//   flush_atom  --> engine.apply(all queued) --> completion_board.post(origin, ticket, result)
//               --> the committed batches marked `ship`, as one message --> shipper
//   tick_atom   --> compaction check; re-arms itself
//   compact_atom --> one bounded compaction step; re-sends itself while more is needed
//   stop_atom   --> commit what is queued, reply true, quit
#include "actors/durability/storage_actor.hpp"

#include <algorithm>

#include "actors/telemetry/log.hpp"
#include "protocol/limits.hpp"

namespace minivault {

namespace {

/// Applies `batches` as one transaction. Never throws: an exception (e.g. bad_alloc)
/// becomes io_error, and the engine's all-or-nothing apply leaves it consistent.
errc apply_group(storage_state& st, const storage_state::queued_batch* batches, std::size_t n) {
  try {
    st.ops.clear();
    for (std::size_t i = 0; i < n; ++i)
      if (!unpack_batch(batches[i], st.ops)) return errc::bad_request;
    return st.engine->apply(st.ops.data(), st.ops.size(), &st.assigned);
  } catch (const std::exception&) {
    return errc::io_error;
  }
}

/// A batch of versioned writes from elsewhere (a peer, a hint, a pull, a repair) that this
/// node refuses whole (a value over this node's -value-max-bytes, a bad key): applied
/// without the ops it can never take, so one such op does not block every other write
/// in the batch forever (hints and pulls would resend it, and fail, without end).
errc apply_what_fits(storage_state& st, const storage_state::queued_batch& b,
                     std::size_t& dropped) {
  try {
    st.ops.clear();
    if (!unpack_batch(b, st.ops)) return errc::bad_request;
    const std::size_t limit = st.engine->value_bytes_max();
    auto fits = [limit](const storage::write_op& op) {
      return !op.key.empty() && op.key.size() <= key_bytes_max &&
             (op.tombstone || op.value.size() <= limit);
    };
    auto end = std::stable_partition(st.ops.begin(), st.ops.end(), fits);
    dropped = static_cast<std::size_t>(st.ops.end() - end);
    st.ops.erase(end, st.ops.end());
    return st.engine->apply(st.ops.data(), st.ops.size(), &st.assigned);
  } catch (const std::exception&) {
    return errc::io_error;
  }
}

/// Write failures reach the operator, not only the clients: the first one is logged at
/// once, then at most one line per interval with the count since.
void report_failure(storage_state& st, errc e) {
  ++st.failures_unreported;
  auto now = std::chrono::steady_clock::now();
  if (now - st.last_failure_log < std::chrono::seconds(10)) return;
  log(log_level::warning, "write batch failed: " + std::string(to_string(e)) + " (" +
                              std::to_string(st.failures_unreported) +
                              " failed batch(es) since the last report)");
  st.failures_unreported = 0;
  st.last_failure_log = now;
}

/// The highest version kept instead of one of ops [first, first + n) of the last apply
/// (their stored version won, or a newer op of the same commit did); 0 when none. Only
/// versions of other nodes count: a node hands out its versions in the order its writes
/// begin, so one of its own that beats an op is a write that began later (the same
/// client writing the key again), never one the op must be ordered after.
std::uint64_t newer_hlc(const storage_state& st, std::size_t first, std::size_t n) {
  const std::size_t end = std::min({first + n, st.ops.size(), st.assigned.size()});
  std::uint64_t newer = 0;
  for (std::size_t j = first; j < end; ++j) {
    const storage::version& kept = st.assigned[j];
    if (st.ops[j].ver.hlc != 0 && st.ops[j].ver < kept && kept.node != st.ops[j].ver.node)
      newer = std::max(newer, kept.hlc);
  }
  return newer;
}

/// Delivers queued batch `i`'s outcome: to its requester (replication), else to its I/O
/// thread. Failures are also reported to the operator. `newer`: see storage_actor.
void finish(storage_state& st, std::size_t i, errc result, std::uint64_t newer = 0) {
  if (result != errc::ok) report_failure(st, result);
  if (result == errc::ok && st.queued[i].ship && st.shipper) {
    st.to_ship.ops += st.queued[i].ops;
    st.to_ship.count += st.queued[i].count;
  }
  auto& promise = st.promises[i];
  if (promise.pending())
    promise.deliver(replica_ack{result, result == errc::ok ? newer : 0});
  else
    st.board->post(st.queued[i].origin, st.queued[i].ticket, result);
}

void commit_queued(storage_state& st) {
  if (st.queued.empty()) return;
  const auto transactions_before = st.engine->transaction_count();
  errc group = apply_group(st, st.queued.data(), st.queued.size());
  if (st.commit_sizes) {
    std::uint64_t writes = 0;
    for (const auto& b : st.queued)
      writes += b.count;
    st.commit_sizes->observe(commit_bounds_writes, writes);
  }
  // A group that committed but then failed its sync (policy `always`) is not retried:
  // its writes are in the log, outcome unknown; writing them again would duplicate them.
  bool reached_log = st.engine->transaction_count() != transactions_before;
  if (group != errc::ok && !reached_log &&
      (st.queued.size() > 1 || st.promises.front().pending())) {
    // One bad batch must not fail its neighbours: retry each on its own, so every
    // client gets the outcome of its own writes.
    for (std::size_t i = 0; i < st.queued.size(); ++i) {
      errc alone = apply_group(st, &st.queued[i], 1);
      if ((alone == errc::too_large || alone == errc::bad_request) && st.promises[i].pending()) {
        std::size_t dropped = 0;
        alone = apply_what_fits(st, st.queued[i], dropped);
        if (alone == errc::ok && dropped > 0)
          log(log_level::warning, "dropped " + std::to_string(dropped) +
                                      " replicated write(s) this node cannot store (key or "
                                      "value over its limits; are -value-max-bytes equal on "
                                      "every node?)");
      }
      finish(st, i, alone, alone == errc::ok ? newer_hlc(st, 0, st.ops.size()) : 0);
    }
  } else {
    std::size_t first = 0; // the group's ops are the batches' ops, in queue order
    for (std::size_t i = 0; i < st.queued.size(); ++i) {
      finish(st, i, group, group == errc::ok ? newer_hlc(st, first, st.queued[i].count) : 0);
      first += st.queued[i].count;
    }
  }
  if (st.to_ship.count > 0) {
    caf::anon_send(st.shipper, outbox_atom_v, std::move(st.to_ship));
    st.to_ship = versioned_writes{};
  }
  st.queued.clear();
  st.promises.clear();
  st.queued_bytes = 0;
  if (st.ops.capacity() > (1u << 16)) std::vector<storage::write_op>().swap(st.ops);
  if (st.queued.capacity() > 1024) std::vector<storage_state::queued_batch>().swap(st.queued);
}

} // namespace

namespace {

/// Queues a batch for the next group commit (committing at once past the byte bound).
void enqueue(storage_actor::stateful_pointer<storage_state> self,
             storage_state::queued_batch&& batch,
             caf::typed_response_promise<replica_ack> promise) {
  auto& st = self->state;
  st.queued_bytes += batch.ops.size();
  st.queued.push_back(std::move(batch));
  st.promises.push_back(std::move(promise));
  if (st.queued_bytes >= storage_queued_bytes_max) {
    commit_queued(st); // enough for one transaction: do not wait for the flush
  } else if (!st.flush_pending) {
    st.flush_pending = true;
    self->send(self, flush_atom_v);
  }
}

} // namespace

storage_actor::behavior_type storage_actor_impl(storage_actor::stateful_pointer<storage_state> self,
                                                storage::engine* engine, completion_board* board,
                                                fsync_policy fsync,
                                                std::chrono::milliseconds tick_interval,
                                                commit_histogram* commit_sizes) {
  auto& st = self->state;
  st.engine = engine;
  st.board = board;
  st.fsync = fsync;
  st.tick_interval = tick_interval;
  st.commit_sizes = commit_sizes;
  self->delayed_send(self, st.tick_interval, tick_atom_v);
  return {
      [self](client_batch& b) {
        enqueue(self, {b.origin, b.ticket, b.count, std::move(b.ops)},
                caf::typed_response_promise<replica_ack>{});
      },
      [self](replicate_atom, versioned_writes& w) -> caf::result<replica_ack> {
        auto promise = self->make_response_promise<replica_ack>();
        enqueue(self, {0, 0, w.count, std::move(w.ops), w.ship}, promise);
        return promise;
      },
      [self](outbox_atom, shipper_actor shipper) { self->state.shipper = std::move(shipper); },
      [self](flush_atom) {
        self->state.flush_pending = false;
        commit_queued(self->state);
      },
      [self](tick_atom) {
        // Periodic fsync and WAL checkpoints are the sync actor's job (off this thread).
        auto& st = self->state;
        if (!st.compaction_pending) {
          st.compaction_pending = true;
          self->send(self, compact_atom_v);
        }
        self->delayed_send(self, st.tick_interval, tick_atom_v);
      },
      [self](compact_atom) {
        auto& st = self->state;
        // A failed step counts as done: the next tick tries again.
        auto step = st.engine->compact_step(compaction_step_bytes);
        const bool more = step && *step;
        // Re-sent, not looped: batches already waiting in the mailbox go first.
        if (more)
          self->send(self, compact_atom_v);
        else
          st.compaction_pending = false;
      },
      [self](stop_atom) {
        commit_queued(self->state);
        if (self->state.fsync != fsync_policy::none) (void)self->state.engine->sync();
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
