// The anti-entropy actor's rounds with other regions (anti_entropy_actor.hpp, top):
//   region_due --> region_round(r): target = first up member of r (relay order) holding
//   the partition compared with r longest ago --(digest_atom)--> equal: region_sync_ms,
//   marks cleared; differing, marked, led here: pushes; other differing ones led here: pulls
//   pushes first (push): (keys_atom, partitions) --> newer_records --> one ship_batch
//     --(ship_atom)--> the target relays it to its region --> ok and complete: marks
//     cleared
//   then pulls (pull_region): (pull_atom, partitions, our keys of them) --> storage actor
//     --> fan_out to this region's other replicas --> end of the round
#include <algorithm>

#include "actors/cluster/geo/ship_codec.hpp"
#include "actors/cluster/repair/anti_entropy_steps.hpp"
#include "actors/cluster/repair/cluster_codec.hpp"
#include "actors/telemetry/log.hpp"

namespace minivault::anti_entropy_detail {

namespace {

/// Region `r`'s member to compare with: the first up one in relay order that holds the
/// partition (held here; marked first, if any is) compared with `r` longest ago; else
/// the first up one. nullopt when none is up.
std::optional<member_id> target(const anti_entropy_state& st, std::size_t r) {
  std::vector<member_id> live;
  for (member_id m : st.place->relay_order(r))
    if (endpoint_of(st, m)) live.push_back(m);
  if (live.empty()) return std::nullopt;
  std::vector<std::uint32_t> candidates =
      st.marks ? st.marks->marked(r) : std::vector<std::uint32_t>{};
  if (candidates.empty())
    for (std::uint32_t p = 0; p < storage::partition_count; ++p)
      candidates.push_back(p);
  std::optional<std::uint32_t> oldest;
  for (std::uint32_t p : candidates)
    if (st.place->holds(self_member, p) &&
        (!oldest || st.region_sync_ms[r][p] < st.region_sync_ms[r][*oldest]))
      oldest = p;
  for (member_id m : live)
    if (oldest && st.place->holds(m, *oldest)) return m;
  return live.front();
}

/// Fills `plan` from the target's digests `theirs`: equal partitions are in sync as of
/// the round's start (their marks go); differing marked ones are pushed (by their leader,
/// or by a follower once the mark is older than the grace); the other differing ones led
/// here are pulled (a pushed one is compared again next round). Returns whether
/// partitions were left for the next round.
bool plan_region(anti_entropy_state& st, round_plan& plan,
                 const std::vector<std::uint64_t>& theirs) {
  std::vector<std::uint64_t> mine;
  st.engine->partition_digests(mine);
  const std::size_t r = plan.region;
  std::vector<std::uint32_t> marked = st.marks ? st.marks->marked(r) : std::vector<std::uint32_t>{};
  std::vector<std::uint32_t> equal;
  const std::uint64_t grace_ms = static_cast<std::uint64_t>(st.config.follower_grace.count());
  const std::uint64_t aged = plan.started_ms - std::min(plan.started_ms, grace_ms);
  for (std::uint32_t p = 0; p < storage::partition_count; ++p) {
    if (!st.place->holds(self_member, p) || !st.place->holds(plan.member, p)) continue;
    if (mine[p] == theirs[p]) {
      st.region_sync_ms[r][p] = plan.started_ms;
      equal.push_back(p);
      continue;
    }
    const bool leads =
        st.place->leads(p, [&](member_id m) { return static_cast<bool>(endpoint_of(st, m)); });
    if (std::binary_search(marked.begin(), marked.end(), p) &&
        (leads || st.marks->marked_before(r, p, aged)))
      plan.pushes.push_back(p);
    else if (leads)
      plan.pulls.push_back(p);
  }
  if (st.marks && !equal.empty() && st.marks->clear(r, equal, plan.started_ms) != errc::ok)
    log(log_level::warning, "repair marks: cannot clear (they are compared again)");
  const std::size_t cap = st.config.partitions_per_round;
  const bool more = plan.pulls.size() > cap || plan.pushes.size() > cap;
  if (plan.pulls.size() > cap) plan.pulls.resize(cap);
  if (plan.pushes.size() > cap) plan.pushes.resize(cap);
  update_horizon(st);
  return more;
}

/// Sends records pulled from another region to this region's other up replicas of
/// their keys (best effort: a replica that misses them pulls them from this node in a
/// local round).
void fan_out(self_ptr self, const versioned_writes& w) {
  auto& st = self->state;
  std::vector<versioned_writes> subs;
  split_by_replica(*st.place, 0, w, subs);
  for (member_id m : st.place->all())
    if (auto ep = endpoint_of(st, m); ep && subs[m.at()].count > 0)
      self->request(ep, st.config.timeout, replicate_atom_v, std::move(subs[m.at()]))
          .then([](const replica_ack&) {}, [](const caf::error&) {});
}

/// Pulls every partition of `plan->pulls` in one request (this node's keys of all of
/// them; the answer bounded by pull_bytes_max: a full one leaves the rest to the next
/// round, soon), applies the records here, sends them on; then ends the round.
void pull_region(self_ptr self, plan_ptr plan) {
  auto& st = self->state;
  const auto ep = st.endpoints[plan->peer.at()];
  if (plan->pulls.empty() || !ep) {
    end_round(self);
    return;
  }
  // Left-over pushes keep their marks, which make the region due every period anyway.
  std::vector<storage::engine::key_version> mine;
  if (fit_key_lists(*st.engine, plan->pulls, st.config.pull_bytes_max, mine)) plan->more = true;
  std::string parts, have;
  pack_partitions(plan->pulls, parts);
  pack_key_versions(mine, have);
  self->request(ep, st.config.timeout, pull_atom_v, std::move(parts), std::move(have))
      .then(
          [self, plan](pull_reply& b) {
            auto& st = self->state;
            // More to pull: the answer was full, or partitions were left over and this
            // answer was not empty. (Partitions that differ only by writes still being
            // shipped answer nothing: those do not make the next round come early, so a
            // region under steady writes is not asked for key lists every period.)
            const bool behind =
                b.ops.size() >= st.config.pull_bytes_max || (plan->more && b.count > 0);
            st.found_differences = st.region_behind[plan->region] = behind;
            if (b.count == 0) {
              end_round(self);
              return;
            }
            st.clock->observe(max_version(b.ops, b.count));
            auto w =
                std::make_shared<versioned_writes>(versioned_writes{b.count, std::move(b.ops)});
            self->request(st.storage, st.config.timeout, replicate_atom_v, *w)
                .then(
                    [self, plan, w](const replica_ack& ack) {
                      auto& st = self->state;
                      if (ack.outcome == errc::ok) {
                        if (st.counters) {
                          st.counters->partitions_repaired.fetch_add(plan->pulls.size(),
                                                                     std::memory_order_relaxed);
                          st.counters->records_pulled.fetch_add(w->count,
                                                                std::memory_order_relaxed);
                          st.counters->remote_records_pulled[plan->region].fetch_add(
                              w->count, std::memory_order_relaxed);
                        }
                        fan_out(self, *w);
                      }
                      end_round(self);
                    },
                    [self](const caf::error&) { end_round(self); });
          },
          [self](const caf::error&) { end_round(self); });
}

} // namespace

bool fit_key_lists(const storage::engine& engine, std::vector<std::uint32_t>& parts,
                   std::size_t bytes_max, std::vector<storage::engine::key_version>& keys) {
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::size_t before = keys.size();
    engine.partition_keys(parts[i], keys);
    for (std::size_t k = before; k < keys.size(); ++k)
      bytes += 2 + keys[k].key.size() + 13; // cluster_codec's key/version entry
    if (bytes > bytes_max && i > 0) {
      keys.resize(before);
      parts.resize(i);
      return true;
    }
  }
  return false;
}

