// Message flow (one round):
//   tick_atom --> peer (digest_atom) --> differing shared partitions
//     --> for each, in turn: peer (pull_atom, p, our keys) --> batch --> storage actor
//         (replicate_atom) --> next partition
//   round over --> in_sync_ms / tombstone horizon; next tick (at once if it found work)
//   (pull_atom | read_atom) from the endpoint --> answered from the engine
#include "actors/cluster/repair/anti_entropy_actor.hpp"

#include <algorithm>
#include <optional>

#include "actors/cluster/repair/cluster_codec.hpp"
#include "actors/durability/batch_codec.hpp"
#include "actors/telemetry/log.hpp"

namespace minivault {

pull_reply newer_records(storage::engine& engine, std::uint32_t p, std::string_view have,
                         std::size_t bytes_max) {
  pull_reply out;
  std::unordered_map<std::string_view, held_version> theirs;
  if (p >= storage::partition_count || !unpack_key_versions(have, theirs)) return out;
  std::vector<storage::engine::key_version> mine;
  engine.partition_keys(p, mine);
  std::string value;
  for (const auto& kv : mine) {
    auto it = theirs.find(kv.key);
    if (it != theirs.end() && !(it->second.ver < kv.ver)) continue;
    storage::version ver;
    bool tombstone = false;
    if (engine.read_record(kv.key, value, ver, tombstone) != storage::get_status::found) continue;
    if (it != theirs.end() && !(it->second.ver < ver)) continue;
    pack_versioned_write(out, tombstone, kv.key, value, ver);
    if (out.ops.size() >= bytes_max) break;
  }
  return out;
}

read_reply record_of(storage::engine& engine, const std::string& key, storage::get_status* status) {
  read_reply out;
  std::string value;
  storage::version ver;
  bool tombstone = false;
  auto got =
      key.empty() ? storage::get_status::not_found : engine.read_record(key, value, ver, tombstone);
  if (got == storage::get_status::found) pack_versioned_write(out, tombstone, key, value, ver);
  if (status) *status = got;
  return out;
}

namespace {

using self_ptr = anti_entropy_actor::stateful_pointer<anti_entropy_state>;

void schedule(self_ptr self, bool soon) {
  auto& st = self->state;
  if (st.tick_pending) return;
  st.tick_pending = true;
  // While rounds find differences the next comes soon; differences that never go away
  // (a record a replica cannot store) fall back to the normal period, so a replica that
  // keeps disagreeing does not keep two nodes busy.
  st.busy_rounds = soon ? st.busy_rounds + 1 : 0;
  if (soon && st.busy_rounds <= anti_entropy_busy_rounds_max)
    self->delayed_send(self, st.config.period / 20, tick_atom_v);
  else
    self->delayed_send(self, st.config.period, tick_atom_v);
}

void update_horizon(anti_entropy_state& st) {
  std::uint64_t h = ~std::uint64_t{0};
  for (peer_id p : st.config.members.all())
    if (st.config.members.member_of(p)) h = std::min(h, st.in_sync_ms[p.at()]);
  st.engine->set_tombstone_horizon_ms(h);
}

void end_round(self_ptr self) {
  auto& st = self->state;
  st.busy = false;
  if (st.counters) st.counters->rounds.fetch_add(1, std::memory_order_relaxed);
  schedule(self, st.found_differences);
}

/// Pulls partitions `todo[k..]` from peer `i`, one request at a time.
void pull_next(self_ptr self, peer_id i, std::shared_ptr<std::vector<std::uint32_t>> todo,
               std::size_t k) {
  auto& st = self->state;
  if (k >= todo->size() || !st.endpoints[i.at()]) {
    end_round(self);
    return;
  }
  const std::uint32_t p = (*todo)[k];
  std::vector<storage::engine::key_version> mine;
  st.engine->partition_keys(p, mine);
  std::string have;
  pack_key_versions(mine, have);
  self->request(st.endpoints[i.at()], st.config.timeout, pull_atom_v, p, std::move(have))
      .then(
          [self, i, todo, k](pull_reply& b) {
            auto& st = self->state;
            if (b.count == 0) {
              pull_next(self, i, todo, k + 1);
              return;
            }
            st.clock->observe(max_version(b.ops, b.count));
            const auto n = b.count;
            self->request(st.storage, st.config.timeout, replicate_atom_v,
                          versioned_writes{b.count, std::move(b.ops)})
                .then(
                    [self, i, todo, k, n](const replica_ack& ack) {
                      auto& st = self->state;
                      if (ack.outcome == errc::ok && st.counters) {
                        st.counters->partitions_repaired.fetch_add(1, std::memory_order_relaxed);
                        st.counters->records_pulled.fetch_add(n, std::memory_order_relaxed);
                        if (auto m = st.config.members.member_of(i);
                            m && st.place->region_of(*m) != 0)
                          st.counters->remote_records_pulled[st.place->region_of(*m)].fetch_add(
                              n, std::memory_order_relaxed);
                      }
                      pull_next(self, i, todo, k + 1);
                    },
                    [self](const caf::error&) { end_round(self); });
          },
          [self](const caf::error&) { end_round(self); });
}

void round(self_ptr self) {
  auto& st = self->state;
  // The next up peer that is another member (the one after the last round's): of this
  // node's region, but of another region once per remote_period.
  const std::size_t n = st.endpoints.size();
  const auto now = std::chrono::steady_clock::now();
  const bool remote =
      st.place->regions() > 1 && now - st.last_remote_round >= st.config.remote_period;
  if (remote) st.last_remote_round = now;
  std::optional<peer_id> next;
  std::optional<member_id> m;
  for (std::size_t k = 0; k < n && !next; ++k) {
    const peer_id c{static_cast<std::uint32_t>((st.next_peer + k) % n)};
    if (st.endpoints[c.at()] && (m = st.config.members.member_of(c)) &&
        (st.place->region_of(*m) != 0) == remote)
      next = c;
  }
  if (!next) {
    st.found_differences = false;
    schedule(self, false);
    return;
  }
  const peer_id i = *next;
  st.next_peer = i.at() + 1;
  st.busy = true;
  const std::uint64_t started = storage::wall_ms();
  self->request(st.endpoints[i.at()], st.config.timeout, digest_atom_v)
      .then(
          [self, i, m = *m, started](const std::string& packed) {
            auto& st = self->state;
            std::vector<std::uint64_t> theirs, mine;
            if (!unpack_digests(packed, theirs) || theirs.size() != storage::partition_count) {
              end_round(self);
              return;
            }
            st.engine->partition_digests(mine);
            auto todo = std::make_shared<std::vector<std::uint32_t>>();
            for (std::uint32_t p = 0; p < storage::partition_count; ++p)
              if (mine[p] != theirs[p] && st.place->holds(self_member, p) && st.place->holds(m, p))
                todo->push_back(p);
            st.found_differences = !todo->empty();
            if (todo->empty()) {
              st.in_sync_ms[i.at()] = started;
              update_horizon(st);
            } else if (todo->size() > st.config.partitions_per_round) {
              todo->resize(st.config.partitions_per_round);
            }
            pull_next(self, i, todo, 0);
          },
          [self](const caf::error&) {
            self->state.found_differences = false;
            end_round(self);
          });
}

} // namespace

anti_entropy_actor::behavior_type
anti_entropy_actor_impl(self_ptr self, anti_entropy_config config, storage::engine* engine,
                        storage_actor storage, cluster_clock* clock,
                        std::shared_ptr<const placement> place, anti_entropy_counters* counters) {
  auto& st = self->state;
  st.engine = engine;
  st.storage = std::move(storage);
  st.clock = clock;
  st.place = std::move(place);
  st.counters = counters;
  st.endpoints.resize(config.members.peers());
  st.in_sync_ms.assign(config.members.peers(), 0);
  st.config = std::move(config);
  update_horizon(st);
  schedule(self, false);
  return {
      [self](peer_up_atom, peer_id peer, const caf::strong_actor_ptr& ptr) {
        auto& st = self->state;
        if (peer.at() >= st.endpoints.size()) return;
        st.endpoints[peer.at()] = caf::actor_cast<peer_endpoint_actor>(ptr);
      },
      [self](peer_down_atom, peer_id peer) {
        auto& st = self->state;
        if (peer.at() < st.endpoints.size()) st.endpoints[peer.at()] = nullptr;
      },
      [self](tick_atom) {
        auto& st = self->state;
        st.tick_pending = false;
        if (st.busy) return; // the round in progress schedules the next one
        round(self);
      },
      [self](pull_atom, std::uint32_t p, const std::string& have) {
        auto& st = self->state;
        return newer_records(*st.engine, p, have, st.config.pull_bytes_max);
      },
      [self](read_atom, const std::string& key) { return record_of(*self->state.engine, key); },
      [self](stop_atom) {
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
