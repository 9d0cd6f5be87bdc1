// Message flow:
//   I/O thread --client_batch--> version --> storage actor (replicate_atom) and each peer's
//     endpoint (replicate_atom), one versioned batch per replica
//   each answer --> count per op --> quorum reached / impossible --> ordered_outcomes
//     --> completion board (in ticket order per I/O thread)
//   a first-round quorum that reported newer versions --> the batch once more, versioned
//     past them (second round)
//   failed or skipped replica --> handoff actor (hint_atom)
//   (peer_up_atom | peer_down_atom) from membership --> links
#include "actors/cluster/replication/replication_actor.hpp"

#include <algorithm>

#include "actors/cluster/repair/anti_entropy_actor.hpp"
#include "actors/cluster/replication/clock_lease.hpp"
#include "actors/telemetry/log.hpp"
#include "storage/table.hpp"

namespace minivault {

namespace {

using self_ptr = replication_actor::stateful_pointer<replication_state>;
using pending = replication_state::pending;

/// Could `m` take a batch of `bytes` now? This node always can; a peer while it is up
/// and under its bounds.
bool available(const replication_state& st, std::size_t m, std::size_t bytes) {
  if (m == 0) return true;
  const auto& l = st.links[m];
  return l.endpoint && l.requests < st.config.workers &&
         (l.bytes == 0 || l.bytes + bytes <= st.config.peer_window_bytes);
}

void decide(replication_state& st, pending& p, errc result) {
  if (p.answered) return;
  p.answered = true;
  if (auto* c = st.counters; c != nullptr && p.writes) {
    (result == errc::ok        ? c->batches_ok
     : result == errc::timeout ? c->batches_timeout
                               : c->batches_no_quorum)
        .fetch_add(1, std::memory_order_relaxed);
  }
  st.outcomes->decide(*st.board, p.origin, p.ticket, result,
                      result == errc::ok ? std::move(p.read_results) : std::vector<read_result>{});
}

/// The keys `b` writes, appended to `out`.
void written_keys(const client_batch& b, std::vector<std::string_view>& out) {
  std::size_t pos = 0;
  packed_op op;
  for (std::uint32_t i = 0; i < b.count && decode_packed_op(b.ops, pos, op); ++i)
    if (!op.read) out.push_back(op.key);
}

/// Is a later batch of `p`'s origin (an I/O thread: its connections' writes in order)
/// still in flight with a write of a key `p` writes? Only asked before a second round,
/// which is rare: a scan is fine.
bool later_batch_writes_its_keys(const replication_state& st, const pending& p) {
  std::vector<std::string_view> mine, theirs;
  written_keys(*p.original, mine);
  std::sort(mine.begin(), mine.end());
  for (const auto& [id, q] : st.in_flight) {
    if (q.origin != p.origin || q.ticket <= p.ticket || !q.original) continue;
    theirs.clear();
    written_keys(*q.original, theirs);
    for (auto k : theirs)
      if (std::binary_search(mine.begin(), mine.end(), k)) return true;
  }
  return false;
}

/// Answers the batch once its writes hold their quorum and its reads are resolved. In the
/// first round, a quorum that reported newer versions is not enough (see
/// replication_actor.hpp, "A later write wins"): returns true, and the caller sends the
/// batch round again (release_then) instead.
[[nodiscard]] bool maybe_done(replication_state& st, pending& p) {
  if (p.answered || p.satisfied != p.acks.size() || p.reads_left != 0) return false;
  if (p.round == 0 && p.newer_hlc != 0) {
    if (!p.reads.empty() || later_batch_writes_its_keys(st, p)) {
      // Versioned anew, these writes would overtake that later batch's (the same
      // client's next writes of a key): fail them, outcome unknown, instead. A batch
      // with reads fails too: its reads may have kept it here until such a later batch
      // was answered by every replica and forgotten, so the scan could miss it.
      decide(st, p, errc::timeout);
      return false;
    }
    p.answered = true; // this round ends here; the next one decides the ticket
    return true;
  }
  decide(st, p, errc::ok);
  return false;
}

using in_flight_iter = std::unordered_map<std::uint64_t, pending>::iterator;

/// One replica answer (or failure) less; forgets the batch after the last one.
void release(replication_state& st, in_flight_iter it) {
  if (--it->second.outstanding == 0) st.in_flight.erase(it);
}

void start_round(self_ptr self, std::shared_ptr<const client_batch> b, std::uint32_t round);

/// release(), then, when maybe_done() asked for it, the batch's second round (after the
/// release: starting it adds to in_flight, which may move every entry).
void release_then(self_ptr self, in_flight_iter it, bool again) {
  auto& st = self->state;
  std::shared_ptr<const client_batch> original = again ? it->second.original : nullptr;
  release(st, it);
  if (!again) return;
  if (st.counters) st.counters->superseded_rounds.fetch_add(1, std::memory_order_relaxed);
  start_round(self, std::move(original), 1);
}

/// Member `m` answered batch `id`'s writes: `ok`, or failed (`timed_out`: no answer in
/// time). `newer_hlc` != 0: it applied them but kept a newer version of some key instead
/// (replicate_atom's reply): it counts for the quorum, and the highest such hlc is kept
/// for maybe_done.
void settle(self_ptr self, std::uint64_t id, std::size_t m, bool ok, bool timed_out,
            std::uint64_t newer_hlc = 0) {
  auto& st = self->state;
  auto it = st.in_flight.find(id);
  if (it == st.in_flight.end()) return;
  pending& p = it->second;
  if (ok && newer_hlc != 0) {
    st.clock->observe(storage::version{newer_hlc, 0}); // the next round is versioned past it
    p.newer_hlc = std::max(p.newer_hlc, newer_hlc);
  }
  const std::size_t w = st.config.write_quorum;
  if (timed_out) p.saw_timeout = true;
  using f = replication_state::op_flag;
  auto count = [&](std::size_t i) {
    std::uint8_t& fl = p.flags[i];
    if (ok) {
      ++p.acks[i];
      if (m == 0) fl |= f::local_acked;
      // Done once the quorum holds it and, when this node is a replica, this node does:
      // then a read here after the ack sees the write (read-your-writes).
      if (!(fl & f::counted) && p.acks[i] >= w &&
          (!(fl & f::needs_local) || (fl & f::local_acked))) {
        fl |= f::counted;
        ++p.satisfied;
      }
    } else {
      --p.possible[i];
      if (m == 0 && (fl & f::needs_local)) // this replica failed: the write fails here
        decide(st, p, timed_out ? errc::timeout : errc::io_error);
      else if (p.acks[i] < w && p.possible[i] < w)
        decide(st, p, p.saw_timeout ? errc::timeout : errc::no_quorum);
    }
  };
  if (p.uniform) {
    count(0);
  } else {
    for (std::uint32_t i : p.ops_of[m])
      count(i);
  }
  const bool again = ok && maybe_done(st, p);
  release_then(self, it, again);
}

void hint(replication_state& st, std::size_t m, const versioned_writes& b) {
  if (st.hints) {
    if (st.hints->queued_bytes.load(std::memory_order_relaxed) + b.ops.size() >
        hint_queue_bytes_max) {
      st.hints->dropped.fetch_add(1, std::memory_order_relaxed); // anti-entropy repairs it
      return;
    }
    st.hints->queued_bytes.fetch_add(b.ops.size(), std::memory_order_relaxed);
  }
  if (st.counters) st.counters->hinted_batches.fetch_add(1, std::memory_order_relaxed);
  caf::anon_send(st.handoff, hint_atom_v, st.links[m].peer, b);
}

/// Sends `b` to member `m` (this node's storage actor when m == 0); the answer settles
/// batch `id`. A peer that cannot take it now is hinted at once.
void dispatch(self_ptr self, std::uint64_t id, std::size_t m,
              const std::shared_ptr<const versioned_writes>& b) {
  auto& st = self->state;
  const auto timeout = st.config.timeout;
  if (m == 0) {
    self->request(st.storage, timeout, replicate_atom_v, *b)
        .then([self, id](const replica_ack& ack) {
                settle(self, id, 0, ack.outcome == errc::ok, false, ack.newer_hlc);
              },
              [self, id](const caf::error& e) {
                settle(self, id, 0, false, e == caf::sec::request_timeout);
              });
    return;
  }
  auto& l = st.links[m];
  const std::size_t bytes = b->ops.size();
  if (!available(st, m, bytes)) {
    hint(st, m, *b);
    settle(self, id, m, false, false);
    return;
  }
  ++l.requests;
  l.bytes += bytes;
  const std::uint64_t epoch = l.epoch;
  self->request(l.endpoint, timeout, replicate_atom_v, *b)
      .then(
          [self, id, m, b, epoch, bytes](const replica_ack& ack) {
            const bool ok = ack.outcome == errc::ok;
            auto& l = self->state.links[m];
            if (l.epoch == epoch) { // an answer: everything sent before it has drained
              --l.requests;
              l.bytes -= bytes + l.stale;
              l.stale = 0;
            }
            if (!ok) {
              hint(self->state, m, *b);
              if (self->state.counters)
                self->state.counters->peer_failures.fetch_add(1, std::memory_order_relaxed);
            }
            settle(self, id, m, ok, false, ack.newer_hlc);
          },
          [self, id, m, b, epoch, bytes](const caf::error& e) {
            auto& st = self->state;
            auto& l = st.links[m];
            const bool timed_out = e == caf::sec::request_timeout;
            if (l.epoch == epoch) {
              --l.requests;
              if (timed_out)
                l.stale += bytes; // may still sit in BASP's buffer: stays counted
              else
                l.bytes -= bytes;
            }
            if (st.counters) st.counters->peer_failures.fetch_add(1, std::memory_order_relaxed);
            hint(st, m, *b);
            settle(self, id, m, false, timed_out);
          });
}

/// Sends `key`'s newest record to the replicas that answered with an older one (or none):
/// read repair, best effort (a failure is left to anti-entropy).
void repair(self_ptr self, const replication_state::read_job& r) {
  auto& st = self->state;
  if (!r.found) return;
  versioned_writes fix;
  pack_versioned_write(fix, r.best_tombstone, r.key, r.best_value, r.best);
  for (const auto& [m, ver] : r.seen) {
    if (!(ver < r.best)) continue;
    if (m == 0) {
      self->request(st.storage, st.config.timeout, replicate_atom_v, fix)
          .then([](const replica_ack&) {}, [](const caf::error&) {});
    } else if (st.links[m].endpoint) {
      self->request(st.links[m].endpoint, st.config.timeout, replicate_atom_v, fix)
          .then([](const replica_ack&) {}, [](const caf::error&) {});
    }
  }
}

/// Member `m`'s answer to read `j` of batch `id`: its record (0 or 1 versioned ops), or a
/// failure (`rec` null).
void read_answer(self_ptr self, std::uint64_t id, std::size_t j, std::size_t m,
                 const read_reply* rec, bool timed_out) {
  auto& st = self->state;
  auto it = st.in_flight.find(id);
  if (it == st.in_flight.end()) return;
  pending& p = it->second;
  auto& r = p.reads[j];
  packed_op op;
  std::size_t pos = 0;
  // A usable answer: no record, or one versioned record of the key that was asked for.
  if (rec != nullptr &&
      (rec->count == 0 || (rec->count == 1 && decode_packed_op(rec->ops, pos, op) && !op.read &&
                           op.ver.hlc != 0 && op.key == r.key && pos == rec->ops.size()))) {
    ++r.answers;
    storage::version v = rec->count == 1 ? op.ver : storage::version{};
    r.seen.emplace_back(m, v);
    // A version seen is observed (as replicated writes are): a write that follows this
    // read must get a higher version, or it would lose to the record it read.
    if (rec->count == 1 && st.clock != nullptr) st.clock->observe(v);
    if (rec->count == 1 && (!r.found || r.best < v)) {
      r.found = true;
      r.best = v;
      r.best_tombstone = op.del;
      r.best_value.assign(op.value.data(), op.value.size());
    }
  } else {
    ++r.failures;
    r.saw_timeout = r.saw_timeout || timed_out;
  }
  bool again = false; // maybe_done asked for a second round
  if (!r.resolved) {
    read_result& out = p.read_results[j];
    if (r.answers >= r.need) {
      r.resolved = true;
      if (r.found && !r.best_tombstone) {
        out.status = errc::ok;
        out.value = r.best_value;
      } else {
        out.status = errc::not_found;
      }
    } else if (r.asked - r.failures < r.need) {
      r.resolved = true;
      out.status = r.saw_timeout ? errc::timeout : errc::no_quorum;
    }
    if (r.resolved) {
      --p.reads_left;
      again = maybe_done(st, p);
    }
  }
  if (r.answers + r.failures == r.asked) repair(self, r);
  release_then(self, it, again);
}

/// Asks the replicas of read `j` for their records.
void start_read(self_ptr self, std::uint64_t id, std::size_t j) {
  auto& st = self->state;
  auto& p = st.in_flight.at(id);
  auto& r = p.reads[j];
  const placement& pl = *st.place;
  const std::uint16_t* reps = pl.replicas(storage::partition_of(storage::table::hash_key(r.key)));
  std::vector<std::size_t> targets;
  for (std::size_t k = 0; k < pl.replicas_per_partition(); ++k)
    if (reps[k] == 0 || st.links[reps[k]].endpoint) targets.push_back(reps[k]);
  r.asked = targets.size();
  p.outstanding += targets.size();
  if (targets.size() < r.need) { // known up front: answer at once
    r.resolved = true;
    p.read_results[j].status = errc::no_quorum;
    --p.reads_left;
  }
  const std::string key = r.key; // `r` may move: requests below can answer synchronously
  for (std::size_t m : targets) {
    if (m == 0) { // this replica: read it here, as a peer's endpoint would answer
      auto got = storage::get_status::found;
      const read_reply rec = record_of(*st.engine, key, &got);
      read_answer(self, id, j, 0, got == storage::get_status::error ? nullptr : &rec, false);
      continue;
    }
    self->request(st.links[m].endpoint, st.config.timeout, read_atom_v, key)
        .then(
            [self, id, j, m](const read_reply& rec) { read_answer(self, id, j, m, &rec, false); },
            [self, id, j, m](const caf::error& e) {
              read_answer(self, id, j, m, nullptr, e == caf::sec::request_timeout);
            });
  }
}

/// One round of client batch `b`: versions its writes, sends them to their replicas and
/// starts its reads (round > 0: a replica kept a newer version in the previous one).
void start_round(self_ptr self, std::shared_ptr<const client_batch> original, std::uint32_t round) {
  auto& st = self->state;
  const client_batch& b = *original;
  pending p;
  p.origin = b.origin;
  p.ticket = b.ticket;
  p.round = round;
  p.original = std::move(original);
  st.ops.clear();
  std::size_t pos = 0;
  packed_op op;
  bool malformed = b.count == 0;
  for (std::uint32_t i = 0; i < b.count && !malformed; ++i) {
    if (!decode_packed_op(b.ops, pos, op) || op.ver.hlc != 0) {
      malformed = true;
    } else if (op.read) {
      replication_state::read_job r;
      r.key.assign(op.key.data(), op.key.size());
      // A forwarded read asks for a read quorum too: one answer could come from the
      // replica that has not applied this client's acknowledged write yet.
      r.need = st.config.read_quorum;
      p.reads.push_back(std::move(r));
    } else {
      st.ops.push_back(op);
    }
  }
  if (malformed || pos != b.ops.size()) {
    decide(st, p, errc::bad_request); // a bug in the sender: nothing is written
    return;
  }
  p.read_results.resize(p.reads.size());
  p.reads_left = p.reads.size();
  p.writes = !st.ops.empty();
  const placement& pl = *st.place;
  const std::size_t w = st.config.write_quorum;
  std::vector<std::pair<std::size_t, std::shared_ptr<const versioned_writes>>> sends;
  if (!p.writes) {
    p.uniform = true; // nothing to count: acks and satisfied stay empty
  } else {
    const storage::version first = st.clock->reserve(static_cast<std::uint32_t>(st.ops.size()));
    if (!st.config.lease_path.empty() && first.hlc + st.ops.size() >= st.config.lease) {
      // Renewed before these versions are used, so a restart never hands them out again.
      const std::uint64_t next = first.hlc + st.ops.size() + clock_lease_span;
      if (!write_clock_lease(st.config.lease_path, next)) {
        decide(st, p, errc::io_error); // cannot promise unique versions: write nothing
        return;
      }
      st.config.lease = next;
    }
    auto version_of = [&](std::size_t i) { return storage::version{first.hlc + i, first.node}; };
    if (pl.everyone_holds_everything()) {
      auto vb = std::make_shared<versioned_writes>();
      vb->ops.reserve(b.ops.size() + st.ops.size() * 12);
      for (std::size_t i = 0; i < st.ops.size(); ++i)
        pack_versioned_write(*vb, st.ops[i].del, st.ops[i].key, st.ops[i].value, version_of(i));
      // Judged with the bytes that will be sent, as dispatch() judges them.
      std::size_t up = 0;
      for (std::size_t m = 0; m < pl.members(); ++m)
        up += available(st, m, vb->ops.size()) ? 1 : 0;
      if (up < w) { // known up front: fail fast, write nothing
        decide(st, p, errc::no_quorum);
        return;
      }
      p.uniform = true;
      p.acks.assign(1, 0);
      p.flags.assign(1, replication_state::op_flag::needs_local);
      p.possible.assign(1, static_cast<std::uint8_t>(pl.members()));
      for (std::size_t m = 0; m < pl.members(); ++m)
        sends.emplace_back(m, vb);
    } else {
      const std::size_t rf = pl.replicas_per_partition();
      std::vector<std::shared_ptr<versioned_writes>> subs(pl.members());
      p.uniform = false;
      p.ops_of.resize(pl.members());
      p.acks.assign(st.ops.size(), 0);
      p.possible.assign(st.ops.size(), static_cast<std::uint8_t>(rf));
      p.flags.assign(st.ops.size(), 0);
      std::vector<const std::uint16_t*> reps_of(st.ops.size());
      for (std::size_t i = 0; i < st.ops.size(); ++i) {
        const auto part = storage::partition_of(storage::table::hash_key(st.ops[i].key));
        const std::uint16_t* reps = reps_of[i] = pl.replicas(part);
        if (pl.holds(0, part)) p.flags[i] = replication_state::op_flag::needs_local;
        for (std::size_t r = 0; r < rf; ++r) {
          auto& sub = subs[reps[r]];
          if (!sub) sub = std::make_shared<versioned_writes>();
          pack_versioned_write(*sub, st.ops[i].del, st.ops[i].key, st.ops[i].value, version_of(i));
          p.ops_of[reps[r]].push_back(static_cast<std::uint32_t>(i));
        }
      }
      // Judged with each replica's own batch, as dispatch() judges it: every op must
      // still reach its quorum, or nothing is written.
      std::vector<bool> up_now(pl.members(), false);
      for (std::size_t m = 0; m < pl.members(); ++m)
        up_now[m] = subs[m] && available(st, m, subs[m]->ops.size());
      for (std::size_t i = 0; i < st.ops.size(); ++i) {
        std::size_t up = 0;
        for (std::size_t r = 0; r < rf; ++r)
          up += up_now[reps_of[i][r]] ? 1 : 0;
        if (up < w) {
          decide(st, p, errc::no_quorum);
          return;
        }
      }
      for (std::size_t m = 0; m < pl.members(); ++m)
        if (subs[m]) sends.emplace_back(m, std::move(subs[m]));
    }
  }
  const std::uint64_t id = st.next_id++;
  // One extra count held while dispatching, so no synchronous answer can forget the
  // batch before every request is out.
  p.outstanding = sends.size() + 1;
  auto it = st.in_flight.emplace(id, std::move(p)).first;
  for (auto& [m, batch] : sends)
    dispatch(self, id, m, batch);
  for (std::size_t j = 0; j < it->second.reads.size(); ++j)
    start_read(self, id, j);
  const bool again = maybe_done(st, it->second);
  release_then(self, it, again);
}

void on_batch(self_ptr self, client_batch& b) {
  self->state.outcomes->expect(b.origin, b.ticket);
  start_round(self, std::make_shared<const client_batch>(std::move(b)), 0);
}

} // namespace

replication_actor::behavior_type replication_actor_impl(
    self_ptr self, replication_config config, std::shared_ptr<const placement> place,
    cluster_clock* clock, storage::engine* engine, storage_actor storage, handoff_actor handoff,
    completion_board* board, replication_counters* counters, handoff_counters* hints) {
  auto& st = self->state;
  st.place = std::move(place);
  st.clock = clock;
  st.engine = engine;
  st.storage = std::move(storage);
  st.handoff = std::move(handoff);
  st.board = board;
  st.counters = counters;
  st.hints = hints;
  st.outcomes = std::make_unique<ordered_outcomes>(board->lanes());
  st.links.resize(st.place->members());
  for (std::size_t i = 0; i < config.member_of_peer.size(); ++i)
    if (config.member_of_peer[i] > 0)
      st.links[static_cast<std::size_t>(config.member_of_peer[i])].peer =
          static_cast<std::uint32_t>(i);
  st.config = std::move(config);
  return {
      [self](client_batch& b) { on_batch(self, b); },
      [self](peer_up_atom, std::uint32_t peer, const caf::strong_actor_ptr& ptr) {
        auto& st = self->state;
        if (peer >= st.config.member_of_peer.size() || st.config.member_of_peer[peer] <= 0) return;
        auto& l = st.links[static_cast<std::size_t>(st.config.member_of_peer[peer])];
        l = replication_state::link{
            caf::actor_cast<peer_endpoint_actor>(ptr), peer, l.epoch + 1, 0, 0, 0};
      },
      [self](peer_down_atom, std::uint32_t peer) {
        auto& st = self->state;
        if (peer >= st.config.member_of_peer.size() || st.config.member_of_peer[peer] <= 0) return;
        auto& l = st.links[static_cast<std::size_t>(st.config.member_of_peer[peer])];
        l = replication_state::link{peer_endpoint_actor{}, peer, l.epoch + 1, 0, 0, 0};
      },
      [self](stop_atom) {
        auto& st = self->state;
        for (auto& [id, p] : st.in_flight)
          decide(st, p, errc::shutting_down);
        st.in_flight.clear();
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
