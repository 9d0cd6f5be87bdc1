// The packed batch format (protocol/actors.hpp): packing and decoding, nothing else.
#include "actors/durability/batch_codec.hpp"

#include "protocol/wire.hpp"

namespace minivault {

namespace {

constexpr std::uint8_t flag_delete = 1;
constexpr std::uint8_t flag_versioned = 2;
constexpr std::uint8_t flag_read = 4;
constexpr std::uint8_t flag_quorum = 8;
// Bits 4..6: the consistency level of a client write or quorum read (protocol/consistency.hpp).
constexpr int level_shift = 4;
constexpr std::uint8_t level_mask = 7 << level_shift;
constexpr std::size_t op_header_bytes = 7; // [flags:u8][key_len:u16][value_len:u32]

std::uint8_t level_bits(consistency c) {
  return static_cast<std::uint8_t>(static_cast<unsigned>(c) << level_shift);
}
constexpr std::size_t op_version_bytes = 8 + 4; // [hlc:u64][node:u32]

void pack(std::string& ops, std::uint32_t& count, std::uint8_t flags, std::string_view key,
          std::string_view value, const storage::version* ver) {
  char hdr[op_header_bytes + op_version_bytes];
  hdr[0] = static_cast<char>(flags);
  wire::store_u16(hdr + 1, static_cast<std::uint16_t>(key.size()));
  wire::store_u32(hdr + 3, static_cast<std::uint32_t>(value.size()));
  std::size_t n = op_header_bytes;
  if (ver) {
    wire::store_u64(hdr + n, ver->hlc);
    wire::store_u32(hdr + n + 8, ver->node);
    n += op_version_bytes;
  }
  ops.append(hdr, n);
  ops.append(key.data(), key.size());
  ops.append(value.data(), value.size());
  ++count;
}

} // namespace

void pack_write(client_batch& b, bool del, std::string_view key, std::string_view value,
                consistency level) {
  pack(b.ops, b.count, static_cast<std::uint8_t>((del ? flag_delete : 0) | level_bits(level)), key,
       value, nullptr);
}

void pack_versioned_write(std::string& ops, std::uint32_t& count, bool del, std::string_view key,
                          std::string_view value, const storage::version& ver) {
  pack(ops, count, static_cast<std::uint8_t>((del ? flag_delete : 0) | flag_versioned), key,
       del ? std::string_view{} : value, &ver);
}

void pack_read(std::string& ops, std::uint32_t& count, std::string_view key) {
  pack(ops, count, flag_read, key, {}, nullptr);
}

void pack_read(client_batch& b, std::string_view key, bool quorum, consistency level) {
  pack(b.ops, b.count,
       static_cast<std::uint8_t>(flag_read | (quorum ? flag_quorum | level_bits(level) : 0)), key,
       {}, nullptr);
}

bool decode_packed_op(std::string_view ops, std::size_t& offset, packed_op& out) {
  if (offset > ops.size() || ops.size() - offset < op_header_bytes) return false;
  const char* p = ops.data() + offset;
  const auto flags = static_cast<std::uint8_t>(p[0]);
  if ((flags & ~(flag_delete | flag_versioned | flag_read | flag_quorum | level_mask)) != 0)
    return false;
  if ((flags & flag_read) && (flags & (flag_delete | flag_versioned))) return false;
  if ((flags & flag_quorum) && !(flags & flag_read)) return false;
  const unsigned level = (flags & level_mask) >> level_shift;
  if (level > static_cast<unsigned>(consistency::all)) return false;
  // A level only on what a client sent with one: an unversioned write, a quorum read.
  if (level != 0 && ((flags & flag_versioned) || ((flags & flag_read) && !(flags & flag_quorum))))
    return false;
  std::size_t header = op_header_bytes;
  out.ver = storage::version{};
  if (flags & flag_versioned) {
    if (ops.size() - offset < op_header_bytes + op_version_bytes) return false;
    const char* v = p + op_header_bytes;
    out.ver.hlc = wire::load_u64(v);
    out.ver.node = wire::load_u32(v + 8);
    if (out.ver.hlc == 0) return false; // a versioned op always carries a real version
    header += op_version_bytes;
  }
  std::size_t klen = wire::load_u16(p + 1);
  std::size_t vlen = wire::load_u32(p + 3);
  if (ops.size() - offset - header < klen + vlen) return false;
  out.del = (flags & flag_delete) != 0;
  out.read = (flags & flag_read) != 0;
  out.quorum = (flags & flag_quorum) != 0;
  out.level = static_cast<consistency>(level);
  out.key = std::string_view(p + header, klen);
  out.value = std::string_view(p + header + klen, vlen);
  offset += header + klen + vlen;
  return true;
}

bool unpack_writes(std::string_view ops, std::uint32_t count, std::vector<storage::write_op>& out) {
  std::size_t pos = 0;
  packed_op op;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!decode_packed_op(ops, pos, op) || op.read) return false; // reads: never here
    out.push_back(storage::write_op{op.key, op.value, op.del, op.ver});
  }
  return pos == ops.size();
}

} // namespace minivault
