// Message flow (one round; with another region: region_round.cpp):
//   tick_atom --> peer (digest_atom) --> differing shared partitions
//     --> for each, in turn: peer (pull_atom, p, our keys) --> batch --> storage actor
//         (replicate_atom) --> next partition
//   round over --> in_sync_ms / tombstone horizon; next tick (at once if it found work)
//   (pull_atom | keys_atom) from the endpoint --> answered from the engine
#include "actors/cluster/repair/anti_entropy_actor.hpp"

#include <algorithm>
#include <optional>

#include "actors/cluster/repair/anti_entropy_steps.hpp"
#include "actors/cluster/repair/cluster_codec.hpp"
#include "actors/durability/batch_codec.hpp"
#include "actors/telemetry/log.hpp"

namespace minivault {

pull_reply newer_records(storage::engine& engine, const std::vector<std::uint32_t>& parts,
                         std::string_view have, std::size_t bytes_max, bool* truncated,
                         std::uint64_t written_before_ms) {
  pull_reply out;
  if (truncated) *truncated = false;
  std::unordered_map<std::string_view, held_version> theirs;
  if (!unpack_key_versions(have, theirs)) return out;
  std::vector<storage::engine::key_version> mine;
  for (std::uint32_t p : parts)
    if (p < storage::partition_count) engine.partition_keys(p, mine);
  std::string value;
  for (const auto& kv : mine) {
    auto it = theirs.find(kv.key);
    if (it != theirs.end() && !(it->second.ver < kv.ver)) continue;
    storage::version ver;
    bool tombstone = false;
    if (engine.read_record(kv.key, value, ver, tombstone) != storage::get_status::found) continue;
    if (it != theirs.end() && !(it->second.ver < ver)) continue;
    if (written_before_ms != 0 && ver.physical_ms() >= written_before_ms) continue;
    pack_versioned_write(out, tombstone, kv.key, value, ver);
    if (out.ops.size() >= bytes_max) {
      if (truncated) *truncated = &kv != &mine.back();
      break;
    }
  }
  return out;
}

pull_reply newer_records(storage::engine& engine, std::uint32_t p, std::string_view have,
                         std::size_t bytes_max) {
  if (p >= storage::partition_count) return {};
  return newer_records(engine, std::vector<std::uint32_t>{p}, have, bytes_max);
}

std::uint64_t tombstone_horizon_ms(const std::vector<std::uint64_t>& in_sync_ms,
                                   const std::vector<bool>& local,
                                   const std::vector<std::vector<std::uint64_t>>& region_sync_ms,
                                   const std::vector<bool>& held) {
  std::uint64_t h = ~std::uint64_t{0};
  for (std::size_t i = 0; i < in_sync_ms.size() && i < local.size(); ++i)
    if (local[i]) h = std::min(h, in_sync_ms[i]);
  for (std::size_t r = 1; r < region_sync_ms.size(); ++r)
    for (std::size_t p = 0; p < region_sync_ms[r].size() && p < held.size(); ++p)
      if (held[p]) h = std::min(h, region_sync_ms[r][p]);
  return h;
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

result<read_reply> records_of(storage::engine& engine, std::uint32_t count, std::string_view keys) {
  if (count > read_keys_max) return status(errc::bad_request, "too many keys in one read");
  read_reply out;
  std::string value;
  std::size_t pos = 0;
  packed_op op;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!decode_packed_op(keys, pos, op) || !op.read)
      return status(errc::bad_request, "malformed read keys");
    storage::version ver;
    bool tombstone = false;
    switch (engine.read_record(op.key, value, ver, tombstone)) {
    case storage::get_status::found:
      pack_versioned_write(out, tombstone, op.key, value, ver);
      break;
    case storage::get_status::not_found:
      pack_read(out.ops, out.count, op.key);
      break;
    case storage::get_status::error:
      return status(errc::io_error, "reading a key failed");
    }
    if (out.ops.size() >= read_reply_bytes_soft_max) return out; // the asker asks for the rest
  }
  if (pos != keys.size()) return status(errc::bad_request, "malformed read keys");
  return out;
}

