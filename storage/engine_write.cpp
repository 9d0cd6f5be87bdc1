// Engine write path (apply): versions -> encode checksummed records into row bodies ->
// one SQLite transaction inserting the rows -> publish to the index/cache -> evict if over
// budget. Also the per-row bookkeeping (live bytes per row) that compaction reads.
#include <algorithm>

#include "protocol/assert.hpp"
#include "protocol/limits.hpp"
#include "storage/engine.hpp"
#include "storage/engine_impl.hpp"
#include "storage/partition.hpp"

namespace minivault::storage {

// -- row bookkeeping --------------------------------------------------------------------

row_info* engine::impl::row(std::uint64_t seq) {
  if (seq < rows_base || seq - rows_base >= rows.size()) return nullptr;
  auto& r = rows[seq - rows_base];
  return r.total ? &r : nullptr;
}

void engine::impl::add_row(std::uint64_t seq, std::uint32_t total) {
  if (rows.empty()) rows_base = seq;
  KV_ASSERT(seq >= rows_base + rows.size());
  while (rows_base + rows.size() < seq)
    rows.push_back({}); // gaps from cut rows
  rows.push_back({total, 0});
  log_bytes += total;
  ++log_rows;
}

void engine::impl::forget_row(std::uint64_t seq) {
  if (auto* r = row(seq)) {
    log_bytes -= r->total;
    live_bytes -= r->live;
    --log_rows;
    *r = {};
  }
  while (!rows.empty() && rows.front().total == 0) {
    rows.pop_front();
    ++rows_base;
  }
}

// -- write path -------------------------------------------------------------------------

void engine::impl::layout_rows(std::vector<pending_record>& recs) {
  // Row bodies are reused across commits: their buffers keep their capacity, so a
  // commit allocates (and page-faults) nothing once the first few have run.
  body_count = 0;
  std::uint64_t seq = next_seq;
  for (auto& r : recs) {
    std::size_t bytes = record_header_bytes + r.key.size() + r.stored.size();
    if (body_count == 0 || (!bodies[body_count - 1].empty() &&
                            bodies[body_count - 1].size() + bytes > segment_bytes_target)) {
      if (body_count > 0) ++seq;
      if (bodies.size() == body_count) bodies.emplace_back();
      bodies[body_count].clear();
      ++body_count;
    }
    std::string& body = bodies[body_count - 1];
    auto off = body.size();
    auto len = encode_record(body, r.key, r.stored, r.ver, r.flags);
    r.loc = location{seq, static_cast<std::uint32_t>(off), static_cast<std::uint32_t>(len)};
  }
}

void engine::impl::maybe_compress(pending_record& r) {
  if (opts.compress_bytes_min == 0 || r.stored.size() < opts.compress_bytes_min) return;
  if (!cctx) cctx = ZSTD_createCCtx();
  std::string z(ZSTD_compressBound(r.stored.size()), '\0');
  auto n = ZSTD_compressCCtx(cctx, z.data(), z.size(), r.stored.data(), r.stored.size(), 1);
  if (ZSTD_isError(n) || n >= r.stored.size() / 8 * 7) return; // not worth it
  z.resize(n);
  compressed.push_back(std::move(z)); // reserved by apply: views into it stay valid
  r.stored = compressed.back();
  r.flags |= flag_zstd;
}

status engine::impl::write_rows(std::vector<pending_record>& recs) {
  layout_rows(recs);
  std::uint64_t entries_stored = index_entries_stored;
  status written = log->transaction([&] {
    status st;
    for (std::size_t i = 0; st && i < body_count; ++i)
      st = log->insert_row(next_seq + i, bodies[i]);
    if (st) st = note_index_entries(recs.size(), entries_stored);
    return st;
  });
  if (!written) return written;
  index_entries_stored = entries_stored;
  transactions.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < body_count; ++i)
    add_row(next_seq + i, static_cast<std::uint32_t>(bodies[i].size()));
  next_seq += body_count;
  release_spare_bodies();
  // Under `always` the WAL is synced before anything is published, so no reader can
  // see a write that power loss could still take away. If the sync fails, the rows
  // stay (their records unpublished, counted dead) and the caller reports the
  // outcome as unknown: replay after a restart may bring them back.
  if (opts.fsync == fsync_policy::always) return log->sync_wal();
  return {};
}

