#pragma once
// Rate limiting (-ratelimit N: client ops per second across the whole node).
//
// Policy and accounting are split so that the hot path never takes a lock:
//  - `token_pool` holds the node's tokens. Only the rate limiter actor adds to it (each
//    tick adds rate x elapsed time, capped at one second's worth: the burst);
//    front-ends take from it with one atomic operation.
//  - `token_bucket` is one I/O thread's private share: it takes tokens from the pool in
//    chunks (about a thousandth of the rate, at most 256), so a busy thread touches the
//    shared pool once per chunk, not once per request. Tokens left in a bucket stay
//    usable by that thread only; at most one chunk per thread is held back this way.
//  - the rate limiter actor owns the policy: the rate, the burst and the refill clock.
//
// What costs a token: GET, QGET, SET and DELETE (over either protocol). HEALTH and AUTH
// are free, so monitoring and logging in still work on a node at its limit.
#include <atomic>
#include <chrono>
#include <cstdint>

#include "actors/admission/ip_limiter.hpp"
#include "protocol/actors.hpp"

namespace minivault {

inline constexpr std::uint32_t rate_tick_ms = 10;

class token_pool {
public:
  /// `rate_per_s` = 0 disables limiting (every take succeeds). Starts full.
  explicit token_pool(std::uint64_t rate_per_s) noexcept;
  [[nodiscard]] bool enabled() const noexcept { return rate_ > 0; }
  [[nodiscard]] std::uint64_t rate() const noexcept { return rate_; }
  [[nodiscard]] std::uint64_t burst() const noexcept { return burst_; }
  /// Takes up to `want` tokens and returns how many it got (0 when the pool is empty).
  /// Thread-safe and lock-free.
  [[nodiscard]] std::uint64_t take(std::uint64_t want) noexcept;
  /// Adds the tokens earned in `elapsed` (fractions carry over to the next call), capped
  /// at the burst. Only one thread may call it (the rate limiter actor).
  void refill(std::chrono::nanoseconds elapsed) noexcept;
  [[nodiscard]] std::uint64_t available() const noexcept;

private:
  std::uint64_t rate_;
  std::uint64_t burst_;
  std::atomic<std::int64_t> tokens_;
  std::uint64_t carry_ = 0; // token-nanoseconds not yet worth a whole token (refill only)
};

/// One front-end thread's share of the pool. Not thread-safe: one per thread.
class token_bucket {
public:
  explicit token_bucket(token_pool* pool) noexcept;
  /// True if the request may proceed (always, when limiting is off).
  [[nodiscard]] bool try_acquire() noexcept {
    if (!pool_) return true;
    if (local_ == 0) local_ = pool_->take(chunk_);
    if (local_ == 0) return false;
    --local_;
    return true;
  }

private:
  token_pool* pool_; // nullptr when limiting is off
  std::uint64_t chunk_ = 1;
  std::uint64_t local_ = 0;
};

struct rate_limiter_state {
  static inline const char* name = "minivault.rate_limiter";
  token_pool* pool = nullptr; // owned by the node, outlives the actor
  ip_limiter* ips = nullptr;  // optional, owned by the node: pruned once a second
  caf::actor_clock::time_point last_tick{};
  std::uint32_t ticks = 0;
};

/// Refills `pool` every rate_tick_ms by the time that really passed (a late tick adds
/// more, up to the burst), and prunes idle per-address buckets of `ips` (may be null)
/// once a second. Spawned only when some limit is on.
rate_limiter_actor::behavior_type
rate_limiter_actor_impl(rate_limiter_actor::stateful_pointer<rate_limiter_state> self,
                        token_pool* pool, ip_limiter* ips);

} // namespace minivault
