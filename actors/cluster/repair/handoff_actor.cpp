// Message flow:
//   (hint_atom, peer, batch) from replication --> hint_store.add --> deliver if up
//   (peer_up_atom, peer, endpoint) --> deliver: oldest chunk --> (replicate_atom) to the
//     peer --> ok: remove, next chunk; failure: wait for the timer
//   tick_atom --> deliver to every up peer with hints
#include "actors/cluster/repair/handoff_actor.hpp"

#include "actors/telemetry/log.hpp"

namespace minivault {

namespace {

using self_ptr = handoff_actor::stateful_pointer<handoff_state>;

void refresh_pending(handoff_state& st) {
  if (st.counters && st.store) st.counters->pending.store(st.store->total());
}

void deliver(self_ptr self, peer_id peer) {
  auto& st = self->state;
  const std::size_t i = peer.at();
  if (!st.store || i >= st.endpoints.size() || !st.endpoints[i] || st.delivering[i]) return;
  const std::string& name = st.config.peer_names[i];
  if (st.store->count(name) == 0) return;
  std::vector<hint_store::hint> hints;
  if (st.store->oldest(name, st.config.chunk_bytes, hints) != errc::ok || hints.empty()) return;
  versioned_writes chunk; // hints share the packed format: concatenated, they are one batch
  std::vector<std::int64_t> ids;
  for (auto& h : hints) {
    chunk.ops += h.ops;
    chunk.count += h.count;
    ids.push_back(h.id);
  }
  st.delivering[i] = true;
  if (const std::size_t region = i < st.config.peer_regions.size() ? st.config.peer_regions[i] : 0;
      region != 0 && st.counters)
    st.counters->wan_bytes[region].fetch_add(chunk.ops.size(), std::memory_order_relaxed);
  self->request(st.endpoints[i], st.config.timeout, replicate_atom_v, std::move(chunk))
      .then(
          [self, peer, ids](const replica_ack& ack) {
            auto& st = self->state;
            st.delivering[peer.at()] = false;
            if (ack.outcome != errc::ok) return; // the peer failed to store it: the timer retries
            if (st.store->remove(ids) != errc::ok) return;
            if (st.counters) st.counters->delivered.fetch_add(ids.size());
            refresh_pending(st);
            deliver(self, peer); // the next chunk at once
          },
          [self, peer](const caf::error&) { self->state.delivering[peer.at()] = false; });
}

} // namespace

handoff_actor::behavior_type handoff_actor_impl(self_ptr self, handoff_config config,
                                                handoff_counters* counters) {
  auto& st = self->state;
  std::string error;
  st.store = hint_store::open(config.path, config.bytes_max, error);
  if (!st.store)
    log(log_level::error, "hinted handoff disabled: " + error +
                              " (peers that miss writes catch up by anti-entropy only)");
  st.endpoints.resize(config.peer_names.size());
  st.delivering.assign(config.peer_names.size(), false);
  st.counters = counters;
  st.config = std::move(config);
  refresh_pending(st);
  self->delayed_send(self, st.config.retry, tick_atom_v);
  return {
      [self](hint_atom, peer_id peer, const versioned_writes& b) {
        auto& st = self->state;
        if (st.counters) st.counters->queued_bytes.fetch_sub(b.ops.size());
        if (!st.store || peer.at() >= st.config.peer_names.size()) return;
        const std::string& name = st.config.peer_names[peer.at()];
        errc e = st.store->add(name, b.ops, b.count);
        if (e == errc::ok) {
          if (st.counters) st.counters->stored.fetch_add(1);
          refresh_pending(st);
          return;
        }
        if (st.counters) st.counters->dropped.fetch_add(1);
        auto now = std::chrono::steady_clock::now();
        if (now - st.last_drop_log >= std::chrono::seconds(10)) {
          st.last_drop_log = now;
          log(log_level::warning, "hint for " + name + " dropped (" + std::string(to_string(e)) +
                                      "); anti-entropy will repair that peer");
        }
      },
      [self](peer_up_atom, peer_id peer, const caf::strong_actor_ptr& ptr) {
        auto& st = self->state;
        if (peer.at() >= st.endpoints.size()) return;
        st.endpoints[peer.at()] = caf::actor_cast<peer_endpoint_actor>(ptr);
        deliver(self, peer);
      },
      [self](peer_down_atom, peer_id peer) {
        auto& st = self->state;
        if (peer.at() < st.endpoints.size()) st.endpoints[peer.at()] = nullptr;
      },
      [self](tick_atom) {
        auto& st = self->state;
        for (peer_id p : all_ids<peer_id>(st.endpoints.size()))
          deliver(self, p);
        self->delayed_send(self, st.config.retry, tick_atom_v);
      },
      [self](stop_atom) {
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