status engine::impl::note_index_entries(std::size_t incoming, std::uint64_t& stored) {
  // Small indexes grow quickly enough on their own: no meta write for the first 1024.
  constexpr std::uint64_t slack = 1024;
  const std::uint64_t now = keys + tombstones + incoming;
  if (now <= stored + stored / 8 + slack && now + now / 4 >= stored) return {};
  if (status put = log->meta_put(index_entries_meta_key, std::to_string(now)); !put) return put;
  stored = now;
  return {};
}

void engine::impl::release_spare_bodies() noexcept {
  // Keep a few segment buffers for the next commits; a burst of large commits or one
  // huge value must not pin memory outside the cache budget.
  constexpr std::size_t bodies_kept = 4;
  if (bodies.size() > bodies_kept) bodies.resize(bodies_kept);
  for (auto& b : bodies) {
    if (b.capacity() > 2 * segment_bytes_target) std::string().swap(b);
  }
}

void engine::impl::publish(std::string_view key, std::uint64_t h, const version& ver,
                           const location& loc, bool tombstone, const std::string_view* value,
                           bool replay) {
  bool cache = !tombstone && value && tbl.cacheable(value->size()) &&
               (!replay || tbl.cache_bytes() + value->size() <= tbl.cache_bytes_max());
  shard& s = tbl.shard_for(h);
  location old;
  bool had = false, had_tombstone = false;
  s.lock.lock();
  index_entry* e = s.find(h, key);
  if (e == nullptr) {
    e = s.insert(h, key, cache ? value->size() : 0);
  } else if (!(e->ver() < ver)) {
    s.lock.unlock();
    return; // stale: the stored version wins, this record is dead on arrival
  } else {
    had = true;
    had_tombstone = e->tombstone();
    old = e->loc();
    digest_add(h, e->ver(), had_tombstone, true);
  }
  digest_add(h, ver, tombstone, false);
  e->set_record(ver, loc, tombstone);
  if (cache)
    tbl.cache_value(s, h, e, *value);
  else
    tbl.drop_value(s, h, e);
  s.lock.unlock();

  if (had) {
    if (auto* r = row(old.row)) r->live -= old.length;
    live_bytes -= old.length;
    (had_tombstone ? tombstones : keys) -= 1;
  }
  if (auto* r = row(loc.row)) r->live += loc.length;
  live_bytes += loc.length;
  (tombstone ? tombstones : keys) += 1;
}

void engine::impl::digest_add(std::uint64_t hash, const version& v, bool tombstone,
                              bool remove) noexcept {
  std::uint64_t t = digest_term(hash, v, tombstone);
  auto& d = digests[partition_of(hash)];
  d.fetch_add(remove ? (~t + 1) : t, std::memory_order_relaxed); // mod 2^64
}

namespace {

/// For every op, the index of the op that wins for its key among the call's replicated
/// ops (the highest version, the first of equals); local ops (hlc 0) map to themselves.
/// Replicated ops of one key in one call can arrive newest first (a group commit mixes
/// client batches, peers' batches, hints and repairs), and only the newest is written:
/// the log must hold each key's records in version order, or compaction could drop a
/// tombstone and leave an older record behind it to come back at the next replay.
/// Found by sorting the replicated ops by key hash (no allocation per op, as a hash map
/// of keys took): only ops of equal hashes are compared by key.
void newest_of_each_key(const write_op* ops, std::size_t n,
                        const std::vector<std::uint64_t>& hashes, std::vector<std::size_t>& best) {
  best.resize(n);
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < n; ++i) {
    best[i] = i;
    if (ops[i].ver.hlc != 0) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return hashes[a] != hashes[b] ? hashes[a] < hashes[b] : a < b;
  });
  for (std::size_t lo = 0, hi = 0; lo < order.size(); lo = hi) {
    for (hi = lo + 1; hi < order.size() && hashes[order[hi]] == hashes[order[lo]];)
      ++hi;
    if (hi - lo == 1) continue; // the common case: the key is written once
    for (std::size_t a = lo; a < hi; ++a) {
      const std::string_view key = ops[order[a]].key;
      std::size_t winner = n;
      for (std::size_t b = lo; b < hi; ++b) { // ascending op index: the first of equals wins
        const std::size_t j = order[b];
        if (ops[j].key == key && (winner == n || ops[winner].ver < ops[j].ver)) winner = j;
      }
      best[order[a]] = winner;
    }
  }
}

} // namespace

