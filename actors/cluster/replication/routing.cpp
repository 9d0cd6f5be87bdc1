// The replication actor's routing (replication_actor.hpp): which requests a round's
// writes become. Each write goes to its partition's replicas in this node's region; a
// write whose level waits for other regions also goes to each of them, as one request to
// a member there that relays it to that region's replicas (relay_path.cpp); a write at a
// local level is marked `ship` instead (the other regions get it from the outboxes,
// actors/cluster/geo/). Writes another region shipped here (`relay`) stay in this region.
#include <algorithm>
#include <array>
#include <optional>

#include "actors/cluster/replication/replication_steps.hpp"
#include "storage/table.hpp"

namespace minivault::replication_detail {

namespace {

bool one_level(const std::vector<packed_op>& ops) {
  for (const auto& op : ops)
    if (op.level != ops[0].level) return false;
  return true;
}

/// Does `op` stay in this region? Writes another region shipped (`relay`) do; so do writes
/// at a local level when there are other regions: those get them by shipping.
bool this_region_only(const replication_state& st, const packed_op& op, bool relay) {
  return relay || (st.place->regions() > 1 && is_local(op.level));
}

/// Other regions an op is not sent to (no relay up, or a local level) will never answer
/// for it (`sent[r]` false): they cannot count, so a tally that needs them fails once the
/// rest falls short instead of waiting for answers that never come.
void unreachable_regions(op_tally& t, const std::array<bool, regions_max>& sent,
                         std::size_t regions) {
  for (std::size_t r = 1; r < regions; ++r)
    if (!sent[r]) t.possible[r] = 0;
}

/// What a relay in another region waits for when a write at `level` goes there.
relay_wait wait_for(consistency level) {
  return level == consistency::all ? relay_wait::all : relay_wait::quorum;
}

/// A fresh tally for a write at `level` of a partition whose replicas are `st.layout`.
op_tally tally_for(const replication_state& st, consistency level, bool needs_local) {
  op_tally t;
  t.need = write_need(level, st.layout, st.place->regions(), st.config.write_quorum);
  t.possible = st.layout;
  t.needs_local = needs_local;
  return t;
}

/// Every member holds every key and every op asks the same level: one versioned batch for
/// this region's members and one per other region (to its relay) when the level waits for
/// them; one tally. no_quorum when too few members can take it now (judged with the bytes
/// that will be sent, as dispatch() judges them; another region counts as whole when its
/// relay is up).
status route_to_everyone(replication_state& st, std::size_t packed_bytes, pending& p, bool relay,
                         sends_t& sends) {
  const placement& pl = *st.place;
  auto vb = std::make_shared<versioned_writes>();
  vb->ops.reserve(packed_bytes + st.ops.size() * 12);
  for (const packed_op& op : st.ops)
    pack_versioned_write(*vb, op.del, op.key, op.value, op.ver);
  const bool local = this_region_only(st, st.ops[0], relay);
  vb->ship = local && !relay;
  const op_tally t = tally_for(st, st.ops[0].level, true);
  region_counts up{};
  std::vector<std::optional<member_id>> relays(pl.regions());
  for (member_id m : pl.all())
    if (pl.region_of(m) == 0) up[0] += available(st, m, vb->ops.size()) ? 1 : 0;
  for (std::size_t r = 1; r < pl.regions() && !local; ++r) {
    for (member_id m : st.relay_order[r])
      if (available(st, m, 0)) {
        relays[r] = m;
        up[r] = st.layout[r];
        break;
      }
  }
  if (!met(t.need, up)) return status(errc::no_quorum, shortfall(st, errc::no_quorum, t.need, up));
  p.uniform = true;
  p.tally.assign(1, t);
  std::array<bool, regions_max> sent{};
  for (std::size_t r = 1; r < pl.regions(); ++r)
    sent[r] = relays[r].has_value();
  unreachable_regions(p.tally[0], sent, pl.regions());
  for (member_id m : pl.all())
    if (pl.region_of(m) == 0) sends.push_back({m, vb});
  for (std::size_t r = 1; r < pl.regions(); ++r)
    if (relays[r]) sends.push_back({*relays[r], vb, true, wait_for(st.ops[0].level)});
  return {};
}

/// Each op to its partition's replicas here, and to the first of its replicas that is up
/// in each other region its level waits for (the relay): one request per member, one
/// tally per op. no_quorum when some op cannot reach its quorum now (judged with each
/// member's own request, as dispatch() judges it; a relay counts for its region's
/// replicas of the op): then nothing is written.
status route_by_partition(replication_state& st, pending& p, bool relay, sends_t& sends) {
  const placement& pl = *st.place;
  const std::size_t rf = pl.replicas_per_partition();
  std::vector<std::shared_ptr<versioned_writes>> subs(pl.members());
  std::vector<relay_wait> wait(pl.members(), relay_wait::quorum);
  p.uniform = false;
  p.ops_of.resize(pl.members());
  p.tally.clear();
  std::vector<std::vector<member_id>> sent_to(st.ops.size()); // per op
  for (std::size_t i = 0; i < st.ops.size(); ++i) {
    const packed_op& op = st.ops[i];
    const auto part = storage::partition_of(storage::table::hash_key(op.key));
    const member_id* reps = pl.replicas(part);
    p.tally.push_back(tally_for(st, op.level, pl.holds(self_member, part)));
    const bool local = this_region_only(st, op, relay);
    std::size_t relayed = 0;               // the last other region given a relay for this op
    for (std::size_t k = 0; k < rf; ++k) { // this region's replicas first, then by region
      const member_id m = reps[k];
      const std::size_t region = pl.region_of(m);
      if (region != 0 && (local || relayed == region || !available(st, m, 0))) continue;
      auto& sub = subs[m.at()];
      if (!sub) sub = std::make_shared<versioned_writes>();
      sub->ship = sub->ship || (local && !relay);
      pack_versioned_write(*sub, op.del, op.key, op.value, op.ver);
      p.ops_of[m.at()].push_back(static_cast<std::uint32_t>(i));
      sent_to[i].push_back(m);
      if (region != 0) {
        relayed = region;
        wait[m.at()] = std::max(wait[m.at()], wait_for(op.level));
      }
    }
  }
  std::vector<bool> up_now(pl.members(), false);
  for (member_id m : pl.all())
    up_now[m.at()] = subs[m.at()] && available(st, m, subs[m.at()]->ops.size());
  for (std::size_t i = 0; i < st.ops.size(); ++i) {
    region_counts up{};
    for (member_id m : sent_to[i]) {
      const std::size_t region = pl.region_of(m);
      if (up_now[m.at()]) up[region] += region == 0 ? 1 : st.layout[region];
    }
    if (!met(p.tally[i].need, up))
      return status(errc::no_quorum, shortfall(st, errc::no_quorum, p.tally[i].need, up));
    std::array<bool, regions_max> sent{};
    for (member_id m : sent_to[i])
      sent[pl.region_of(m)] = true;
    unreachable_regions(p.tally[i], sent, pl.regions());
  }
  for (member_id m : pl.all())
    if (subs[m.at()])
      sends.push_back({m, std::move(subs[m.at()]), pl.region_of(m) != 0, wait[m.at()]});
  return {};
}

} // namespace

status route(replication_state& st, std::size_t packed_bytes, pending& p, bool relay,
             sends_t& sends) {
  return st.place->everyone_holds_everything() && one_level(st.ops)
             ? route_to_everyone(st, packed_bytes, p, relay, sends)
             : route_by_partition(st, p, relay, sends);
}

} // namespace minivault::replication_detail
