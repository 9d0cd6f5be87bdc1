#pragma once
// Quorum arithmetic of the replication actor as pure functions (after Scylla's
// db/consistency_level.hh): what a consistency level needs from each region's replicas
// (protocol/README.md §4), when one op of a batch holds it or can no longer get there,
// when a read is resolved, and what a round that reached its quorum leads to. No actors, no I/O:
// unit-tested on their own (tests/actors/cluster/replication/quorum_test.cpp).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "actors/cluster/replication/placement.hpp"
#include "protocol/consistency.hpp"
#include "protocol/errc.hpp"

namespace minivault {

/// Counts per region of one partition's replicas; index 0 is this node's region
/// (placement.hpp), unused regions stay 0.
using region_counts = std::array<std::uint8_t, regions_max>;

[[nodiscard]] constexpr std::size_t sum(const region_counts& c, std::size_t from = 0) noexcept {
  std::size_t n = 0;
  for (std::size_t r = from; r < c.size(); ++r)
    n += c[r];
  return n;
}

/// What a consistency level asks of one op's replicas (or of a read's answers): at least
/// `per_region[r]` from each region r, `remote_any` from the regions other than this
/// node's together, `total` from all together.
struct quorum_need {
  region_counts per_region{};
  std::uint16_t remote_any = 0;
  std::uint16_t total = 0;
};

/// Do `got` (per region) meet `need`?
[[nodiscard]] constexpr bool met(const quorum_need& need, const region_counts& got) noexcept {
  for (std::size_t r = 0; r < got.size(); ++r)
    if (got[r] < need.per_region[r]) return false;
  return sum(got, 1) >= need.remote_any && sum(got) >= need.total;
}

/// The region whose count falls short of `need` (the first such); regions_max when what
/// is short is `remote_any` or `total`; nullopt when `got` meets it.
[[nodiscard]] constexpr std::optional<std::size_t> short_region(const quorum_need& need,
                                                                const region_counts& got) noexcept {
  for (std::size_t r = 0; r < got.size(); ++r)
    if (got[r] < need.per_region[r]) return r;
  if (met(need, got)) return std::nullopt;
  return regions_max;
}

/// A region's write quorum when it holds `replicas` of a partition: `write_quorum`
/// (-write-quorum), or a majority of a region too small for it.
[[nodiscard]] constexpr std::size_t region_quorum(std::size_t replicas,
                                                  std::size_t write_quorum) noexcept {
  return replicas >= write_quorum ? write_quorum : replicas / 2 + 1;
}

/// What a write at level `c` needs, with `replicas[r]` replicas of the partition in region
/// r (`regions` of them).
[[nodiscard]] inline quorum_need write_need(consistency c, const region_counts& replicas,
                                            std::size_t regions, std::size_t write_quorum) {
  quorum_need n;
  auto q = [&](std::size_t r) {
    return static_cast<std::uint8_t>(region_quorum(replicas[r], write_quorum));
  };
  switch (c) {
  case consistency::one:
    n.total = 1;
    break;
  case consistency::region_safe:
    n.remote_any = 1;
    [[fallthrough]];
  case consistency::local_quorum:
    n.per_region[0] = q(0);
    break;
  case consistency::each_quorum:
    for (std::size_t r = 0; r < regions; ++r)
      n.per_region[r] = q(r);
    break;
  case consistency::quorum:
    n.total = static_cast<std::uint16_t>(sum(replicas) / 2 + 1);
    break;
  case consistency::all:
    n.per_region = replicas;
    break;
  }
  return n;
}

/// What a quorum read at level `c` needs so that it meets every write acknowledged at the
/// same level: per region, replicas - quorum + 1 (so the two always share a replica).
/// region_safe reads as local_quorum.
[[nodiscard]] inline quorum_need read_need(consistency c, const region_counts& replicas,
                                           std::size_t regions, std::size_t write_quorum) {
  quorum_need n;
  auto r_of = [&](std::size_t r) {
    return static_cast<std::uint8_t>(replicas[r] - region_quorum(replicas[r], write_quorum) + 1);
  };
  switch (c) {
  case consistency::one:
    n.total = 1;
    break;
  case consistency::local_quorum:
  case consistency::region_safe:
    n.per_region[0] = r_of(0);
    break;
  case consistency::each_quorum:
    for (std::size_t r = 0; r < regions; ++r)
      n.per_region[r] = r_of(r);
    break;
  case consistency::quorum: {
    const std::size_t all = sum(replicas);
    n.total = static_cast<std::uint16_t>(all - (all / 2 + 1) + 1);
    break;
  }
  case consistency::all:
    n.per_region = replicas;
    break;
  }
  return n;
}

/// One op's answers in a round (or the whole batch's, when every replica got every op).
struct op_tally {
  quorum_need need;
  region_counts acks{};     // replicas that made it durable
  region_counts possible{}; // replicas that may still ack (not failed)
  bool needs_local = false; // this node is one of the op's replicas
  bool local_acked = false; // ... and has made it durable
  bool counted = false;     // reached its quorum (counted once)
};

/// A replica in `region` (`local`: this node) made the op durable. True when this ack
/// completes the op: the replicas that hold it meet its need and, when this node is one
/// of its replicas, this node does (so a read here after the ack sees the write:
/// read-your-writes).
[[nodiscard]] inline bool tally_ack(op_tally& t, std::size_t region, bool local) noexcept {
  ++t.acks[region];
  if (local) t.local_acked = true;
  if (t.counted || !met(t.need, t.acks) || (t.needs_local && !t.local_acked)) return false;
  t.counted = true;
  return true;
}

/// A replica in `region` (`local`: this node) failed the op (`timed_out`: it did not
/// answer in time; `saw_timeout`: some replica of the batch did not, this one included).
/// The batch's result when that decides it: this node's own replica failing fails the
/// write here (timeout or io_error); an op whose remaining replicas can no longer meet its
/// need fails it (timeout if any replica timed out, else no_quorum). nullopt: still open.
[[nodiscard]] inline std::optional<errc> tally_failure(op_tally& t, std::size_t region, bool local,
                                                       bool timed_out, bool saw_timeout) noexcept {
  if (t.possible[region] > 0) --t.possible[region];
  if (local && t.needs_local) return timed_out ? errc::timeout : errc::io_error;
  if (!t.counted && !met(t.need, t.possible)) return saw_timeout ? errc::timeout : errc::no_quorum;
  return std::nullopt;
}

/// A quorum read's answers so far, per region.
struct read_tally {
  quorum_need need;
  region_counts asked{}, answers{}, failures{};
  bool saw_timeout = false;

