#include "actors/cluster/geo/ship_codec.hpp"

#include "actors/durability/batch_codec.hpp"
#include "protocol/compression.hpp"

namespace minivault {

ship_batch pack_ship_batch(const versioned_writes& w) {
  return ship_batch{w.count, zstd_compress(w.ops, 1)};
}

errc unpack_ship_batch(const ship_batch& b, versioned_writes& out) {
  out = versioned_writes{};
  if (errc e = zstd_decompress_bounded(b.packed, ship_batch_raw_max, out.ops); e != errc::ok)
    return e;
  std::size_t pos = 0;
  packed_op op;
  for (std::uint32_t i = 0; i < b.count; ++i)
    if (!decode_packed_op(out.ops, pos, op) || op.read || op.ver.hlc == 0) return errc::bad_request;
  if (pos != out.ops.size()) return errc::bad_request;
  out.count = b.count;
  return errc::ok;
}

} // namespace minivault
