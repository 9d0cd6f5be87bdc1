// The replication actor (actors/cluster/replication/replication_actor.hpp) on CAF's deterministic
// test coordinator, with fake replicas: a typed storage actor and typed peer endpoints that ack,
// fail or hold their answer until the test releases it, and a typed handoff actor that records
// hints. No threads, no sleeps, no network: time moves only when the test advances the
// coordinator's clock.
#include "actors/cluster/replication/clock_lease.hpp"
#include "actors/cluster/replication/replication_actor.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "storage/partition.hpp"
#include "storage/table.hpp"
#include "tests/actors/cluster/replication/replication_fakes.hpp"

namespace minivault {
namespace {

using storage::version;
using namespace std::chrono_literals;
using namespace minivault::test; // the fakes, helpers and fixture (replication_fakes.hpp)

/// The fakes and the fixture live in replication_fakes.hpp (shared with the read tests).
class replication_actor_test : public replication_fixture {};

// -- quorum -------------------------------------------------------------------------------

TEST_F(replication_actor_test, ok_on_the_board_once_two_of_three_replicas_ack) {
  start3();
  local->m = replica_ctl::mode::hold;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1));
  ASSERT_EQ(local->got.size(), 1u);
  ASSERT_EQ(peer_ctl[1]->got.size(), 1u);
  ASSERT_EQ(peer_ctl[2]->got.size(), 1u);
  EXPECT_TRUE(take().empty()) << "one ack (peer 1) is not a quorum";
  release_local();
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].ticket, 1u);
  EXPECT_EQ(got[0].result, errc::ok);
  // The third ack changes nothing on the board.
  release_peer(2);
  EXPECT_TRUE(take().empty());
  EXPECT_TRUE(handoff->hints.empty());
  EXPECT_EQ(counters.batches_ok.load(), 1u);
}

TEST_F(replication_actor_test, the_ack_waits_for_this_replica_even_when_two_peers_have_it) {
  // Read-your-writes: once acknowledged, a local read must see the write, so a node that
  // is one of the key's replicas acknowledges only after its own replica has it.
  start3();
  local->m = replica_ctl::mode::hold;
  send(one_write(0, 1));
  EXPECT_TRUE(take().empty()) << "acknowledged before this node's replica had the write";
  release_local(); // the local store answers: ok
  ASSERT_TRUE(one_outcome(take(), errc::ok));
}

// -- a replica that kept a newer version ------------------------------------------------

/// The version of the first op of `b`.
version first_version(const versioned_writes& b) {
  std::size_t pos = 0;
  packed_op op;
  EXPECT_TRUE(decode_packed_op(b.ops, pos, op));
  return op.ver;
}

TEST_F(replication_actor_test, a_quorum_that_kept_a_newer_version_sends_the_batch_again_past_it) {
  // Another node's write of the key, acknowledged before this one began, reached peer 1
  // but not this node: its version is higher than the one this node handed out. The
  // quorum (this node + peer 1) must not acknowledge the write as it is, or it would lose
  // to the older one everywhere: a second round goes out, versioned past peer 1's.
  start3();
  peer_ctl[1]->m = replica_ctl::mode::hold;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1));
  ASSERT_EQ(local->got.size(), 1u);
  const version first = first_version(local->got[0]);
  const std::uint64_t newer = first.hlc + 1000;
  peer_ctl[1]->newer_hlc = newer;
  release_peer(1);
  EXPECT_TRUE(take().empty()) << "acknowledged with a quorum that kept a newer version";
  ASSERT_EQ(local->got.size(), 2u) << "the batch was not sent again";
  ASSERT_EQ(peer_ctl[1]->got.size(), 2u);
  ASSERT_EQ(peer_ctl[2]->got.size(), 2u);
  EXPECT_GT(first_version(local->got[1]).hlc, newer) << "the new round must win over it";
  EXPECT_EQ(first_version(peer_ctl[1]->got[1]), first_version(local->got[1]));
  // The second round's answer counts even when it names a newer version: the writes
  // behind it began after this one, so either order is right.
  release_peer(1);
  ASSERT_TRUE(one_outcome(take(), errc::ok));
  release_peer(2); // late answers of both rounds change nothing
  EXPECT_TRUE(take().empty());
  EXPECT_EQ(requests_sent(), 6u) << "no third round";
  EXPECT_EQ(counters.superseded_rounds.load(), 1u);
  EXPECT_EQ(counters.batches_ok.load(), 1u);
}

