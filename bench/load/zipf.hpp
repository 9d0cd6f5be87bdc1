#pragma once
// Zipf-distributed key ranks for the load generator (--zipf THETA), after Gray et al.,
// "Quickly generating billion-record synthetic databases" (the generator YCSB uses):
// rank 0 is the most popular, and P(rank k) is proportional to 1 / (k + 1)^theta.
// zipf_table is computed once per run (O(n)); zipf_draw is O(1), with no memory per key.
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace minivault::bench {

struct zipf_table {
  std::size_t n = 0;
  double theta = 0; // 0 < theta < 1
  double zetan = 0, alpha = 0, eta = 0, half_pow_theta = 0;

  zipf_table() = default;
  zipf_table(std::size_t keys, double skew) : n(keys), theta(skew) {
    for (std::size_t i = 1; i <= n; ++i)
      zetan += 1.0 / std::pow(static_cast<double>(i), theta);
    const double zeta2 = 1.0 + std::pow(0.5, theta);
    alpha = 1.0 / (1.0 - theta);
    eta = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zetan);
    half_pow_theta = std::pow(0.5, theta);
  }

  /// The rank for a uniform `u` in [0, 1).
  [[nodiscard]] std::size_t draw(double u) const noexcept {
    const double uz = u * zetan;
    if (uz < 1.0) return 0;
    if (uz < 1.0 + half_pow_theta) return n > 1 ? 1 : 0;
    auto k =
        static_cast<std::size_t>(static_cast<double>(n) * std::pow(eta * u - eta + 1.0, alpha));
    return k < n ? k : n - 1;
  }
};

} // namespace minivault::bench
