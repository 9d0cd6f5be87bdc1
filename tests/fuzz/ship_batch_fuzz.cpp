// Fuzz target: a shipment from another region (actors/cluster/geo/ship_codec.hpp),
// decoded by the relay: unpack_ship_batch (one zstd frame, bounded, then `count` whole
// versioned writes and nothing else).
//
// Input: [count:u16][mode:u8] then the rest. Mode even: the rest is the compressed frame
// as a peer sent it. Mode odd: the rest is the uncompressed ops, packed into a frame with
// pack_ship_batch first (so the decoder's checks past decompression are reached often).
//
// Checked for every input, beyond "no crash, no sanitizer report":
// - the outcome is ok, bad_compression, too_large or bad_request, nothing else;
// - ok exactly when an independent walk of the decompressed ops (mode odd: the input's)
//   finds `count` versioned writes (hlc not 0, no reads) and nothing after them; then
//   the result holds those bytes, `count` and `ship` false (never shipped again);
// - an error leaves `count` 0;
// - what decoded packs again (pack_ship_batch) and decodes to the same ops.
// Run with -max_len=4096.
#include <string>

#include "actors/cluster/geo/ship_codec.hpp"
#include "actors/durability/batch_codec.hpp"
#include "fuzz_input.hpp"
#include "protocol/compression.hpp"

namespace {

using namespace minivault;

/// An independent reading: are `ops` exactly `count` versioned writes?
bool whole_versioned_writes(std::string_view ops, std::uint32_t count) {
  std::size_t pos = 0;
  packed_op op;
  for (std::uint32_t i = 0; i < count; ++i)
    if (!decode_packed_op(ops, pos, op) || op.read || op.ver.hlc == 0) return false;
  return pos == ops.size();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  fuzz::fuzz_input in(bytes, size);
  const std::uint32_t count = in.u16();
  const bool raw = (in.u8() & 1) != 0;
  const std::string_view rest = in.bytes(in.size());
  ship_batch b = raw ? pack_ship_batch(versioned_writes{count, std::string(rest)})
                     : ship_batch{count, std::string(rest), relay_wait::one};
  versioned_writes out;
  out.ship = true; // replaced
  const errc e = unpack_ship_batch(b, out);
  FUZZ_CHECK(e == errc::ok || e == errc::bad_compression || e == errc::too_large ||
             e == errc::bad_request);
  std::string plain; // what the frame holds, read independently
  const bool frame_ok = zstd_decompress_bounded(b.packed, ship_batch_raw_max, plain) == errc::ok;
  if (raw) FUZZ_CHECK(frame_ok && plain == rest);
  FUZZ_CHECK((e == errc::ok) == (frame_ok && whole_versioned_writes(plain, count)));
  FUZZ_CHECK(!out.ship);
  if (e != errc::ok) {
    FUZZ_CHECK(out.count == 0);
    return 0;
  }
  FUZZ_CHECK(out.count == count && out.ops == plain);
  versioned_writes again;
  FUZZ_CHECK(unpack_ship_batch(pack_ship_batch(out), again) == errc::ok);
  FUZZ_CHECK(again.count == out.count && again.ops == out.ops);
  return 0;
}
