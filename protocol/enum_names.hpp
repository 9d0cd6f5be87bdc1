#pragma once
// Names of enumerators, kept in a table in declaration order instead of a switch per enum:
//
//   constexpr const char* names[] = {"connecting", "up", "down"};
//   static_assert(std::size(names) == 3);
//   const char* to_string(peer_state s) noexcept { return enum_name(s, names, "unknown"); }
#include <cstddef>

namespace minivault {

/// `names[e]` for an enumerator `e` whose value indexes the table, else `fallback`.
template <class Enum, class T, std::size_t N>
[[nodiscard]] constexpr T enum_name(Enum e, const T (&names)[N], T fallback) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : fallback;
}

} // namespace minivault
