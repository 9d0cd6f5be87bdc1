// Engine: open + replay, the write path (apply) and the read path (get).
//
// Write path: versions -> encode checksummed records into row bodies -> one SQLite
// transaction inserting the rows -> publish to the index/cache -> evict if over budget.
// Read path: shard shared lock -> cached value, or the record's location -> read that byte
// range of the row from SQLite -> verify -> (maybe) cache.
#include "storage/engine.hpp"
#include "storage/partition.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <unordered_map>

#include "protocol/assert.hpp"
#include "protocol/limits.hpp"
#include "storage/engine_impl.hpp"

namespace minivault::storage {

namespace {

std::uint64_t file_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::uint32_t random_node_id() {
  std::random_device rd;
  std::uint32_t id = 0;
  while (id == 0)
    id = rd();
  return id;
}

ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(),
                                                                       ZSTD_freeDCtx);
  return dctx.get();
}

} // namespace

errc decompress_value(std::string_view stored, std::size_t max_bytes, std::string& out) {
  auto size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) return errc::corrupt;
  if (size > max_bytes) return errc::too_large;
  out.resize(size);
  auto n = ZSTD_decompressDCtx(thread_dctx(), out.data(), out.size(), stored.data(), stored.size());
  if (ZSTD_isError(n) || n != size) return errc::corrupt;
  return errc::ok;
}

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
  status written = log->transaction([this] {
    status st;
    for (std::size_t i = 0; st && i < body_count; ++i)
      st = log->insert_row(next_seq + i, bodies[i]);
    return st;
  });
  if (!written) return written;
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
    e = s.insert(h, key);
  } else if (!(e->ver < ver)) {
    s.lock.unlock();
    return; // stale: the stored version wins, this record is dead on arrival
  } else {
    had = true;
    had_tombstone = e->tombstone;
    old = e->loc;
  }
  if (had) digest_add(h, e->ver, e->tombstone, true);
  digest_add(h, ver, tombstone, false);
  e->ver = ver;
  e->loc = loc;
  e->tombstone = tombstone;
  if (cache)
    tbl.cache_value(*e, *value);
  else
    tbl.drop_value(*e);
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
  // Replicated ops of one key in one call can arrive newest first (a group commit mixes
  // client batches, peers' batches, hints and repairs). Only the newest is written: the
  // log must hold each key's records in version order, or compaction could drop a
  // tombstone and leave an older record behind it to come back at the next replay.
  std::unordered_map<std::string_view, std::size_t> newest; // key -> op index
  for (std::size_t i = 0; i < n; ++i) {
    if (ops[i].ver.hlc == 0) continue;
    auto [it, fresh] = newest.emplace(ops[i].key, i);
    if (!fresh && ops[it->second].ver < ops[i].ver) it->second = i;
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
      version cur = version_of(op.key);
      const std::size_t best = newest.at(op.key);
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
  // Publishing touches one random index entry per write: prefetch slots 16 writes
  // ahead and entries 8 ahead, so the cache misses overlap instead of queueing.
  std::vector<std::uint64_t> hashes(recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i)
    hashes[i] = table::hash_key(recs[i].key);
  constexpr std::size_t slot_ahead = 16, entry_ahead = 8;
  for (std::size_t i = 0; i < recs.size() && i < slot_ahead; ++i)
    m.tbl.shard_for(hashes[i]).prefetch_slot(hashes[i]);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    if (i + slot_ahead < recs.size())
      m.tbl.shard_for(hashes[i + slot_ahead]).prefetch_slot(hashes[i + slot_ahead]);
    if (i + entry_ahead < recs.size())
      m.tbl.shard_for(hashes[i + entry_ahead]).prefetch_entry(hashes[i + entry_ahead]);
    const write_op& op = ops[op_of[i]];
    m.publish(op.key, hashes[i], recs[i].ver, recs[i].loc, op.tombstone, &op.value, false);
  }
  m.commits += 1;
  m.writes_committed += recs.size();
  m.tbl.maybe_evict();
  return errc::ok;
}

