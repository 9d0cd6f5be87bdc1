#pragma once
// A strict base64 decoder for tests (RFC 4648 alphabet, `=` padding): checks what the
// node's base64 output (http/json_text.hpp) decodes to. Returns nullopt for anything that
// is not whole base64.
#include <optional>
#include <string>
#include <string_view>

namespace minivault::test {

[[nodiscard]] inline std::optional<std::string> base64_decode(std::string_view text) {
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int a = sextet(text[i]), b = sextet(text[i + 1]);
    const bool pad2 = last && text[i + 2] == '=' && text[i + 3] == '=';
    const bool pad1 = last && !pad2 && text[i + 3] == '=';
    const int c = pad2 ? 0 : sextet(text[i + 2]), d = (pad1 || pad2) ? 0 : sextet(text[i + 3]);
    if (a < 0 || b < 0 || c < 0 || d < 0) return std::nullopt;
    const unsigned v = unsigned(a) << 18 | unsigned(b) << 12 | unsigned(c) << 6 | unsigned(d);
    out += static_cast<char>(v >> 16);
    if (!pad2) out += static_cast<char>(v >> 8 & 0xFF);
    if (!pad1 && !pad2) out += static_cast<char>(v & 0xFF);
  }
  return out;
}

} // namespace minivault::test
