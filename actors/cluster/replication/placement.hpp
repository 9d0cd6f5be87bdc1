#pragma once
// Placement: which members of the cluster hold which partitions (storage/partition.hpp),
// by region (protocol/README.md §4). Every region holds a full copy: in each region, the
// `replication_factor` members (fewer where the region has fewer) with the highest
// rendezvous scores for a partition hold it. A score is a hash of the member's name and
// the partition. Every node computes the same table from the same members, and adding or
// removing a member moves only partitions of its own region, and only those it gains or
// loses. With one region this is plain rendezvous hashing over all members.
//
// Members are named by their client address as the cluster is configured (-public-url
// for this node, the CLUSTER_NODES entries for the others), so every node must spell a
// member the same way. Member 0 (self_member) is this node; region 0 is its region.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/ids.hpp"
#include "storage/partition.hpp"

namespace minivault {

/// At most this many regions in one cluster (quorum counts are kept per region).
inline constexpr std::size_t regions_max = 16;

class placement {
public:
  struct member {
    std::string name;
    std::string region;
  };

  /// `members[0]` is this node. Names must be distinct and non-empty; at most
  /// regions_max distinct regions.
  placement(std::vector<member> members, std::size_t replication_factor);
  /// All members in one region, named region_default (tests).
  placement(const std::vector<std::string>& names, std::size_t replication_factor);

  [[nodiscard]] std::size_t members() const noexcept { return members_.size(); }
  [[nodiscard]] all_ids<member_id> all() const noexcept { return all_ids<member_id>(members()); }
  [[nodiscard]] const std::string& name(member_id m) const { return members_[m.at()].name; }

  /// Regions, this node's first, the others by name.
  [[nodiscard]] std::size_t regions() const noexcept { return regions_.size(); }
  [[nodiscard]] const std::string& region_name(std::size_t r) const { return regions_[r].name; }
  /// The region member `m` is in (0: this node's).
  [[nodiscard]] std::size_t region_of(member_id m) const { return region_of_[m.at()]; }
  /// Members in region `r`.
  [[nodiscard]] std::size_t region_members(std::size_t r) const { return regions_[r].members; }
  /// Replicas region `r` holds of every partition: min(replication_factor, its members).
  [[nodiscard]] std::size_t region_replicas(std::size_t r) const { return regions_[r].replicas; }

  /// Replicas per partition over all regions.
  [[nodiscard]] std::size_t replicas_per_partition() const noexcept { return per_partition_; }
  /// True when every member holds every partition.
  [[nodiscard]] bool everyone_holds_everything() const noexcept {
    return per_partition_ == members_.size();
  }
  /// The members holding partition `p`: replicas_per_partition() of them, by region
  /// (region 0 first), highest score first within a region.
  [[nodiscard]] const member_id* replicas(std::uint32_t p) const noexcept {
    return &table_[static_cast<std::size_t>(p) * per_partition_];
  }
  [[nodiscard]] bool holds(member_id m, std::uint32_t p) const noexcept;
  /// Partitions that both members hold.
  [[nodiscard]] std::vector<std::uint32_t> shared(member_id a, member_id b) const;
  /// Region `r`'s members in the order this node tries them as its relay there: by a
  /// score of each member's name with this node's name, so the nodes of one region
  /// spread over another's.
  [[nodiscard]] std::vector<member_id> relay_order(std::size_t r) const;
  /// Leads this node partition `p` in its region? True when this node is the first of
  /// the region's replicas of `p` that `is_up` (a member_id predicate; this node always
  /// counts as up). The shipper and cross-region anti-entropy both act on partitions
  /// they lead, so each is done once per region without an election.
  template <class IsUp> [[nodiscard]] bool leads(std::uint32_t p, const IsUp& is_up) const {
    const member_id* reps = replicas(p);
    for (std::size_t i = 0; i < region_replicas(0); ++i) // this region's come first
      if (reps[i] == self_member || is_up(reps[i])) return reps[i] == self_member;
    return false;
  }

  /// The score of `name` for partition `p` (exposed for tests).
  [[nodiscard]] static std::uint64_t score(std::uint64_t name_hash, std::uint32_t p) noexcept;
  [[nodiscard]] static std::uint64_t name_hash(const std::string& name) noexcept;

private:
  struct region {
    std::string name;
    std::size_t members = 0;
    std::size_t replicas = 0;
  };

  void fill_region(std::size_t r, std::size_t offset, const std::vector<std::uint64_t>& hashes);

  std::vector<member> members_;
  std::vector<region> regions_;
  std::vector<std::size_t> region_of_; // per member
  std::size_t per_partition_ = 0;
  std::vector<member_id> table_; // partition_count * per_partition_
};

/// Which member each CLUSTER_NODES entry (node_options::peers) is. CLUSTER_NODES may list
/// this node too: that entry is no other member.
class peer_map {
public:
  /// Appends the next entry: the member it is, or nullopt when it is this node.
  void add(std::optional<member_id> m) { members_.push_back(m); }
  [[nodiscard]] std::size_t peers() const noexcept { return members_.size(); }
  [[nodiscard]] all_ids<peer_id> all() const noexcept { return all_ids<peer_id>(peers()); }
  /// The member entry `p` is; nullopt when it is this node or not an entry.
  [[nodiscard]] std::optional<member_id> member_of(peer_id p) const noexcept {
    return p.at() < members_.size() ? members_[p.at()] : std::nullopt;
  }

private:
  std::vector<std::optional<member_id>> members_;
};

} // namespace minivault
