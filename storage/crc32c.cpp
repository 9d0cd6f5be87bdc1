#include "storage/crc32c.hpp"

#include <array>
#include <cstring>

namespace minivault::storage {

namespace {

constexpr std::uint32_t poly = 0x82F63B78u; // reflected Castagnoli polynomial

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr auto table = make_table();

std::uint32_t crc_soft(const unsigned char* p, std::size_t n, std::uint32_t c) noexcept {
  while (n--)
    c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc_hw(const unsigned char* p, std::size_t n,
                                                       std::uint32_t c) noexcept {
  std::uint64_t c64 = c;
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = __builtin_ia32_crc32di(c64, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c64);
  while (n--)
    c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}

bool have_sse42() noexcept {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}
#endif

} // namespace

std::uint32_t crc32c(const void* data, std::size_t len, std::uint32_t seed) noexcept {
  auto p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~seed;
#if defined(__x86_64__)
  if (have_sse42()) return ~crc_hw(p, len, c);
#endif
  return ~crc_soft(p, len, c);
}

} // namespace minivault::storage
