#pragma once
// Shared by the fuzz targets: FUZZ_CHECK, an invariant that must hold for every input
// (KV_ASSERT: prints the condition and aborts, in the replay build too), and
// fuzz_input, which takes small fields off the front of the fuzzer's bytes for the
// targets whose input is structured (little-endian, like the formats they feed).
// Taking past the end yields zeros / empty views: every byte string is a valid input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/assert.hpp"

#define FUZZ_CHECK(cond) KV_ASSERT(cond)

namespace minivault::fuzz {

class fuzz_input {
public:
  fuzz_input(const std::uint8_t* data, std::size_t size) noexcept
      : rest_(reinterpret_cast<const char*>(data), size) {}

  [[nodiscard]] bool empty() const noexcept { return rest_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return rest_.size(); }

  [[nodiscard]] std::uint8_t u8() noexcept {
    if (rest_.empty()) return 0;
    auto v = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return v;
  }
  [[nodiscard]] std::uint16_t u16() noexcept {
    std::uint16_t lo = u8();
    return static_cast<std::uint16_t>(lo | (u8() << 8));
  }
  /// Up to `n` bytes (fewer at the end of the input).
  [[nodiscard]] std::string_view bytes(std::size_t n) noexcept {
    std::string_view v = rest_.substr(0, n);
    rest_.remove_prefix(v.size());
    return v;
  }
  /// Everything not taken yet.
  [[nodiscard]] std::string_view rest() noexcept { return bytes(rest_.size()); }

private:
  std::string_view rest_;
};

} // namespace minivault::fuzz