version engine::impl::stored_version(std::uint64_t hash, std::string_view key) {
  shard& s = tbl.shard_for(hash);
  s.lock.lock_shared();
  index_entry* e = s.find(hash, key);
  version v = e ? e->ver() : version{};
  s.lock.unlock_shared();
  return v;
}

errc engine::apply(const write_op* ops, std::size_t n, std::vector<version>* assigned) {
  impl& m = *impl_;
  if (assigned) assigned->assign(n, version{});
  if (n == 0) return errc::ok;
  std::vector<pending_record> recs;
  std::vector<std::size_t> op_of; // recs[i] came from ops[op_of[i]]
  recs.reserve(n);
  op_of.reserve(n);
  m.compressed.clear();
  m.compressed.reserve(n);
  bool first_local = true;
  // Every op touches its key's index entry (replicated ones twice: their stored version
  // first), so the hashes are computed once and the lookups prefetched.
  std::vector<std::uint64_t> hashes(n);
  bool replicated = false;
  for (std::size_t i = 0; i < n; ++i) {
    hashes[i] = table::hash_key(ops[i].key);
    replicated = replicated || ops[i].ver.hlc != 0;
  }
  std::vector<std::size_t> newest;
  std::vector<version> stored; // replicated ops: the version the index holds for the key
  if (replicated) {
    newest_of_each_key(ops, n, hashes, newest);
    stored.resize(n);
    m.visit_prefetched(hashes, [&](std::size_t i) {
      if (ops[i].ver.hlc != 0) stored[i] = m.stored_version(hashes[i], ops[i].key);
    });
  }
  for (std::size_t i = 0; i < n; ++i) {
    const write_op& op = ops[i];
    if (op.key.empty() || op.key.size() > key_bytes_max) return errc::bad_request;
    if (!op.tombstone && op.value.size() > m.opts.value_bytes_max) return errc::too_large;
    version v = op.ver;
    if (v.hlc == 0) {
      v = first_local ? m.clock.now() : m.clock.tick(); // one clock read per batch
      first_local = false;
    } else {
      m.clock.observe(v);
      const version cur = stored[i];
      const std::size_t best = newest[i];
      if (best != i || !(cur < v)) { // loses to the stored version or to a newer op here
        if (assigned) (*assigned)[i] = best != i && cur < ops[best].ver ? ops[best].ver : cur;
        continue;
      }
    }
    if (assigned) (*assigned)[i] = v;
    pending_record r{op.key,
                     op.tombstone ? std::string_view{} : op.value,
                     v,
                     op.tombstone ? flag_tombstone : std::uint8_t{0},
                     {}};
    if (!op.tombstone) m.maybe_compress(r);
    recs.push_back(r);
    op_of.push_back(i);
  }
  if (recs.empty()) return errc::ok;
  // On failure nothing was published: the index still matches the log.
  if (status written = m.write_rows(recs); !written) {
    ++m.commit_failures;
    return written.code();
  }
  // Publishing touches one random index entry per write.
  std::vector<std::uint64_t> rec_hashes(recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i)
    rec_hashes[i] = hashes[op_of[i]];
  m.visit_prefetched(rec_hashes, [&](std::size_t i) {
    const write_op& op = ops[op_of[i]];
    m.publish(op.key, rec_hashes[i], recs[i].ver, recs[i].loc, op.tombstone, &op.value, false);
  });
  m.commits += 1;
  m.writes_committed += recs.size();
  m.tbl.maybe_evict();
  return errc::ok;
}

} // namespace minivault::storage
