// The cluster's hybrid logical clock (actors/cluster/replication/cluster_clock.hpp): reserved
// ranges strictly increase and never overlap, also across threads; observe() and the seed move it
// on.
#include "actors/cluster/replication/clock_lease.hpp"
#include "actors/cluster/replication/cluster_clock.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

namespace minivault {
namespace {

using storage::version;

TEST(cluster_clock, reserved_ranges_strictly_increase_and_never_overlap) {
  cluster_clock clock(3, 0);
  EXPECT_EQ(clock.node(), 3u);
  std::uint64_t next_free = 0; // every hlc below this has been handed out
  for (std::uint32_t i = 0; i < 20000; ++i) {
    const std::uint32_t n = 1 + i % 17;
    version v = clock.reserve(n);
    ASSERT_EQ(v.node, 3u);
    ASSERT_GT(v.hlc, 0u);
    ASSERT_GE(v.hlc, next_free) << "range starting at " << v.hlc << " overlaps the previous one";
    next_free = v.hlc + n;
  }
}

TEST(cluster_clock, physical_part_is_at_least_the_wall_clock) {
  cluster_clock clock(1, 0);
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t before = storage::wall_ms();
    version v = clock.reserve(1);
    EXPECT_GE(v.physical_ms(), before);
  }
}

TEST(cluster_clock, seed_in_the_future_is_respected) {
  // A restart after the wall clock went back: the seed (the engine's last_hlc) wins.
  const std::uint64_t seed = (storage::wall_ms() + 3'600'000) << 16;
  cluster_clock clock(2, seed);
  version a = clock.reserve(5);
  EXPECT_EQ(a.hlc, seed + 1);
  version b = clock.reserve(1);
  EXPECT_EQ(b.hlc, seed + 6);
}

TEST(cluster_clock, seed_in_the_past_yields_to_the_wall_clock) {
  cluster_clock clock(2, 12345);
  const std::uint64_t before = storage::wall_ms();
  version v = clock.reserve(1);
  EXPECT_GT(v.hlc, 12345u);
  EXPECT_GE(v.physical_ms(), before);
}

TEST(cluster_clock, observe_moves_it_past_a_version_seen_elsewhere) {
  cluster_clock clock(1, 0);
  version mine = clock.reserve(1);
  const version seen{mine.hlc + (std::uint64_t{3'600'000} << 16), 9}; // 1 h ahead
  clock.observe(seen);
  version next = clock.reserve(3);
  EXPECT_GT(next.hlc, seen.hlc);
  EXPECT_EQ(next.hlc, seen.hlc + 1) << "the wall clock is behind what was observed";
  EXPECT_EQ(next.node, 1u) << "the clock keeps its own node id";
  // Observing something older changes nothing.
  clock.observe(version{1, 1});
  clock.observe(seen);
  version after = clock.reserve(1);
  EXPECT_EQ(after.hlc, next.hlc + 3);
}

TEST(cluster_clock, concurrent_reservations_never_overlap) {
  cluster_clock clock(5, 0);
  constexpr int threads = 4, per_thread = 20000;
  struct range {
    std::uint64_t first, n;
  };
  std::vector<std::vector<range>> got(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      got[t].reserve(per_thread);
      for (int i = 0; i < per_thread; ++i) {
        const std::uint32_t n = 1 + static_cast<std::uint32_t>((i * 7 + t) % 13);
        version v = clock.reserve(n);
        got[t].push_back({v.hlc, n});
        if (i % 1000 == 0) clock.observe(version{v.hlc + 50, 1}); // interleave observes
      }
    });
  for (auto& t : ts)
    t.join();
  std::vector<range> all;
  for (int t = 0; t < threads; ++t) {
    // Within a thread: strictly increasing and not overlapping.
    for (std::size_t i = 1; i < got[t].size(); ++i)
      ASSERT_GE(got[t][i].first, got[t][i - 1].first + got[t][i - 1].n) << "thread " << t;
    all.insert(all.end(), got[t].begin(), got[t].end());
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < all.size(); ++i)
    ASSERT_GE(all[i].first, all[i - 1].first + all[i - 1].n)
        << "ranges [" << all[i - 1].first << ", +" << all[i - 1].n << ") and [" << all[i].first
        << ", +" << all[i].n << ") overlap";
}

} // namespace
} // namespace minivault

// The clock lease (actors/cluster/replication/clock_lease.hpp): stored and read back; missing or
// garbage is 0.

namespace minivault {
namespace {

TEST(clock_lease, round_trips_and_missing_or_garbage_reads_as_zero) {
  std::string dir = "/tmp/mv-lease-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/clock";
  EXPECT_EQ(read_clock_lease(path), 0u) << "no file yet";
  ASSERT_TRUE(write_clock_lease(path, 0x123456789abcdefULL));
  EXPECT_EQ(read_clock_lease(path), 0x123456789abcdefULL);
  ASSERT_TRUE(write_clock_lease(path, 42)); // replaced, not appended
  EXPECT_EQ(read_clock_lease(path), 42u);
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not a number", f);
    std::fclose(f);
  }
  EXPECT_EQ(read_clock_lease(path), 0u);
  EXPECT_FALSE(write_clock_lease(dir + "/missing-dir/clock", 1));
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace minivault
