// Message flow (every engine write in the writer role, group_commit.hpp):
//   I/O thread --client_batch--> queued (+ flush_atom to self, once)
//   (replicate_atom, versioned_writes) --> queued, with its promise (replica_ack)
//   flush_atom  --> engine.apply(all queued) --> completion_board.post(origin, ticket, result)
//               --> the committed batches marked `ship`, as one message --> shipper
//               (also sent by an I/O thread that left batches waiting for the role)
//   tick_atom   --> compaction check; re-arms itself
//   compact_atom --> one bounded compaction step; re-sends itself while more is needed
//   stop_atom   --> commit what is queued, reply true, quit
#include "actors/durability/storage_actor.hpp"

#include <functional>

namespace minivault {

namespace {

/// Delivers queued batch `i`'s outcome: to its requester (replication), else to its I/O
/// thread. `newer`: see outcome_sink (group_commit.hpp).
void finish(storage_state& st, std::size_t i, errc result, std::uint64_t newer) {
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

/// Commits the queue as one group. Only while holding the writer role.
void commit_queued(storage_state& st) {
  if (st.queued.empty()) return;
  st.writer->commit(st.queued, [&st](std::size_t i, errc result, std::uint64_t newer) {
    finish(st, i, result, newer);
  });
  if (st.to_ship.count > 0) {
    caf::anon_send(st.shipper, outbox_atom_v, std::move(st.to_ship));
    st.to_ship = versioned_writes{};
  }
  st.queued.clear();
  st.promises.clear();
  st.queued_bytes = 0;
  if (st.queued.capacity() > 1024) std::vector<write_batch>().swap(st.queued);
}

/// Takes the writer role (waiting while an I/O thread commits), commits the queue, runs
/// `then` (more writer work) and lets go, which commits what the I/O threads left waiting.
void commit_in_turn(storage_state& st, const std::function<void()>& then = nullptr) {
  st.writer->acquire();
  commit_queued(st);
  if (then) then();
  st.writer->release();
}

/// Queues a batch for the next group commit (committing at once past the byte bound).
void enqueue(storage_actor::stateful_pointer<storage_state> self, write_batch&& batch,
             caf::typed_response_promise<replica_ack> promise) {
  auto& st = self->state;
  st.queued_bytes += batch.ops.size();
  st.queued.push_back(std::move(batch));
  st.promises.push_back(std::move(promise));
  if (st.queued_bytes >= storage_queued_bytes_max) {
    commit_in_turn(st); // enough for one transaction: do not wait for the flush
  } else if (!st.flush_pending) {
    st.flush_pending = true;
    self->send(self, flush_atom_v);
  }
}

} // namespace

std::optional<replica_ack> commit_versioned_here(group_commit& writer, versioned_writes w,
                                                 const shipper_actor& shipper) {
  write_batch b{0, 0, w.count, std::move(w.ops), w.ship, true};
  auto done = writer.try_commit(b);
  if (!done) return std::nullopt;
  if (done->result == errc::ok && b.ship && shipper)
    caf::anon_send(shipper, outbox_atom_v, versioned_writes{b.count, std::move(b.ops), false});
  return replica_ack{done->result, done->result == errc::ok ? done->newer_hlc : 0};
}

storage_actor::behavior_type storage_actor_impl(storage_actor::stateful_pointer<storage_state> self,
                                                storage::engine* engine, group_commit* writer,
                                                completion_board* board, fsync_policy fsync,
                                                std::chrono::milliseconds tick_interval) {
  auto& st = self->state;
  st.engine = engine;
  st.writer = writer;
  st.board = board;
  st.fsync = fsync;
  st.tick_interval = tick_interval;
  self->delayed_send(self, st.tick_interval, tick_atom_v);
  return {
      [self](client_batch& b) {
        enqueue(self, {b.origin, b.ticket, b.count, std::move(b.ops), false, false},
                caf::typed_response_promise<replica_ack>{});
      },
      [self](replicate_atom, versioned_writes& w) -> caf::result<replica_ack> {
        auto promise = self->make_response_promise<replica_ack>();
        enqueue(self, {0, 0, w.count, std::move(w.ops), w.ship, true}, promise);
        return promise;
      },
      [self](outbox_atom, shipper_actor shipper) { self->state.shipper = std::move(shipper); },
      [self](flush_atom) {
        // Its own queue, or (sent by an I/O thread) batches it left waiting for the role.
        self->state.flush_pending = false;
        commit_in_turn(self->state);
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
        bool more = false;
        commit_in_turn(st, [&] {
          auto step = st.engine->compact_step(compaction_step_bytes);
          more = step && *step;
        });
        // Re-sent, not looped: batches already waiting in the mailbox go first.
        if (more)
          self->send(self, compact_atom_v);
        else
          st.compaction_pending = false;
      },
      [self](stop_atom) {
        commit_in_turn(self->state);
        if (self->state.fsync != fsync_policy::none) (void)self->state.engine->sync();
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
