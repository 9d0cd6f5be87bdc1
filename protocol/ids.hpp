#pragma once
// Indexes that say what they index. A cluster node numbers the same machines twice:
// - peer_id: the position of an entry in node_options::peers (CLUSTER_NODES as
//   configured; the list may include this node). Membership, handoff and anti-entropy
//   keep their per-peer state by it, and it travels in peer_up/peer_down/hint messages.
// - member_id: the position of a member in the placement (actors/cluster/replication/
//   placement.hpp); member 0 is this node, the others are the peers that are not it.
// The two differ by one, or not at all, depending on whether CLUSTER_NODES lists this
// node; as distinct types, passing one where the other is meant does not compile.
#include <cstddef>
#include <cstdint>
#include <functional>

namespace minivault {

template <class Tag> class strong_index {
public:
  constexpr strong_index() noexcept = default;
  constexpr explicit strong_index(std::uint32_t v) noexcept : v_(v) {}

  [[nodiscard]] constexpr std::uint32_t value() const noexcept { return v_; }
  /// The same, as a subscript into the vector this index numbers.
  [[nodiscard]] constexpr std::size_t at() const noexcept { return v_; }

  friend constexpr bool operator==(strong_index a, strong_index b) noexcept { return a.v_ == b.v_; }
  friend constexpr bool operator!=(strong_index a, strong_index b) noexcept { return a.v_ != b.v_; }
  friend constexpr bool operator<(strong_index a, strong_index b) noexcept { return a.v_ < b.v_; }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, strong_index& x) {
    return f(x.v_);
  }

private:
  std::uint32_t v_ = 0;
};

struct peer_id_tag;
struct member_id_tag;
using peer_id = strong_index<peer_id_tag>;
using member_id = strong_index<member_id_tag>;

/// The member this node is in every placement.
inline constexpr member_id self_member{0};

/// The indexes 0..n-1 as `Id`s: `for (member_id m : all_ids<member_id>(n))`.
template <class Id> class all_ids {
public:
  explicit all_ids(std::size_t n) noexcept : n_(static_cast<std::uint32_t>(n)) {}

  class iterator {
  public:
    explicit iterator(std::uint32_t v) noexcept : v_(v) {}
    Id operator*() const noexcept { return Id{v_}; }
    iterator& operator++() noexcept {
      ++v_;
      return *this;
    }
    bool operator!=(const iterator& o) const noexcept { return v_ != o.v_; }

  private:
    std::uint32_t v_;
  };

  [[nodiscard]] iterator begin() const noexcept { return iterator{0}; }
  [[nodiscard]] iterator end() const noexcept { return iterator{n_}; }

private:
  std::uint32_t n_;
};

} // namespace minivault

template <class Tag> struct std::hash<minivault::strong_index<Tag>> {
  std::size_t operator()(minivault::strong_index<Tag> x) const noexcept { return x.value(); }
};