status engine::sync() {
  return impl_->log->sync_wal();
}

result<std::uint64_t> engine::checkpoint(bool restart) {
  auto out = impl_->checkpointer->run(restart);
  if (!out) return out.error();
  return out->wal_frames > 0 ? static_cast<std::uint64_t>(out->wal_frames) : 0;
}

std::uint32_t engine::page_bytes() const noexcept {
  return impl_->log->page_bytes(); // the file's own, which may predate opts.page_bytes
}

std::uint64_t engine::wal_bytes() const {
  return file_bytes(impl_->log->path() + "-wal");
}

// -- read path --------------------------------------------------------------------------

void engine::prefetch(const std::string_view* keys, std::size_t n) const noexcept {
  n = std::min(n, prefetch_keys_max);
  std::uint64_t hashes[prefetch_keys_max];
  for (std::size_t i = 0; i < n; ++i)
    hashes[i] = table::hash_key(keys[i]);
  // Slots first, then (the slots now loaded or on their way) the entries they point at.
  for (bool entry : {false, true}) {
    for (std::size_t i = 0; i < n; ++i) {
      shard& s = impl_->tbl.shard_for(hashes[i]);
      s.lock.lock_shared(); // the slot array may be regrown by the writer
      if (entry)
        s.prefetch_entry(hashes[i]);
      else
        s.prefetch_slot(hashes[i]);
      s.lock.unlock_shared();
    }
  }
}

namespace {

/// The read path shared by get() and read_record(): with `want_meta`, tombstones are
/// found too and their version reported.
template <bool want_meta>
inline get_status lookup(engine::impl& m, std::string_view key, value_sink on_value,
                         version* ver_out, bool* tombstone_out) {
  std::uint64_t h = table::hash_key(key);
  shard& s = m.tbl.shard_for(h);
  std::string rec, plain;
  // A record can move (compaction) between reading its location and reading its row;
  // then the row or the record there no longer matches and the lookup starts again.
  for (int attempt = 0; attempt < 64; ++attempt) {
    s.lock.lock_shared();
    index_entry* e = s.find(h, key);
    if (e == nullptr || (!want_meta && e->tombstone)) {
      s.lock.unlock_shared();
      return get_status::not_found;
    }
    if constexpr (want_meta) {
      *ver_out = e->ver;
      *tombstone_out = e->tombstone;
      if (e->tombstone) {
        s.lock.unlock_shared();
        return get_status::found;
      }
    }
    if (e->cached) {
      if (e->referenced.load(std::memory_order_relaxed) == 0)
        e->referenced.store(1, std::memory_order_relaxed);
      s.hits.fetch_add(1, std::memory_order_relaxed);
      on_value(e->value);
      s.lock.unlock_shared();
      return get_status::found;
    }
    location loc = e->loc;
    version ver = e->ver;
    s.misses.fetch_add(1, std::memory_order_relaxed);
    s.lock.unlock_shared();

    errc rc = m.readers->read_range(loc.row, loc.offset, loc.length, rec);
    if (rc == errc::not_found) continue;
    if (rc != errc::ok) return get_status::error;
    std::size_t off = 0;
    record_view rv;
    if (decode_record(rec, off, rv) != decode_state::ok || rv.key != key || rv.ver != ver)
      continue; // moved or rewritten since we read the location
    std::string_view value = rv.stored;
    if (rv.compressed()) {
      if (decompress_value(rv.stored, value_bytes_max_ceiling, plain) != errc::ok)
        return get_status::error;
      value = plain;
    }
    on_value(value);
    if (m.tbl.cacheable(value.size())) {
      s.lock.lock();
      index_entry* again = s.find(h, key);
      if (again && again->ver == ver && !again->cached) m.tbl.cache_value(*again, value);
      s.lock.unlock();
      m.tbl.maybe_evict();
    }
    return get_status::found;
  }
  return get_status::error;
}

} // namespace

