// The replication actor's relay path (replication_actor.hpp): writes another region
// shipped to this node (actors/cluster/geo/) go to this region's replicas of their keys,
// as a client batch's writes do, and the shipper hears once a write quorum of each
// write's replicas here made them durable. They keep the versions they came with, and
// are never shipped again (versioned_writes::ship stays false).
#include "actors/cluster/geo/ship_codec.hpp"
#include "actors/cluster/repair/cluster_codec.hpp"
#include "actors/cluster/replication/replication_steps.hpp"

namespace minivault::replication_detail {

void start_relay(self_ptr self, const ship_batch& b,
                 caf::typed_response_promise<replica_ack> done) {
  auto& st = self->state;
  pending p;
  p.relay = std::move(done);
  p.round = 1; // versions come from the other region: a newer version here is no reason to retry
  versioned_writes w;
  if (errc e = unpack_ship_batch(b, w); e != errc::ok || w.count == 0) {
    decide(st, p, e == errc::ok ? errc::bad_request : e);
    return;
  }
  st.clock->observe(max_version(w.ops, w.count));
  st.ops.clear();
  std::size_t pos = 0;
  packed_op op;
  while (pos < w.ops.size() && decode_packed_op(w.ops, pos, op)) {
    op.level = consistency::local_quorum; // durable on this region's quorum
    st.ops.push_back(op);
  }
  p.writes = true;
  sends_t sends;
  if (status routed = route(st, w.ops.size(), p, true, sends); !routed) {
    decide(st, p, routed.code(), routed.reason());
    return;
  }
  launch(self, std::move(p), sends);
}

} // namespace minivault::replication_detail
