// Tests of what storage/version.hpp promises: the hybrid logical clock is strictly
// increasing, never behind a version it observed, and versions order by hlc, then node.
#include "storage/version.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace minivault::storage {
namespace {

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

TEST(hlc_clock, now_is_strictly_increasing_over_a_million_calls) {
  hlc_clock clock(7);
  version last = clock.now();
  EXPECT_NE(last.hlc, 0u);
  for (int i = 0; i < 1'000'000; ++i) {
    version v = clock.now();
    ASSERT_GT(v.hlc, last.hlc) << "call " << i;
    ASSERT_LT(last, v);
    ASSERT_EQ(v.node, 7u);
    last = v;
  }
  // the physical part tracks the wall clock (the counter absorbs bursts)
  EXPECT_LE(last.physical_ms(), wall_ms() + 1000);
  EXPECT_GE(last.physical_ms() + 60'000, wall_ms());
}

TEST(hlc_clock, now_carries_the_node) {
  hlc_clock clock(123456);
  EXPECT_EQ(clock.node(), 123456u);
  EXPECT_EQ(clock.now().node, 123456u);
}

TEST(hlc_clock, observe_future_version_moves_now_past_it) {
  hlc_clock clock(1);
  version future{(wall_ms() + 3'600'000) << 16 | 42, 9};
  clock.observe(future);
  version v = clock.now();
  EXPECT_GT(v.hlc, future.hlc);
  EXPECT_LT(future, v);
  EXPECT_EQ(v.node, 1u);
  // keeps increasing from there
  version w = clock.now();
  EXPECT_GT(w.hlc, v.hlc);
  // the physical part stays that of the observed version until the wall clock catches up
  EXPECT_EQ(w.physical_ms(), future.physical_ms());
}

TEST(hlc_clock, observe_past_version_changes_nothing) {
  hlc_clock clock(1);
  version a = clock.now();
  clock.observe(version{a.hlc - (1000ull << 16), 5});
  clock.observe(version{0, 0});
  version b = clock.now();
  EXPECT_GT(b.hlc, a.hlc);
  EXPECT_LE(b.physical_ms(), wall_ms() + 1000);
}

TEST(hlc_clock, observe_equal_hlc_from_other_node_still_moves_past) {
  hlc_clock clock(1);
  version a = clock.now();
  version same_hlc_higher_node{a.hlc + 5, 99};
  clock.observe(same_hlc_higher_node);
  version b = clock.now();
  EXPECT_LT(same_hlc_higher_node, b);
}

TEST(version, orders_by_hlc_then_node) {
  version a{100, 9}, b{101, 1}, c{101, 2}, d{101, 2};
  EXPECT_LT(a, b); // hlc dominates the node
  EXPECT_FALSE(b < a);
  EXPECT_LT(b, c); // equal hlc: node breaks the tie
  EXPECT_FALSE(c < b);
  EXPECT_FALSE(c < d);
  EXPECT_FALSE(d < c);
  EXPECT_EQ(c, d);
  EXPECT_NE(b, c);
  EXPECT_NE(a, b);
  EXPECT_TRUE(version{} < a);
  EXPECT_EQ(version{}, (version{0, 0}));
}

TEST(version, sorting_is_deterministic_whatever_the_input_order) {
  std::vector<version> vs{{5, 3}, {5, 1}, {4, 9}, {6, 0}, {5, 2}, {4, 10}};
  auto sorted = vs;
  std::sort(sorted.begin(), sorted.end());
  std::vector<version> expect{{4, 9}, {4, 10}, {5, 1}, {5, 2}, {5, 3}, {6, 0}};
  EXPECT_EQ(sorted, expect);
  std::reverse(vs.begin(), vs.end());
  std::sort(vs.begin(), vs.end());
  EXPECT_EQ(vs, expect);
  // the winner among replicas is the max, regardless of the order they arrive in
  EXPECT_EQ(*std::max_element(vs.begin(), vs.end()), (version{6, 0}));
}

TEST(version, physical_ms_is_the_high_bits) {
  version v{(1'700'000'000'123ull << 16) | 0xFFFF, 1};
  EXPECT_EQ(v.physical_ms(), 1'700'000'000'123ull);
  EXPECT_EQ((version{0xFFFF, 1}).physical_ms(), 0u);
}

} // namespace
} // namespace minivault::storage