std::optional<std::size_t> region_due(anti_entropy_state& st) {
  const std::size_t regions = st.place->regions();
  if (regions < 2) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t k = 0; k + 1 < regions; ++k) {
    const std::size_t r = 1 + (st.next_region - 1 + k) % (regions - 1);
    const auto since = now - st.last_region_round[r];
    const bool urgent = st.region_behind[r] || (st.marks && st.marks->count(r) > 0);
    if (since >= st.config.remote_period || (urgent && since >= st.config.period)) {
      bool reachable = false;
      for (member_id m : st.place->all())
        reachable = reachable || (st.place->region_of(m) == r && endpoint_of(st, m));
      if (!reachable) continue;
      st.next_region = r % (regions - 1) + 1;
      return r;
    }
  }
  return std::nullopt;
}

void region_round(self_ptr self, std::size_t r) {
  auto& st = self->state;
  st.last_region_round[r] = std::chrono::steady_clock::now();
  st.found_differences = false;
  const auto m = target(st, r);
  if (!m) {
    end_round(self);
    return;
  }
  auto plan = std::make_shared<round_plan>();
  plan->peer = *st.peer_of[m->at()];
  plan->member = *m;
  plan->region = r;
  plan->started_ms = storage::wall_ms();
  st.busy = true;
  self->request(endpoint_of(st, *m), st.config.timeout, digest_atom_v)
      .then(
          [self, plan](const std::string& packed) {
            std::vector<std::uint64_t> theirs;
            if (!unpack_digests(packed, theirs) || theirs.size() != storage::partition_count) {
              end_round(self);
              return;
            }
            // Partitions left over (plan->more) may make the next round come soon (a local
            // one, then this): pull_region decides.
            auto& st = self->state;
            plan->more = plan_region(st, *plan, theirs);
            st.region_behind[plan->region] = false; // found_differences: false since the start
            push(self, plan);
          },
          [self](const caf::error&) { end_round(self); });
}