TEST_F(replication_actor_test, a_newer_version_reported_after_the_quorum_changes_nothing) {
  start3();
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1));
  ASSERT_TRUE(one_outcome(take(), errc::ok)); // local + peer 1, both clean
  peer_ctl[2]->newer_hlc = first_version(local->got[0]).hlc + 5;
  release_peer(2);
  EXPECT_TRUE(take().empty());
  EXPECT_EQ(requests_sent(), 3u) << "no second round after the batch was decided";
}

TEST_F(replication_actor_test, the_second_round_beats_the_highest_newer_version_of_the_quorum) {
  // Writers racing on one key: both peers kept newer versions (different ones). The
  // second round is versioned past the highest, and acknowledged on its quorum even
  // though they answer newer again: two rounds at most.
  start3();
  local->m = peer_ctl[1]->m = peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1));
  const std::uint64_t base = first_version(local->got[0]).hlc;
  peer_ctl[1]->newer_hlc = base + 100;
  peer_ctl[2]->newer_hlc = base + 5000;
  release_peer(1);
  release_peer(2);
  EXPECT_TRUE(take().empty()) << "the quorum waits for this node's replica";
  local->m = peer_ctl[1]->m = peer_ctl[2]->m = replica_ctl::mode::ack;
  release_local(); // quorum complete, with newer versions reported: a second round
  ASSERT_TRUE(one_outcome(take(), errc::ok));
  ASSERT_EQ(local->got.size(), 2u);
  EXPECT_GT(first_version(local->got[1]).hlc, base + 5000);
  EXPECT_EQ(counters.superseded_rounds.load(), 1u);
}

TEST_F(replication_actor_test, no_second_round_overtakes_a_later_batch_of_the_same_key) {
  // A client pipelines two writes of key k (tickets 1 and 2 of one I/O thread). The first
  // meets a newer version of another node. Versioned anew it would beat the second, so
  // it fails (outcome unknown) instead; the second goes its own way.
  start3();
  peer_ctl[1]->m = peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1, "k"));
  send(one_write(0, 2, "k"));
  const std::uint64_t base = first_version(local->got[0]).hlc;
  peer_ctl[1]->newer_hlc = base + 1000;
  release_peer(1); // both batches: quorum (local + peer 1), newer version reported
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].ticket, 1u);
  EXPECT_EQ(got[0].result, errc::timeout);
  ASSERT_EQ(local->got.size(), 3u) << "ticket 2 (alone) goes round again";
  EXPECT_EQ(decode(local->got[2]).at(0).key, "k");
  EXPECT_GT(first_version(local->got[2]).hlc, base + 1000);
  peer_ctl[1]->newer_hlc = 0;
  release_peer(1);
  got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].ticket, 2u);
  EXPECT_EQ(got[0].result, errc::ok);
}

TEST_F(replication_actor_test, this_replica_failing_fails_the_write_even_when_two_peers_have_it) {
  start3();
  local->m = replica_ctl::mode::fail;
  send(one_write(0, 1));
  ASSERT_TRUE(one_outcome(take(), errc::io_error));
}

