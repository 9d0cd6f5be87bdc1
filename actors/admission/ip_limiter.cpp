#include "actors/admission/ip_limiter.hpp"

#include <algorithm>

namespace minivault {

namespace {

constexpr std::int64_t us_per_s = 1'000'000;

std::shared_ptr<ip_limiter::bucket> full_bucket(double burst, std::int64_t now_us) {
  return std::make_shared<ip_limiter::bucket>(burst, now_us); // full
}

} // namespace

ip_limiter::ip_limiter(std::uint64_t rate_per_s, std::size_t addresses_max)
    : rate_(rate_per_s), burst_(static_cast<double>(std::max<std::uint64_t>(rate_per_s, 1))),
      addresses_max_(addresses_max), overflow_(full_bucket(burst_, 0)) {}

std::shared_ptr<ip_limiter::bucket> ip_limiter::attach(std::uint32_t ip, std::int64_t now_us) {
  if (!enabled()) return nullptr;
  lock_guard lock(mutex_);
  auto it = buckets_.find(ip);
  if (it != buckets_.end()) return it->second;
  if (buckets_.size() >= addresses_max_) return overflow_;
  return buckets_.emplace(ip, full_bucket(burst_, now_us)).first->second;
}

bool ip_limiter::try_acquire(bucket& b, std::int64_t now_us) const {
  lock_guard lock(b.mutex);
  if (now_us > b.last_us) {
    double earned = static_cast<double>(rate_) * static_cast<double>(now_us - b.last_us) /
                    static_cast<double>(us_per_s);
    b.tokens = std::min(burst_, b.tokens + earned);
    b.last_us = now_us;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

void ip_limiter::prune(std::int64_t now_us) {
  lock_guard lock(mutex_);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    bool unused = it->second.use_count() == 1; // only the table holds it
    std::int64_t last = 0;
    if (unused) {
      lock_guard guard(it->second->mutex);
      last = it->second->last_us;
    }
    if (unused && now_us - last >= us_per_s)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

std::size_t ip_limiter::addresses() const {
  lock_guard lock(mutex_);
  return buckets_.size();
}

} // namespace minivault
