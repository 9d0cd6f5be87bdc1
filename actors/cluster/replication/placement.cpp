#include "actors/cluster/replication/placement.hpp"

#include <algorithm>

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
  std::vector<member_id> order(names_.size());
  for (std::uint32_t p = 0; p < storage::partition_count; ++p) {
    for (member_id m : all())
      order[m.at()] = m;
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(rf_), order.end(),
                      [&](member_id a, member_id b) {
                        auto sa = score(hashes[a.at()], p), sb = score(hashes[b.at()], p);
                        return sa != sb ? sa > sb : names_[a.at()] < names_[b.at()];
                      });
    std::copy_n(order.begin(), rf_, table_.begin() + static_cast<std::ptrdiff_t>(p * rf_));
  }
}

bool placement::holds(member_id m, std::uint32_t p) const noexcept {
  const member_id* r = replicas(p);
  return std::find(r, r + rf_, m) != r + rf_;
}

std::vector<std::uint32_t> placement::shared(member_id a, member_id b) const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t p = 0; p < storage::partition_count; ++p)
    if (holds(a, p) && holds(b, p)) out.push_back(p);
  return out;
}

} // namespace minivault
