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
  if (p.relay.pending()) { // writes another region shipped (relay_path.cpp)
    p.relay.deliver(replica_ack{result, 0, result == errc::ok ? storage::wall_ms() : 0});
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

/// Member `m` answered batch `id`'s writes: `ok`, or failed (`timed_out`: no answer in
/// time). `newer_hlc` != 0: it applied them but kept a newer version of some key instead
/// (replicate_atom's reply): it counts for the quorum, and the highest such hlc is kept
/// for maybe_done.
void settle(self_ptr self, std::uint64_t id, member_id m, bool ok, bool timed_out,
            std::uint64_t newer_hlc = 0) {
  auto& st = self->state;
  auto it = st.in_flight.find(id);
  if (it == st.in_flight.end()) return;
  pending& p = it->second;
  if (ok && newer_hlc != 0) {
    st.clock->observe(storage::version{newer_hlc, 0}); // the next round is versioned past it
    p.newer_hlc = std::max(p.newer_hlc, newer_hlc);
  }
  if (timed_out) p.saw_timeout = true;
  const std::size_t region = st.place->region_of(m);
  auto count = [&](std::size_t i) {
    op_tally& t = p.tally[i];
    if (ok) {
      if (tally_ack(t, region, m == self_member)) ++p.satisfied;
    } else if (auto verdict =
                   tally_failure(t, region, m == self_member, timed_out, p.saw_timeout)) {
      decide(st, p, *verdict, shortfall(st, *verdict, t.need, t.possible));
    }
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

/// Sends `b` to member `m` (this node's storage actor when it is self_member); the answer
/// settles batch `id`. A peer that cannot take it now is hinted at once.
void dispatch(self_ptr self, std::uint64_t id, member_id m,
              const std::shared_ptr<const versioned_writes>& b) {
  auto& st = self->state;
  const auto timeout = st.config.timeout;
  if (m == self_member) {
    self->request(st.storage, timeout, replicate_atom_v, *b)
        .then(
            [self, id](const replica_ack& ack) {
              settle(self, id, self_member, ack.outcome == errc::ok, false, ack.newer_hlc);
            },
            [self, id](const caf::error& e) {
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
  ++l.requests;
  l.bytes += bytes;
  if (const std::size_t region = st.place->region_of(m); region != 0 && st.counters)
    st.counters->wan_bytes[region].fetch_add(bytes, std::memory_order_relaxed);
  const std::uint64_t epoch = l.epoch;
  self->request(l.endpoint, timeout, replicate_atom_v, *b)
      .then(
          [self, id, m, b, epoch, bytes](const replica_ack& ack) {
            const bool ok = ack.outcome == errc::ok;
            auto& l = self->state.links[m.at()];
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
            auto& l = st.links[m.at()];
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

} // namespace

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

bool one_level(const std::vector<packed_op>& ops) {
  for (const auto& op : ops)
    if (op.level != ops[0].level) return false;
  return true;
}

/// Does `op` go to this region's replicas only? Writes another region shipped (`relay`)
/// do; so do writes at a local level when there are other regions: those get them by
/// shipping (`versioned_writes::ship`).
bool this_region_only(const replication_state& st, const packed_op& op, bool relay) {
  return relay || (st.place->regions() > 1 && is_local(op.level));
}

/// A fresh tally for a write at `level` of a partition whose replicas are `st.layout`.
op_tally tally_for(const replication_state& st, consistency level, bool needs_local) {
  op_tally t;
  t.need = write_need(level, st.layout, st.place->regions(), st.config.write_quorum);
  t.possible = st.layout;
  t.needs_local = needs_local;
  return t;
}

/// Every member holds every key and every op asks the same level: one versioned batch for
/// all, one tally. no_quorum when too few members can take it now (judged with the bytes
/// that will be sent, as dispatch() judges them).
status route_to_everyone(replication_state& st, std::size_t packed_bytes, pending& p, bool relay,
                         sends_t& sends) {
  const placement& pl = *st.place;
  auto vb = std::make_shared<versioned_writes>();
  vb->ops.reserve(packed_bytes + st.ops.size() * 12);
  for (const packed_op& op : st.ops)
    pack_versioned_write(*vb, op.del, op.key, op.value, op.ver);
  const bool local = this_region_only(st, st.ops[0], relay);
  vb->ship = local && !relay;
  const op_tally t = tally_for(st, st.ops[0].level, true);
  region_counts up{};
  for (member_id m : pl.all())
    up[pl.region_of(m)] += available(st, m, vb->ops.size()) ? 1 : 0;
  if (!met(t.need, up)) return status(errc::no_quorum, shortfall(st, errc::no_quorum, t.need, up));
  p.uniform = true;
  p.tally.assign(1, t);
  for (member_id m : pl.all())
    if (!local || pl.region_of(m) == 0) sends.emplace_back(m, vb);
  return {};
}

/// Each op to its partition's replicas: one batch per member, one tally per op. no_quorum
/// when some op cannot reach its quorum now (judged with each replica's own batch, as
/// dispatch() judges it): then nothing is written.
status route_by_partition(replication_state& st, pending& p, bool relay, sends_t& sends) {
  const placement& pl = *st.place;
  const std::size_t rf = pl.replicas_per_partition();
  std::vector<std::shared_ptr<versioned_writes>> subs(pl.members());
  p.uniform = false;
  p.ops_of.resize(pl.members());
  p.tally.clear();
  std::vector<const member_id*> reps_of(st.ops.size());
  for (std::size_t i = 0; i < st.ops.size(); ++i) {
    const auto part = storage::partition_of(storage::table::hash_key(st.ops[i].key));
    const member_id* reps = reps_of[i] = pl.replicas(part);
    p.tally.push_back(tally_for(st, st.ops[i].level, pl.holds(self_member, part)));
    const bool local = this_region_only(st, st.ops[i], relay);
    // replicas(part) lists this region's first: a local op stops at the first other one
    for (std::size_t r = 0; r < rf && !(local && pl.region_of(reps[r]) != 0); ++r) {
      auto& sub = subs[reps[r].at()];
      if (!sub) sub = std::make_shared<versioned_writes>();
      sub->ship = sub->ship || (local && !relay);
      pack_versioned_write(*sub, st.ops[i].del, st.ops[i].key, st.ops[i].value, st.ops[i].ver);
      p.ops_of[reps[r].at()].push_back(static_cast<std::uint32_t>(i));
    }
  }
  std::vector<bool> up_now(pl.members(), false);
  for (member_id m : pl.all())
    up_now[m.at()] = subs[m.at()] && available(st, m, subs[m.at()]->ops.size());
  for (std::size_t i = 0; i < st.ops.size(); ++i) {
    region_counts up{};
    for (std::size_t r = 0; r < rf; ++r)
      up[pl.region_of(reps_of[i][r])] += up_now[reps_of[i][r].at()] ? 1 : 0;
    if (!met(p.tally[i].need, up))
      return status(errc::no_quorum, shortfall(st, errc::no_quorum, p.tally[i].need, up));
  }
  for (member_id m : pl.all())
    if (subs[m.at()]) sends.emplace_back(m, std::move(subs[m.at()]));
  return {};
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

status route(replication_state& st, std::size_t packed_bytes, pending& p, bool relay,
             sends_t& sends) {
  return st.place->everyone_holds_everything() && one_level(st.ops)
             ? route_to_everyone(st, packed_bytes, p, relay, sends)
             : route_by_partition(st, p, relay, sends);
}

void launch(self_ptr self, pending&& p, sends_t& sends) {
  auto& st = self->state;
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

} // namespace minivault::replication_detail
