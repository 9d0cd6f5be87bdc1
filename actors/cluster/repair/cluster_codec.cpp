#include "actors/cluster/repair/cluster_codec.hpp"

#include "actors/durability/batch_codec.hpp"
#include "protocol/wire.hpp"
#include "storage/partition.hpp"
#include "storage/table.hpp"

namespace minivault {

namespace {

void put_u64(std::string& out, std::uint64_t v) {
  char b[8];
  wire::store_u64(b, v);
  out.append(b, 8);
}

void put_u32(std::string& out, std::uint32_t v) {
  char b[4];
  wire::store_u32(b, v);
  out.append(b, 4);
}

} // namespace

void pack_key_versions(const std::vector<storage::engine::key_version>& in, std::string& out) {
  for (const auto& kv : in) {
    char hdr[2];
    wire::store_u16(hdr, static_cast<std::uint16_t>(kv.key.size()));
    out.append(hdr, 2);
    out.append(kv.key);
    put_u64(out, kv.ver.hlc);
    char tail[5];
    wire::store_u32(tail, kv.ver.node);
    tail[4] = kv.tombstone ? 1 : 0;
    out.append(tail, 5);
  }
}

bool unpack_key_versions(std::string_view in,
                         std::unordered_map<std::string_view, held_version>& out) {
  std::size_t pos = 0;
  while (pos < in.size()) {
    if (in.size() - pos < 2) return false;
    std::size_t klen = wire::load_u16(in.data() + pos);
    pos += 2;
    if (in.size() - pos < klen + 13) return false;
    std::string_view key = in.substr(pos, klen);
    pos += klen;
    held_version h;
    h.ver.hlc = wire::load_u64(in.data() + pos);
    h.ver.node = wire::load_u32(in.data() + pos + 8);
    h.tombstone = in[pos + 12] != 0;
    pos += 13;
    out[key] = h;
  }
  return true;
}

void pack_digests(const std::vector<std::uint64_t>& in, std::string& out) {
  out.reserve(out.size() + in.size() * 8);
  for (auto d : in)
    put_u64(out, d);
}

bool unpack_digests(std::string_view in, std::vector<std::uint64_t>& out) {
  if (in.size() % 8 != 0) return false;
  out.resize(in.size() / 8);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = wire::load_u64(in.data() + i * 8);
  return true;
}

void pack_partitions(const std::vector<std::uint32_t>& in, std::string& out) {
  out.reserve(out.size() + in.size() * 4);
  for (auto p : in)
    put_u32(out, p);
}

bool unpack_partitions(std::string_view in, std::vector<std::uint32_t>& out) {
  if (in.size() % 4 != 0 || in.size() / 4 > storage::partition_count) return false;
  out.resize(in.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i)
    if ((out[i] = wire::load_u32(in.data() + i * 4)) >= storage::partition_count) return false;
  return true;
}

void split_by_replica(const placement& pl, std::size_t region, const versioned_writes& w,
                      std::vector<versioned_writes>& out) {
  out.assign(pl.members(), versioned_writes{});
  std::size_t pos = 0;
  packed_op op;
  while (pos < w.ops.size() && decode_packed_op(w.ops, pos, op)) {
    const member_id* reps = pl.replicas(storage::partition_of(storage::table::hash_key(op.key)));
    for (std::size_t k = 0; k < pl.replicas_per_partition(); ++k)
      if (reps[k] != self_member && pl.region_of(reps[k]) == region)
        pack_versioned_write(out[reps[k].at()], op.del, op.key, op.value, op.ver);
  }
}

storage::version max_version(std::string_view packed_ops, std::uint32_t count) {
  storage::version best;
  std::size_t pos = 0;
  packed_op op;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!decode_packed_op(packed_ops, pos, op)) return storage::version{};
    if (best < op.ver) best = op.ver;
  }
  return best;
}

} // namespace minivault
