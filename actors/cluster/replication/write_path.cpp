// The replication actor's write path (replication_actor.hpp): a round versions a client
// batch's writes, routes them to their replicas, counts the answers per op against the
// write quorum (quorum.hpp) and decides the batch; a replica that misses a batch gets it
// as a hint.
#include <algorithm>
#include <optional>

#include "actors/cluster/replication/clock_lease.hpp"
#include "actors/cluster/replication/replication_steps.hpp"
#include "protocol/status.hpp"
#include "storage/table.hpp"

namespace minivault::replication_detail {

bool available(const replication_state& st, member_id m, std::size_t bytes) {
  if (m == self_member) return true;
  const auto& l = st.links[m.at()];
  return l.endpoint && l.requests < st.config.workers &&
         (l.bytes == 0 || l.bytes + bytes <= st.config.peer_window_bytes);
}

void decide(replication_state& st, pending& p, errc result, std::string detail) {
  if (p.answered) return;
  p.answered = true;
  if (p.relay.pending()) { // writes another region sent here (relay_path.cpp)
    replica_ack ack{result, 0, 0, 0};
    if (result == errc::ok) {
      ack.newer_hlc = p.newer_hlc;
      ack.durable_ms = storage::wall_ms();
      std::uint8_t acks = 0xff; // of this region's replicas, how many hold every write
      for (const op_tally& t : p.tally)
        acks = std::min(acks, t.acks[0]);
      ack.acks = p.tally.empty() ? 0 : acks;
    }
    p.relay.deliver(ack);
    return;
  }
  if (auto* c = st.counters; c != nullptr && p.writes) {
    (result == errc::ok        ? c->batches_ok
     : result == errc::timeout ? c->batches_timeout
                               : c->batches_no_quorum)
        .fetch_add(1, std::memory_order_relaxed);
  }
  st.outcomes->decide(*st.board, p.origin, p.ticket, result,
                      result == errc::ok ? std::move(p.read_results) : std::vector<read_result>{},
                      std::move(detail));
}

std::string shortfall(const replication_state& st, errc result, const quorum_need& need,
                      const region_counts& reachable) {
  std::string out(to_string(result));
  const auto r = short_region(need, reachable);
  if (!r) return out;
  const char* verb = result == errc::timeout ? " answered, " : " up, ";
  if (*r < st.place->regions()) {
    return out + ": region " + st.place->region_name(*r) + " has " + std::to_string(reachable[*r]) +
           " of " + std::to_string(st.layout[*r]) + " replicas" + verb +
           std::to_string(need.per_region[*r]) + " needed";
  }
  if (sum(reachable, 1) < need.remote_any)
    return out + ": no replica of another region" + (result == errc::timeout ? " answered" : " up");
  return out + ": " + std::to_string(sum(reachable)) + " of " + std::to_string(sum(st.layout)) +
         " replicas" + verb + std::to_string(need.total) + " needed";
}

namespace {

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

/// One replica answer (or failure) less; forgets the batch after the last one.
void release(replication_state& st, in_flight_iter it) {
  if (--it->second.outstanding == 0) st.in_flight.erase(it);
}

} // namespace

void settle(self_ptr self, std::uint64_t id, member_id m, bool ok, bool timed_out,
            std::uint64_t newer_hlc, std::size_t n, std::size_t unknown) {
  auto& st = self->state;
  auto it = st.in_flight.find(id);
  if (it == st.in_flight.end()) return;
  pending& p = it->second;
  if (ok && newer_hlc != 0) {
    st.clock->observe(storage::version{newer_hlc, 0}); // the next round is versioned past it
    p.newer_hlc = std::max(p.newer_hlc, newer_hlc);
  }
  if (timed_out || unknown > 0) p.saw_timeout = true;
  const std::size_t region = st.place->region_of(m);
  auto count = [&](std::size_t i) {
    op_tally& t = p.tally[i];
    for (std::size_t k = 0; k < n; ++k) {
      if (ok) {
        if (tally_ack(t, region, m == self_member)) ++p.satisfied;
      } else if (auto verdict =
                     tally_failure(t, region, m == self_member, timed_out, p.saw_timeout)) {
        decide(st, p, *verdict, shortfall(st, *verdict, t.need, t.possible));
      }
    }
    for (std::size_t k = 0; k < unknown; ++k) // no answer will come for these
      if (auto verdict = tally_failure(t, region, false, true, true))
        decide(st, p, *verdict, shortfall(st, *verdict, t.need, t.possible));
  };
  if (p.uniform) {
    count(0);
  } else {
    for (std::uint32_t i : p.ops_of[m.at()])
      count(i);
  }
  const bool again = ok && maybe_done(st, p);
  release_then(self, it, again);
}

void hint(replication_state& st, member_id m, const versioned_writes& b) {
  if (st.hints) {
    if (st.hints->queued_bytes.load(std::memory_order_relaxed) + b.ops.size() >
        hint_queue_bytes_max) {
      st.hints->dropped.fetch_add(1, std::memory_order_relaxed); // anti-entropy repairs it
      return;
    }
    st.hints->queued_bytes.fetch_add(b.ops.size(), std::memory_order_relaxed);
  }
  if (st.counters) st.counters->hinted_batches.fetch_add(1, std::memory_order_relaxed);
  caf::anon_send(st.handoff, hint_atom_v, st.links[m.at()].peer, b);
}

std::uint64_t link_opened(replication_state& st, member_id m, std::size_t bytes) {
  auto& l = st.links[m.at()];
  ++l.requests;
  l.bytes += bytes;
  if (const std::size_t region = st.place->region_of(m); region != 0 && st.counters)
    st.counters->wan_bytes[region].fetch_add(bytes, std::memory_order_relaxed);
  return l.epoch;
}

void link_answered(replication_state& st, member_id m, std::uint64_t epoch, std::size_t bytes) {
  auto& l = st.links[m.at()];
  if (l.epoch != epoch) return;
  --l.requests;
  l.bytes -= bytes + l.stale;
  l.stale = 0;
}

void link_failed(replication_state& st, member_id m, std::uint64_t epoch, std::size_t bytes,
                 bool timed_out) {
  auto& l = st.links[m.at()];
  if (st.counters) st.counters->peer_failures.fetch_add(1, std::memory_order_relaxed);
  if (l.epoch != epoch) return;
  --l.requests;
  if (timed_out)
    l.stale += bytes;
  else
    l.bytes -= bytes;
}

/// Sends a replica its share (this node's storage actor when it is self_member); the
/// answer settles batch `id`. A peer that cannot take it now is hinted at once.
void dispatch(self_ptr self, std::uint64_t id, const send& s) {
  if (s.relay) {
    dispatch_relay(self, id, s);
    return;
  }
  auto& st = self->state;
  const member_id m = s.to;
  const auto& b = s.writes;
  if (m == self_member) {
    // In place when the writer role is free and nothing else waits here: no round trip
    // through the storage actor. Under load (more messages waiting) the storage actor
    // takes it, and commits several batches' shares in one transaction (measured at 16
    // in flight: committing every share in place cost 10% more CPU per write).
    if (st.writer && self->mailbox().empty())
      if (auto ack = commit_versioned_here(*st.writer, *b, st.shipper)) {
        settle(self, id, self_member, ack->outcome == errc::ok, false, ack->newer_hlc);
        return;
      }
    auto h = timed_request(self, st.storage, replicate_atom_v, *b);
    h.then(
        [self, id, rid = h.id()](const replica_ack& ack) {
          answered(self, rid);
          settle(self, id, self_member, ack.outcome == errc::ok, false, ack.newer_hlc);
        },
        [self, id, rid = h.id()](const caf::error& e) {
          answered(self, rid);
          settle(self, id, self_member, false, e == caf::sec::request_timeout);
        });
    return;
  }
  auto& l = st.links[m.at()];
  const std::size_t bytes = b->ops.size();
  if (!available(st, m, bytes)) {
    hint(st, m, *b);
    settle(self, id, m, false, false);
    return;
  }
  const std::uint64_t epoch = link_opened(st, m, bytes);
  auto h = timed_request(self, l.endpoint, replicate_atom_v, *b);
  h.then(
      [self, id, m, b, epoch, bytes, rid = h.id()](const replica_ack& ack) {
        answered(self, rid);
        auto& st = self->state;
        const bool ok = ack.outcome == errc::ok;
        link_answered(st, m, epoch, bytes);
        if (!ok) {
          hint(st, m, *b);
          if (st.counters) st.counters->peer_failures.fetch_add(1, std::memory_order_relaxed);
        }
        settle(self, id, m, ok, false, ack.newer_hlc);
      },
      [self, id, m, b, epoch, bytes, rid = h.id()](const caf::error& e) {
        answered(self, rid);
        auto& st = self->state;
        const bool timed_out = e == caf::sec::request_timeout;
        link_failed(st, m, epoch, bytes, timed_out);
        hint(st, m, *b);
        settle(self, id, m, false, timed_out);
      });
}

/// Answers the batch once its writes hold their quorum and its reads are resolved. In the
/// first round, a quorum that reported newer versions is not enough (see
/// replication_actor.hpp, "A later write wins"): returns true, and the caller sends the
/// batch round again (release_then) instead.
bool maybe_done(replication_state& st, pending& p) {
  if (p.answered || p.satisfied != p.tally.size() || p.reads_left != 0) return false;
  // Versioned anew, these writes would overtake a later batch's of the same keys (the
  // same client's next writes): then they fail, outcome unknown, instead. A batch with
  // reads fails too: its reads may have kept it here until such a later batch was
  // answered by every replica and forgotten, so the scan could miss it.
  switch (end_of_round(p.round, p.newer_hlc,
                       [&] { return !p.reads.empty() || later_batch_writes_its_keys(st, p); })) {
  case round_outcome::acknowledge:
    decide(st, p, errc::ok);
    return false;
  case round_outcome::fail_unknown:
    decide(st, p, errc::timeout);
    return false;
  case round_outcome::second_round:
    p.answered = true; // this round ends here; the next one decides the ticket
    return true;
  }
  return false;
}

// The second round starts after the release: starting it adds to in_flight, which may
// move every entry.
void release_then(self_ptr self, in_flight_iter it, bool again) {
  auto& st = self->state;
  std::shared_ptr<const client_batch> original = again ? it->second.original : nullptr;
  release(st, it);
  if (!again) return;
  if (st.counters) st.counters->superseded_rounds.fetch_add(1, std::memory_order_relaxed);
  start_round(self, std::move(original), 1);
}

namespace {

/// Splits `b` into its reads (p.reads) and its writes (st.ops); false if it is malformed
/// (a bug in the sender).
bool parse_round(replication_state& st, const client_batch& b, pending& p) {
  st.ops.clear();
  std::size_t pos = 0;
  packed_op op;
  if (b.count == 0) return false;
  for (std::uint32_t i = 0; i < b.count; ++i) {
    if (!decode_packed_op(b.ops, pos, op) || op.ver.hlc != 0) return false;
    if (op.read) {
      replication_state::read_job r;
      r.key.assign(op.key.data(), op.key.size());
      // A forwarded read asks for a read quorum too: one answer could come from the
      // replica that has not applied this client's acknowledged write yet.
      r.level = op.quorum ? op.level : consistency::local_quorum;
      r.tally.need = read_need(r.level, st.layout, st.place->regions(), st.config.write_quorum);
      p.reads.push_back(std::move(r));
    } else {
      st.ops.push_back(op);
    }
  }
  return pos == b.ops.size();
}

/// Versions for st.ops, consecutive; the clock lease is renewed first when they would
/// pass it, so a restart never hands them out again. nullopt: the lease cannot be written.
std::optional<storage::version> reserve_versions(replication_state& st) {
  const storage::version first = st.clock->reserve(static_cast<std::uint32_t>(st.ops.size()));
  if (!st.config.lease_path.empty() && first.hlc + st.ops.size() >= st.config.lease) {
    const std::uint64_t next = first.hlc + st.ops.size() + clock_lease_span;
    if (!write_clock_lease(st.config.lease_path, next)) return std::nullopt;
    st.config.lease = next;
  }
  return first;
}

} // namespace

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
  if (!parse_round(st, b, p)) {
    decide(st, p, errc::bad_request); // nothing is written
    return;
  }
  p.read_results.resize(p.reads.size());
  p.reads_left = p.reads.size();
  p.writes = !st.ops.empty();
  sends_t sends;
  if (p.writes) { // else nothing to count: the tally stays empty
    const auto first = reserve_versions(st);
    if (!first) {
      decide(st, p, errc::io_error); // cannot promise unique versions: write nothing
      return;
    }
    for (std::size_t i = 0; i < st.ops.size(); ++i)
      st.ops[i].ver = storage::version{first->hlc + i, first->node};
    if (status routed = route(st, b.ops.size(), p, false, sends); !routed) {
      decide(st, p, routed.code(), routed.reason()); // known up front: fail fast, write nothing
      return;
    }
  }
  launch(self, std::move(p), sends);
}

void launch(self_ptr self, pending&& p, sends_t& sends) {
  auto& st = self->state;
  const std::uint64_t id = st.next_id++;
  // One extra count held while dispatching, so no synchronous answer can forget the
  // batch before every request is out.
  p.outstanding = sends.size() + 1;
  auto it = st.in_flight.emplace(id, std::move(p)).first;
  // Peers first: this node's own share may be committed in place, meanwhile theirs travel.
  for (const auto& s : sends)
    if (s.to != self_member || s.relay) dispatch(self, id, s);
  for (const auto& s : sends)
    if (s.to == self_member && !s.relay) dispatch(self, id, s);
  if (!it->second.reads.empty()) start_reads(self, id);
  const bool again = maybe_done(st, it->second);
  release_then(self, it, again);
}

} // namespace minivault::replication_detail