TEST_F(replication_actor_test, no_quorum_at_once_and_nothing_written_when_fewer_than_two_are_up) {
  start(3);
  send(one_write(0, 1)); // no peer ever came up
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].ticket, 1u);
  EXPECT_EQ(got[0].result, errc::no_quorum);
  EXPECT_EQ(got[0].detail, "no quorum: region local has 1 of 3 replicas up, 2 needed")
      << "the client is told what fell short";
  EXPECT_EQ(requests_sent(), 0u) << "nothing may be written when the quorum is known missing";
  EXPECT_TRUE(handoff->hints.empty()) << "a refused write must not reach a replica later";
  EXPECT_EQ(counters.batches_no_quorum.load(), 1u);

  // Up, then down again (peer_down): the same.
  all_up();
  down(1);
  down(2);
  send(one_write(0, 2));
  got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].result, errc::no_quorum);
  EXPECT_EQ(requests_sent(), 0u);
  EXPECT_TRUE(handoff->hints.empty());
}

TEST_F(replication_actor_test, one_peer_down_the_write_succeeds_and_the_down_peer_is_hinted) {
  start(3);
  up(1);
  send(one_write(0, 1));
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].result, errc::ok);
  EXPECT_EQ(peer_ctl[2]->got.size(), 0u);
  ASSERT_EQ(handoff->hints.size(), 1u);
  EXPECT_EQ(handoff->hints[0].first, peer_of(2)) << "hint for the wrong peer";
  ASSERT_EQ(local->got.size(), 1u);
  EXPECT_EQ(handoff->hints[0].second.ops, local->got[0].ops) << "the hint is the versioned batch";
  EXPECT_EQ(handoff->hints[0].second.count, local->got[0].count);
}

TEST_F(replication_actor_test, a_silent_peer_is_hinted_and_the_batch_succeeds_with_the_others) {
  start3();
  peer_ctl[1]->m = replica_ctl::mode::hold; // never answers
  send(one_write(0, 1));
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].result, errc::ok);
  EXPECT_TRUE(handoff->hints.empty()) << "not hinted before its request timed out";
  advance(config.timeout);
  ASSERT_EQ(handoff->hints.size(), 1u);
  EXPECT_EQ(handoff->hints[0].first, peer_of(1));
  ASSERT_EQ(peer_ctl[1]->got.size(), 1u);
  EXPECT_EQ(handoff->hints[0].second.ops, peer_ctl[1]->got[0].ops);
  EXPECT_TRUE(take().empty()) << "the batch was answered once";
  EXPECT_EQ(counters.hinted_batches.load(), 1u);
  EXPECT_EQ(counters.peer_failures.load(), 1u);
  EXPECT_EQ(counters.batches_ok.load(), 1u);
  EXPECT_EQ(counters.batches_timeout.load(), 0u);
}

TEST_F(replication_actor_test, hints_are_counted_in_flight_and_dropped_past_the_mailbox_bound) {
  start(3);
  up(1); // member 2 down: hinted at once
  send(one_write(0, 1));
  ASSERT_EQ(handoff->hints.size(), 1u);
  EXPECT_EQ(hint_counters.queued_bytes.load(), handoff->hints[0].second.ops.size())
      << "bytes sent to the handoff actor are counted until it stores them";
  // The handoff actor's mailbox is full: the next hint is dropped (anti-entropy repairs).
  hint_counters.queued_bytes = hint_queue_bytes_max;
  send(one_write(0, 2));
  EXPECT_EQ(handoff->hints.size(), 1u);
  EXPECT_EQ(hint_counters.dropped.load(), 1u);
  auto got = take();
  ASSERT_EQ(got.size(), 2u) << show(got);
  EXPECT_EQ(got[1].result, errc::ok) << "a dropped hint does not fail the write";
}

TEST_F(replication_actor_test, timeout_when_the_quorum_is_not_reached_in_time) {
  start3();
  peer_ctl[1]->m = replica_ctl::mode::hold;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1));
  EXPECT_TRUE(take().empty());
  advance(config.timeout - 1ms);
  EXPECT_TRUE(take().empty()) << "answered before the timeout";
  advance(1ms);
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].result, errc::timeout);
  EXPECT_EQ(counters.batches_timeout.load(), 1u);
  std::set<peer_id> hinted;
  for (auto& h : handoff->hints)
    hinted.insert(h.first);
  EXPECT_EQ(hinted, (std::set<peer_id>{peer_of(1), peer_of(2)}));
  // Answers after the timeout change nothing.
  release_peer(1);
  release_peer(2);
  EXPECT_TRUE(take().empty());
}

