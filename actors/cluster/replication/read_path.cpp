// The replication actor's read path (replication_actor.hpp): the reads a client batch
// carries (quorum reads, and reads of keys this node does not hold) ask the key's
// replicas, resolve on a read quorum (quorum.hpp) with the newest record, and repair the
// replicas that answered with an older one.
#include "actors/cluster/repair/anti_entropy_actor.hpp"
#include "actors/cluster/replication/replication_steps.hpp"
#include "storage/table.hpp"

namespace minivault::replication_detail {

namespace {

/// Sends `fix` to `dest` and forgets the outcome (the request still ends by its deadline).
template <class Dest>
void send_repair(self_ptr self, const Dest& dest, const versioned_writes& fix) {
  auto h = timed_request(self, dest, replicate_atom_v, fix);
  h.then([self, rid = h.id()](const replica_ack&) { answered(self, rid); },
         [self, rid = h.id()](const caf::error&) { answered(self, rid); });
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
    if (m == self_member)
      send_repair(self, st.storage, fix);
    else if (st.links[m.at()].endpoint)
      send_repair(self, st.links[m.at()].endpoint, fix);
  }
}

/// One replica's answer to one read: `failed` (no usable answer; `timed_out`: none in
/// time), else `op` is the key's record (a view into the reply) or, when it is a read
/// op, the mark that the replica has none.
struct one_answer {
  bool failed = true;
  bool timed_out = false;
  packed_op op;
};

/// Member `m`'s answer to read `j` of batch `id`.
void read_answer(self_ptr self, std::uint64_t id, std::size_t j, member_id m, const one_answer& a) {
  auto& st = self->state;
  auto it = st.in_flight.find(id);
  if (it == st.in_flight.end()) return;
  pending& p = it->second;
  auto& r = p.reads[j];
  const packed_op& op = a.op;
  const bool has = !op.read;
  // A usable answer: no record, or one versioned record of the key that was asked for.
  if (!a.failed && (!has || (op.ver.hlc != 0 && op.key == r.key))) {
    ++r.tally.answers[st.place->region_of(m)];
    storage::version v = has ? op.ver : storage::version{};
    r.seen.emplace_back(m, v);
    // A version seen is observed (as replicated writes are): a write that follows this
    // read must get a higher version, or it would lose to the record it read.
    if (has && st.clock != nullptr) st.clock->observe(v);
    if (has && (!r.found || r.best < v)) {
      r.found = true;
      r.best = v;
      r.best_tombstone = op.del;
      r.best_value.assign(op.value.data(), op.value.size());
    }
  } else {
    ++r.tally.failures[st.place->region_of(m)];
    r.tally.saw_timeout = r.tally.saw_timeout || a.timed_out;
  }
  bool again = false; // maybe_done asked for a second round
  if (!r.resolved) {
    if (auto verdict = read_verdict(r.tally, r.found && !r.best_tombstone)) {
      r.resolved = true;
      read_result& out = p.read_results[j];
      out.status = *verdict;
      if (*verdict == errc::ok) out.value = r.best_value;
      if (*verdict == errc::no_quorum || *verdict == errc::timeout)
        out.detail = shortfall(st, *verdict, r.tally.need, r.tally.still_possible());
      --p.reads_left;
      again = maybe_done(st, p);
    }
  }
  if (r.tally.all_heard()) repair(self, r);
  release_then(self, it, again);
}

/// The reads of one batch a peer is asked for, in one request.
struct peer_reads {
  std::vector<std::size_t> reads; // indexes into pending::reads
  std::vector<std::string> keys;  // their keys (the answer must follow them)
  std::string packed;             // the keys packed as reads (pack_read)
  std::uint32_t count = 0;
};

/// Splits a peer's answer to `asked` into one answer per key it answered (views into
/// `rec`); false unless it answers the first 1..n keys asked, one op per key, in order,
/// each a record of that key or the mark "none" (a read of it).
bool split_records(const read_reply& rec, const std::vector<std::string>& asked,
                   std::vector<one_answer>& out) {
  if (rec.count == 0 || rec.count > asked.size()) return false;
  out.assign(rec.count, one_answer{});
  std::size_t pos = 0;
  for (std::size_t k = 0; k < rec.count; ++k) {
    if (!decode_packed_op(rec.ops, pos, out[k].op) || out[k].op.key != asked[k]) return false;
    out[k].failed = false;
  }
  return pos == rec.ops.size();
}

void ask_peer(self_ptr self, std::uint64_t id, member_id m, std::shared_ptr<const peer_reads> ask);

/// Member `m`'s answer to the reads `ask` (null: the request failed). An answer that
/// stopped short (its byte bound: read_reply_bytes_soft_max) is followed by a request for
/// the rest.
void peer_answered(self_ptr self, std::uint64_t id, member_id m, const peer_reads& ask,
                   const read_reply* rec, bool timed_out) {
  std::vector<one_answer> each;
  if (rec == nullptr || !split_records(*rec, ask.keys, each)) {
    each.assign(ask.reads.size(), one_answer{});
    for (auto& a : each)
      a.timed_out = timed_out;
  }
  const std::size_t n = each.size();
  if (n < ask.reads.size() && self->state.in_flight.count(id) != 0) {
    auto rest = std::make_shared<peer_reads>();
    for (std::size_t k = n; k < ask.reads.size(); ++k) {
      rest->reads.push_back(ask.reads[k]);
      rest->keys.push_back(ask.keys[k]);
      pack_read(rest->packed, rest->count, ask.keys[k]);
    }
    ask_peer(self, id, m, std::move(rest)); // counted in `outstanding` already
  }
  for (std::size_t k = 0; k < n; ++k)
    read_answer(self, id, ask.reads[k], m, each[k]);
}

/// Sends `ask` to member `m`; the answer (or failure) goes to peer_answered.
void ask_peer(self_ptr self, std::uint64_t id, member_id m, std::shared_ptr<const peer_reads> ask) {
  auto h =
      timed_request(self, self->state.links[m.at()].endpoint, read_atom_v, ask->count, ask->packed);
  h.then(
      [self, id, m, ask, rid = h.id()](const read_reply& rec) {
        answered(self, rid);
        peer_answered(self, id, m, *ask, &rec, false);
      },
      [self, id, m, ask, rid = h.id()](const caf::error& e) {
        answered(self, rid);
        peer_answered(self, id, m, *ask, nullptr, e == caf::sec::request_timeout);
      });
}

} // namespace