void push(self_ptr self, plan_ptr plan) {
  auto& st = self->state;
  const auto ep = st.endpoints[plan->peer.at()];
  if (plan->pushes.empty() || !ep || !st.marks) {
    pull_region(self, plan);
    return;
  }
  std::vector<storage::engine::key_version> mine; // the size of the answer, about
  (void)fit_key_lists(*st.engine, plan->pushes, st.config.pull_bytes_max, mine);
  std::string parts;
  pack_partitions(plan->pushes, parts);
  const std::uint64_t asked_ms = storage::wall_ms();
  self->request(ep, st.config.timeout, keys_atom_v, std::move(parts))
      .then(
          [self, plan, asked_ms](const std::string& theirs) {
            auto& st = self->state;
            const std::size_t r = plan->region;
            bool truncated = false;
            pull_reply b = newer_records(*st.engine, plan->pushes, theirs, st.config.pull_bytes_max,
                                         &truncated);
            // Everything this node held of them when it asked is there once sent.
            auto clear = [self, plan, asked_ms] {
              if (self->state.marks->clear(plan->region, plan->pushes, asked_ms) != errc::ok)
                log(log_level::warning, "repair marks: cannot clear (they are compared again)");
            };
            if (b.count == 0) {
              clear();
              pull_region(self, plan);
              return;
            }
            const auto n = b.count;
            ship_batch batch = pack_ship_batch(versioned_writes{b.count, std::move(b.ops)});
            const std::size_t bytes = batch.packed.size();
            self->request(st.endpoints[plan->peer.at()], st.config.timeout, ship_atom_v,
                          std::move(batch))
                .then(
                    [self, plan, r, n, bytes, truncated, clear](const replica_ack& ack) {
                      auto& st = self->state;
                      if (ack.outcome == errc::ok) {
                        if (st.counters) {
                          st.counters->remote_records_pushed[r].fetch_add(
                              n, std::memory_order_relaxed);
                          st.counters->remote_bytes_pushed[r].fetch_add(bytes,
                                                                        std::memory_order_relaxed);
                        }
                        if (!truncated) clear();
                      }
                      pull_region(self, plan);
                    },
                    [self](const caf::error&) { end_round(self); });
          },
          [self](const caf::error&) { end_round(self); });
}

} // namespace minivault::anti_entropy_detail
