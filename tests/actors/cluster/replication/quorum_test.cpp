// Quorum arithmetic (actors/cluster/replication/quorum.hpp) without actors: read quorums,
// when an op holds its write quorum or cannot reach it, when a read is resolved, and what
// a finished round leads to.
#include "actors/cluster/replication/quorum.hpp"

#include <gtest/gtest.h>

namespace minivault {
namespace {

TEST(quorum, a_read_quorum_meets_every_write_quorum) {
  EXPECT_EQ(read_quorum_for(3, 2), 2u);
  EXPECT_EQ(read_quorum_for(3, 1), 3u);
  EXPECT_EQ(read_quorum_for(3, 3), 1u);
  EXPECT_EQ(read_quorum_for(5, 3), 3u);
  for (std::size_t rf = 1; rf <= 7; ++rf)
    for (std::size_t w = 1; w <= rf; ++w)
      EXPECT_GT(read_quorum_for(rf, w) + w, rf) << "rf " << rf << " w " << w;
}

TEST(quorum, a_write_quorum_fits_the_replicas_per_partition) {
  EXPECT_TRUE(quorum_fits(2, 3, 3));
  EXPECT_TRUE(quorum_fits(3, 3, 5));
  EXPECT_FALSE(quorum_fits(3, 3, 2)) << "two nodes hold at most two replicas";
  EXPECT_FALSE(quorum_fits(3, 2, 5)) << "replication factor 2";
}

TEST(quorum, an_op_is_done_once_the_quorum_holds_it) {
  op_tally t;
  t.possible = 3;
  EXPECT_FALSE(tally_ack(t, false, 2));
  EXPECT_TRUE(tally_ack(t, false, 2));
  EXPECT_FALSE(tally_ack(t, false, 2)) << "counted once";
  EXPECT_EQ(t.acks, 3);
}

TEST(quorum, an_op_this_node_holds_waits_for_this_node) {
  op_tally t;
  t.possible = 3;
  t.needs_local = true;
  EXPECT_FALSE(tally_ack(t, false, 2));
  EXPECT_FALSE(tally_ack(t, false, 2)) << "two peers, but not this node";
  EXPECT_TRUE(tally_ack(t, true, 2));
}

TEST(quorum, this_node_failing_its_own_replica_fails_the_write) {
  op_tally t;
  t.possible = 3;
  t.needs_local = true;
  EXPECT_EQ(tally_failure(t, true, 2, false, false), errc::io_error);
  op_tally u;
  u.possible = 3;
  u.needs_local = true;
  EXPECT_EQ(tally_failure(u, true, 2, true, true), errc::timeout);
  op_tally v;
  v.possible = 3;
  EXPECT_EQ(tally_failure(v, true, 2, false, false), std::nullopt)
      << "this node is not one of the op's replicas";
}

TEST(quorum, an_op_fails_once_too_few_replicas_can_still_ack) {
  op_tally t;
  t.possible = 3;
  EXPECT_EQ(tally_failure(t, false, 2, false, false), std::nullopt);
  EXPECT_EQ(tally_failure(t, false, 2, false, false), errc::no_quorum);
  op_tally u;
  u.possible = 3;
  EXPECT_EQ(tally_failure(u, false, 2, true, true), std::nullopt);
  EXPECT_EQ(tally_failure(u, false, 2, false, true), errc::timeout)
      << "a replica of the batch timed out";
  op_tally held;
  held.possible = 3;
  (void)tally_ack(held, false, 2);
  (void)tally_ack(held, false, 2);
  EXPECT_EQ(tally_failure(held, false, 2, false, false), std::nullopt) << "already held";
}

TEST(quorum, a_read_resolves_on_its_quorum_or_when_it_cannot) {
  read_tally r;
  r.need = 2;
  r.asked = 3;
  EXPECT_EQ(read_verdict(r, true), std::nullopt);
  r.answers = 2;
  EXPECT_EQ(read_verdict(r, true), errc::ok);
  EXPECT_EQ(read_verdict(r, false), errc::not_found);
  read_tally f;
  f.need = 2;
  f.asked = 3;
  f.failures = 1;
  EXPECT_EQ(read_verdict(f, true), std::nullopt);
  f.failures = 2;
  EXPECT_EQ(read_verdict(f, true), errc::no_quorum);
  f.saw_timeout = true;
  EXPECT_EQ(read_verdict(f, true), errc::timeout);
}

TEST(quorum, a_first_round_that_saw_newer_versions_goes_again_when_it_safely_can) {
  int asked = 0;
  auto no = [&] {
    ++asked;
    return false;
  };
  auto yes = [&] {
    ++asked;
    return true;
  };
  EXPECT_EQ(end_of_round(0, 0, yes), round_outcome::acknowledge);
  EXPECT_EQ(end_of_round(1, 42, yes), round_outcome::acknowledge) << "round 2 always acks";
  EXPECT_EQ(asked, 0) << "only asked when a second round is wanted";
  EXPECT_EQ(end_of_round(0, 42, no), round_outcome::second_round);
  EXPECT_EQ(end_of_round(0, 42, yes), round_outcome::fail_unknown);
  EXPECT_EQ(asked, 2);
}

} // namespace
} // namespace minivault
