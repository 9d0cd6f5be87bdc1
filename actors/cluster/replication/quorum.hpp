#pragma once
// Quorum arithmetic of the replication actor as pure functions (after Scylla's
// db/consistency_level.hh): how many replicas a read must hear from, when one op of a
// batch holds its write quorum or can no longer get there, when a read is resolved, and
// what a round that reached its quorum leads to. No actors, no I/O: unit-tested on their
// own (tests/actors/cluster/replication/quorum_test.cpp).
#include <cstddef>
#include <cstdint>
#include <optional>

#include "protocol/errc.hpp"

namespace minivault {

/// Replicas a quorum read hears from so that it meets every write quorum of `write_quorum`
/// among `replicas`: rf - w + 1. (`write_quorum` <= `replicas`: see quorum_fits.)
[[nodiscard]] constexpr std::size_t read_quorum_for(std::size_t replicas,
                                                    std::size_t write_quorum) noexcept {
  return replicas - write_quorum + 1;
}

/// Can writes ever reach `write_quorum` replicas, with `replication_factor` configured and
/// `members` nodes in the cluster (replicas per partition: the smaller of the two)?
[[nodiscard]] constexpr bool quorum_fits(std::size_t write_quorum, std::size_t replication_factor,
                                         std::size_t members) noexcept {
  return write_quorum <= (replication_factor < members ? replication_factor : members);
}

/// One op's answers in a round (or the whole batch's, when every replica got every op).
struct op_tally {
  std::uint8_t acks = 0;     // replicas that made it durable
  std::uint8_t possible = 0; // replicas that may still ack
  bool needs_local = false;  // this node is one of the op's replicas
  bool local_acked = false;  // ... and has made it durable
  bool counted = false;      // reached its quorum (counted once)
};

/// A replica (`local`: this node) made the op durable. True when this ack completes the
/// op: `write_quorum` replicas hold it and, when this node is one of its replicas, this
/// node does (so a read here after the ack sees the write: read-your-writes).
[[nodiscard]] inline bool tally_ack(op_tally& t, bool local, std::size_t write_quorum) noexcept {
  ++t.acks;
  if (local) t.local_acked = true;
  if (t.counted || t.acks < write_quorum || (t.needs_local && !t.local_acked)) return false;
  t.counted = true;
  return true;
}

/// A replica (`local`: this node) failed the op (`timed_out`: it did not answer in time;
/// `saw_timeout`: some replica of the batch did not, this one included). The batch's
/// result when that decides it: this node's own replica failing fails the write here
/// (timeout or io_error); an op that can no longer reach its quorum fails it (timeout if
/// any replica timed out, else no_quorum). nullopt: still open.
[[nodiscard]] inline std::optional<errc> tally_failure(op_tally& t, bool local,
                                                       std::size_t write_quorum, bool timed_out,
                                                       bool saw_timeout) noexcept {
  --t.possible;
  if (local && t.needs_local) return timed_out ? errc::timeout : errc::io_error;
  if (t.acks < write_quorum && t.possible < write_quorum)
    return saw_timeout ? errc::timeout : errc::no_quorum;
  return std::nullopt;
}

/// A quorum read's answers so far.
struct read_tally {
  std::size_t need = 1; // answers that resolve it
  std::size_t asked = 0, answers = 0, failures = 0;
  bool saw_timeout = false;
};

/// The read's status once it is resolved: ok (`found_live`: the newest record heard is a
/// value) or not_found once `need` replicas answered; timeout or no_quorum once too few
/// can still answer. nullopt: still open.
[[nodiscard]] inline std::optional<errc> read_verdict(const read_tally& r,
                                                      bool found_live) noexcept {
  if (r.answers >= r.need) return found_live ? errc::ok : errc::not_found;
  if (r.asked - r.failures < r.need) return r.saw_timeout ? errc::timeout : errc::no_quorum;
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
