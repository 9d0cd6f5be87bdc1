// Placement (actors/cluster/replication/placement.hpp): rendezvous hashing of partitions onto
// members, checked against its contract: deterministic, rf distinct replicas, balanced, minimal
// movement when a member joins, and shared(); with regions, rf replicas per region and
// movement confined to the region that changed.
#include "actors/cluster/replication/placement.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace minivault {
namespace {

using storage::partition_count;

std::vector<std::string> names(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("http://10.0.0." + std::to_string(i + 1) + ":8080");
  return out;
}

/// The replica names of partition p, in the placement's order (highest score first).
std::vector<std::string> replica_names(const placement& pl, std::uint32_t p) {
  std::vector<std::string> out;
  const member_id* r = pl.replicas(p);
  for (std::size_t i = 0; i < pl.replicas_per_partition(); ++i)
    out.push_back(pl.name(r[i]));
  return out;
}

TEST(placement, same_names_give_the_same_table_in_every_instance) {
  placement a(names(5), 3), b(names(5), 3);
  ASSERT_EQ(a.replicas_per_partition(), 3u);
  for (std::uint32_t p = 0; p < partition_count; ++p)
    for (std::size_t i = 0; i < 3; ++i)
      ASSERT_EQ(a.replicas(p)[i], b.replicas(p)[i]) << "partition " << p;
}

TEST(placement, every_node_agrees_whatever_member_it_lists_first) {
  // Each node lists itself first: the tables must agree by name.
  auto n = names(5);
  placement first(n, 3);
  for (std::size_t self = 1; self < n.size(); ++self) {
    auto mine = n;
    std::rotate(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(self), mine.end());
    std::reverse(mine.begin() + 1, mine.end());
    placement other(mine, 3);
    ASSERT_EQ(other.name(self_member), n[self]);
    for (std::uint32_t p = 0; p < partition_count; ++p)
      ASSERT_EQ(replica_names(first, p), replica_names(other, p)) << "partition " << p;
  }
}

TEST(placement, every_partition_has_min_rf_members_distinct_replicas) {
  for (std::size_t members : {1u, 2u, 3u, 4u, 5u, 9u}) {
    for (std::size_t rf : {1u, 2u, 3u, 5u}) {
      placement pl(names(members), rf);
      const std::size_t want = std::min(rf, members);
      ASSERT_EQ(pl.replicas_per_partition(), want) << members << " members, rf " << rf;
      EXPECT_EQ(pl.everyone_holds_everything(), members <= rf);
      for (std::uint32_t p = 0; p < partition_count; ++p) {
        std::set<member_id> seen;
        for (std::size_t i = 0; i < want; ++i) {
          member_id m = pl.replicas(p)[i];
          ASSERT_LT(m.at(), members);
          EXPECT_TRUE(pl.holds(m, p));
          seen.insert(m);
        }
        ASSERT_EQ(seen.size(), want) << "duplicate replica in partition " << p;
        std::size_t holders = 0;
        for (member_id m : pl.all())
          holders += pl.holds(m, p) ? 1 : 0;
        ASSERT_EQ(holders, want) << "holds() disagrees with replicas() in partition " << p;
      }
    }
  }
}

TEST(placement, replicas_are_ordered_by_score) {
  placement pl(names(5), 3);
  for (std::uint32_t p = 0; p < partition_count; ++p) {
    const member_id* r = pl.replicas(p);
    std::uint64_t lowest_held = ~std::uint64_t{0};
    for (std::size_t i = 0; i < 3; ++i) {
      auto s = placement::score(placement::name_hash(pl.name(r[i])), p);
      ASSERT_LE(s, lowest_held) << "replicas not highest score first in partition " << p;
      lowest_held = s;
    }
    for (member_id m : pl.all()) {
      if (!pl.holds(m, p)) {
        ASSERT_LE(placement::score(placement::name_hash(pl.name(m)), p), lowest_held)
            << "a member with a higher score was left out of partition " << p;
      }
    }
  }
}

TEST(placement, five_members_rf3_each_hold_about_three_fifths) {
  placement pl(names(5), 3);
  const double expected = partition_count * 3.0 / 5.0;
  std::size_t total = 0;
  for (member_id m : pl.all()) {
    std::size_t held = 0;
    for (std::uint32_t p = 0; p < partition_count; ++p)
      held += pl.holds(m, p) ? 1 : 0;
    total += held;
    EXPECT_GE(held, expected * 0.9) << pl.name(m);
    EXPECT_LE(held, expected * 1.1) << pl.name(m);
  }
  EXPECT_EQ(total, partition_count * 3u);
}

TEST(placement, up_to_rf_members_everyone_holds_everything) {
  for (std::size_t members : {1u, 2u, 3u}) {
    placement pl(names(members), 3);
    EXPECT_TRUE(pl.everyone_holds_everything());
    for (member_id m : pl.all()) {
      for (std::uint32_t p = 0; p < partition_count; ++p)
        ASSERT_TRUE(pl.holds(m, p))
            << members << " members: member " << m.value() << " partition " << p;
      for (member_id o : pl.all())
        EXPECT_EQ(pl.shared(m, o).size(), partition_count);
    }
  }
}

TEST(placement, a_sixth_member_only_takes_partitions_none_move_between_old_members) {
  auto five = names(5);
  auto six = five;
  six.push_back("http://10.0.0.99:8080");
  placement before(five, 3), after(six, 3);
  const member_id newcomer{5};
  std::size_t gained = 0;
  for (std::uint32_t p = 0; p < partition_count; ++p) {
    std::set<member_id> old_set(before.replicas(p), before.replicas(p) + 3);
    std::set<member_id> new_set(after.replicas(p), after.replicas(p) + 3);
    if (new_set.count(newcomer)) {
      ++gained;
      // The newcomer replaced exactly one old replica; the other two stayed.
      new_set.erase(newcomer);
      for (auto m : new_set)
        EXPECT_TRUE(old_set.count(m)) << "partition " << p << " moved to old member " << m.value();
    } else {
      EXPECT_EQ(old_set, new_set) << "partition " << p << " moved between old members";
    }
  }
  // The newcomer takes about rf/members of everything.
  const double expected = partition_count * 3.0 / 6.0;
  EXPECT_GE(gained, expected * 0.9);
  EXPECT_LE(gained, expected * 1.1);
}

TEST(placement, removing_a_member_only_moves_its_partitions) {
  auto five = names(5);
  auto four = five;
  four.erase(four.begin() + 2); // member 2 leaves; indices above it shift down
  placement before(five, 3), after(four, 3);
  for (std::uint32_t p = 0; p < partition_count; ++p) {
    auto old_names = replica_names(before, p), new_names = replica_names(after, p);
    std::set<std::string> o(old_names.begin(), old_names.end()),
        n(new_names.begin(), new_names.end());
    if (!o.count(five[2])) {
      EXPECT_EQ(o, n) << "partition " << p;
    } else {
      o.erase(five[2]);
      for (auto& m : o)
        EXPECT_TRUE(n.count(m)) << "partition " << p << " lost " << m;
    }
  }
}

TEST(placement, shared_lists_exactly_the_partitions_both_hold) {
  placement pl(names(5), 3);
  for (member_id a : pl.all()) {
    for (member_id b : pl.all()) {
      auto s = pl.shared(a, b);
      EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
      std::vector<std::uint32_t> want;
      for (std::uint32_t p = 0; p < partition_count; ++p)
        if (pl.holds(a, p) && pl.holds(b, p)) want.push_back(p);
      EXPECT_EQ(s, want) << a.value() << "," << b.value();
      EXPECT_EQ(s, pl.shared(b, a));
      if (a != b) {
        // Two given members share a partition with probability 3/5 * 2/4 = 0.3.
        EXPECT_GT(s.size(), partition_count * 0.3 * 0.8);
        EXPECT_LT(s.size(), partition_count * 0.3 * 1.2);
      }
    }
  }
}

TEST(placement, names_and_members_are_reported) {
  auto n = names(4);
  placement pl(n, 2);
  EXPECT_EQ(pl.members(), 4u);
  for (member_id m : pl.all())
    EXPECT_EQ(pl.name(m), n[m.at()]);
  EXPECT_FALSE(pl.everyone_holds_everything());
  EXPECT_EQ(placement::name_hash("abc"), placement::name_hash(std::string("abc")));
  EXPECT_NE(placement::name_hash("a"), placement::name_hash("b"));
}

// -- regions ------------------------------------------------------------------------------

/// `per_region[r]` members in region "r<r>", named "r<r>-n<i>"; member 0 is r0's first.
std::vector<placement::member> regional(const std::vector<std::size_t>& per_region) {
  std::vector<placement::member> out;
  for (std::size_t r = 0; r < per_region.size(); ++r)
    for (std::size_t i = 0; i < per_region[r]; ++i)
      out.push_back({"r" + std::to_string(r) + "-n" + std::to_string(i), "r" + std::to_string(r)});
  return out;
}

/// Partition p's replica names in `region`, highest score first.
std::vector<std::string> region_replica_names(const placement& pl, std::uint32_t p,
                                              const std::string& region) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < pl.replicas_per_partition(); ++i) {
    member_id m = pl.replicas(p)[i];
    if (pl.region_name(pl.region_of(m)) == region) out.push_back(pl.name(m));
  }
  return out;
}

