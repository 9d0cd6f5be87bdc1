#include "actors/cluster/replication/placement.hpp"

#include <algorithm>

#include "protocol/assert.hpp"
#include "protocol/limits.hpp"

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

namespace {

std::vector<placement::member> in_one_region(const std::vector<std::string>& names) {
  std::vector<placement::member> out;
  for (const auto& n : names)
    out.push_back({n, region_default});
  return out;
}

} // namespace

placement::placement(const std::vector<std::string>& names, std::size_t replication_factor)
    : placement(in_one_region(names), replication_factor) {}

placement::placement(std::vector<member> members, std::size_t replication_factor)
    : members_(std::move(members)) {
  KV_ASSERT(!members_.empty() && replication_factor >= 1 && members_.size() < 65536);
  // Regions: this node's first, then the others by name (every node orders the remote
  // regions alike; only region 0 differs between nodes, and the table does not depend
  // on the order).
  std::vector<std::string> names{members_[0].region};
  for (const auto& m : members_)
    if (std::find(names.begin(), names.end(), m.region) == names.end()) names.push_back(m.region);
  std::sort(names.begin() + 1, names.end());
  KV_ASSERT(names.size() <= regions_max);
  for (auto& n : names)
    regions_.push_back(region{std::move(n), 0, 0});
  region_of_.resize(members_.size());
  for (member_id m : all()) {
    const auto& rn = members_[m.at()].region;
    for (std::size_t r = 0; r < regions_.size(); ++r) {
      if (regions_[r].name == rn) {
        region_of_[m.at()] = r;
        ++regions_[r].members;
      }
    }
  }
  for (auto& r : regions_) {
    r.replicas = std::min(replication_factor, r.members);
    per_partition_ += r.replicas;
  }
  std::vector<std::uint64_t> hashes(members_.size());
  for (member_id m : all())
    hashes[m.at()] = name_hash(members_[m.at()].name);
  table_.resize(static_cast<std::size_t>(storage::partition_count) * per_partition_);
  std::size_t offset = 0;
  for (std::size_t r = 0; r < regions_.size(); ++r) {
    fill_region(r, offset, hashes);
    offset += regions_[r].replicas;
  }
}

/// Region `r`'s replicas of every partition, at `offset` within each partition's row.
void placement::fill_region(std::size_t r, std::size_t offset,
                            const std::vector<std::uint64_t>& hashes) {
  std::vector<member_id> order;
  for (member_id m : all())
    if (region_of_[m.at()] == r) order.push_back(m);
  const std::size_t k = regions_[r].replicas;
  for (std::uint32_t p = 0; p < storage::partition_count; ++p) {
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](member_id a, member_id b) {
                        auto sa = score(hashes[a.at()], p), sb = score(hashes[b.at()], p);
                        return sa != sb ? sa > sb : name(a) < name(b);
                      });
    std::copy_n(order.begin(), k,
                table_.begin() + static_cast<std::ptrdiff_t>(p * per_partition_ + offset));
  }
}

bool placement::holds(member_id m, std::uint32_t p) const noexcept {
  const member_id* r = replicas(p);
  return std::find(r, r + per_partition_, m) != r + per_partition_;
}

std::vector<std::uint32_t> placement::shared(member_id a, member_id b) const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t p = 0; p < storage::partition_count; ++p)
    if (holds(a, p) && holds(b, p)) out.push_back(p);
  return out;
}

std::vector<member_id> placement::relay_order(std::size_t r) const {
  const auto seed = static_cast<std::uint32_t>(name_hash(name(self_member)));
  std::vector<std::pair<std::uint64_t, member_id>> scored;
  for (member_id m : all())
    if (region_of(m) == r && m != self_member)
      scored.emplace_back(score(name_hash(name(m)), seed), m);
  std::sort(scored.begin(), scored.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<member_id> out;
  for (const auto& s : scored)
    out.push_back(s.second);
  return out;
}

} // namespace minivault
