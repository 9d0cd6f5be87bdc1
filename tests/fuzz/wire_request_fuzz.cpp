// Fuzz target: the binary protocol's request parser (wire::parse_request), fed a client's
// byte stream the way an I/O thread does (io_thread::consume): frame after frame until
// one is incomplete or invalid; a compressed SET's value goes through the bounded zstd
// decoder (zstd_decompress_bounded), as handle_write does.
//
// Checked for every input, beyond "no crash, no sanitizer report":
// - a complete frame lies inside the input, its views inside the frame, and
//   append_request re-encodes it to exactly the same bytes (decode/encode pair);
// - parsing is monotonic in the bytes available: every shorter prefix of a complete or
//   invalid frame is need_more, a known frame size is the final size, and once a frame
//   is complete or invalid it stays so, with the same size or error, as bytes arrive;
// - need_more without a known size only while the header is incomplete;
// - a decompressed value never exceeds its bound, and compresses back to itself.
// Input: the raw stream (corpus files are real request frames). Run with -max_len=4096.
#include <string>

#include "fuzz_input.hpp"
#include "protocol/compression.hpp"
#include "protocol/limits.hpp"
#include "protocol/wire.hpp"

namespace {

using namespace minivault;

// The node's default value limit; values here are small, so a claimed length past the
// input is need_more, and one past the limit is too_large.
constexpr std::size_t value_max = value_bytes_max_default;
// Inflating is bounded by this (a zstd frame of a few bytes may claim gigabytes). The
// node's bound is -value-max-bytes; the code is the same for any bound, and a small one
// keeps each execution fast (a few bytes of zstd could otherwise inflate to a megabyte,
// and be compressed back, in every execution that mutates them).
constexpr std::size_t inflate_max = 64u << 10;

/// The parse result at every length in [from, to] of `data` must be the final one
/// (`full`, parsed from `to` bytes): complete or invalid states never change again.
void check_stable(const char* data, std::size_t from, std::size_t to,
                  const wire::parse_result& full) {
  for (std::size_t k = from; k <= to; ++k) {
    auto r = wire::parse_request(data, k, value_max);
    FUZZ_CHECK(r.state == full.state && r.consumed == full.consumed && r.error == full.error);
  }
}

/// Every length below the frame's final size is need_more, with the final size once known.
void check_prefixes(const char* data, std::size_t end, std::size_t frame) {
  for (std::size_t k = 0; k < end; ++k) {
    auto r = wire::parse_request(data, k, value_max);
    FUZZ_CHECK(r.state == wire::parse_state::need_more);
    FUZZ_CHECK(r.frame_bytes == 0 || r.frame_bytes == frame);
  }
}

/// The length at which `data`'s frame stops being need_more (the fewest bytes that decide).
std::size_t decided_at(const char* data, std::size_t len) {
  std::size_t k = 0;
  while (k < len && wire::parse_request(data, k, value_max).state == wire::parse_state::need_more)
    ++k;
  return k;
}

void check_complete(const char* data, std::size_t len, const wire::parse_result& r) {
  FUZZ_CHECK(r.consumed >= wire::request_header_bytes && r.consumed <= len);
  FUZZ_CHECK(r.error == errc::ok);
  const char* end = data + r.consumed;
  FUZZ_CHECK(r.req.key.data() >= data && r.req.key.data() + r.req.key.size() <= end);
  FUZZ_CHECK(r.req.key.size() <= key_bytes_max);
  if (r.req.op == wire::opcode::set) {
    FUZZ_CHECK(r.req.value.data() >= data && r.req.value.data() + r.req.value.size() <= end);
    FUZZ_CHECK(r.req.value.size() <= value_max);
  } else {
    FUZZ_CHECK(r.req.value.empty() && !r.req.compressed);
  }
  std::string again;
  wire::append_request(again, r.req.op, r.req.key, r.req.value, r.req.compressed);
  FUZZ_CHECK(again == std::string_view(data, r.consumed));
  check_prefixes(data, decided_at(data, len), r.consumed);
  check_stable(data, r.consumed, std::min(len, r.consumed + 16), r);
}

void check_value(const wire::request& req) {
  if (req.op != wire::opcode::set || !req.compressed) return;
  std::string plain;
  errc e = zstd_decompress_bounded(req.value, inflate_max, plain);
  FUZZ_CHECK(e == errc::ok || e == errc::too_large || e == errc::bad_compression);
  if (e != errc::ok) return;
  FUZZ_CHECK(plain.size() <= inflate_max);
  std::string again;
  FUZZ_CHECK(zstd_decompress_bounded(zstd_compress(plain), inflate_max, again) == errc::ok);
  FUZZ_CHECK(again == plain);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const char* data = reinterpret_cast<const char*>(bytes);
  std::size_t pos = 0;
  while (pos < size) {
    const char* at = data + pos;
    const std::size_t len = size - pos;
    auto r = wire::parse_request(at, len, value_max);
    if (r.state == wire::parse_state::complete) {
      check_complete(at, len, r);
      check_value(r.req);
      pos += r.consumed;
      continue;
    }
    if (r.state == wire::parse_state::invalid) {
      FUZZ_CHECK(r.error == errc::bad_frame || r.error == errc::too_large);
      FUZZ_CHECK(r.consumed == 0);
      std::size_t k = decided_at(at, len);
      check_prefixes(at, k, 0);
      check_stable(at, k, len, r);
    } else {
      // Without a size, only the fixed header can be missing.
      FUZZ_CHECK(r.frame_bytes != 0 ||
                 len < wire::request_header_bytes + key_bytes_max + wire::set_value_header_bytes);
      FUZZ_CHECK(r.frame_bytes == 0 || r.frame_bytes > len);
      check_prefixes(at, len, r.frame_bytes == 0 ? 0 : r.frame_bytes);
    }
    break;
  }
  return 0;
}
