// The replication actor with two regions (actors/cluster/replication/replication_actor.hpp,
// relay_path.cpp) on CAF's deterministic test coordinator, with the fakes of
// replication_fakes.hpp: members 0-2 are this node's region (east), 3-5 the other (west).
// A local-level write goes to east's replicas only, marked for shipping; a level that waits
// for west goes to east's replicas unmarked and to one west member, which relays it there
// (its answer counts for west's replicas; if it fails, they are hinted); a batch west sent
// here is relayed to east's replicas with its own versions and answered once their quorum
// holds it.
#include "actors/cluster/geo/ship_codec.hpp"
#include "actors/cluster/replication/replication_actor.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/actors/cluster/replication/replication_fakes.hpp"

namespace minivault {
namespace {

using namespace minivault::test;

class replication_regions_test : public replication_fixture {
protected:
  void start_two_regions() {
    start(6, 3, {"east", "east", "east", "west", "west", "west"});
    all_up();
  }

  /// Sends (ship_atom, b) as a peer's endpoint would (request and reply); the answer.
  std::optional<replica_ack> relay(ship_batch b) {
    std::optional<replica_ack> answer;
    auto client = ts.sys->spawn(
        [&](caf::event_based_actor* self, replication_actor target, ship_batch batch) {
          self->request(target, std::chrono::seconds(1), ship_atom_v, std::move(batch))
              .then([&](const replica_ack& a) { answer = a; },
                    [&](caf::error&) { answer = replica_ack{errc::timeout}; });
        },
        repl, std::move(b));
    sched->run();
    return answer;
  }

