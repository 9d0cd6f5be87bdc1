#include "storage/record.hpp"

#include "protocol/wire.hpp"
#include "storage/crc32c.hpp"

namespace minivault::storage {

using wire::load_u64;
using wire::store_u64;

std::size_t encode_record(std::string& out, std::string_view key, std::string_view stored,
                          const version& ver, std::uint8_t flags) {
  char hdr[record_header_bytes];
  hdr[4] = static_cast<char>(flags);
  wire::store_u16(hdr + 5, static_cast<std::uint16_t>(key.size()));
  wire::store_u32(hdr + 7, static_cast<std::uint32_t>(stored.size()));
  store_u64(hdr + 11, ver.hlc);
  wire::store_u32(hdr + 19, ver.node);
  // CRC chaining: crc(a || b) == crc(b, seed = crc(a)), so nothing is copied to sum it.
  std::uint32_t crc = crc32c(hdr + 4, record_header_bytes - 4);
  crc = crc32c(key.data(), key.size(), crc);
  crc = crc32c(stored.data(), stored.size(), crc);
  wire::store_u32(hdr, crc);
  out.append(hdr, record_header_bytes);
  out.append(key.data(), key.size());
  out.append(stored.data(), stored.size());
  return record_header_bytes + key.size() + stored.size();
}

decode_state decode_record(std::string_view body, std::size_t& offset, record_view& rec) noexcept {
  if (offset == body.size()) return decode_state::end;
  if (body.size() - offset < record_header_bytes) return decode_state::corrupt;
  const char* p = body.data() + offset;
  std::size_t klen = wire::load_u16(p + 5);
  std::size_t slen = wire::load_u32(p + 7);
  std::size_t total = record_header_bytes + klen + slen;
  if (body.size() - offset < total) return decode_state::corrupt;
  if (crc32c(p + 4, total - 4) != wire::load_u32(p)) return decode_state::corrupt;
  rec.flags = static_cast<std::uint8_t>(p[4]);
  rec.key = std::string_view(p + record_header_bytes, klen);
  rec.stored = std::string_view(p + record_header_bytes + klen, slen);
  rec.ver.hlc = load_u64(p + 11);
  rec.ver.node = wire::load_u32(p + 19);
  offset += total;
  return decode_state::ok;
}

} // namespace minivault::storage