  [[nodiscard]] bool all_heard() const noexcept {
    return sum(answers) + sum(failures) == sum(asked);
  }
  /// Per region, the replicas asked that have not failed.
  [[nodiscard]] region_counts still_possible() const noexcept {
    region_counts c{};
    for (std::size_t r = 0; r < c.size(); ++r)
      c[r] = static_cast<std::uint8_t>(asked[r] - failures[r]);
    return c;
  }
};

/// The read's status once it is resolved: ok (`found_live`: the newest record heard is a
/// value) or not_found once the answers meet its need; timeout or no_quorum once the
/// replicas that can still answer cannot. nullopt: still open.
[[nodiscard]] inline std::optional<errc> read_verdict(const read_tally& r,
                                                      bool found_live) noexcept {
  if (met(r.need, r.answers)) return found_live ? errc::ok : errc::not_found;
  if (!met(r.need, r.still_possible())) return r.saw_timeout ? errc::timeout : errc::no_quorum;
  return std::nullopt;
}

/// What a round leads to once its writes hold their quorum and its reads are resolved.
enum class round_outcome {
  acknowledge,  // the batch is done: ok
  second_round, // version it anew past `newer_hlc` and send it again
  fail_unknown, // it cannot be repeated safely: timeout (outcome unknown)
};

/// See replication_actor.hpp, "A later write wins": the first round (`round` 0) whose
/// quorum reported a newer version (`newer_hlc` != 0) is not enough; it is repeated,
/// unless `cannot_repeat()` (asked only then) says a second round would overtake a later
/// write of the same client.
template <class CannotRepeat>
[[nodiscard]] round_outcome end_of_round(std::uint32_t round, std::uint64_t newer_hlc,
                                         CannotRepeat&& cannot_repeat) {
  if (round != 0 || newer_hlc == 0) return round_outcome::acknowledge;
  return cannot_repeat() ? round_outcome::fail_unknown : round_outcome::second_round;
}

} // namespace minivault
