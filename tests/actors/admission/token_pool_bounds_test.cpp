// Review findings (rate limiting): token_pool arithmetic at the edges of its documented
// range (rates up to 2^64-1 are accepted by -ratelimit; take() takes any uint64 `want`).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "actors/admission/rate_limiter.hpp"

namespace minivault {
namespace {

using namespace std::chrono_literals;

// take(): `want` is cast to int64, so a want above INT64_MAX becomes negative: the pool
// *grows* by one token and the caller is told it got 2^64-1 tokens.
TEST(token_pool_bounds, take_never_returns_more_than_the_pool_holds) {
  token_pool pool(100);
  EXPECT_EQ(pool.take(UINT64_MAX), 100u);
  EXPECT_EQ(pool.available(), 0u);
}

// refill(): `max(cur, 0) + add` is computed in uint64 before the cap; with add near 2^64
// (rates above 2^63 per second) it wraps, `next <= cur` looks like "already full", and
// nothing is added.
TEST(token_pool_bounds, refill_of_a_huge_rate_fills_a_drained_pool) {
  token_pool pool(UINT64_MAX);
  const std::uint64_t start = pool.available();
  ASSERT_EQ(pool.take(start - 5), start - 5);
  ASSERT_EQ(pool.available(), 5u);
  pool.refill(1s);
  EXPECT_EQ(pool.available(), start) << "one second at the rate refills to the burst";
}

} // namespace
} // namespace minivault
