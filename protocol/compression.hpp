#pragma once
// zstd helpers shared by the server (decompressing client values) and clients
// (compressing them). Decompression is bounded: output never exceeds `max_bytes`, so a
// small "zip bomb" frame costs at most `max_bytes` of memory, and is refused beyond it.
#include <cstddef>
#include <string>
#include <string_view>

#include "protocol/errc.hpp"

namespace minivault {

/// Compresses `in` as one zstd frame (content size recorded) at `level`.
[[nodiscard]] std::string zstd_compress(std::string_view in, int level = 1);

/// Decompresses one or more concatenated zstd frames into `out`.
/// Errors: too_large (output would exceed `max_bytes`), bad_compression (not zstd,
/// truncated or corrupt).
[[nodiscard]] errc zstd_decompress_bounded(std::string_view in, std::size_t max_bytes,
                                           std::string& out);

} // namespace minivault
