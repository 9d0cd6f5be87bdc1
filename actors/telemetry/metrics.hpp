#pragma once
// The request counters and histograms the I/O threads and the storage actor update on
// their hot paths. They are rendered for `GET /metrics` by the families their components
// register (actors/telemetry/metrics_registry.hpp; the request families in
// actors/io/io_metrics.cpp, the commit sizes in actors/durability/storage_metrics.cpp).
//
// Thread-safety: every field is a relaxed atomic. Each binary-protocol I/O thread owns
// one `front_metrics` shard and is its only writer (it adds a whole event-loop round at
// once); HTTP connections, on every I/O thread, share one shard (atomic adds). The
// storage actor is the only writer of `commit_batch_writes`. Readers (the renderer) may
// run on any thread at any time and see each counter exactly, though not a snapshot
// across counters.
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>

namespace minivault {

enum class op_kind : std::uint8_t { get, set, del, health, auth, metrics, count_ };
enum class op_result : std::uint8_t {
  ok,
  not_found,
  bad_request, // refused as malformed (bad key, bad JSON, bad frame, too large)
  unauthorized,
  rate_limited,
  error, // the store failed (io error, timeout, shutting down)
  count_
};
enum class front_kind : std::uint8_t { binary, http, count_ };

[[nodiscard]] const char* to_string(op_kind k) noexcept;
[[nodiscard]] const char* to_string(op_result r) noexcept;
[[nodiscard]] const char* to_string(front_kind f) noexcept;

/// Cumulative histogram with fixed upper bounds (a Prometheus histogram).
template <std::size_t N> struct fixed_histogram {
  std::array<std::atomic<std::uint64_t>, N + 1> buckets{}; // last: +Inf
  std::atomic<std::uint64_t> sum{0};
  /// Adds `count` observations of `value` (same unit as the bounds).
  void observe(const std::array<std::uint64_t, N>& bounds, std::uint64_t value,
               std::uint64_t count = 1) noexcept {
    std::size_t i = 0;
    while (i < N && value > bounds[i])
      ++i;
    buckets[i].fetch_add(count, std::memory_order_relaxed);
    sum.fetch_add(value * count, std::memory_order_relaxed);
  }
};

/// Request latency bounds in microseconds (25 µs .. 10 s).
inline constexpr std::array<std::uint64_t, 14> latency_bounds_us = {
    25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000, 10000000};
/// Writes per group commit.
inline constexpr std::array<std::uint64_t, 12> commit_bounds_writes = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

using latency_histogram = fixed_histogram<latency_bounds_us.size()>;
using commit_histogram = fixed_histogram<commit_bounds_writes.size()>;

constexpr std::size_t op_kinds = static_cast<std::size_t>(op_kind::count_);
constexpr std::size_t op_results = static_cast<std::size_t>(op_result::count_);

/// The counters of one front-end shard.
struct front_metrics {
  std::array<std::array<std::atomic<std::uint64_t>, op_results>, op_kinds> requests{};
  std::array<latency_histogram, op_kinds> latency{};
  std::atomic<std::uint64_t> auth_failures{0};
  std::atomic<std::uint64_t> rate_limited{0};

  void count(op_kind k, op_result r, std::uint64_t n = 1) noexcept {
    requests[static_cast<std::size_t>(k)][static_cast<std::size_t>(r)].fetch_add(
        n, std::memory_order_relaxed);
  }
  void observe(op_kind k, std::uint64_t micros, std::uint64_t n = 1) noexcept {
    latency[static_cast<std::size_t>(k)].observe(latency_bounds_us, micros, n);
  }
};

/// A round of one I/O thread, accumulated without atomics and added to its shard at
/// the end of the round (one atomic add per non-zero cell instead of several per request).
struct front_tally {
  std::array<std::array<std::uint32_t, op_results>, op_kinds> requests{};
  std::uint32_t auth_failures = 0;
  std::uint32_t rate_limited = 0;
  bool empty = true;

  void count(op_kind k, op_result r) noexcept {
    ++requests[static_cast<std::size_t>(k)][static_cast<std::size_t>(r)];
    empty = false;
  }
  /// Adds the round to `m`, observing every request answered in it with `micros` of
  /// latency except writes (whose latency is observed when they become durable).
  void publish(front_metrics& m, std::uint64_t micros) noexcept;
};

/// Every counter of a node. Shards are created before any front-end starts and live
/// as long as the node (a deque: adding one never moves the others).
struct node_metrics {
  std::deque<front_metrics> binary_shards; // one per I/O thread
  front_metrics http;
  commit_histogram commit_batch_writes;

  explicit node_metrics(std::size_t io_threads) : binary_shards(io_threads) {}
};

} // namespace minivault
