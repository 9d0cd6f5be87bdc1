#include "protocol/compression.hpp"

#include <zstd.h>

#include <memory>

namespace minivault {

namespace {

struct dctx_deleter {
  void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};

ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, dctx_deleter> d(ZSTD_createDCtx());
  ZSTD_DCtx_reset(d.get(), ZSTD_reset_session_only);
  return d.get();
}

} // namespace

std::string zstd_compress(std::string_view in, int level) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  auto n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

errc zstd_decompress_bounded(std::string_view in, std::size_t max_bytes, std::string& out) {
  out.clear();
  if (in.empty()) return errc::bad_compression;
  // Fast path: a single frame that declares its size, within the limit.
  auto declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return errc::bad_compression;
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > max_bytes) return errc::too_large;
  // Streaming with a hard cap: the declared size is only a hint (frames may be
  // concatenated, or lie), so growth is always bounded by max_bytes.
  ZSTD_DCtx* d = thread_dctx();
  std::size_t cap = declared != ZSTD_CONTENTSIZE_UNKNOWN ? static_cast<std::size_t>(declared)
                                                         : std::size_t{64} << 10;
  if (cap > max_bytes) cap = max_bytes;
  out.resize(cap);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  std::size_t produced = 0;
  std::size_t last = 1;
  while (src.pos < src.size || last != 0) {
    if (produced == out.size()) {
      if (out.size() >= max_bytes) {
        // Output is full: any further byte would cross the limit.
        char probe;
        ZSTD_outBuffer one{&probe, 1, 0};
        last = ZSTD_decompressStream(d, &one, &src);
        if (ZSTD_isError(last)) return errc::bad_compression;
        if (one.pos > 0) return errc::too_large;
        if (src.pos == src.size && last == 0) break;
        if (src.pos == src.size) return errc::bad_compression; // truncated
        continue;
      }
      out.resize(std::min(max_bytes, out.size() < 4096 ? std::size_t{4096} : out.size() * 2));
    }
    ZSTD_outBuffer dst{out.data(), out.size(), produced};
    std::size_t before_in = src.pos, before_out = produced;
    last = ZSTD_decompressStream(d, &dst, &src);
    if (ZSTD_isError(last)) return errc::bad_compression;
    produced = dst.pos;
    if (src.pos == src.size && last != 0 && produced < out.size() && before_in == src.pos &&
        before_out == produced)
      return errc::bad_compression; // truncated frame: no progress possible
  }
  out.resize(produced);
  return errc::ok;
}

} // namespace minivault