  std::size_t west_requests() const {
    return peer_ctl[3]->got.size() + peer_ctl[4]->got.size() + peer_ctl[5]->got.size();
  }
  /// The peers that got a hint, and the west replicas (members 3-5) as peers.
  std::set<std::uint32_t> hinted_peers() const {
    std::set<std::uint32_t> hinted;
    for (const auto& [peer, b] : handoff->hints)
      hinted.insert(peer.value());
    return hinted;
  }
  std::set<std::uint32_t> west_peers() const {
    return {peer_of(3).value(), peer_of(4).value(), peer_of(5).value()};
  }
  /// The west members that got a ship_batch, and the batches.
  std::vector<std::size_t> west_relays() const {
    std::vector<std::size_t> out;
    for (std::size_t m : {3u, 4u, 5u})
      if (!peer_ctl[m]->shipped.empty()) out.push_back(m);
    return out;
  }
};

/// `w` as a coordinator relays it for a level that waits for this region's quorum.
ship_batch quorum_batch(const versioned_writes& w) {
  ship_batch b = pack_ship_batch(w);
  b.wait = relay_wait::quorum;
  return b;
}

client_batch write_at(consistency level, const std::string& key) {
  client_batch b;
  b.origin = 0;
  b.ticket = 1;
  pack_write(b, false, key, "value", level);
  return b;
}

TEST_F(replication_regions_test, a_local_quorum_write_goes_to_this_region_only_marked_ship) {
  start_two_regions();
  send(write_at(consistency::local_quorum, "k"));
  ASSERT_TRUE(one_outcome(take(), errc::ok));
  ASSERT_EQ(local->got.size(), 1u);
  for (std::size_t m : {1u, 2u}) {
    ASSERT_EQ(peer_ctl[m]->got.size(), 1u);
    EXPECT_TRUE(peer_ctl[m]->got[0].ship);
  }
  EXPECT_TRUE(local->got[0].ship);
  EXPECT_EQ(west_requests(), 0u) << "west gets local writes by shipping, not from here";
  EXPECT_EQ(counters.wan_bytes[1].load(), 0u);
}

TEST_F(replication_regions_test, a_level_that_waits_for_the_other_region_goes_through_a_relay) {
  start_two_regions();
  for (std::size_t m : {3u, 4u, 5u})
    peer_ctl[m]->m = replica_ctl::mode::hold;
  send(write_at(consistency::each_quorum, "k"));
  EXPECT_TRUE(take().empty()) << "acknowledged before west's relay answered";
  ASSERT_EQ(west_relays().size(), 1u) << "one request to west, not one per replica";
  const std::size_t relay = west_relays()[0];
  EXPECT_EQ(west_requests(), 0u);
  for (std::size_t m = 1; m < 3; ++m) {
    ASSERT_EQ(peer_ctl[m]->got.size(), 1u);
    EXPECT_FALSE(peer_ctl[m]->got[0].ship) << "member " << m;
  }
  versioned_writes relayed;
  ASSERT_EQ(unpack_ship_batch(peer_ctl[relay]->shipped[0], relayed), errc::ok);
  ASSERT_EQ(decode(relayed).size(), 1u);
  EXPECT_EQ(decode(relayed)[0].key, "k");
  EXPECT_EQ(peer_ctl[relay]->shipped[0].wait, relay_wait::quorum);
  EXPECT_GT(counters.wan_bytes[1].load(), 0u);
  release_peer(relay); // west's quorum (2 of 3) holds it
  EXPECT_TRUE(one_outcome(take(), errc::ok));
}

TEST_F(replication_regions_test, a_relay_that_says_too_few_hold_it_does_not_meet_each_quorum) {
  start_two_regions();
  for (std::size_t m : {3u, 4u, 5u})
    peer_ctl[m]->relay_acks = 1;
  send(write_at(consistency::each_quorum, "k"));
  // 1 of west's 3 replicas is not west's quorum, and no more answers will come: outcome
  // unknown, at once.
  auto got = take();
  ASSERT_TRUE(one_outcome(got, errc::timeout));
  EXPECT_EQ(got[0].detail, "timeout: region west has 1 of 3 replicas answered, 2 needed");
}

TEST_F(replication_regions_test, a_failing_relay_fails_the_write_and_west_is_hinted) {
  start_two_regions();
  for (std::size_t m : {3u, 4u, 5u}) {
    peer_ctl[m]->m = replica_ctl::mode::fail;
    peer_ctl[m]->fail_outcome = errc::no_quorum;
  }
  send(write_at(consistency::each_quorum, "k"));
  auto got = take();
  ASSERT_TRUE(one_outcome(got, errc::no_quorum));
  EXPECT_NE(got[0].detail.find("region west"), std::string::npos) << got[0].detail;
  EXPECT_EQ(hinted_peers(), west_peers()) << "each west replica gets the write later";
}

TEST_F(replication_regions_test, a_silent_relay_times_out_at_the_request_timeout) {
  start_two_regions();
  for (std::size_t m : {3u, 4u, 5u})
    peer_ctl[m]->m = replica_ctl::mode::hold; // the relay never answers
  send(write_at(consistency::each_quorum, "k"));
  ASSERT_EQ(west_relays().size(), 1u);
  const std::size_t relay = west_relays()[0];
  advance(config.timeout - std::chrono::milliseconds(1));
  EXPECT_TRUE(take().empty()) << "gave up on the relay before the request timeout";
  advance(std::chrono::milliseconds(1));
  auto got = take();
  ASSERT_TRUE(one_outcome(got, errc::timeout));
  EXPECT_NE(got[0].detail.find("region west"), std::string::npos) << got[0].detail;
  EXPECT_EQ(hinted_peers(), west_peers()) << "each west replica gets the write later";
  release_peer(relay); // a late answer changes nothing
  EXPECT_TRUE(take().empty());
}

TEST_F(replication_regions_test, level_all_asks_the_relay_for_every_replica) {
  start_two_regions();
  peer_ctl[3]->relay_acks = peer_ctl[4]->relay_acks = peer_ctl[5]->relay_acks = 3;
  send(write_at(consistency::all, "k"));
  ASSERT_EQ(west_relays().size(), 1u);
  EXPECT_EQ(peer_ctl[west_relays()[0]]->shipped[0].wait, relay_wait::all);
  EXPECT_TRUE(one_outcome(take(), errc::ok));
}

TEST_F(replication_regions_test, a_region_nothing_was_sent_to_cannot_keep_a_write_waiting) {
  // Three regions, level quorum (5 of 9): south is down (no relay), so the round goes to
  // east and west only. Once those fall short (two east replicas fail: at most 1 + 3),
  // the write must be answered, not left waiting for south's replicas, to whom nothing
  // was sent (counting them, it waited for ever).
  start(9, 3, {"east", "east", "east", "west", "west", "west", "south", "south", "south"});
  for (std::size_t m = 1; m < 6; ++m)
    up(m);
  peer_ctl[1]->m = peer_ctl[2]->m = replica_ctl::mode::fail;
  send(write_at(consistency::quorum, "k"));
  EXPECT_TRUE(one_outcome(take(), errc::no_quorum));
}

TEST_F(replication_regions_test, no_quorum_at_once_when_no_member_of_the_other_region_is_up) {
  start_two_regions();
  for (std::size_t m : {3u, 4u, 5u})
    down(m);
  send(write_at(consistency::each_quorum, "k"));
  auto got = take();
  ASSERT_TRUE(one_outcome(got, errc::no_quorum));
  EXPECT_EQ(got[0].detail, "no quorum: region west has 0 of 3 replicas up, 2 needed");
  EXPECT_EQ(requests_sent(), 0u) << "nothing written";
}

TEST_F(replication_regions_test, a_local_write_needs_no_remote_replica_up) {
  start_two_regions();
  for (std::size_t m : {3u, 4u, 5u})
    down(m);
  send(write_at(consistency::local_quorum, "k"));
  EXPECT_TRUE(one_outcome(take(), errc::ok));
  EXPECT_TRUE(handoff->hints.empty()) << "nothing to hint: west was never asked";
}

TEST_F(replication_regions_test, a_shipped_batch_goes_to_this_regions_replicas_with_its_versions) {
  start_two_regions();
  peer_ctl[2]->m = replica_ctl::mode::hold;
  local->m = replica_ctl::mode::hold;
  versioned_writes w;
  // From a node whose clock runs an hour ahead: this node's clock must move past it.
  const storage::version ver{(storage::wall_ms() + 3600 * 1000) << 16, 99};
  pack_versioned_write(w, false, "a", "from west", ver);
  pack_versioned_write(w, true, "b", "", ver);
  std::optional<replica_ack> answer;
  auto client = ts.sys->spawn(
      [&](caf::event_based_actor* self, replication_actor target, ship_batch batch) {
        self->request(target, std::chrono::seconds(1), ship_atom_v, std::move(batch))
            .then([&](const replica_ack& a) { answer = a; }, [](caf::error&) {});
      },
      repl, quorum_batch(w));
  sched->run();
  EXPECT_FALSE(answer) << "answered before a quorum of this region held the writes";
  release_local();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->outcome, errc::ok);
  EXPECT_GT(answer->durable_ms, 0u);
  ASSERT_EQ(peer_ctl[1]->got.size(), 1u);
  const auto got = decode(peer_ctl[1]->got[0]);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].key, "a");
  EXPECT_EQ(got[0].value, "from west");
  EXPECT_EQ(got[0].ver, ver);
  EXPECT_TRUE(got[1].del);
  EXPECT_FALSE(peer_ctl[1]->got[0].ship) << "shipped writes are never shipped again";
  EXPECT_EQ(west_requests(), 0u);
  EXPECT_TRUE(take().empty()) << "a relay's outcome is not a client's";
  EXPECT_GT(clock.reserve(1).hlc, ver.hlc) << "the clock observed the shipped versions";
  release_peer(2);
}

