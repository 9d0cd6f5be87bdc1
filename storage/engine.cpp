// Engine: construction, the durability housekeeping other threads run (sync, WAL
// checkpoints) and the statistics and accessors. The rest of the engine is split by path:
// engine_open.cpp (open + replay), engine_write.cpp (apply), engine_read.cpp (get),
// compaction.cpp; their shared state is engine_impl.hpp.
#include "storage/engine.hpp"

#include "storage/engine_impl.hpp"

namespace minivault::storage {

engine::engine(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
engine::~engine() = default;

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

// -- statistics and accessors -----------------------------------------------------------

engine_stats engine::stats() const {
  const impl& m = *impl_;
  engine_stats st;
  st.keys = m.keys;
  st.tombstones = m.tombstones;
  const table::shape slots = const_cast<table&>(m.tbl).slots_shape();
  st.index_slots = slots.slots;
  st.index_rehashes = slots.rehashes;
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

std::uint64_t engine::last_hlc() const noexcept {
  return impl_->clock.last();
}

void engine::set_tombstone_horizon_ms(std::uint64_t ms) noexcept {
  impl_->tombstone_horizon_ms.store(ms, std::memory_order_relaxed);
}

} // namespace minivault::storage
