#pragma once
// Placement: which members of the cluster hold which partitions (storage/partition.hpp).
// Rendezvous hashing: for each partition, every member gets a score from a hash of its
// name and the partition, and the `replication_factor` highest scores hold it. Every node
// computes the same table from the same member names, and adding or removing a member
// moves only the partitions it gains or loses.
//
// Members are named by their client address as the cluster is configured (-public-url
// for this node, the CLUSTER_NODES entries for the others), so every node must spell a
// member the same way. Member 0 (self_member) is this node.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/ids.hpp"
#include "storage/partition.hpp"

namespace minivault {

class placement {
public:
  /// `names[0]` is this node. Names must be distinct and non-empty.
  placement(std::vector<std::string> names, std::size_t replication_factor);

  [[nodiscard]] std::size_t members() const noexcept { return names_.size(); }
  [[nodiscard]] all_ids<member_id> all() const noexcept { return all_ids<member_id>(members()); }
  [[nodiscard]] const std::string& name(member_id m) const { return names_[m.at()]; }
  /// Replicas per partition: min(replication_factor, members).
  [[nodiscard]] std::size_t replicas_per_partition() const noexcept { return rf_; }
  /// True when every member holds every partition (members <= replication factor).
  [[nodiscard]] bool everyone_holds_everything() const noexcept { return rf_ == names_.size(); }
  /// The members holding partition `p` (rf_ of them, highest score first).
  [[nodiscard]] const member_id* replicas(std::uint32_t p) const noexcept {
    return &table_[static_cast<std::size_t>(p) * rf_];
  }
  [[nodiscard]] bool holds(member_id m, std::uint32_t p) const noexcept;
  /// Partitions that both members hold.
  [[nodiscard]] std::vector<std::uint32_t> shared(member_id a, member_id b) const;

  /// The score of `name` for partition `p` (exposed for tests).
  [[nodiscard]] static std::uint64_t score(std::uint64_t name_hash, std::uint32_t p) noexcept;
  [[nodiscard]] static std::uint64_t name_hash(const std::string& name) noexcept;

private:
  std::vector<std::string> names_;
  std::size_t rf_;
  std::vector<member_id> table_; // partition_count * rf_
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
