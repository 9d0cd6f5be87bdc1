// Engine read path (get, read_record): shard shared lock -> cached value, or the record's
// location -> read that byte range of the row from SQLite -> verify -> (maybe) cache.
// Also the other lock-free readers: prefetch, version_of, and the partition digests and
// key lists anti-entropy compares.
#include <algorithm>

#include "protocol/limits.hpp"
#include "storage/engine.hpp"
#include "storage/engine_impl.hpp"
#include "storage/partition.hpp"

namespace minivault::storage {

namespace {

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
    if (e == nullptr || (!want_meta && e->tombstone())) {
      s.lock.unlock_shared();
      return get_status::not_found;
    }
    if constexpr (want_meta) {
      *ver_out = e->ver();
      *tombstone_out = e->tombstone();
      if (e->tombstone()) {
        s.lock.unlock_shared();
        return get_status::found;
      }
    }
    if (e->cached()) {
      e->touch();
      s.hits.fetch_add(1, std::memory_order_relaxed);
      on_value(e->value());
      s.lock.unlock_shared();
      return get_status::found;
    }
    location loc = e->loc();
    version ver = e->ver();
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
      if (again && again->ver() == ver && !again->cached()) m.tbl.cache_value(s, h, again, value);
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

get_status engine::get(std::string_view key, std::string& out) {
  auto copy = [&out](std::string_view v) { out.assign(v.data(), v.size()); };
  return get(key, value_sink(copy));
}

version engine::version_of(std::string_view key) const {
  return impl_->stored_version(table::hash_key(key), key);
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
    if (e == nullptr || partition_of(table::hash_key(e->key())) != p) continue;
    out.push_back(key_version{std::string(e->key()), e->ver(), e->tombstone()});
  }
  s.lock.unlock_shared();
}

} // namespace minivault::storage