TEST_F(replication_actor_test, timeout_when_no_replica_answers_at_all) {
  start3();
  local->m = replica_ctl::mode::hold;
  peer_ctl[1]->m = replica_ctl::mode::hold;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1));
  EXPECT_TRUE(take().empty());
  sched->trigger_timeouts();
  sched->run();
  ASSERT_TRUE(one_outcome(take(), errc::timeout));
}

TEST_F(replication_actor_test, failing_replicas_give_no_quorum_without_waiting) {
  start3();
  peer_ctl[1]->m = replica_ctl::mode::fail;
  peer_ctl[2]->m = replica_ctl::mode::fail;
  send(one_write(0, 1));
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].result, errc::no_quorum);
  EXPECT_EQ(handoff->hints.size(), 2u) << "replicas that refused get the batch as a hint";
  EXPECT_EQ(counters.peer_failures.load(), 2u);
}

TEST_F(replication_actor_test, a_failure_and_a_timeout_report_timeout) {
  start3();
  peer_ctl[1]->m = replica_ctl::mode::fail;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1));
  EXPECT_TRUE(take().empty()) << "the silent peer may still make the quorum";
  advance(config.timeout);
  ASSERT_TRUE(one_outcome(take(), errc::timeout));
}

// -- order --------------------------------------------------------------------------------

TEST_F(replication_actor_test, outcomes_are_posted_in_ticket_order_when_a_later_batch_wins_first) {
  start3();
  local->m = replica_ctl::mode::hold;
  peer_ctl[1]->m = replica_ctl::mode::hold;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1, "first"));
  local->m = peer_ctl[1]->m = peer_ctl[2]->m = replica_ctl::mode::ack;
  send(one_write(0, 2, "second"));     // reaches its quorum at once
  send(one_write(1, 1, "other-lane")); // another I/O thread: not held up by lane 0
  EXPECT_TRUE(take(0).empty()) << "ticket 2 posted before ticket 1";
  auto lane1 = take(1);
  ASSERT_EQ(lane1.size(), 1u) << show(lane1);
  EXPECT_EQ(lane1[0].result, errc::ok);
  release_local();
  release_peer(1);
  auto got = take(0);
  ASSERT_EQ(got.size(), 2u) << show(got);
  EXPECT_EQ(got[0].ticket, 1u);
  EXPECT_EQ(got[1].ticket, 2u);
  EXPECT_EQ(got[0].result, errc::ok);
  EXPECT_EQ(got[1].result, errc::ok);
}

TEST_F(replication_actor_test, a_later_failure_waits_for_an_earlier_success) {
  start3();
  peer_ctl[1]->m = replica_ctl::mode::hold;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1)); // waits for a peer
  down(1);
  down(2);
  send(one_write(0, 2)); // no quorum, known at once
  EXPECT_TRUE(take(0).empty()) << "ticket 2's no_quorum overtook ticket 1";
  release_peer(1); // an answer from before the peer went down still counts
  sched->run();
  auto got = take(0);
  ASSERT_EQ(got.size(), 2u) << show(got);
  EXPECT_EQ(got[0].ticket, 1u);
  EXPECT_EQ(got[0].result, errc::ok);
  EXPECT_EQ(got[1].ticket, 2u);
  EXPECT_EQ(got[1].result, errc::no_quorum);
}

// -- versions -----------------------------------------------------------------------------