TEST(placement_regions, every_region_holds_rf_replicas_of_every_partition) {
  placement pl(regional({3, 3}), 3);
  ASSERT_EQ(pl.regions(), 2u);
  EXPECT_EQ(pl.replicas_per_partition(), 6u);
  EXPECT_TRUE(pl.everyone_holds_everything());
  placement big(regional({5, 2, 4}), 3);
  ASSERT_EQ(big.regions(), 3u);
  EXPECT_EQ(big.region_replicas(0), 3u);
  EXPECT_EQ(big.region_replicas(1), 2u) << "fewer where a region has fewer nodes";
  EXPECT_EQ(big.region_replicas(2), 3u);
  EXPECT_EQ(big.replicas_per_partition(), 8u);
  EXPECT_FALSE(big.everyone_holds_everything());
  for (std::uint32_t p = 0; p < partition_count; ++p) {
    std::set<member_id> seen;
    std::vector<std::size_t> per_region(3, 0);
    std::size_t last_region = 0;
    for (std::size_t i = 0; i < big.replicas_per_partition(); ++i) {
      member_id m = big.replicas(p)[i];
      ASSERT_GE(big.region_of(m), last_region) << "replicas grouped by region, region 0 first";
      last_region = big.region_of(m);
      ++per_region[big.region_of(m)];
      seen.insert(m);
    }
    ASSERT_EQ(seen.size(), 8u) << "duplicate replica in partition " << p;
    ASSERT_EQ(per_region, (std::vector<std::size_t>{3, 2, 3})) << "partition " << p;
    for (std::size_t i = 0; i < big.region_replicas(0); ++i)
      ASSERT_EQ(big.region_of(big.replicas(p)[i]), 0u) << "this region's replicas first";
  }
}

