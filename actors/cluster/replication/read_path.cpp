// The replication actor's read path (replication_actor.hpp): the reads a client batch
// carries (quorum reads, and reads of keys this node does not hold) ask the key's
// replicas, resolve on a read quorum (quorum.hpp) with the newest record, and repair the
// replicas that answered with an older one.
#include "actors/cluster/repair/anti_entropy_actor.hpp"
#include "actors/cluster/replication/replication_steps.hpp"
#include "storage/table.hpp"

namespace minivault::replication_detail {

namespace {

/// Sends `key`'s newest record to the replicas that answered with an older one (or none):
/// read repair, best effort (a failure is left to anti-entropy).
void repair(self_ptr self, const replication_state::read_job& r) {
  auto& st = self->state;
  if (!r.found) return;
  versioned_writes fix;
  pack_versioned_write(fix, r.best_tombstone, r.key, r.best_value, r.best);
  for (const auto& [m, ver] : r.seen) {
    if (!(ver < r.best)) continue;
    if (m == self_member) {
      self->request(st.storage, st.config.timeout, replicate_atom_v, fix)
          .then([](const replica_ack&) {}, [](const caf::error&) {});
    } else if (st.links[m.at()].endpoint) {
      self->request(st.links[m.at()].endpoint, st.config.timeout, replicate_atom_v, fix)
          .then([](const replica_ack&) {}, [](const caf::error&) {});
    }
  }
}

/// Member `m`'s answer to read `j` of batch `id`: its record (0 or 1 versioned ops), or a
/// failure (`rec` null).
void read_answer(self_ptr self, std::uint64_t id, std::size_t j, member_id m, const read_reply* rec,
                 bool timed_out) {
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
    ++r.tally.answers[st.place->region_of(m)];
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
    ++r.tally.failures[st.place->region_of(m)];
    r.tally.saw_timeout = r.tally.saw_timeout || timed_out;
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

} // namespace

/// Asks the replicas of read `j` for their records.
void start_read(self_ptr self, std::uint64_t id, std::size_t j) {
  auto& st = self->state;
  auto& p = st.in_flight.at(id);
  auto& r = p.reads[j];
  const placement& pl = *st.place;
  const member_id* reps = pl.replicas(storage::partition_of(storage::table::hash_key(r.key)));
  // A level that stays in this region asks only its replicas (listed first).
  const std::size_t n = is_local(r.level) ? pl.region_replicas(0) : pl.replicas_per_partition();
  std::vector<member_id> targets;
  for (std::size_t k = 0; k < n; ++k) {
    if (reps[k] == self_member || st.links[reps[k].at()].endpoint) {
      targets.push_back(reps[k]);
      ++r.tally.asked[pl.region_of(reps[k])];
    }
  }
  p.outstanding += targets.size();
  if (!met(r.tally.need, r.tally.asked)) { // known up front: answer at once
    r.resolved = true;
    p.read_results[j].status = errc::no_quorum;
    p.read_results[j].detail = shortfall(st, errc::no_quorum, r.tally.need, r.tally.asked);
    --p.reads_left;
  }
  const std::string key = r.key; // `r` may move: requests below can answer synchronously
  for (member_id m : targets) {
    if (m == self_member) { // this replica: read it here, as a peer's endpoint would answer
      auto got = storage::get_status::found;
      const read_reply rec = record_of(*st.engine, key, &got);
      read_answer(self, id, j, m, got == storage::get_status::error ? nullptr : &rec, false);
      continue;
    }
    auto h = timed_request(self, st.links[m.at()].endpoint, read_atom_v, key);
    h.then(
        [self, id, j, m, rid = h.id()](const read_reply& rec) {
          answered(self, rid);
          read_answer(self, id, j, m, &rec, false);
        },
        [self, id, j, m, rid = h.id()](const caf::error& e) {
          answered(self, rid);
          read_answer(self, id, j, m, nullptr, e == caf::sec::request_timeout);
        });
  }
}

} // namespace minivault::replication_detail
