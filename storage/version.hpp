#pragma once
// Record versions: a hybrid logical clock (HLC) timestamp plus the id of the node that
// took the write. Versions are totally ordered (hlc first, then node), so replicas that
// keep the higher version converge deterministically, ties included.
#include <chrono>
#include <cstdint>
#include <tuple>

namespace minivault::storage {

struct version {
  std::uint64_t hlc = 0;  // (physical ms << 16) | logical counter; 0 = "unassigned"
  std::uint32_t node = 0; // id of the node that took the write

  friend bool operator<(const version& a, const version& b) noexcept {
    return std::tie(a.hlc, a.node) < std::tie(b.hlc, b.node);
  }
  friend bool operator==(const version& a, const version& b) noexcept {
    return a.hlc == b.hlc && a.node == b.node;
  }
  friend bool operator!=(const version& a, const version& b) noexcept { return !(a == b); }
  [[nodiscard]] std::uint64_t physical_ms() const noexcept { return hlc >> 16; }
};

/// Wall-clock milliseconds since the epoch: the physical part of every HLC version, so
/// anything compared with version::physical_ms() must use this too.
[[nodiscard]] inline std::uint64_t wall_ms() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

/// Hybrid logical clock. Not thread-safe: owned by the single writer.
/// `now()` is strictly increasing and never behind any version it has `observe`d.
class hlc_clock {
public:
  explicit hlc_clock(std::uint32_t node) noexcept : node_(node) {}

  [[nodiscard]] version now() noexcept {
    auto phys = wall_ms() << 16;
    last_ = phys > last_ ? phys : last_ + 1;
    return version{last_, node_};
  }

  /// The next version without reading the wall clock: strictly after every version
  /// handed out so far. For the writes of one batch after the first took `now()`.
  [[nodiscard]] version tick() noexcept {
    ++last_;
    return version{last_, node_};
  }

  /// Moves the clock past a version seen elsewhere (replication, replay).
  void observe(const version& v) noexcept {
    if (v.hlc > last_) last_ = v.hlc;
  }

  [[nodiscard]] std::uint32_t node() const noexcept { return node_; }
  /// The last hlc handed out or observed (0 before any).
  [[nodiscard]] std::uint64_t last() const noexcept { return last_; }

private:
  std::uint32_t node_;
  std::uint64_t last_ = 0;
};

} // namespace minivault::storage
