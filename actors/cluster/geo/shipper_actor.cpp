// Message flow:
//   storage actor --(outbox_atom, committed writes)--> outbox.add --> ship every region
//   ship(r): outbox.take --> engine records --> ship_batch --(ship_atom)--> relay's endpoint
//     --> replica_ack ok: outbox.shipped, lag --> (shipped_atom) to this region's up peers
//     --> failure: outbox.unshipped, next relay
//   peer's endpoint --(shipped_atom, region, keys)--> outbox.shipped
//   peer_up / peer_down --> leaders, relays; tick_atom --> ship (retries, aged), gauges
#include "actors/cluster/geo/shipper_actor.hpp"

#include <algorithm>

#include "actors/cluster/geo/ship_codec.hpp"
#include "actors/cluster/repair/cluster_codec.hpp"
#include "actors/durability/batch_codec.hpp"
#include "actors/telemetry/log.hpp"
#include "storage/partition.hpp"
#include "storage/table.hpp"

namespace minivault {

namespace {

using self_ptr = shipper_actor::stateful_pointer<shipper_state>;

bool up(const shipper_state& st, member_id m) {
  return m == self_member || static_cast<bool>(st.endpoints[m.at()]);
}

/// Which partitions this node leads (placement::leads): their entries ship at once.
void elect(shipper_state& st) {
  std::vector<bool> leading(storage::partition_count, false);
  for (std::uint32_t p = 0; p < storage::partition_count; ++p)
    leading[p] = st.place->leads(p, [&](member_id m) { return up(st, m); });
  st.box->set_leading(std::move(leading));
}

/// The relay for region `r` now: the first up member in this shipper's order, passing
/// over `skip` of them after failures; nullopt when none is up.
std::optional<member_id> relay(const shipper_state& st, std::size_t r) {
  const auto& l = st.regions[r];
  std::vector<member_id> live;
  for (member_id m : l.relays)
    if (up(st, m)) live.push_back(m);
  if (live.empty()) return std::nullopt;
  return live[l.skip % live.size()];
}

void publish_gauges(shipper_state& st) {
  if (!st.counters || !st.box) return;
  for (std::size_t r = 1; r < st.regions.size(); ++r) {
    st.counters->backlog_writes[r].store(st.box->rows(r), std::memory_order_relaxed);
    st.counters->backlog_bytes[r].store(st.box->bytes(r), std::memory_order_relaxed);
    st.counters->oldest_unshipped_ms[r].store(st.box->oldest_ms(r), std::memory_order_relaxed);
  }
}

/// Tells this region's other up members that region `r` has `done` (they drop them from
/// their outboxes).
void announce(self_ptr self, std::size_t r, const outbox::shipped_list& done) {
  auto& st = self->state;
  std::vector<storage::engine::key_version> kv;
  kv.reserve(done.size());
  for (const auto& [key, ver] : done)
    kv.push_back({key, ver, false});
  std::string packed;
  pack_key_versions(kv, packed);
  for (member_id m : st.place->all())
    if (m != self_member && st.place->region_of(m) == 0 && st.endpoints[m.at()])
      self->send(st.endpoints[m.at()], shipped_atom_v, st.place->region_name(r), packed);
}

/// Reads the taken entries back from the engine into `w`; `done` gets the version each
/// one will have shipped. False on an engine error (the batch goes back).
bool fill(shipper_state& st, const std::vector<outbox::entry>& batch, versioned_writes& w,
          outbox::shipped_list& done) {
  std::string value;
  for (const auto& e : batch) {
    storage::version ver;
    bool tombstone = false;
    switch (st.engine->read_record(e.key, value, ver, tombstone)) {
    case storage::get_status::error:
      return false;
    case storage::get_status::not_found: // gone (a tombstone collected): nothing to ship
      done.emplace_back(e.key, e.ver);
      break;
    case storage::get_status::found:
      pack_versioned_write(w, tombstone, e.key, value, ver);
      done.emplace_back(e.key, std::max(ver, e.ver));
      break;
    }
  }
  return true;
}

void ship(self_ptr self, std::size_t r);

void on_answer(self_ptr self, std::size_t r, member_id to, const std::vector<outbox::entry>& batch,
               const outbox::shipped_list& done, errc outcome, std::uint64_t durable_ms) {
  auto& st = self->state;
  --st.in_flight[to.at()];
  if (outcome != errc::ok) {
    st.box->unshipped(r, batch);
    if (relay(st, r) == to) ++st.regions[r].skip; // the next batch tries another relay
    if (st.counters) st.counters->failed_batches[r].fetch_add(1, std::memory_order_relaxed);
    return; // the tick retries
  }
  if (st.box->shipped(r, done) != errc::ok)
    log(log_level::warning, "outbox: cannot delete shipped entries (they will ship again)");
  if (auto* c = st.counters) {
    c->shipped_batches[r].fetch_add(1, std::memory_order_relaxed);
    c->shipped_writes[r].fetch_add(done.size(), std::memory_order_relaxed);
    for (const auto& [key, ver] : done) {
      const std::uint64_t lag = durable_ms > ver.physical_ms() ? durable_ms - ver.physical_ms() : 0;
      c->lag[r].observe(latency_bounds_us, lag * 1000);
      c->last_lag_ms[r].store(lag, std::memory_order_relaxed);
    }
  }
  announce(self, r, done);
  publish_gauges(st);
  ship(self, r);
}

/// Sends region `r` batches while its window has room and entries wait.
void ship(self_ptr self, std::size_t r) {
  auto& st = self->state;
  auto& link = st.regions[r];
  const std::uint64_t now = storage::wall_ms();
  const auto grace = static_cast<std::uint64_t>(st.config.follower_grace.count());
  const std::uint64_t follow_before =
      link.reachable_since_ms != 0 && link.reachable_since_ms + grace <= now ? now - grace : 0;
  for (;;) {
    const auto to = relay(st, r);
    if (!to || st.in_flight[to->at()] >= st.config.window) return;
    std::vector<outbox::entry> batch;
    st.box->take(r, st.config.batch_rows, st.config.batch_bytes, follow_before, batch);
    if (batch.empty()) return;
    versioned_writes w;
    outbox::shipped_list done;
    if (!fill(st, batch, w, done)) {
      st.box->unshipped(r, batch);
      return;
    }
    if (w.count == 0) { // nothing left to send of these
      (void)st.box->shipped(r, done);
      continue;
    }
    ship_batch b = pack_ship_batch(w);
    if (st.counters)
      st.counters->wan_bytes[r].fetch_add(b.packed.size(), std::memory_order_relaxed);
    const member_id m = *to;
    ++st.in_flight[m.at()];
    self->request(st.endpoints[m.at()], st.config.timeout, ship_atom_v, std::move(b))
        .then(
            [self, r, m, batch, done](const replica_ack& ack) {
              on_answer(self, r, m, batch, done, ack.outcome, ack.durable_ms);
            },
            [self, r, m, batch, done](const caf::error&) {
              on_answer(self, r, m, batch, done, errc::timeout, 0);
            });
  }
}

void ship_all(self_ptr self) {
  if (!self->state.box) return;
  for (std::size_t r = 1; r < self->state.regions.size(); ++r)
    ship(self, r);
}

/// Writes the outbox did not keep: their partitions are marked for cross-region repair
/// (repair_marks.hpp), counted, and logged at most every 10 s.
void on_overflow(shipper_state& st, const std::vector<outbox::overflow>& dropped,
                 std::size_t writes) {
  const std::uint64_t now = storage::wall_ms();
  bool marked = st.marks != nullptr;
  for (std::size_t r = 1; r < st.place->regions() && st.marks; ++r) {
    std::vector<std::uint32_t> parts;
    for (const auto& d : dropped)
      if (d.region == r) parts.push_back(d.partition);
    if (!parts.empty() && st.marks->mark(r, parts, now) != errc::ok) marked = false;
  }
  if (st.counters) st.counters->overflow.fetch_add(dropped.size(), std::memory_order_relaxed);
  if (now - st.last_overflow_log_ms < 10000) return;
  st.last_overflow_log_ms = now;
  log(log_level::warning,
      "outbox full or failing: " + std::to_string(dropped.size()) + " copies of " +
          std::to_string(writes) + " write(s) for other regions not kept; " +
          (marked ? "their partitions are marked for cross-region anti-entropy"
                  : "marking their partitions failed (repair_marks.db): the periodic "
                    "cross-region comparison repairs them"));
}

void on_committed(self_ptr self, const versioned_writes& w) {
  auto& st = self->state;
  std::vector<outbox::write> writes;
  writes.reserve(w.count);
  std::size_t pos = 0;
  packed_op op;
  for (std::uint32_t i = 0; i < w.count && decode_packed_op(w.ops, pos, op); ++i) {
    const auto part = storage::partition_of(storage::table::hash_key(op.key));
    writes.push_back(
        {op.key, part, op.ver, static_cast<std::uint32_t>(op.key.size() + op.value.size())});
  }
  std::vector<outbox::overflow> dropped;
  if (!st.box || st.box->add(writes, storage::wall_ms(), dropped) != errc::ok) {
    dropped.clear(); // none of them was kept (or there is no outbox)
    for (std::size_t r = 1; r < st.place->regions(); ++r)
      for (const auto& x : writes)
        dropped.push_back({r, x.partition});
  }
  if (!dropped.empty()) on_overflow(st, dropped, writes.size());
  if (!st.box) return;
  publish_gauges(st);
  ship_all(self);
}

void on_peer_shipped(self_ptr self, const std::string& region, const std::string& packed) {
  auto& st = self->state;
  if (!st.box) return;
  std::size_t r = 1;
  while (r < st.place->regions() && st.place->region_name(r) != region)
    ++r;
  std::unordered_map<std::string_view, held_version> kv;
  if (r >= st.place->regions() || !unpack_key_versions(packed, kv)) return;
  outbox::shipped_list done;
  done.reserve(kv.size());
  for (const auto& [key, held] : kv)
    done.emplace_back(std::string(key), held.ver);
  (void)st.box->shipped(r, done);
  publish_gauges(st);
}

/// Member `m` came up (`ep`) or went down (null): leaders and relays change.
void on_peer(self_ptr self, peer_id peer, peer_endpoint_actor ep) {
  auto& st = self->state;
  auto m = st.config.members.member_of(peer);
  if (!m || !st.box) return;
  const std::size_t r = st.place->region_of(*m);
  auto count_up = [&] {
    std::size_t n = 0;
    for (member_id x : st.regions[r].relays)
      n += up(st, x) ? 1 : 0;
    return n;
  };
  const std::size_t before = r == 0 ? 0 : count_up();
  st.endpoints[m->at()] = std::move(ep);
  if (r == 0) {
    elect(st);
  } else if (before == 0 && count_up() > 0) {
    st.regions[r].reachable_since_ms = storage::wall_ms();
  } else if (count_up() == 0) {
    st.regions[r].reachable_since_ms = 0;
  }
  ship_all(self);
}

} // namespace

shipper_actor::behavior_type shipper_actor_impl(self_ptr self, shipper_config config,
                                                std::shared_ptr<const placement> place,
                                                storage::engine* engine, geo_counters* counters,
                                                repair_marks* marks) {
  auto& st = self->state;
  st.place = std::move(place);
  st.engine = engine;
  st.counters = counters;
  st.marks = marks;
  std::vector<std::string> names{std::string{}};
  for (std::size_t r = 1; r < st.place->regions(); ++r)
    names.push_back(st.place->region_name(r));
  auto opened = outbox::open(config.path, std::move(names), config.rows_max);
  if (opened) {
    st.box = std::move(*opened);
  } else {
    log(log_level::error, "shipping to other regions disabled: " + opened.error().reason() +
                              " (writes are marked for cross-region anti-entropy instead)");
  }
  st.endpoints.resize(st.place->members());
  st.in_flight.assign(st.place->members(), 0);
  st.regions.resize(st.place->regions());
  for (std::size_t r = 1; r < st.place->regions(); ++r)
    st.regions[r].relays = st.place->relay_order(r);
  st.config = std::move(config);
  if (st.box) elect(st);
  publish_gauges(st);
  self->delayed_send(self, st.config.tick, tick_atom_v);
  return {
      [self](outbox_atom, const versioned_writes& w) { on_committed(self, w); },
      [self](shipped_atom, const std::string& region, const std::string& packed) {
        on_peer_shipped(self, region, packed);
      },
      [self](peer_up_atom, peer_id peer, const caf::strong_actor_ptr& ptr) {
        on_peer(self, peer, caf::actor_cast<peer_endpoint_actor>(ptr));
      },
      [self](peer_down_atom, peer_id peer) { on_peer(self, peer, peer_endpoint_actor{}); },
      [self](tick_atom) {
        ship_all(self);
        publish_gauges(self->state);
        self->delayed_send(self, self->state.config.tick, tick_atom_v);
      },
      [self](stop_atom) {
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