// Kept out of line on purpose: with LTO, inlining it into a caller's tight loop made
// cache-resident gets 1.6x slower (12M vs 19M/s measured, engine_bench BM_get).
__attribute__((noinline)) get_status engine::get(std::string_view key, value_sink on_value) {
  return lookup<false>(*impl_, key, on_value, nullptr, nullptr);
}

get_status engine::read_record(std::string_view key, std::string& value, version& ver,
                               bool& tombstone) {
  value.clear();
  auto copy = [&value](std::string_view v) { value.assign(v.data(), v.size()); };
  return lookup<true>(*impl_, key, value_sink(copy), &ver, &tombstone);
}

std::uint64_t engine::last_hlc() const noexcept {
  return impl_->clock.last();
}

void engine::partition_digests(std::vector<std::uint64_t>& out) const {
  out.resize(partition_count);
  for (std::uint32_t p = 0; p < partition_count; ++p)
    out[p] = impl_->digests[p].load(std::memory_order_relaxed);
}

void engine::partition_keys(std::uint32_t p, std::vector<key_version>& out) const {
  table& t = impl_->tbl;
  // The shard bits are the low bits of the partition bits, so one shard holds it all.
  shard& s = t.shard_at(p & (t.shard_count() - 1));
  s.lock.lock_shared();
  for (std::size_t i = 0; i < s.slot_count(); ++i) {
    const index_entry* e = s.slot(i);
    if (e == nullptr || partition_of(e->hash) != p) continue;
    out.push_back(key_version{std::string(e->key()), e->ver, e->tombstone});
  }
  s.lock.unlock_shared();
}

void engine::set_tombstone_horizon_ms(std::uint64_t ms) noexcept {
  impl_->tombstone_horizon_ms.store(ms, std::memory_order_relaxed);
}

get_status engine::get(std::string_view key, std::string& out) {
  auto copy = [&out](std::string_view v) { out.assign(v.data(), v.size()); };
  return get(key, value_sink(copy));
}

version engine::version_of(std::string_view key) const {
  std::uint64_t h = table::hash_key(key);
  shard& s = impl_->tbl.shard_for(h);
  s.lock.lock_shared();
  index_entry* e = s.find(h, key);
  version v = e ? e->ver : version{};
  s.lock.unlock_shared();
  return v;
}

engine_stats engine::stats() const {
  const impl& m = *impl_;
  engine_stats st;
  st.keys = m.keys;
  st.tombstones = m.tombstones;
  st.cache_items = m.tbl.cache_items();
  st.cache_bytes = m.tbl.cache_bytes();
  for (std::size_t i = 0; i < m.tbl.shard_count(); ++i) {
    auto& s = const_cast<table&>(m.tbl).shard_at(i);
    st.cache_hits += s.hits.load(std::memory_order_relaxed);
    st.cache_misses += s.misses.load(std::memory_order_relaxed);
  }
  st.log_bytes = m.log_bytes;
  st.live_bytes = m.live_bytes;
  st.log_rows = m.log_rows;
  const std::string& db = m.log->path();
  st.storage_bytes = file_bytes(db) + file_bytes(db + "-wal");
  st.commits = m.commits;
  st.writes_committed = m.writes_committed;
  st.corrupt_records_cut = m.corrupt_cut;
  st.commit_failures = m.commit_failures;
  st.node_id = m.clock.node();
  return st;
}

std::size_t engine::value_bytes_max() const noexcept {
  return impl_->opts.value_bytes_max;
}

std::uint32_t engine::node_id() const noexcept {
  return impl_->clock.node();
}

std::uint64_t engine::commit_count() const noexcept {
  return impl_->commits.load();
}

std::uint64_t engine::transaction_count() const noexcept {
  return impl_->transactions.load(std::memory_order_relaxed);
}

// -- open + replay ----------------------------------------------------------------------

