// Message flow:
//   tick_atom --> pool.refill(time since the last tick) --> delayed tick_atom to self
//   stop_atom --> reply true, quit
#include "actors/admission/rate_limiter.hpp"

#include <algorithm>

namespace minivault {

namespace {

constexpr std::uint64_t chunk_max = 256;
constexpr std::uint64_t ns_per_s = 1'000'000'000;

} // namespace

token_pool::token_pool(std::uint64_t rate_per_s) noexcept
    : rate_(rate_per_s), burst_(std::max<std::uint64_t>(rate_per_s, 1)),
      tokens_(static_cast<std::int64_t>(std::min<std::uint64_t>(burst_, INT64_MAX))) {}

std::uint64_t token_pool::take(std::uint64_t want) noexcept {
  if (!enabled()) return want;
  const auto asked = static_cast<std::int64_t>(std::min<std::uint64_t>(want, INT64_MAX));
  std::int64_t cur = tokens_.load(std::memory_order_relaxed);
  while (cur > 0) {
    std::int64_t got = std::min<std::int64_t>(cur, asked);
    if (tokens_.compare_exchange_weak(cur, cur - got, std::memory_order_relaxed))
      return static_cast<std::uint64_t>(got);
  }
  return 0;
}

void token_pool::refill(std::chrono::nanoseconds elapsed) noexcept {
  if (!enabled() || elapsed.count() <= 0) return;
  // 128-bit: rate (up to 2^64) x nanoseconds would overflow 64 bits.
  unsigned __int128 earned =
      static_cast<unsigned __int128>(rate_) * static_cast<std::uint64_t>(elapsed.count()) + carry_;
  std::uint64_t add =
      static_cast<std::uint64_t>(std::min<unsigned __int128>(earned / ns_per_s, burst_));
  carry_ = static_cast<std::uint64_t>(earned % ns_per_s);
  if (add == 0) return;
  std::int64_t cur = tokens_.load(std::memory_order_relaxed);
  const auto cap = static_cast<std::uint64_t>(std::min<std::uint64_t>(burst_, INT64_MAX));
  std::int64_t next = 0;
  do {
    const auto base = static_cast<std::uint64_t>(std::max<std::int64_t>(cur, 0));
    // base + add may not fit 64 bits at huge rates: compare before adding.
    next = static_cast<std::int64_t>(add >= cap - std::min(base, cap) ? cap : base + add);
    if (next <= cur) return; // already full
  } while (!tokens_.compare_exchange_weak(cur, next, std::memory_order_relaxed));
}

std::uint64_t token_pool::available() const noexcept {
  if (!enabled()) return UINT64_MAX;
  return static_cast<std::uint64_t>(
      std::max<std::int64_t>(tokens_.load(std::memory_order_relaxed), 0));
}

token_bucket::token_bucket(token_pool* pool) noexcept
    : pool_(pool && pool->enabled() ? pool : nullptr) {
  if (pool_) chunk_ = std::clamp<std::uint64_t>(pool_->rate() / 1000, 1, chunk_max);
}

rate_limiter_actor::behavior_type
rate_limiter_actor_impl(rate_limiter_actor::stateful_pointer<rate_limiter_state> self,
                        token_pool* pool, ip_limiter* ips) {
  self->state.pool = pool;
  self->state.ips = ips;
  self->state.last_tick = self->clock().now();
  const auto tick = std::chrono::milliseconds(rate_tick_ms);
  self->delayed_send(self, tick, tick_atom_v);
  return {
      [self, tick](tick_atom) {
        auto now = self->clock().now();
        self->state.pool->refill(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - self->state.last_tick));
        self->state.last_tick = now;
        if (self->state.ips && ++self->state.ticks % (1000 / rate_tick_ms) == 0)
          self->state.ips->prune(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
        self->delayed_send(self, tick, tick_atom_v);
      },
      [self](stop_atom) {
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
