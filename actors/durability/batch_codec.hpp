#pragma once
// The batch codec: packs ops into the batch messages of protocol/actors.hpp (client_batch,
// versioned_writes, pull_reply, read_reply: `count` ops in `ops`) and decodes them. Pure
// functions over bytes, no actors: the format is documented in protocol/actors.hpp;
// tests/actors/durability/versioned_batch_test.cpp and the `batch` fuzz target check it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/actors.hpp"
#include "protocol/consistency.hpp"
#include "storage/engine.hpp"

namespace minivault {

/// Appends one write to a client batch in the packed form `unpack_batch` reads. A local
/// write: the engine gives it its version.
/// `level`: what the replication actor waits for (a single node ignores it).
void pack_write(client_batch& batch, bool del, std::string_view key, std::string_view value,
                consistency level = consistency::local_quorum);

/// Appends one write that already has its version (replication: the node that took the
/// write versioned it) to `ops`, counting it in `count`. Packed as flags bit1, then
/// [hlc:u64][node:u32] after the header.
void pack_versioned_write(std::string& ops, std::uint32_t& count, bool del, std::string_view key,
                          std::string_view value, const storage::version& ver);
/// The same, appended to a batch message (versioned_writes, pull_reply, read_reply; and
/// client_batch in tests).
template <class Batch>
void pack_versioned_write(Batch& batch, bool del, std::string_view key, std::string_view value,
                          const storage::version& ver) {
  pack_versioned_write(batch.ops, batch.count, del, key, value, ver);
}

/// Appends a read of `key` (a cluster's I/O thread asks the replication actor for it:
/// `quorum` for a quorum read, else a read this node cannot serve itself). Never valid in
/// a batch for the storage actor. Packed as flags bit2 (+ bit3 for quorum), no value.
void pack_read(client_batch& batch, std::string_view key, bool quorum,
               consistency level = consistency::local_quorum);
/// Appends a plain read of `key` to packed ops: a peer's list of keys to read, and in
/// the answer the mark "no record of this key" (peer endpoint, batched reads).
void pack_read(std::string& ops, std::uint32_t& count, std::string_view key);

/// One op of a packed batch, as views into the batch's bytes.
struct packed_op {
  bool read = false;   // a read (pack_read), not a write
  bool quorum = false; // read: a quorum read
  bool del = false;
  /// An unversioned write's or a quorum read's level; `one` (0) on every other op.
  consistency level = consistency::one;
  std::string_view key;
  std::string_view value;
  storage::version ver; // hlc == 0: unversioned (a local write)
};

/// Decodes the op at `offset` of `ops` and advances `offset` past it. Returns false when
/// the bytes there are not a whole op.
[[nodiscard]] bool decode_packed_op(std::string_view ops, std::size_t& offset, packed_op& out);

/// Decodes `count` packed writes into engine ops (views into `ops`). Returns false when
/// the packing is malformed or holds a read (a bug in the sender: nothing is applied then).
[[nodiscard]] bool unpack_writes(std::string_view ops, std::uint32_t count,
                                 std::vector<storage::write_op>& out);
/// The same for a batch message (client_batch, versioned_writes, pull_reply, read_reply).
template <class Batch>
[[nodiscard]] bool unpack_batch(const Batch& batch, std::vector<storage::write_op>& out) {
  return unpack_writes(batch.ops, batch.count, out);
}

} // namespace minivault
