// The token pool's arithmetic, the per-thread buckets, and the rate limiter actor's
// refills on CAF's test coordinator (simulated time, no sleeps).
#include "actors/admission/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/support/caf_test_system.hpp"

namespace minivault {
namespace {

using namespace std::chrono_literals;

TEST(token_pool, disabled_pool_never_limits) {
  token_pool pool(0);
  EXPECT_FALSE(pool.enabled());
  EXPECT_EQ(pool.take(1000), 1000u);
  token_bucket bucket(&pool);
  for (int i = 0; i < 100000; ++i)
    ASSERT_TRUE(bucket.try_acquire());
  token_bucket none(nullptr);
  EXPECT_TRUE(none.try_acquire());
}

TEST(token_pool, starts_full_with_one_second_of_burst) {
  token_pool pool(100);
  EXPECT_EQ(pool.burst(), 100u);
  EXPECT_EQ(pool.take(60), 60u);
  EXPECT_EQ(pool.take(60), 40u); // partial grant
  EXPECT_EQ(pool.take(1), 0u);
}

TEST(token_pool, refill_earns_rate_times_time_and_carries_fractions) {
  token_pool pool(100); // one token per 10 ms
  (void)pool.take(100);
  pool.refill(5ms); // half a token: nothing yet
  EXPECT_EQ(pool.available(), 0u);
  pool.refill(5ms); // the carried half makes one
  EXPECT_EQ(pool.available(), 1u);
  pool.refill(1s);
  EXPECT_EQ(pool.available(), 100u); // capped at the burst, not 101
  pool.refill(10s);
  EXPECT_EQ(pool.available(), 100u);
}

TEST(token_pool, huge_rates_do_not_overflow) {
  token_pool pool(UINT64_MAX);
  EXPECT_GT(pool.take(UINT64_MAX), 1000000u);
  pool.refill(1h);
  EXPECT_GT(pool.available(), 1000000u);
}

TEST(token_bucket, draws_chunks_and_never_exceeds_the_pool) {
  token_pool pool(10000); // chunk = 10
  token_bucket a(&pool), b(&pool);
  std::uint64_t granted = 0;
  for (int i = 0; i < 20000; ++i) {
    granted += a.try_acquire();
    granted += b.try_acquire();
  }
  EXPECT_EQ(granted, 10000u); // exactly the burst: nothing created, nothing lost
}

TEST(token_bucket, concurrent_threads_share_the_pool_exactly) {
  token_pool pool(50000);
  std::atomic<std::uint64_t> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      token_bucket mine(&pool);
      std::uint64_t n = 0;
      for (int i = 0; i < 40000; ++i)
        n += mine.try_acquire();
      granted += n;
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(granted.load(), 50000u);
}

TEST(rate_limiter_actor, each_tick_refills_by_the_elapsed_time) {
  test::caf_test_system ts;
  ASSERT_NE(ts.sched, nullptr);
  token_pool pool(1000); // one token per ms
  (void)pool.take(1000);
  auto limiter = ts.sys->spawn(rate_limiter_actor_impl, &pool, nullptr);
  ts.sched->run();
  EXPECT_EQ(pool.available(), 0u);
  ts.sched->advance_time(std::chrono::milliseconds(rate_tick_ms));
  ts.sched->run();
  EXPECT_EQ(pool.available(), rate_tick_ms); // 10 ms at 1000/s
  // A late tick adds what was earned meanwhile.
  ts.sched->advance_time(std::chrono::milliseconds(rate_tick_ms));
  ts.sched->advance_time(std::chrono::milliseconds(rate_tick_ms));
  ts.sched->run();
  EXPECT_GE(pool.available(), 3u * rate_tick_ms);
  ts.stop(limiter);
}

} // namespace
} // namespace minivault

namespace minivault {
namespace {

constexpr std::int64_t second_us = 1'000'000;

TEST(ip_limiter, disabled_limiter_attaches_nothing) {
  ip_limiter ips(0);
  EXPECT_FALSE(ips.enabled());
  EXPECT_EQ(ips.attach(0x7f000001, 0), nullptr);
}

TEST(ip_limiter, each_address_has_its_own_bucket_shared_by_its_connections) {
  ip_limiter ips(10); // burst 10
  auto a1 = ips.attach(0x7f000001, 0);
  auto a2 = ips.attach(0x7f000001, 0);
  auto b = ips.attach(0x7f000002, 0);
  ASSERT_TRUE(a1 && a2 && b);
  EXPECT_EQ(a1.get(), a2.get());
  int granted_a = 0, granted_b = 0;
  for (int i = 0; i < 15; ++i) {
    granted_a += ips.try_acquire(*a1, 0);
    granted_a += ips.try_acquire(*a2, 0);
    granted_b += ips.try_acquire(*b, 0);
  }
  EXPECT_EQ(granted_a, 10); // two connections of one address share its 10
  EXPECT_EQ(granted_b, 10);
  // A tenth of a second later one more token per address, and no more.
  EXPECT_TRUE(ips.try_acquire(*a1, second_us / 10));
  EXPECT_FALSE(ips.try_acquire(*a2, second_us / 10));
  // After a long idle spell the bucket is full again, not fuller.
  int after_idle = 0;
  for (int i = 0; i < 20; ++i)
    after_idle += ips.try_acquire(*b, 100 * second_us);
  EXPECT_EQ(after_idle, 10);
}

TEST(ip_limiter, addresses_past_the_bound_share_one_bucket) {
  ip_limiter ips(5, 2);
  auto a = ips.attach(1, 0);
  auto b = ips.attach(2, 0);
  auto c = ips.attach(3, 0);
  auto d = ips.attach(4, 0);
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(c.get(), d.get()); // the overflow bucket: limited together, never unlimited
  EXPECT_EQ(ips.addresses(), 2u);
  int granted = 0;
  for (int i = 0; i < 10; ++i)
    granted += ips.try_acquire(*c, 0) + ips.try_acquire(*d, 0);
  EXPECT_EQ(granted, 5);
}

TEST(ip_limiter, prune_forgets_only_unheld_buckets_idle_for_a_second) {
  ip_limiter ips(5);
  auto held = ips.attach(1, 0);
  (void)ips.attach(2, 0); // no connection holds it
  (void)ips.attach(3, 0);
  auto recent = ips.attach(3, 0);
  ASSERT_TRUE(ips.try_acquire(*recent, second_us / 2));
  recent.reset();
  ips.prune(second_us);
  EXPECT_EQ(ips.addresses(), 2u); // 2 went; 1 is held; 3 was used half a second ago
  held.reset();
  ips.prune(3 * second_us);
  EXPECT_EQ(ips.addresses(), 0u);
}

} // namespace
} // namespace minivault
