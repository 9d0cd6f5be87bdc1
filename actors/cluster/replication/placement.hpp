#pragma once
// Placement: which members of the cluster hold which partitions (storage/partition.hpp).
// Rendezvous hashing: for each partition, every member gets a score from a hash of its
// name and the partition, and the `replication_factor` highest scores hold it. Every node
// computes the same table from the same member names, and adding or removing a member
// moves only the partitions it gains or loses.
//
// Members are named by their client address as the cluster is configured (-public-url
// for this node, the CLUSTER_NODES entries for the others), so every node must spell a
// member the same way. Member 0 is this node.
#include <cstdint>
#include <string>
#include <vector>

#include "storage/partition.hpp"

namespace minivault {

class placement {
public:
  /// `names[0]` is this node. Names must be distinct and non-empty.
  placement(std::vector<std::string> names, std::size_t replication_factor);

  [[nodiscard]] std::size_t members() const noexcept { return names_.size(); }
  [[nodiscard]] const std::string& name(std::size_t m) const { return names_[m]; }
  /// Replicas per partition: min(replication_factor, members).
  [[nodiscard]] std::size_t replicas_per_partition() const noexcept { return rf_; }
  /// True when every member holds every partition (members <= replication factor).
  [[nodiscard]] bool everyone_holds_everything() const noexcept { return rf_ == names_.size(); }
  /// The members holding partition `p` (rf_ of them, highest score first).
  [[nodiscard]] const std::uint16_t* replicas(std::uint32_t p) const noexcept {
    return &table_[static_cast<std::size_t>(p) * rf_];
  }
  [[nodiscard]] bool holds(std::size_t member, std::uint32_t p) const noexcept;
  /// Partitions that both members hold.
  [[nodiscard]] std::vector<std::uint32_t> shared(std::size_t a, std::size_t b) const;

  /// The score of `name` for partition `p` (exposed for tests).
  [[nodiscard]] static std::uint64_t score(std::uint64_t name_hash, std::uint32_t p) noexcept;
  [[nodiscard]] static std::uint64_t name_hash(const std::string& name) noexcept;

private:
  std::vector<std::string> names_;
  std::size_t rf_;
  std::vector<std::uint16_t> table_; // partition_count * rf_ member indices
};

} // namespace minivault
