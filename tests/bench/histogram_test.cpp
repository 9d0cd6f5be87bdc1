// latency_histogram: bucket edges, percentile accuracy against exact sorted values, merge.
#include "bench/load/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace minivault::bench {
namespace {

TEST(LatencyHistogram, EveryValueLandsInABucketWhoseEdgeBoundsIt) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 100000; ++i) {
    std::uint64_t v = rng() >> (rng() % 40 + 24); // spread over many magnitudes
    std::size_t b = latency_histogram::index_of(v);
    ASSERT_LT(b, latency_histogram::bucket_count);
    EXPECT_GE(latency_histogram::upper_edge(b), v) << v;
    if (b > 0) {
      EXPECT_LT(latency_histogram::upper_edge(b - 1), v) << v;
    }
  }
}

TEST(LatencyHistogram, PercentilesAreWithinThreePercentOfExact) {
  std::mt19937_64 rng(9);
  std::lognormal_distribution<double> dist(11.0, 1.2); // ~60 us median, long tail
  latency_histogram h;
  std::vector<std::uint64_t> exact;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<std::uint64_t>(dist(rng));
    h.record(v);
    exact.push_back(v);
  }
  std::sort(exact.begin(), exact.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    auto want = static_cast<double>(exact[static_cast<std::size_t>(q * exact.size()) - 1]);
    auto got = static_cast<double>(h.percentile(q));
    EXPECT_NEAR(got, want, want * 0.035) << "q=" << q;
  }
  EXPECT_EQ(h.percentile(1.0), exact.back());
  EXPECT_EQ(h.max(), exact.back());
  EXPECT_EQ(h.count(), exact.size());
}

TEST(LatencyHistogram, MergeAddsCountsAndKeepsTheMax) {
  latency_histogram a, b;
  for (int i = 0; i < 10; ++i)
    a.record(10);
  for (int i = 0; i < 30; ++i)
    b.record(1000000);
  a.merge(b);
  EXPECT_EQ(a.count(), 40u);
  EXPECT_EQ(a.max(), 1000000u);
  EXPECT_EQ(a.percentile(0.2), 10u);
  EXPECT_GE(a.percentile(0.5), 1000000u * 97 / 100);
  latency_histogram empty;
  EXPECT_EQ(empty.percentile(0.99), 0u);
}

} // namespace
} // namespace minivault::bench
