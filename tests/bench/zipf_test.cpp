// The Zipf key generator of minivault-bench: ranks stay in range and follow 1/(k+1)^theta.
#include "bench/load/zipf.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace minivault::bench {
namespace {

std::vector<std::size_t> histogram(const zipf_table& z, std::size_t draws) {
  std::mt19937_64 gen(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::size_t> h(z.n, 0);
  for (std::size_t i = 0; i < draws; ++i) {
    std::size_t k = z.draw(u(gen));
    EXPECT_LT(k, z.n);
    if (k < z.n) ++h[k];
  }
  return h;
}

TEST(zipf, frequencies_follow_the_power_law) {
  const zipf_table z(1000, 0.99);
  const std::size_t draws = 2'000'000;
  auto h = histogram(z, draws);
  // The two most popular ranks are drawn exactly as the law says (within 2%)...
  for (std::size_t k : {0, 1}) {
    double expected = draws / std::pow(static_cast<double>(k + 1), z.theta) / z.zetan;
    EXPECT_NEAR(static_cast<double>(h[k]), expected, expected * 0.02) << "rank " << k;
  }
  // ...rank 0 is drawn about 10x as often as rank 9 (the approximation is looser there)...
  EXPECT_GT(h[0], 7 * h[9]);
  EXPECT_LT(h[0], 13 * h[9]);
  // ...and the top 10% of the keys take most of the draws (uniform would give 10%).
  std::size_t top = 0;
  for (std::size_t k = 0; k < 100; ++k)
    top += h[k];
  EXPECT_GT(static_cast<double>(top) / draws, 0.6);
  EXPECT_GT(h[999], 0u); // the tail is still reached
}

TEST(zipf, edges_stay_in_range) {
  const zipf_table one(1, 0.5);
  EXPECT_EQ(one.draw(0.0), 0u);
  EXPECT_EQ(one.draw(0.999999), 0u);
  const zipf_table z(10, 0.5);
  EXPECT_EQ(z.draw(0.0), 0u);
  EXPECT_LT(z.draw(0.9999999999), 10u);
}

} // namespace
} // namespace minivault::bench
