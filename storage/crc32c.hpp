#pragma once
// CRC-32C (Castagnoli), the checksum on every log record. Uses the SSE4.2 instruction
// when the CPU has it, a table otherwise; both give identical results.
#include <cstddef>
#include <cstdint>

namespace minivault::storage {

[[nodiscard]] std::uint32_t crc32c(const void* data, std::size_t len,
                                   std::uint32_t seed = 0) noexcept;

} // namespace minivault::storage