TEST_F(replication_regions_test, a_relay_without_a_quorum_here_says_so) {
  start_two_regions();
  down(1);
  down(2);
  versioned_writes w;
  pack_versioned_write(w, false, "a", "v", storage::version{1000, 9});
  auto answer = relay(quorum_batch(w));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->outcome, errc::no_quorum);
}

TEST_F(replication_regions_test, a_shipment_is_taken_with_replicas_down_and_they_are_hinted) {
  // A shipper's batch (relay_wait::one): a region with replicas down still takes it, or
  // shipping to it would stall until they return.
  start_two_regions();
  down(2);
  peer_ctl[1]->m = replica_ctl::mode::fail;
  versioned_writes w;
  pack_versioned_write(w, false, "a", "v", storage::version{1000, 9});
  auto answer = relay(pack_ship_batch(w));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->outcome, errc::ok);
  EXPECT_EQ(answer->acks, 1u);
  ASSERT_EQ(local->got.size(), 1u);
  std::set<std::uint32_t> hinted;
  for (const auto& [peer, b] : handoff->hints)
    hinted.insert(peer.value());
  EXPECT_EQ(hinted, (std::set<std::uint32_t>{peer_of(1).value(), peer_of(2).value()}));
}

TEST_F(replication_regions_test, a_malformed_shipment_is_refused_and_nothing_is_sent) {
  start_two_regions();
  auto answer = relay(ship_batch{1, "not zstd"});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->outcome, errc::bad_compression);
  answer = relay(ship_batch{0, pack_ship_batch(versioned_writes{}).packed});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->outcome, errc::bad_request);
  EXPECT_EQ(requests_sent(), 0u);
}

} // namespace
} // namespace minivault
