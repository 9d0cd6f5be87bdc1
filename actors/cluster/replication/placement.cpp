#include "actors/cluster/replication/placement.hpp"

#include <algorithm>
#include <numeric>

#include "protocol/assert.hpp"

namespace minivault {

std::uint64_t placement::name_hash(const std::string& name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a: fixed, so every build agrees
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t placement::score(std::uint64_t name_hash, std::uint32_t p) noexcept {
  return storage::mix64(name_hash ^ (static_cast<std::uint64_t>(p) + 1) * 0x9e3779b97f4a7c15ULL);
}

placement::placement(std::vector<std::string> names, std::size_t replication_factor)
    : names_(std::move(names)), rf_(std::min(replication_factor, names_.size())) {
  KV_ASSERT(!names_.empty() && rf_ >= 1 && names_.size() < 65536);
  std::vector<std::uint64_t> hashes(names_.size());
  for (std::size_t m = 0; m < names_.size(); ++m)
    hashes[m] = name_hash(names_[m]);
  table_.resize(static_cast<std::size_t>(storage::partition_count) * rf_);
  std::vector<std::uint16_t> order(names_.size());
  for (std::uint32_t p = 0; p < storage::partition_count; ++p) {
    std::iota(order.begin(), order.end(), std::uint16_t{0});
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(rf_), order.end(),
                      [&](std::uint16_t a, std::uint16_t b) {
                        auto sa = score(hashes[a], p), sb = score(hashes[b], p);
                        return sa != sb ? sa > sb : names_[a] < names_[b];
                      });
    std::copy_n(order.begin(), rf_, table_.begin() + static_cast<std::ptrdiff_t>(p * rf_));
  }
}

bool placement::holds(std::size_t member, std::uint32_t p) const noexcept {
  const std::uint16_t* r = replicas(p);
  return std::find(r, r + rf_, member) != r + rf_;
}

std::vector<std::uint32_t> placement::shared(std::size_t a, std::size_t b) const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t p = 0; p < storage::partition_count; ++p)
    if (holds(a, p) && holds(b, p)) out.push_back(p);
  return out;
}

} // namespace minivault
