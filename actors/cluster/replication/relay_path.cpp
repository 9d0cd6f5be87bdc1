// The replication actor's relay path (replication_actor.hpp), both ends:
// - sending: a round's writes for another region go to one member there, the relay, as
//   one compressed ship_batch; its answer counts for that region's replicas of them
//   (replica_ack::acks); if it fails, those replicas get the writes as hints.
// - relaying: writes another region sent here (a shipper's, actors/cluster/geo/, or a
//   coordinator's) go to this region's replicas of their keys, as a client batch's
//   writes do, with the versions they came with, never marked `ship`; the sender hears
//   once as many of each write's replicas here as it asked (relay_wait) made them
//   durable; the others get them too, or as hints when down.
#include <algorithm>

#include "actors/cluster/geo/ship_codec.hpp"
#include "actors/cluster/repair/cluster_codec.hpp"
#include "actors/cluster/replication/replication_steps.hpp"
#include "storage/table.hpp"

namespace minivault::replication_detail {

namespace {

/// The relayed writes `b` as hints for their replicas in `region` (the relay failed).
void hint_region(replication_state& st, std::size_t region, const versioned_writes& b) {
  std::vector<versioned_writes> subs;
  split_by_replica(*st.place, region, b, subs);
  for (member_id m : st.place->all())
    if (subs[m.at()].count > 0) hint(st, m, subs[m.at()]);
}

} // namespace

void dispatch_relay(self_ptr self, std::uint64_t id, const send& s) {
  auto& st = self->state;
  const member_id m = s.to;
  const std::size_t region = st.place->region_of(m);
  const std::size_t replicas = st.layout[region];
  ship_batch b = pack_ship_batch(*s.writes);
  b.wait = s.wait;
  const std::size_t bytes = b.packed.size();
  if (!available(st, m, bytes)) {
    hint_region(st, region, *s.writes);
    settle(self, id, m, false, false, 0, replicas);
    return;
  }
  const std::uint64_t epoch = link_opened(st, m, bytes);
  auto writes = s.writes;
  auto h = timed_request(self, st.links[m.at()].endpoint, ship_atom_v, std::move(b));
  h.then(
      [self, id, m, writes, epoch, bytes, region, replicas, rid = h.id()](const replica_ack& ack) {
        answered(self, rid);
        auto& st = self->state;
        link_answered(st, m, epoch, bytes);
        if (ack.outcome == errc::ok) {
          const std::size_t acks = std::min<std::size_t>(ack.acks, replicas);
          settle(self, id, m, true, false, ack.newer_hlc, acks, replicas - acks);
          return;
        }
        if (st.counters) st.counters->peer_failures.fetch_add(1, std::memory_order_relaxed);
        hint_region(st, region, *writes);
        settle(self, id, m, false, false, 0, replicas);
      },
      [self, id, m, writes, epoch, bytes, region, replicas, rid = h.id()](const caf::error& e) {
        answered(self, rid);
        auto& st = self->state;
        const bool timed_out = e == caf::sec::request_timeout;
        link_failed(st, m, epoch, bytes, timed_out);
        hint_region(st, region, *writes);
        settle(self, id, m, false, timed_out, 0, replicas);
      });
}

void start_relay(self_ptr self, const ship_batch& b,
                 caf::typed_response_promise<replica_ack> done) {
  auto& st = self->state;
  pending p;
  p.relay = std::move(done);
  p.round = 1; // versions come from elsewhere: a newer version here is reported, not retried
  versioned_writes w;
  if (errc e = unpack_ship_batch(b, w); e != errc::ok || w.count == 0) {
    decide(st, p, e == errc::ok ? errc::bad_request : e);
    return;
  }
  st.clock->observe(max_version(w.ops, w.count));
  st.ops.clear();
  std::size_t pos = 0;
  packed_op op;
  const consistency level = b.wait == relay_wait::one      ? consistency::one
                            : b.wait == relay_wait::quorum ? consistency::local_quorum
                                                           : consistency::all;
  while (pos < w.ops.size() && decode_packed_op(w.ops, pos, op)) {
    op.level = level; // in this region: route() keeps relayed writes here
    st.ops.push_back(op);
  }
  p.writes = true;
  sends_t sends;
  if (status routed = route(st, w.ops.size(), p, true, sends); !routed) {
    decide(st, p, routed.code(), routed.reason());
    return;
  }
  if (b.wait == relay_wait::all) // every replica here, not those of every region
    for (op_tally& t : p.tally) {
      t.need = quorum_need{};
      t.need.per_region[0] = st.layout[0];
    }
  launch(self, std::move(p), sends);
}

} // namespace minivault::replication_detail
