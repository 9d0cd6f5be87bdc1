#pragma once
// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
// Used where text is shown in JSON, which must never be invalid.
#include <cstddef>
#include <string_view>

namespace minivault {

[[nodiscard]] inline bool valid_utf8(std::string_view s) noexcept {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = b(i);
    if (c < 0x80) {
      ++i;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(i + 1)) return false;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(i + 1) || !cont(i + 2)) return false;
      if (c == 0xE0 && b(i + 1) < 0xA0) return false;  // overlong
      if (c == 0xED && b(i + 1) >= 0xA0) return false; // surrogate
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return false;
      if (c == 0xF0 && b(i + 1) < 0x90) return false;  // overlong
      if (c == 0xF4 && b(i + 1) >= 0x90) return false; // above U+10FFFF
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

} // namespace minivault
