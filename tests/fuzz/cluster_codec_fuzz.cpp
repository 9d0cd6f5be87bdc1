// Fuzz target: the peers' compact encodings (actors/cluster/repair/cluster_codec.hpp), decoded from
// the bytes a peer sent: unpack_key_versions (anti-entropy: what a peer holds of a partition),
// unpack_digests (partition digests) and max_version (the newest version in a replicated batch,
// which the node's clock observes). All three read the same input.
//
// Checked for every input, beyond "no crash, no sanitizer report":
// - unpack_key_versions succeeds exactly when the input is a whole number of entries
//   (an independent walk of the format says so), its keys are views into the input,
//   later entries win for a repeated key, and pack_key_versions of what it decoded
//   decodes to the same map; when no key repeats and every tombstone byte is 0 or 1
//   (the canonical form), packing the entries in input order gives the input back;
// - unpack_digests succeeds exactly for a multiple of 8 bytes, and packs back to it;
// - max_version over the ops decode_packed_op can read is the largest of their
//   versions, and one op more than the input holds gives version{} (malformed).
// Input: raw bytes. Run with -max_len=4096.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/cluster/repair/cluster_codec.hpp"
#include "actors/durability/batch_codec.hpp"
#include "fuzz_input.hpp"
#include "protocol/wire.hpp"

namespace {

using namespace minivault;
using kv = storage::engine::key_version;

/// One entry as the format defines it: [klen:u16][key][hlc:u64][node:u32][tombstone:u8].
struct entry {
  std::string_view key;
  storage::version ver;
  std::uint8_t tombstone = 0;
};

/// An independent reading of the key/version format: false if it is not whole entries.
bool walk_entries(std::string_view in, std::vector<entry>& out) {
  std::size_t pos = 0;
  while (pos < in.size()) {
    if (in.size() - pos < 2) return false;
    const std::size_t klen = wire::load_u16(in.data() + pos);
    if (in.size() - pos - 2 < klen + 13) return false;
    entry e;
    e.key = in.substr(pos + 2, klen);
    const char* v = in.data() + pos + 2 + klen;
    e.ver = storage::version{wire::load_u64(v), wire::load_u32(v + 8)};
    e.tombstone = static_cast<std::uint8_t>(v[12]);
    out.push_back(e);
    pos += 2 + klen + 13;
  }
  return true;
}

void check_key_versions(std::string_view in) {
  std::unordered_map<std::string_view, held_version> got;
  const bool ok = unpack_key_versions(in, got);
  std::vector<entry> entries;
  FUZZ_CHECK(ok == walk_entries(in, entries));
  if (!ok) return;
  std::unordered_map<std::string_view, const entry*> last; // later entries win
  bool canonical = true;
  for (const entry& e : entries) {
    canonical = canonical && e.tombstone <= 1 && last.count(e.key) == 0;
    last[e.key] = &e;
  }
  FUZZ_CHECK(got.size() == last.size());
  std::vector<kv> again;
  for (const auto& [key, held] : got) {
    FUZZ_CHECK(key.data() >= in.data() && key.data() + key.size() <= in.data() + in.size());
    const entry* e = last.at(key);
    FUZZ_CHECK(held.ver == e->ver && held.tombstone == (e->tombstone != 0));
    again.push_back(kv{std::string(key), held.ver, held.tombstone});
  }
  std::string packed;
  pack_key_versions(again, packed);
  std::unordered_map<std::string_view, held_version> round;
  FUZZ_CHECK(unpack_key_versions(packed, round) && round.size() == got.size());
  for (const auto& [key, held] : got) {
    const held_version& r = round.at(key);
    FUZZ_CHECK(r.ver == held.ver && r.tombstone == held.tombstone);
  }
  if (!canonical) return;
  std::vector<kv> in_order;
  for (const entry& e : entries)
    in_order.push_back(kv{std::string(e.key), e.ver, e.tombstone != 0});
  std::string same;
  pack_key_versions(in_order, same);
  FUZZ_CHECK(same == in);
}

void check_digests(std::string_view in) {
  std::vector<std::uint64_t> digests{42}; // replaced, not appended to
  const bool ok = unpack_digests(in, digests);
  FUZZ_CHECK(ok == (in.size() % 8 == 0));
  if (!ok) return;
  FUZZ_CHECK(digests.size() == in.size() / 8);
  std::string packed;
  pack_digests(digests, packed);
  FUZZ_CHECK(packed == in);
}

void check_max_version(std::string_view in) {
  std::uint32_t readable = 0;
  storage::version best;
  std::size_t pos = 0;
  packed_op op;
  while (decode_packed_op(in, pos, op)) {
    ++readable;
    if (best < op.ver) best = op.ver;
  }
  FUZZ_CHECK(max_version(in, readable) == best);
  FUZZ_CHECK(max_version(in, readable + 1) == storage::version{});
  FUZZ_CHECK(max_version(in, 0) == storage::version{});
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(bytes), size);
  check_key_versions(in);
  check_digests(in);
  check_max_version(in);
  return 0;
}
