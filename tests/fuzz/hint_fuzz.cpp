// Fuzz target: hint records (actors/cluster/repair/hint_store.hpp). A hint is a stored (count,
// packed ops) pair; nothing decodes a hint on its own: the handoff actor reads a peer's oldest
// hints, concatenates them into one versioned_writes (ops appended, counts summed:
// deliver() in handoff_actor.cpp) and the peer decodes that with the batch codec (unpack_batch,
// max_version). So this target stores the input's records in a real hint store (SQLite,
// in memory), reads them back as deliver() does, frames them the same way, and decodes.
//
// Checked for every input, beyond "no crash, no sanitizer report":
// - the store gives back exactly what was stored, per peer, oldest first, and its
//   accounting (count, bytes, total) follows a model, the byte bound included;
// - oldest() keeps to its budget: it stops at the first hint that reaches it (at least
//   one hint), and returns a prefix of the peer's hints;
// - hints that each decode as a batch also decode when framed together, to the
//   concatenation of their ops (one bad hint cannot be hidden, a good one never lost);
// - remove() of everything read leaves the store empty.
// Input: [budget:u16] then up to 8 records [peer:u8][count:u16][len:u16][ops: len bytes].
// Run with -max_len=4096.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "actors/cluster/repair/hint_store.hpp"
#include "actors/durability/batch_codec.hpp"
#include "fuzz_input.hpp"

namespace {

using namespace minivault;

constexpr std::size_t records_max = 8;
constexpr std::uint64_t store_bytes_max = 2048; // small: the bound is reached by fuzz inputs
const std::string peers[] = {"node-a:3001", "node-b:3002", "node-c:3003"};

/// One store for the whole run (opening costs more than a test); every input leaves it
/// empty, so inputs do not depend on each other.
hint_store& store() {
  static std::unique_ptr<hint_store> s = [] {
    std::string error;
    auto opened = hint_store::open(":memory:", store_bytes_max, error);
    if (!opened) {
      std::fprintf(stderr, "hint_fuzz: %s\n", error.c_str());
      std::abort();
    }
    return opened;
  }();
  return *s;
}

struct stored {
  std::uint32_t count;
  std::string ops;
};

/// Decodes one hint, or several framed together, as the receiving peer does.
bool decode(const versioned_writes& b, std::vector<storage::write_op>& out) {
  return unpack_batch(b, out);
}

bool same_ops(const std::vector<storage::write_op>& a, const std::vector<storage::write_op>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].key != b[i].key || a[i].value != b[i].value || a[i].tombstone != b[i].tombstone ||
        a[i].ver != b[i].ver)
      return false;
  return true;
}

/// Reads `peer`'s oldest hints within `budget`, checks them against the model, frames and
/// decodes them. Returns the ids read.
std::vector<std::int64_t> deliver_once(const std::string& peer, const std::vector<stored>& model,
                                       std::size_t budget) {
  std::vector<hint_store::hint> hints;
  FUZZ_CHECK(store().oldest(peer, budget, hints) == errc::ok);
  FUZZ_CHECK(hints.size() <= model.size() && hints.empty() == model.empty());
  std::size_t bytes = 0;
  versioned_writes chunk;                // as deliver() frames it
  std::vector<versioned_writes> singles; // each hint alone (`each` holds views into them)
  singles.reserve(hints.size());
  std::vector<storage::write_op> each;
  bool all_decode = true;
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < hints.size(); ++i) {
    FUZZ_CHECK(i == 0 || bytes < budget); // stops once the budget is reached
    FUZZ_CHECK(hints[i].count == model[i].count && hints[i].ops == model[i].ops);
    FUZZ_CHECK(i == 0 || hints[i].id > hints[i - 1].id);
    bytes += hints[i].ops.size();
    chunk.ops += hints[i].ops;
    chunk.count += hints[i].count;
    singles.push_back(versioned_writes{hints[i].count, hints[i].ops});
    all_decode = all_decode && decode(singles.back(), each);
    ids.push_back(hints[i].id);
  }
  FUZZ_CHECK(hints.size() == model.size() || bytes >= budget);
  std::vector<storage::write_op> framed;
  const bool framed_ok = decode(chunk, framed);
  if (all_decode) FUZZ_CHECK(framed_ok && same_ops(framed, each));
  return ids;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  fuzz::fuzz_input in(bytes, size);
  const std::size_t budget = in.u16();
  std::vector<stored> model[3];
  std::uint64_t model_bytes = 0;
  std::size_t model_rows = 0;
  for (std::size_t r = 0; r < records_max && !in.empty(); ++r) {
    const std::string& peer = peers[in.u8() % 3];
    const std::uint32_t count = in.u16();
    const std::string ops(in.bytes(in.u16()));
    const errc e = store().add(peer, ops, count);
    if (model_bytes + ops.size() > store_bytes_max) {
      FUZZ_CHECK(e == errc::overloaded);
      continue;
    }
    FUZZ_CHECK(e == errc::ok);
    model[&peer - peers].push_back(stored{count, ops});
    model_bytes += ops.size();
    ++model_rows;
  }
  FUZZ_CHECK(store().bytes() == model_bytes && store().total() == model_rows);
  std::vector<std::int64_t> ids;
  for (std::size_t p = 0; p < 3; ++p) {
    FUZZ_CHECK(store().count(peers[p]) == model[p].size());
    deliver_once(peers[p], model[p], budget);
    auto all = deliver_once(peers[p], model[p], SIZE_MAX); // every hint of the peer
    FUZZ_CHECK(all.size() == model[p].size());
    ids.insert(ids.end(), all.begin(), all.end());
  }
  FUZZ_CHECK(store().remove(ids) == errc::ok);
  FUZZ_CHECK(store().bytes() == 0 && store().total() == 0);
  for (const auto& peer : peers)
    FUZZ_CHECK(store().count(peer) == 0);
  return 0;
}
