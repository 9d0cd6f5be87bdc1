#pragma once
// Per-client-IP rate limiting (-ratelimit-per-ip N: ops per second per IPv4 address).
//
// Each address has a token bucket (burst: one second's worth, starts full) refilled
// lazily from the time of each request, so nothing runs per address in the background.
// A connection attaches to its address's bucket once, when it is accepted, and keeps a
// reference; connections of one address on different I/O threads share the bucket (a
// mutex per bucket, uncontended unless one address is busy on several threads).
//
// Memory is bounded: at most `addresses_max` buckets. Once full, further addresses
// share one overflow bucket (they are limited together, never unlimited). The rate
// limiter actor calls prune() every second: a bucket no connection holds that has been
// idle for a second is full again, so dropping it changes nothing.
//
// Thread-safety: every method may be called from any thread.
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "protocol/thread_annotations.hpp"

namespace minivault {

class ip_limiter {
public:
  struct bucket {
    bucket(double initial_tokens, std::int64_t now_us) : tokens(initial_tokens), last_us(now_us) {}
    minivault::mutex mutex;
    double tokens MV_GUARDED_BY(mutex) = 0;
    std::int64_t last_us MV_GUARDED_BY(mutex) = 0; // time of the last refill
  };

  /// `rate_per_s` = 0 disables the limiter (attach() returns nullptr).
  explicit ip_limiter(std::uint64_t rate_per_s, std::size_t addresses_max = 65536);
  [[nodiscard]] bool enabled() const noexcept { return rate_ > 0; }

  /// The bucket of IPv4 address `ip` (host byte order), created full if new.
  [[nodiscard]] std::shared_ptr<bucket> attach(std::uint32_t ip, std::int64_t now_us);
  /// Takes one token from `b` at time `now_us` (monotonic microseconds).
  [[nodiscard]] bool try_acquire(bucket& b, std::int64_t now_us) const;
  /// Forgets buckets that no connection holds and that were idle for a second.
  void prune(std::int64_t now_us);
  [[nodiscard]] std::size_t addresses() const;

private:
  std::uint64_t rate_;
  double burst_;
  std::size_t addresses_max_;
  mutable minivault::mutex mutex_;
  std::unordered_map<std::uint32_t, std::shared_ptr<bucket>> buckets_ MV_GUARDED_BY(mutex_);
  std::shared_ptr<bucket> overflow_;
};

} // namespace minivault
