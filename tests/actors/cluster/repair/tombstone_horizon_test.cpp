// The tombstone horizon (actors/cluster/repair/anti_entropy_actor.hpp): the minimum of
// this region's peers' full matches and, for every other region, of the last equal
// comparison of each partition this node holds. A tombstone goes only once every region
// has it.
#include <gtest/gtest.h>

#include <vector>

#include "actors/cluster/repair/anti_entropy_actor.hpp"

namespace minivault {
namespace {

constexpr std::uint64_t none = ~std::uint64_t{0};

TEST(tombstone_horizon, OneRegionIsTheOldestMatchOfThisRegionsPeers) {
  EXPECT_EQ(tombstone_horizon_ms({500, 300, 900}, {true, true, true}, {{}}, {true, true}), 300u);
  EXPECT_EQ(tombstone_horizon_ms({}, {}, {{}}, {}), none) << "a single node waits for nobody";
}

TEST(tombstone_horizon, PeersOfOtherRegionsCountOnlyThroughTheirRegionsComparisons) {
  // Peer 1 is of another region: its own match time (never) does not hold the horizon.
  const std::vector<std::vector<std::uint64_t>> regions{{}, {700, 800, 650}};
  EXPECT_EQ(tombstone_horizon_ms({900, 0}, {true, false}, regions, {true, true, true}), 650u);
}

TEST(tombstone_horizon, APartitionNeverComparedWithARegionHoldsItAtZero) {
  const std::vector<std::vector<std::uint64_t>> regions{{}, {700, 0, 800}, {900, 900, 900}};
  EXPECT_EQ(tombstone_horizon_ms({1000}, {true}, regions, {true, true, true}), 0u);
  EXPECT_EQ(tombstone_horizon_ms({1000}, {true}, regions, {true, false, true}), 700u)
      << "partitions this node does not hold do not count";
}

} // namespace
} // namespace minivault
