// Fuzz target: the packed batch format (actors/durability/batch_codec.hpp) as a node receives it
// from a peer, a hint or a pull: unpack_batch (all of a batch message, for the storage
// actor) and decode_packed_op (one op; the replication actor and max_version walk
// batches with it). Per op: [flags:u8][key_len:u16][value_len:u32], then [hlc:u64]
// [node:u32] when versioned (flags bit1), then key and value; bit0 = delete, bit2 = read,
// bit3 = quorum read, bits 4-6 = consistency level (0..5; only on an unversioned write
// or a quorum read).
//
// Checked for every input, beyond "no crash, no sanitizer report":
// - decode_packed_op accepts exactly what an independent reading of that format accepts
//   (known flags only; a read is neither a delete nor versioned; quorum only on a read;
//   a level only where one belongs; a versioned op has hlc != 0), with the same fields,
//   as views into the batch;
// - unpack_batch succeeds exactly when `count` ops are whole writes and nothing follows;
//   it then yields `count` ops, and packing them again (pack_write,
//   pack_versioned_write) unpacks to the same ops; in canonical form (no value on a
//   delete) the bytes are the same too;
// - every op decoded re-packs (pack_read for reads) to a batch decoding to the same op
//   (without a value, if it was a delete or a read: the encoders write none).
// Input: [count:u16][ops]. Run with -max_len=4096.
#include <string>
#include <vector>

#include "actors/durability/batch_codec.hpp"
#include "fuzz_input.hpp"
#include "protocol/wire.hpp"

namespace {

using namespace minivault;

/// The format read independently of decode_packed_op. False if no whole op is at `pos`.
bool reference_op(std::string_view ops, std::size_t& pos, packed_op& out) {
  if (ops.size() - pos < 7) return false;
  const char* p = ops.data() + pos;
  const auto flags = static_cast<std::uint8_t>(p[0]);
  const bool del = flags & 1, versioned = flags & 2, read = flags & 4, quorum = flags & 8;
  const unsigned level = flags >> 4;
  if (level > 5 || (read && (del || versioned)) || (quorum && !read)) return false;
  if (level != 0 && (versioned || (read && !quorum))) return false;
  std::size_t header = versioned ? 7 + 12 : 7;
  if (ops.size() - pos < header) return false;
  const std::size_t klen = wire::load_u16(p + 1), vlen = wire::load_u32(p + 3);
  if (ops.size() - pos - header < klen + vlen) return false;
  out = packed_op{};
  if (versioned) out.ver = storage::version{wire::load_u64(p + 7), wire::load_u32(p + 15)};
  if (versioned && out.ver.hlc == 0) return false;
  out.read = read;
  out.quorum = quorum;
  out.level = static_cast<consistency>(level);
  out.del = del;
  out.key = ops.substr(pos + header, klen);
  out.value = ops.substr(pos + header + klen, vlen);
  pos += header + klen + vlen;
  return true;
}

bool same_op(const packed_op& a, const packed_op& b) {
  return a.read == b.read && a.quorum == b.quorum && a.level == b.level && a.del == b.del &&
         a.key == b.key && a.value == b.value && a.ver == b.ver;
}

bool same_write(const storage::write_op& a, const storage::write_op& b) {
  return a.key == b.key && a.tombstone == b.tombstone && a.ver == b.ver &&
         (a.tombstone || a.value == b.value); // a tombstone's value is ignored
}

/// Packs `op` as the node's encoders would (a delete without its value).
void repack(client_batch& b, const packed_op& op) {
  if (op.read)
    pack_read(b, op.key, op.quorum, op.level);
  else if (op.ver.hlc != 0)
    pack_versioned_write(b, op.del, op.key, op.value, op.ver);
  else
    pack_write(b, op.del, op.key, op.del ? std::string_view{} : op.value, op.level);
}

/// Walks the ops one by one; returns how many decoded, and whether they were canonical
/// writes only.
std::uint32_t walk(std::string_view ops, std::uint32_t limit, std::size_t& end, bool& writes,
                   bool& canonical) {
  std::size_t pos = 0, ref_pos = 0;
  std::uint32_t n = 0;
  writes = canonical = true;
  for (; n < limit; ++n) {
    packed_op op, ref;
    const std::size_t before = pos;
    const bool ok = decode_packed_op(ops, pos, op);
    FUZZ_CHECK(ok == reference_op(ops, ref_pos, ref));
    if (!ok) break;
    FUZZ_CHECK(same_op(op, ref) && pos == ref_pos && pos > before);
    FUZZ_CHECK(op.key.data() >= ops.data() &&
               op.value.data() + op.value.size() <= ops.data() + ops.size());
    writes = writes && !op.read;
    // The storage actor keeps no level: only writes without one re-pack to the same bytes.
    canonical = canonical && !(op.del && !op.value.empty()) && op.level == consistency::one;
    client_batch one;
    repack(one, op);
    std::size_t at = 0;
    packed_op again;
    FUZZ_CHECK(decode_packed_op(one.ops, at, again) && at == one.ops.size());
    // The encoders write no value for a delete or a read (the decoder ignores one).
    const std::string_view value = op.del || op.read ? std::string_view{} : op.value;
    FUZZ_CHECK(
        same_op(again, packed_op{op.read, op.quorum, op.del, op.level, op.key, value, op.ver}));
  }
  end = pos;
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  fuzz::fuzz_input in(bytes, size);
  client_batch b;
  b.count = in.u16();
  b.ops = std::string(in.rest());
  std::vector<storage::write_op> out;
  const bool ok = unpack_batch(b, out);
  std::size_t end = 0;
  bool writes = true, canonical = true;
  const std::uint32_t n = walk(b.ops, b.count, end, writes, canonical);
  FUZZ_CHECK(ok == (n == b.count && writes && end == b.ops.size()));
  if (!ok) return 0;
  FUZZ_CHECK(out.size() == b.count);
  client_batch again;
  for (const auto& w : out)
    repack(again, packed_op{false, false, w.tombstone, consistency::one, w.key, w.value, w.ver});
  std::vector<storage::write_op> round;
  FUZZ_CHECK(unpack_batch(again, round) && round.size() == out.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    FUZZ_CHECK(same_write(round[i], out[i]));
  if (canonical) FUZZ_CHECK(again.ops == b.ops && again.count == b.count);
  return 0;
}
