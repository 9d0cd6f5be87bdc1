#pragma once
// The node's hybrid logical clock for replicated writes, shared by the threads that
// version writes (the replication actor) and those that see versions from elsewhere
// (the peer endpoint, anti-entropy). Lock-free; never goes backwards.
//
// Contract: every version handed out is strictly greater than every version handed out
// or observed before, and its physical part is at least the wall clock's. Seed it with
// the engine's last_hlc() so a restart (even with the wall clock set back) never reuses
// or undercuts a version already on disk.
#include <atomic>
#include <cstdint>

#include "storage/version.hpp"

namespace minivault {

class cluster_clock {
public:
  cluster_clock(std::uint32_t node, std::uint64_t seed_hlc) noexcept
      : node_(node), last_(seed_hlc) {}

  /// Reserves `n` (>= 1) consecutive versions and returns the first; the others are
  /// first.hlc + 1 .. first.hlc + n - 1, same node.
  [[nodiscard]] storage::version reserve(std::uint32_t n) noexcept {
    std::uint64_t cur = last_.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint64_t phys = storage::wall_ms() << 16;
      const std::uint64_t first = phys > cur ? phys : cur + 1;
      if (last_.compare_exchange_weak(cur, first + n - 1, std::memory_order_relaxed))
        return storage::version{first, node_};
    }
  }

  /// Moves the clock past a version seen elsewhere.
  void observe(const storage::version& v) noexcept {
    std::uint64_t cur = last_.load(std::memory_order_relaxed);
    while (v.hlc > cur && !last_.compare_exchange_weak(cur, v.hlc, std::memory_order_relaxed)) {
    }
  }

  [[nodiscard]] std::uint32_t node() const noexcept { return node_; }

private:
  std::uint32_t node_;
  std::atomic<std::uint64_t> last_;
};

} // namespace minivault
