#pragma once
// Consistency levels for writes and quorum reads (protocol/README.md §4): what a client
// asks of the replicas, by region. The names are the wire and HTTP spelling.
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

namespace minivault {

enum class consistency : std::uint8_t {
  one,          // one replica (a read: the nearest local replica)
  local_quorum, // a quorum of this node's region (the default)
  region_safe,  // local_quorum plus one durable copy in another region (writes)
  each_quorum,  // a quorum in every region
  quorum,       // a majority of all replicas in all regions
  all,          // every replica
};

inline constexpr std::string_view consistency_names[] = {
    "one", "local_quorum", "region_safe", "each_quorum", "quorum", "all",
};
static_assert(std::size(consistency_names) == static_cast<std::size_t>(consistency::all) + 1);

[[nodiscard]] constexpr std::string_view to_string(consistency c) noexcept {
  const auto i = static_cast<std::size_t>(c);
  return i < std::size(consistency_names) ? consistency_names[i] : "unknown";
}

/// The level named `text` exactly (lower case); nullopt for anything else.
[[nodiscard]] constexpr std::optional<consistency>
parse_consistency(std::string_view text) noexcept {
  for (std::size_t i = 0; i < std::size(consistency_names); ++i)
    if (consistency_names[i] == text) return static_cast<consistency>(i);
  return std::nullopt;
}

/// Every level's name, in order, joined by '|' ("one|local_quorum|...|all"): what error
/// messages list as accepted.
[[nodiscard]] inline std::string consistency_choices() {
  std::string out;
  for (std::string_view n : consistency_names)
    out.append(out.empty() ? "" : "|").append(n);
  return out;
}

/// Does the level stay inside this node's region (no WAN round trip on the request path)?
[[nodiscard]] constexpr bool is_local(consistency c) noexcept {
  return c == consistency::one || c == consistency::local_quorum;
}

} // namespace minivault