// The clock lease (actors/cluster/replication/clock_lease.hpp) is renewed past every version before
// the version is used, so a restart never hands one out again.
TEST_F(replication_actor_test, the_clock_lease_is_renewed_past_every_version_used) {
  config.lease_path = store.dir + "/clock";
  config.lease = 0;
  start3();
  send(make_client_batch(0, 1, {{false, "a", "1"}, {false, "b", "2"}}));
  ASSERT_EQ(local->got.size(), 1u);
  const auto ops = decode(local->got[0]);
  ASSERT_EQ(ops.size(), 2u);
  const std::uint64_t lease = read_clock_lease(config.lease_path);
  EXPECT_GT(lease, ops[1].ver.hlc);
  // A batch still under the lease leaves the file alone; one past it renews it.
  send(make_client_batch(0, 2, {{false, "c", "3"}}));
  EXPECT_EQ(read_clock_lease(config.lease_path), lease);
  clock.observe(storage::version{lease + 5, 99}); // e.g. a peer's clock far ahead
  send(make_client_batch(0, 3, {{false, "d", "4"}}));
  ASSERT_EQ(local->got.size(), 3u);
  const auto late = decode(local->got[2]);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_GT(read_clock_lease(config.lease_path), late[0].ver.hlc);
}

TEST_F(replication_actor_test, every_op_gets_a_version_consecutive_within_the_batch) {
  start3();
  send(make_client_batch(0, 1, {{false, "a", "1"}, {true, "b", ""}, {false, "c", "3"}}));
  send(make_client_batch(
      0, 2, {{false, "d", "4"}, {false, "a", "5"}, {true, "c", ""}, {false, "e", ""}}));
  auto got = take();
  ASSERT_EQ(got.size(), 2u) << show(got);
  ASSERT_EQ(local->got.size(), 2u);
  // Every replica got the same versioned bytes.
  for (std::size_t m = 1; m < 3; ++m) {
    ASSERT_EQ(peer_ctl[m]->got.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(peer_ctl[m]->got[i].ops, local->got[i].ops);
      EXPECT_EQ(peer_ctl[m]->got[i].count, local->got[i].count);
    }
  }
  auto b1 = decode(local->got[0]), b2 = decode(local->got[1]);
  ASSERT_EQ(b1.size(), 3u);
  ASSERT_EQ(b2.size(), 4u);
  const std::vector<std::string> keys1{"a", "b", "c"}, keys2{"d", "a", "c", "e"};
  for (std::size_t i = 0; i < b1.size(); ++i) {
    EXPECT_GT(b1[i].ver.hlc, 0u);
    EXPECT_EQ(b1[i].ver.hlc, b1[0].ver.hlc + i) << "op " << i;
    EXPECT_EQ(b1[i].ver.node, node_id);
    EXPECT_EQ(b1[i].key, keys1[i]);
  }
  EXPECT_TRUE(b1[1].del);
  EXPECT_EQ(b1[2].value, "3");
  for (std::size_t i = 0; i < b2.size(); ++i) {
    EXPECT_EQ(b2[i].ver.hlc, b2[0].ver.hlc + i) << "op " << i;
    EXPECT_EQ(b2[i].ver.node, node_id);
    EXPECT_EQ(b2[i].key, keys2[i]);
  }
  EXPECT_TRUE(b2[2].del);
  EXPECT_FALSE(b2[3].del);
  EXPECT_EQ(b2[3].value, "");
  EXPECT_GT(b2[0].ver.hlc, b1.back().ver.hlc) << "a later batch gets later versions";
  // The clock was advanced past what was handed out.
  EXPECT_GT(clock.reserve(1).hlc, b2.back().ver.hlc);
}

TEST_F(replication_actor_test, versions_follow_what_the_clock_observed) {
  start3();
  const version seen{(storage::wall_ms() + 3'600'000) << 16, 3};
  clock.observe(seen);
  send(make_client_batch(0, 1, {{false, "a", "1"}, {false, "b", "2"}}));
  auto b = decode(local->got.at(0));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].ver.hlc, seen.hlc + 1);
  EXPECT_EQ(b[1].ver.hlc, seen.hlc + 2);
}

// -- partitioned placement (more members than replicas) ------------------------------------

