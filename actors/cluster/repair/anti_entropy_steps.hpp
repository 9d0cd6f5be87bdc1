#pragma once
// The anti-entropy actor's steps, shared by its files (anti_entropy_actor.cpp: local
// rounds, serving peers; region_round.cpp: rounds with other regions). Internal to the
// actor: only its own handlers call these, on its thread.
#include <memory>
#include <optional>
#include <vector>

#include "actors/cluster/repair/anti_entropy_actor.hpp"

namespace minivault::anti_entropy_detail {

using self_ptr = anti_entropy_actor::stateful_pointer<anti_entropy_state>;

/// What one round does with one peer: partitions to pull from it, then to push to it.
struct round_plan {
  peer_id peer;
  member_id member;
  std::size_t region = 0;       // the peer's (0: this node's)
  std::uint64_t started_ms = 0; // wall time the round began
  std::vector<std::uint32_t> pulls, pushes;
  bool more = false; // partitions beyond partitions_per_round were left for the next round
};
using plan_ptr = std::shared_ptr<round_plan>;

/// The up endpoint of member `m`, or null.
[[nodiscard]] peer_endpoint_actor endpoint_of(const anti_entropy_state& st, member_id m);

/// Pulls `plan->pulls[k..]` from the peer (of this region), one request at a time,
/// applying each answer here; then ends the round.
void pull_next(self_ptr self, plan_ptr plan, std::size_t k);
/// Ends the round: counts it, schedules the next.
void end_round(self_ptr self);
/// Recomputes the engine's tombstone horizon.
void update_horizon(anti_entropy_state& st);

/// Keeps the first of `parts` whose keys in `engine`, packed as key lists are, fit in
/// `bytes_max` (at least one partition), appending their keys to `keys`: a request
/// carries (or, for keys_atom, asks for) about that much. Returns whether any were left
/// out (the next round takes them).
[[nodiscard]] bool fit_key_lists(const storage::engine& engine, std::vector<std::uint32_t>& parts,
                                 std::size_t bytes_max,
                                 std::vector<storage::engine::key_version>& keys);

/// The other region whose round is due now, if any (region_round.cpp).
[[nodiscard]] std::optional<std::size_t> region_due(anti_entropy_state& st);
/// One round with region `r` (region_round.cpp).
void region_round(self_ptr self, std::size_t r);
/// Pushes what the peer lacks of `plan->pushes` (region_round.cpp); then pulls
/// `plan->pulls` from it in one request and sends them on in this region.
void push(self_ptr self, plan_ptr plan);

} // namespace minivault::anti_entropy_detail
