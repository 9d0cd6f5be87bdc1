// Message flow:
//   I/O thread --client_batch--> version --> storage actor (replicate_atom) and each peer's
//     endpoint (replicate_atom), one versioned batch per replica
//   each answer --> count per op --> quorum reached / impossible --> ordered_outcomes
//     --> completion board (in ticket order per I/O thread)
//   a first-round quorum that reported newer versions --> the batch once more, versioned
//     past them (second round)
//   failed or skipped replica --> handoff actor (hint_atom)
//   (ship_atom, ship_batch) from another region's shipper, via the endpoint --> this
//     region's replicas --> quorum --> replica_ack to the shipper (relay_path.cpp)
//   (peer_up_atom | peer_down_atom) from membership --> links
//   tick_atom (its own timer) --> request_timeout to each share or read sent and not
//     answered within config.timeout (request_deadlines.hpp)
#include "actors/cluster/replication/replication_actor.hpp"

#include "actors/cluster/replication/replication_steps.hpp"

namespace minivault {

using namespace replication_detail;

namespace {

void on_batch(self_ptr self, client_batch& b) {
  self->state.outcomes->expect(b.origin, b.ticket);
  start_round(self, std::make_shared<const client_batch>(std::move(b)), 0);
}

} // namespace

namespace replication_detail {

void watch(self_ptr self, caf::message_id response_id) {
  auto& st = self->state;
  const auto now = self->clock().now();
  st.deadlines.opened(response_id, now + st.config.timeout);
  if (!st.tick_armed) { // else one is due at or before this (earlier) deadline
    st.tick_armed = true;
    self->delayed_send(self, st.config.timeout, tick_atom_v);
  }
}

void on_tick(self_ptr self) {
  auto& st = self->state;
  st.tick_armed = false;
  const auto now = self->clock().now();
  // The error message CAF's clock delivers for a request that timed out; its handler
  // runs as for any answer (and calls `answered`, which finds it closed already).
  st.deadlines.expire(now, [self](caf::message_id response_id) {
    self->eq_impl(response_id, self->ctrl(), self->context(),
                  caf::make_error(caf::sec::request_timeout));
  });
  if (auto next = st.deadlines.next()) {
    st.tick_armed = true;
    self->delayed_send(self, std::max(*next - now, caf::actor_clock::duration_type::zero()),
                       tick_atom_v);
  }
}

} // namespace replication_detail

replication_actor::behavior_type replication_actor_impl(self_ptr self, replication_config config,
                                                        replication_services services) {
  auto& st = self->state;
  st.place = std::move(services.place);
  st.clock = services.clock;
  st.engine = services.engine;
  st.storage = std::move(services.storage);
  st.writer = services.writer;
  st.shipper = std::move(services.shipper);
  st.handoff = std::move(services.handoff);
  st.board = services.board;
  st.counters = services.counters;
  st.hints = services.hints;
  st.outcomes = std::make_unique<ordered_outcomes>(st.board->lanes());
  st.links.resize(st.place->members());
  for (std::size_t r = 0; r < st.place->regions(); ++r)
    st.layout[r] = static_cast<std::uint8_t>(st.place->region_replicas(r));
  for (peer_id p : config.members.all())
    if (auto m = config.members.member_of(p)) st.links[m->at()].peer = p;
  st.relay_order.resize(st.place->regions());
  for (std::size_t r = 1; r < st.place->regions(); ++r)
    st.relay_order[r] = st.place->relay_order(r);
  st.config = std::move(config);
  return {
      [self](client_batch& b) { on_batch(self, b); },
      [self](ship_atom, const ship_batch& b) -> caf::result<replica_ack> {
        auto done = self->make_response_promise<replica_ack>();
        start_relay(self, b, done);
        return done;
      },
      [self](tick_atom) { on_tick(self); },
      [self](peer_up_atom, peer_id peer, const caf::strong_actor_ptr& ptr) {
        auto& st = self->state;
        auto m = st.config.members.member_of(peer);
        if (!m) return;
        auto& l = st.links[m->at()];
        l = replication_state::link{
            caf::actor_cast<peer_endpoint_actor>(ptr), peer, l.epoch + 1, 0, 0, 0};
      },
      [self](peer_down_atom, peer_id peer) {
        auto& st = self->state;
        auto m = st.config.members.member_of(peer);
        if (!m) return;
        auto& l = st.links[m->at()];
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