TEST_F(replication_actor_test, five_members_each_replica_gets_exactly_its_partitions_ops) {
  start(5, 3);
  all_up();
  std::vector<op_spec> ops;
  for (int i = 0; i < 60; ++i)
    ops.push_back(
        {i % 5 == 0, "key-" + std::to_string(i), i % 5 == 0 ? "" : "v" + std::to_string(i)});
  send(make_client_batch(0, 1, ops));
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].result, errc::ok);

  std::vector<std::vector<decoded>> at(5);
  ASSERT_LE(local->got.size(), 1u);
  if (!local->got.empty()) at[0] = decode(local->got[0]);
  for (std::size_t m = 1; m < 5; ++m) {
    ASSERT_LE(peer_ctl[m]->got.size(), 1u) << "one batch per replica";
    if (!peer_ctl[m]->got.empty()) at[m] = decode(peer_ctl[m]->got[0]);
  }
  // Every key reaches exactly its partition's replicas, with one version everywhere;
  // versions are consecutive in the client's op order.
  std::map<std::string, std::set<std::size_t>> holders;
  std::map<std::string, version> ver_of;
  for (std::size_t m = 0; m < 5; ++m) {
    for (auto& d : at[m]) {
      holders[d.key].insert(m);
      auto [it, fresh] = ver_of.emplace(d.key, d.ver);
      if (!fresh) {
        EXPECT_EQ(it->second, d.ver) << d.key << " has two versions";
      }
    }
  }
  ASSERT_EQ(holders.size(), ops.size());
  std::uint64_t first = ver_of.at(ops[0].key).hlc;
  EXPECT_GT(first, 0u);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto reps = replicas_of(ops[i].key);
    std::set<std::size_t> want(reps.begin(), reps.end());
    EXPECT_EQ(holders[ops[i].key], want) << ops[i].key;
    EXPECT_EQ(ver_of[ops[i].key].hlc, first + i) << ops[i].key;
    EXPECT_EQ(ver_of[ops[i].key].node, node_id);
  }
  // Within each replica's batch the ops keep the client's order.
  for (std::size_t m = 0; m < 5; ++m)
    for (std::size_t i = 1; i < at[m].size(); ++i)
      EXPECT_LT(at[m][i - 1].ver.hlc, at[m][i].ver.hlc);
}

TEST_F(replication_actor_test, five_members_quorum_is_per_op) {
  start(5, 3);
  all_up();
  // A key this node does not hold, and two of its three replicas silent.
  const std::string key = find_key("probe-", false);
  const auto reps = replicas_of(key);
  peer_ctl[reps[1]]->m = replica_ctl::mode::hold;
  peer_ctl[reps[2]]->m = replica_ctl::mode::hold;
  send(one_write(0, 1, key));
  EXPECT_EQ(local->got.size(), 0u) << "this node is not a replica of " << key;
  EXPECT_TRUE(take().empty());
  release_peer(reps[1]);
  ASSERT_TRUE(one_outcome(take(), errc::ok));
}

TEST_F(replication_actor_test, five_members_no_quorum_when_a_keys_replicas_are_down) {
  start(5, 3);
  all_up();
  const std::string key = find_key("probe-", false);
  const auto reps = replicas_of(key);
  down(reps[0]);
  down(reps[1]);
  // One healthy key, one whose replicas are mostly down: the batch fails as a whole,
  // and nothing is sent anywhere.
  const std::string healthy = find_key_avoiding("ok-", {reps[0], reps[1]});
  send(make_client_batch(0, 1, {{false, healthy, "x"}, {false, key, "y"}}));
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].result, errc::no_quorum);
  EXPECT_EQ(requests_sent(), 0u);
  EXPECT_TRUE(handoff->hints.empty());
}

// -- malformed input, bounds, stop --------------------------------------------------------

TEST_F(replication_actor_test, a_malformed_batch_is_refused_and_nothing_is_sent) {
  start3();
  auto bad = one_write(0, 1);
  bad.count = 2;
  send(bad);
  client_batch empty;
  empty.ticket = 2;
  send(empty);
  auto got = take();
  ASSERT_EQ(got.size(), 2u) << show(got);
  EXPECT_EQ(got[0].result, errc::bad_request);
  EXPECT_EQ(got[1].result, errc::bad_request);
  EXPECT_EQ(requests_sent(), 0u);
}