namespace anti_entropy_detail {

peer_endpoint_actor endpoint_of(const anti_entropy_state& st, member_id m) {
  const auto& peer = st.peer_of[m.at()];
  return peer ? st.endpoints[peer->at()] : peer_endpoint_actor{};
}

namespace {

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

/// One round with the next up peer of this region (the one after the last round's).
void local_round(self_ptr self) {
  auto& st = self->state;
  const std::size_t n = st.endpoints.size();
  std::optional<peer_id> next;
  std::optional<member_id> m;
  for (std::size_t k = 0; k < n && !next; ++k) {
    const peer_id c{static_cast<std::uint32_t>((st.next_peer + k) % n)};
    if (st.endpoints[c.at()] && (m = st.config.members.member_of(c)) &&
        st.place->region_of(*m) == 0)
      next = c;
  }
  if (!next) {
    st.found_differences = false;
    schedule(self, false);
    return;
  }
  auto plan = std::make_shared<round_plan>();
  plan->peer = *next;
  plan->member = *m;
  plan->started_ms = storage::wall_ms();
  st.next_peer = next->at() + 1;
  st.busy = true;
  self->request(st.endpoints[next->at()], st.config.timeout, digest_atom_v)
      .then(
          [self, plan](const std::string& packed) {
            auto& st = self->state;
            std::vector<std::uint64_t> theirs, mine;
            if (!unpack_digests(packed, theirs) || theirs.size() != storage::partition_count) {
              end_round(self);
              return;
            }
            st.engine->partition_digests(mine);
            for (std::uint32_t p = 0; p < storage::partition_count; ++p)
              if (mine[p] != theirs[p] && st.place->holds(self_member, p) &&
                  st.place->holds(plan->member, p))
                plan->pulls.push_back(p);
            st.found_differences = !plan->pulls.empty();
            if (plan->pulls.empty()) {
              st.in_sync_ms[plan->peer.at()] = plan->started_ms;
              update_horizon(st);
            } else if (plan->pulls.size() > st.config.partitions_per_round) {
              plan->pulls.resize(st.config.partitions_per_round);
            }
            pull_next(self, plan, 0);
          },
          [self](const caf::error&) {
            self->state.found_differences = false;
            end_round(self);
          });
}

/// A round with another region when one is due, but never two in a row: local rounds
/// go on while a region has repair marks (its rounds are due every period then).
void round(self_ptr self) {
  auto& st = self->state;
  const bool after_region = st.last_round_remote;
  st.last_round_remote = false;
  if (!after_region) {
    if (auto r = region_due(st)) {
      st.last_round_remote = true;
      region_round(self, *r);
      return;
    }
  }
  local_round(self);
}

} // namespace

void update_horizon(anti_entropy_state& st) {
  std::vector<bool> local(st.in_sync_ms.size(), false);
  for (peer_id p : st.config.members.all())
    if (auto m = st.config.members.member_of(p)) local[p.at()] = st.place->region_of(*m) == 0;
  std::vector<bool> held(storage::partition_count);
  for (std::uint32_t p = 0; p < storage::partition_count; ++p)
    held[p] = st.place->holds(self_member, p);
  st.engine->set_tombstone_horizon_ms(
      tombstone_horizon_ms(st.in_sync_ms, local, st.region_sync_ms, held));
}

void end_round(self_ptr self) {
  auto& st = self->state;
  st.busy = false;
  if (st.counters) st.counters->rounds.fetch_add(1, std::memory_order_relaxed);
  schedule(self, st.found_differences);
}

void pull_next(self_ptr self, plan_ptr plan, std::size_t k) {
  auto& st = self->state;
  if (k >= plan->pulls.size() || !st.endpoints[plan->peer.at()]) {
    end_round(self);
    return;
  }
  const std::uint32_t p = plan->pulls[k];
  std::vector<storage::engine::key_version> mine;
  st.engine->partition_keys(p, mine);
  std::string have;
  pack_key_versions(mine, have);
  self->request(st.endpoints[plan->peer.at()], st.config.timeout, pull_atom_v, p, std::move(have))
      .then(
          [self, plan, k](pull_reply& b) {
            auto& st = self->state;
            if (b.count == 0) {
              pull_next(self, plan, k + 1);
              return;
            }
            st.clock->observe(max_version(b.ops, b.count));
            const auto n = b.count;
            self->request(st.storage, st.config.timeout, replicate_atom_v,
                          versioned_writes{b.count, std::move(b.ops)})
                .then(
                    [self, plan, k, n](const replica_ack& ack) {
                      auto& st = self->state;
                      if (ack.outcome == errc::ok && st.counters) {
                        st.counters->partitions_repaired.fetch_add(1, std::memory_order_relaxed);
                        st.counters->records_pulled.fetch_add(n, std::memory_order_relaxed);
                      }
                      pull_next(self, plan, k + 1);
                    },
                    [self](const caf::error&) { end_round(self); });
          },
          [self](const caf::error&) { end_round(self); });
}

} // namespace anti_entropy_detail

using namespace anti_entropy_detail;

anti_entropy_actor::behavior_type
anti_entropy_actor_impl(self_ptr self, anti_entropy_config config, storage::engine* engine,
                        storage_actor storage, cluster_clock* clock,
                        std::shared_ptr<const placement> place, anti_entropy_counters* counters,
                        repair_marks* marks) {
  auto& st = self->state;
  st.marks = marks;
  st.engine = engine;
  st.storage = std::move(storage);
  st.clock = clock;
  st.place = std::move(place);
  st.counters = counters;
  st.endpoints.resize(config.members.peers());
  st.in_sync_ms.assign(config.members.peers(), 0);
  st.peer_of.resize(st.place->members());
  for (peer_id p : config.members.all())
    if (auto m = config.members.member_of(p)) st.peer_of[m->at()] = p;
  st.region_sync_ms.assign(st.place->regions(),
                           std::vector<std::uint64_t>(storage::partition_count));
  st.last_region_round.assign(st.place->regions(), std::chrono::steady_clock::time_point{});
  st.region_behind.assign(st.place->regions(), false);
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
      [self](pull_atom, const std::string& partitions,
             const std::string& have) -> caf::result<pull_reply> {
        auto& st = self->state;
        std::vector<std::uint32_t> parts;
        if (!unpack_partitions(partitions, parts)) return caf::make_error(errc::bad_request);
        // Another region asks: what was written lately is on its way there by shipping.
        const auto now = storage::wall_ms();
        const auto settle = static_cast<std::uint64_t>(st.config.shipping_settle.count());
        return newer_records(*st.engine, parts, have, st.config.pull_bytes_max, nullptr,
                             now > settle ? now - settle : 1);
      },
      [self](keys_atom, const std::string& partitions) -> caf::result<std::string> {
        std::vector<std::uint32_t> parts;
        if (!unpack_partitions(partitions, parts)) return caf::make_error(errc::bad_request);
        std::vector<storage::engine::key_version> keys;
        for (std::uint32_t p : parts)
          self->state.engine->partition_keys(p, keys);
        std::string out;
        pack_key_versions(keys, out);
        return out;
      },
      [self](stop_atom) {
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
