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

#include "actors/cluster/replication/replication_steps.hpp"

namespace minivault {

using namespace replication_detail;

namespace {

void on_batch(self_ptr self, client_batch& b) {
  self->state.outcomes->expect(b.origin, b.ticket);
  start_round(self, std::make_shared<const client_batch>(std::move(b)), 0);
}

} // namespace

replication_actor::behavior_type replication_actor_impl(self_ptr self, replication_config config,
                                                        replication_services services) {
  auto& st = self->state;
  st.place = std::move(services.place);
  st.clock = services.clock;
  st.engine = services.engine;
  st.storage = std::move(services.storage);
  st.handoff = std::move(services.handoff);
  st.board = services.board;
  st.counters = services.counters;
  st.hints = services.hints;
  st.outcomes = std::make_unique<ordered_outcomes>(st.board->lanes());
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
