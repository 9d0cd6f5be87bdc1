#pragma once
// Secret comparison that takes the same time whatever the inputs share: no early exit on
// the first differing byte, so response timing reveals nothing about the secret.
#include <cstddef>
#include <string_view>

namespace minivault {

[[nodiscard]] inline bool constant_time_equal(std::string_view given,
                                              std::string_view secret) noexcept {
  volatile unsigned char diff = given.size() == secret.size() ? 0 : 1;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff = static_cast<unsigned char>(diff | (g ^ static_cast<unsigned char>(secret[i])));
  }
  return diff == 0;
}

} // namespace minivault