TEST(placement_regions, inside_a_region_it_is_the_same_rendezvous_as_one_region_alone) {
  // Region r1 of a two-region cluster places exactly as a cluster of r1's members alone.
  auto members = regional({3, 5});
  placement both(members, 3);
  std::vector<std::string> r1;
  for (const auto& m : members)
    if (m.region == "r1") r1.push_back(m.name);
  placement alone(r1, 3);
  for (std::uint32_t p = 0; p < partition_count; ++p)
    ASSERT_EQ(region_replica_names(both, p, "r1"), replica_names(alone, p)) << "partition " << p;
}

TEST(placement_regions, a_node_added_to_one_region_moves_nothing_in_the_others) {
  auto before_members = regional({4, 4});
  auto after_members = before_members;
  after_members.push_back({"r1-new", "r1"});
  placement before(before_members, 3), after(after_members, 3);
  std::size_t moved_in_r1 = 0;
  for (std::uint32_t p = 0; p < partition_count; ++p) {
    ASSERT_EQ(region_replica_names(before, p, "r0"), region_replica_names(after, p, "r0"))
        << "partition " << p << " moved in the region that did not change";
    moved_in_r1 += region_replica_names(before, p, "r1") != region_replica_names(after, p, "r1");
  }
  // The newcomer takes about 3/5 of r1's partitions; nothing else moves there.
  EXPECT_GT(moved_in_r1, partition_count * 3 / 5 * 0.9);
  EXPECT_LT(moved_in_r1, partition_count * 3 / 5 * 1.1);
}

TEST(placement_regions, nodes_of_different_regions_agree_on_every_replica) {
  auto members = regional({3, 2, 3});
  placement at_r0(members, 2);
  // The same cluster as a node of r2 lists it: itself first, the rest in another order.
  auto mine = members;
  std::rotate(mine.begin(), mine.begin() + 6, mine.end());
  std::reverse(mine.begin() + 1, mine.end());
  placement at_r2(mine, 2);
  ASSERT_EQ(at_r2.region_name(0), "r2") << "this node's region comes first";
  EXPECT_EQ(at_r2.region_name(1), "r0");
  EXPECT_EQ(at_r2.region_name(2), "r1");
  for (std::uint32_t p = 0; p < partition_count; ++p)
    for (const char* r : {"r0", "r1", "r2"})
      ASSERT_EQ(region_replica_names(at_r0, p, r), region_replica_names(at_r2, p, r))
          << "partition " << p << " region " << r;
}

} // namespace
} // namespace minivault