TEST_F(replication_actor_test, a_peer_at_its_request_bound_is_skipped_and_hinted) {
  config.workers = 1;
  start3();
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1));
  send(one_write(0, 2)); // peer 2 has one request in flight: skipped
  EXPECT_EQ(peer_ctl[2]->got.size(), 1u);
  ASSERT_EQ(handoff->hints.size(), 1u) << "skipped at once, not after a timeout";
  EXPECT_EQ(handoff->hints[0].first, peer_of(2));
  auto got = take();
  ASSERT_EQ(got.size(), 2u) << show(got);
  EXPECT_EQ(got[1].result, errc::ok);
  // Once it answers, it takes requests again.
  release_peer(2);
  send(one_write(0, 3));
  EXPECT_EQ(peer_ctl[2]->got.size(), 2u);
  EXPECT_EQ(handoff->hints.size(), 1u);
}

TEST_F(replication_actor_test, bytes_of_timed_out_requests_stay_counted_until_the_link_resets) {
  // A versioned batch of one write: 7 header + 12 version bytes + key + value.
  const std::size_t bytes = 7 + 12 + 7 + std::string("value of key-two").size();
  config.peer_window_bytes = bytes + bytes / 2; // one batch fits, two do not
  start3();
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1, "key-two"));
  ASSERT_EQ(local->got.size(), 1u);
  ASSERT_EQ(local->got[0].ops.size(), bytes);
  advance(config.timeout); // peer 2 times out: its bytes may still sit in a buffer
  ASSERT_EQ(handoff->hints.size(), 1u);
  send(one_write(0, 2, "key-333"));
  EXPECT_EQ(peer_ctl[2]->got.size(), 1u) << "sent past the window of a silent peer";
  EXPECT_EQ(handoff->hints.size(), 2u) << "skipped without waiting";
  // The connection drops and comes back: the window starts over.
  down(2);
  up(2);
  send(one_write(0, 3, "key-4444"));
  EXPECT_EQ(peer_ctl[2]->got.size(), 2u);
  auto got = take();
  ASSERT_EQ(got.size(), 3u) << show(got);
  for (auto& c : got)
    EXPECT_EQ(c.result, errc::ok);
}

TEST_F(replication_actor_test, peers_near_their_window_are_known_up_front_nothing_written) {
  // Client batch of one write: 7 header + key + value; versioned: 12 bytes more.
  const std::size_t client = 7 + 2 + std::string("value of k1").size();
  const std::size_t versioned = client + 12;
  // After one batch in flight, a second fits the window by its client size but not by the
  // versioned size that is actually sent.
  config.peer_window_bytes = versioned + client;
  start3();
  peer_ctl[1]->m = replica_ctl::mode::hold;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  send(one_write(0, 1, "k1"));
  ASSERT_EQ(local->got.size(), 1u);
  ASSERT_EQ(local->got[0].ops.size(), versioned);
  send(one_write(0, 2, "k2"));
  // Neither peer can take batch 2: only this node could, so the quorum is known missing
  // before anything is sent. Contract: no_quorum, and nothing written.
  release_peer(1);
  release_peer(2);
  auto got = take();
  ASSERT_EQ(got.size(), 2u) << show(got);
  EXPECT_EQ(got[0].result, errc::ok);
  EXPECT_EQ(got[1].result, errc::no_quorum);
  EXPECT_EQ(local->got.size(), 1u) << "batch 2 was written locally although it was refused";
  EXPECT_TRUE(handoff->hints.empty()) << "batch 2 was hinted although it was refused";
}

TEST_F(replication_actor_test, stop_answers_pending_batches_shutting_down) {
  start3();
  peer_ctl[1]->m = replica_ctl::mode::hold;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  expect_stop_answers(one_write(0, 1));
}

} // namespace
} // namespace minivault