engine::engine(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
engine::~engine() = default;

namespace {

/// This node's id: the one the meta table holds, else `wanted` (0: a random one), stored.
result<std::uint32_t> load_node_id(sqlite_log& log, std::uint32_t wanted) {
  auto stored = log.meta_get("node_id");
  if (!stored) return status(stored.error().code(), "reading node id: " + stored.error().reason());
  if (const auto& text = *stored) {
    auto node = static_cast<std::uint32_t>(std::strtoul(text->c_str(), nullptr, 10));
    if (node == 0) return status(errc::corrupt, "meta table holds an invalid node id '" + *text + "'");
    return node;
  }
  std::uint32_t node = wanted ? wanted : random_node_id();
  if (status put = log.meta_put("node_id", std::to_string(node)); !put)
    return status(put.code(), "writing node id: " + put.reason());
  return node;
}

} // namespace

result<std::unique_ptr<engine>> engine::open(const engine_options& opts) {
  std::error_code fs_err;
  std::filesystem::create_directories(opts.dir, fs_err);
  if (fs_err)
    return status(errc::io_error,
                  "cannot create data directory " + opts.dir + ": " + fs_err.message());
  auto lock = dir_lock::acquire(opts.dir);
  if (!lock) return lock.error();
  sqlite_settings ss{opts.dir + "/minivault.db", opts.fsync, opts.page_bytes, opts.db_pages_max};
  if (opts.background_checkpoints) {
    ss.autocheckpoint_bytes = opts.wal_bytes_safety_max;
    ss.wal_keep_bytes = -1; // the WAL file stays at its high mark: no truncation stalls
  }
  auto log = sqlite_log::open(ss);
  if (!log) return log.error();
  auto node = load_node_id(**log, opts.node_id);
  if (!node) return node.error();
  auto m = std::make_unique<impl>(opts, *node);
  m->lock = std::move(lock).value();
  m->log = std::move(log).value();
  m->readers = std::make_unique<reader_pool>(ss.path);
  m->checkpointer = std::make_unique<wal_checkpointer>(ss.path, opts.fsync);
  if (status replayed = m->replay(); !replayed)
    return status(replayed.code(), "replaying the log: " + replayed.reason());
  return std::unique_ptr<engine>(new engine(std::move(m)));
}

void engine::impl::cut_row(std::uint64_t seq, std::string_view body, std::size_t keep_bytes) {
  // Keep a copy of the damaged row for forensics, then cut it at the first bad record.
  // Failures here are not fatal: replay already ignores everything past the cut.
  (void)log->quarantine_row(seq, body);
  if (keep_bytes == 0)
    (void)log->delete_row(seq);
  else
    (void)log->update_row(seq, body.substr(0, keep_bytes));
  ++corrupt_cut;
}

status engine::impl::replay() {
  struct cut {
    std::uint64_t seq;
    std::string body;
    std::size_t keep;
  };
  std::vector<cut> cuts;
  std::string plain;
  status scanned = log->scan([&](std::uint64_t seq, std::string_view body) {
    std::size_t off = 0, good = 0;
    record_view rv;
    decode_state ds;
    std::vector<std::pair<record_view, location>> recs;
    while ((ds = decode_record(body, off, rv)) == decode_state::ok) {
      recs.push_back({rv, location{seq, static_cast<std::uint32_t>(good),
                                   static_cast<std::uint32_t>(off - good)}});
      good = off;
    }
    if (ds == decode_state::corrupt) cuts.push_back({seq, std::string(body), good});
    if (good > 0) add_row(seq, static_cast<std::uint32_t>(good));
    for (auto& [r, loc] : recs) {
      clock.observe(r.ver);
      std::string_view value = r.stored;
      const std::string_view* vp = &value;
      if (r.compressed()) {
        vp = decompress_value(r.stored, value_bytes_max_ceiling, plain) == errc::ok ? &value
                                                                                    : nullptr;
        value = plain;
      }
      publish(r.key, table::hash_key(r.key), r.ver, loc, r.tombstone(), vp, true);
    }
    next_seq = seq + 1;
    return true;
  });
  if (!scanned || cuts.empty()) return scanned;
  return log->transaction([&] {
    for (auto& c : cuts)
      cut_row(c.seq, c.body, c.keep);
    return status();
  });
}

} // namespace minivault::storage
