// Quorum arithmetic (actors/cluster/replication/quorum.hpp) without actors: what each
// consistency level needs per region, that reads and writes of a level always overlap,
// when an op holds its need or cannot reach it, when a read is resolved, and what a
// finished round leads to.
#include "actors/cluster/replication/quorum.hpp"

#include <gtest/gtest.h>

#include <initializer_list>

namespace minivault {
namespace {

constexpr consistency every_level[] = {consistency::one,         consistency::local_quorum,
                                       consistency::region_safe, consistency::each_quorum,
                                       consistency::quorum,      consistency::all};

region_counts counts(std::initializer_list<int> per_region) {
  region_counts c{};
  std::size_t r = 0;
  for (int n : per_region)
    c[r++] = static_cast<std::uint8_t>(n);
  return c;
}

/// A write tally at `level` for a partition with `layout` replicas per region.
op_tally tally(consistency level, const region_counts& layout, std::size_t regions,
               std::size_t w = 2, bool needs_local = false) {
  op_tally t;
  t.need = write_need(level, layout, regions, w);
  t.possible = layout;
  t.needs_local = needs_local;
  return t;
}

TEST(quorum, one_region_local_quorum_and_quorum_are_two_of_three) {
  const auto three = counts({3});
  for (consistency c : {consistency::local_quorum, consistency::quorum}) {
    EXPECT_TRUE(met(write_need(c, three, 1, 2), counts({2}))) << to_string(c);
    EXPECT_FALSE(met(write_need(c, three, 1, 2), counts({1}))) << to_string(c);
    EXPECT_TRUE(met(read_need(c, three, 1, 2), counts({2}))) << to_string(c);
    EXPECT_FALSE(met(read_need(c, three, 1, 2), counts({1}))) << to_string(c);
  }
  // -write-quorum still sets the local quorum: w = 3 reads from one replica.
  EXPECT_FALSE(met(write_need(consistency::local_quorum, three, 1, 3), counts({2})));
  EXPECT_TRUE(met(read_need(consistency::local_quorum, three, 1, 3), counts({1})));
}

TEST(quorum, a_region_too_small_for_the_write_quorum_uses_its_majority) {
  EXPECT_EQ(region_quorum(3, 2), 2u);
  EXPECT_EQ(region_quorum(1, 2), 1u);
  EXPECT_EQ(region_quorum(2, 3), 2u);
  EXPECT_EQ(region_quorum(5, 3), 3u);
}

// Whatever the layout, a read at a level hears from at least one replica of every write
// acknowledged at the same level: in the regions the level counts per region, or over
// all replicas. region_safe writes are read as local_quorum (same local quorum).
TEST(quorum, reads_and_writes_of_a_level_always_share_a_replica) {
  for (auto layout : {counts({3}), counts({3, 3}), counts({3, 2}), counts({1, 3, 2}),
                      counts({5, 5, 5}), counts({2})}) {
    std::size_t regions = 0;
    while (regions < regions_max && layout[regions] != 0)
      ++regions;
    for (std::size_t w = 1; w <= 3; ++w) {
      for (consistency c : every_level) {
        if (c == consistency::one) continue; // one makes no promise to a reader
        const quorum_need wn = write_need(c, layout, regions, w);
        const quorum_need rn = read_need(c, layout, regions, w);
        for (std::size_t r = 0; r < regions; ++r) {
          if (wn.per_region[r] != 0 && rn.per_region[r] != 0) {
            EXPECT_GT(wn.per_region[r] + rn.per_region[r], layout[r])
                << to_string(c) << " region " << r << " w " << w;
          }
        }
        if (wn.total != 0) {
          EXPECT_GT(wn.total + rn.total, sum(layout)) << to_string(c) << " w " << w;
        }
        const bool overlaps_somewhere = [&] {
          for (std::size_t r = 0; r < regions; ++r)
            if (wn.per_region[r] + rn.per_region[r] > layout[r]) return true;
          return wn.total + rn.total > sum(layout);
        }();
        EXPECT_TRUE(overlaps_somewhere) << to_string(c) << " w " << w;
      }
    }
  }
}

TEST(quorum, local_quorum_counts_only_this_region) {
  op_tally t = tally(consistency::local_quorum, counts({3, 3}), 2);
  EXPECT_FALSE(tally_ack(t, 1, false));
  EXPECT_FALSE(tally_ack(t, 1, false));
  EXPECT_FALSE(tally_ack(t, 1, false)) << "three remote acks are not a local quorum";
  EXPECT_FALSE(tally_ack(t, 0, false));
  EXPECT_TRUE(tally_ack(t, 0, false));
  op_tally cut = tally(consistency::local_quorum, counts({3, 3}), 2);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(tally_failure(cut, 1, false, true, true), std::nullopt)
        << "the other region failing does not fail a local_quorum write";
}

TEST(quorum, region_safe_also_waits_for_one_remote_copy) {
  op_tally t = tally(consistency::region_safe, counts({3, 2}), 2);
  EXPECT_FALSE(tally_ack(t, 0, false));
  EXPECT_FALSE(tally_ack(t, 0, false)) << "local quorum, no remote copy yet";
  EXPECT_TRUE(tally_ack(t, 1, false));
  op_tally cut = tally(consistency::region_safe, counts({3, 2}), 2);
  EXPECT_EQ(tally_failure(cut, 1, false, false, false), std::nullopt);
  EXPECT_EQ(tally_failure(cut, 1, false, false, false), errc::no_quorum)
      << "every remote replica failed";
  EXPECT_FALSE(met(write_need(consistency::region_safe, counts({3}), 1, 2), counts({3})))
      << "one region has no other region to copy to";
}

TEST(quorum, each_quorum_needs_every_region_and_fails_when_one_cannot) {
  op_tally t = tally(consistency::each_quorum, counts({3, 3, 1}), 3);
  for (std::size_t r : {0, 0, 1})
    EXPECT_FALSE(tally_ack(t, r, false));
  EXPECT_FALSE(tally_ack(t, 2, false));
  EXPECT_TRUE(tally_ack(t, 1, false));
  op_tally down = tally(consistency::each_quorum, counts({3, 3}), 2);
  EXPECT_EQ(tally_failure(down, 1, false, false, false), std::nullopt);
  EXPECT_EQ(tally_failure(down, 1, false, false, false), errc::no_quorum);
  EXPECT_EQ(short_region(down.need, down.possible), std::optional<std::size_t>(1))
      << "the region that cannot make its quorum is named";
}

TEST(quorum, quorum_is_a_majority_of_all_replicas_and_all_is_every_one) {
  op_tally q = tally(consistency::quorum, counts({3, 3}), 2);
  for (std::size_t r : {1, 1, 1})
    EXPECT_FALSE(tally_ack(q, r, false));
  EXPECT_TRUE(tally_ack(q, 0, false)) << "4 of 6, from any regions";
  op_tally a = tally(consistency::all, counts({2, 1}), 2);
  EXPECT_FALSE(tally_ack(a, 0, false));
  EXPECT_FALSE(tally_ack(a, 0, false));
  EXPECT_TRUE(tally_ack(a, 1, false));
  op_tally one = tally(consistency::one, counts({3, 3}), 2);
  EXPECT_TRUE(tally_ack(one, 1, false));
}

TEST(quorum, an_op_is_counted_once) {
  op_tally t = tally(consistency::local_quorum, counts({3}), 1);
  EXPECT_FALSE(tally_ack(t, 0, false));
  EXPECT_TRUE(tally_ack(t, 0, false));
  EXPECT_FALSE(tally_ack(t, 0, false)) << "counted once";
  EXPECT_EQ(t.acks[0], 3);
}

TEST(quorum, an_op_this_node_holds_waits_for_this_node) {
  op_tally t = tally(consistency::local_quorum, counts({3}), 1, 2, true);
  EXPECT_FALSE(tally_ack(t, 0, false));
  EXPECT_FALSE(tally_ack(t, 0, false)) << "two peers, but not this node";
  EXPECT_TRUE(tally_ack(t, 0, true));
  op_tally one = tally(consistency::one, counts({3}), 1, 2, true);
  EXPECT_FALSE(tally_ack(one, 0, false)) << "even at one: read-your-writes here";
  EXPECT_TRUE(tally_ack(one, 0, true));
}

TEST(quorum, this_node_failing_its_own_replica_fails_the_write) {
  op_tally t = tally(consistency::local_quorum, counts({3}), 1, 2, true);
  EXPECT_EQ(tally_failure(t, 0, true, false, false), errc::io_error);
  op_tally u = tally(consistency::local_quorum, counts({3}), 1, 2, true);
  EXPECT_EQ(tally_failure(u, 0, true, true, true), errc::timeout);
  op_tally v = tally(consistency::local_quorum, counts({3}), 1);
  EXPECT_EQ(tally_failure(v, 0, true, false, false), std::nullopt)
      << "this node is not one of the op's replicas";
}

TEST(quorum, an_op_fails_once_too_few_replicas_can_still_ack) {
  op_tally t = tally(consistency::local_quorum, counts({3}), 1);
  EXPECT_EQ(tally_failure(t, 0, false, false, false), std::nullopt);
  EXPECT_EQ(tally_failure(t, 0, false, false, false), errc::no_quorum);
  op_tally u = tally(consistency::local_quorum, counts({3}), 1);
  EXPECT_EQ(tally_failure(u, 0, false, true, true), std::nullopt);
  EXPECT_EQ(tally_failure(u, 0, false, false, true), errc::timeout)
      << "a replica of the batch timed out";
  op_tally held = tally(consistency::local_quorum, counts({3}), 1);
  (void)tally_ack(held, 0, false);
  (void)tally_ack(held, 0, false);
  EXPECT_EQ(tally_failure(held, 0, false, false, false), std::nullopt) << "already held";
}

TEST(quorum, a_read_resolves_on_its_quorum_or_when_it_cannot) {
  read_tally r;
  r.need = read_need(consistency::local_quorum, counts({3}), 1, 2);
  r.asked = counts({3});
  EXPECT_EQ(read_verdict(r, true), std::nullopt);
  r.answers = counts({2});
  EXPECT_EQ(read_verdict(r, true), errc::ok);
  EXPECT_EQ(read_verdict(r, false), errc::not_found);
  read_tally f;
  f.need = r.need;
  f.asked = counts({3});
  f.failures = counts({1});
  EXPECT_EQ(read_verdict(f, true), std::nullopt);
  f.failures = counts({2});
  EXPECT_EQ(read_verdict(f, true), errc::no_quorum);
  f.saw_timeout = true;
  EXPECT_EQ(read_verdict(f, true), errc::timeout);
}

TEST(quorum, an_each_quorum_read_needs_answers_from_every_region) {
  read_tally r;
  r.need = read_need(consistency::each_quorum, counts({3, 3}), 2, 2);
  r.asked = counts({3, 3});
  r.answers = counts({3, 1});
  EXPECT_EQ(read_verdict(r, true), std::nullopt);
  r.answers = counts({2, 2});
  EXPECT_EQ(read_verdict(r, true), errc::ok);
  r.answers = counts({2, 1});
  r.failures = counts({0, 2});
  EXPECT_EQ(read_verdict(r, true), errc::no_quorum);
  EXPECT_TRUE(r.all_heard() == false) << "one replica of region 0 has not answered";
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