/// Asks the replicas of every read of batch `id` for their records: each peer once, for
/// all the batch's keys it holds (one request and one answer per peer, not per key).
void start_reads(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto& p = st.in_flight.at(id);
  const placement& pl = *st.place;
  std::vector<peer_reads> asks(st.links.size());
  std::vector<std::size_t> local; // reads this replica answers
  for (std::size_t j = 0; j < p.reads.size(); ++j) {
    auto& r = p.reads[j];
    const member_id* reps = pl.replicas(storage::partition_of(storage::table::hash_key(r.key)));
    // A level that stays in this region asks only its replicas (listed first).
    const std::size_t n = is_local(r.level) ? pl.region_replicas(0) : pl.replicas_per_partition();
    for (std::size_t k = 0; k < n; ++k) {
      const member_id m = reps[k];
      if (m != self_member && !st.links[m.at()].endpoint) continue;
      ++r.tally.asked[pl.region_of(m)];
      ++p.outstanding;
      if (m == self_member) {
        local.push_back(j);
        continue;
      }
      peer_reads& a = asks[m.at()];
      a.reads.push_back(j);
      a.keys.push_back(r.key);
      pack_read(a.packed, a.count, r.key);
    }
    if (!met(r.tally.need, r.tally.asked)) { // known up front: answer at once
      r.resolved = true;
      p.read_results[j].status = errc::no_quorum;
      p.read_results[j].detail = shortfall(st, errc::no_quorum, r.tally.need, r.tally.asked);
      --p.reads_left;
    }
  }
  // `p` may move from here on: answers below can start a second round (in_flight grows).
  for (std::size_t j : local) { // this replica: read it here, as a peer's endpoint would
    auto got = storage::get_status::found;
    const std::string& key = st.in_flight.at(id).reads[j].key;
    const read_reply rec = record_of(*st.engine, key, &got);
    one_answer a;
    std::size_t pos = 0;
    a.failed = got == storage::get_status::error;
    a.op.read = rec.count == 0; // none
    if (!a.failed && rec.count == 1) a.failed = !decode_packed_op(rec.ops, pos, a.op);
    read_answer(self, id, j, self_member, a);
  }
  for (std::size_t i = 0; i < asks.size(); ++i) {
    if (asks[i].reads.empty()) continue;
    ask_peer(self, id, member_id(static_cast<std::uint32_t>(i)),
             std::make_shared<const peer_reads>(std::move(asks[i])));
  }
}

} // namespace minivault::replication_detail
