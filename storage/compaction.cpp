// Compaction: the log is cleaned oldest row first. Live records of the oldest rows are
// copied (same version, same stored bytes) into new rows at the head; then the index is
// pointed at the copies; only then are the old rows deleted, in a second transaction,
// so a reader holding an old location finds either the old row or, on retry, the new one.
//
// Oldest-first is what makes dropping tombstones safe: when a tombstone's row is the
// oldest, every older record of its key has already been cleaned away.
#include <chrono>

#include "storage/engine.hpp"
#include "storage/engine_impl.hpp"

namespace minivault::storage {

namespace {

bool needs_compaction(const engine::impl& m) {
  auto total = m.log_bytes.load();
  return total > m.opts.compact_log_bytes_min &&
         static_cast<double>(m.live_bytes.load()) <
             m.opts.compact_live_ratio_min * static_cast<double>(total);
}

/// True when the index still points at exactly this record.
bool is_live(engine::impl& m, const record_view& r, const location& loc) {
  std::uint64_t h = table::hash_key(r.key);
  shard& s = m.tbl.shard_for(h);
  s.lock.lock_shared();
  index_entry* e = s.find(h, r.key);
  bool live = e && e->loc().row == loc.row && e->loc().offset == loc.offset && e->ver() == r.ver;
  s.lock.unlock_shared();
  return live;
}

/// Removes the index entry of a tombstone whose grace period is over.
void drop_tombstone(engine::impl& m, const record_view& r) {
  std::uint64_t h = table::hash_key(r.key);
  shard& s = m.tbl.shard_for(h);
  s.lock.lock();
  index_entry* e = s.find(h, r.key);
  if (e && e->tombstone() && e->ver() == r.ver) {
    m.digest_add(h, e->ver(), true, true);
    s.erase(h, e);
    --m.tombstones;
  }
  s.lock.unlock();
}

/// Points the index at a record's new location if it still holds that version.
void relocate(engine::impl& m, const pending_record& r, const location& old) {
  std::uint64_t h = table::hash_key(r.key);
  shard& s = m.tbl.shard_for(h);
  s.lock.lock();
  index_entry* e = s.find(h, r.key);
  bool moved = e && e->ver() == r.ver && e->loc().row == old.row && e->loc().offset == old.offset;
  if (moved) e->set_location(r.loc);
  s.lock.unlock();
  if (moved) {
    if (auto* row = m.row(r.loc.row)) row->live += r.loc.length;
    if (auto* row = m.row(old.row)) row->live -= old.length;
  }
}

} // namespace

result<bool> engine::compact_step(std::size_t budget_bytes) {
  impl& m = *impl_;
  if (!needs_compaction(m) || m.rows.empty()) return false;

  // 1. Pick the oldest rows, at least one, up to the budget. A row nothing points at any
  //    more (live == 0: overwritten keys, tombstones already dropped) is deleted without
  //    being decoded or checked record by record. Under an overwrite-heavy load nearly
  //    every old row is such a row. It still counts fully against the budget: SQLite
  //    reads a row's overflow pages to delete it.
  std::vector<std::uint64_t> victims;
  std::vector<bool> must_read;
  std::size_t cost = 0;
  for (std::size_t i = 0; i < m.rows.size() && (victims.empty() || cost < budget_bytes); ++i) {
    if (m.rows[i].total == 0) continue;
    bool dead = m.rows[i].live == 0;
    victims.push_back(m.rows_base + i);
    must_read.push_back(!dead);
    cost += m.rows[i].total;
  }
  // 2. Collect the live records of the rows that have any (bodies kept alive for the
  //    views).
  std::vector<std::string> old_bodies(victims.size());
  std::vector<pending_record> keep;
  std::vector<location> old_locs;
  std::uint64_t now = wall_ms();
  std::uint64_t grace_cutoff = now - std::min(now, m.opts.tombstone_grace_ms);
  for (std::size_t v = 0; v < victims.size(); ++v) {
    if (!must_read[v]) continue;
    auto read = m.log->read_row(victims[v]);
    if (!read) return read.error();
    old_bodies[v] = std::move(read).value();
    std::string_view body = old_bodies[v];
    std::size_t off = 0, start = 0;
    record_view r;
    while (decode_record(body, off, r) == decode_state::ok) {
      location loc{victims[v], static_cast<std::uint32_t>(start),
                   static_cast<std::uint32_t>(off - start)};
      start = off;
      if (!is_live(m, r, loc)) continue;
      if (r.tombstone() && r.ver.physical_ms() <= grace_cutoff &&
          r.ver.physical_ms() < m.tombstone_horizon_ms.load(std::memory_order_relaxed)) {
        drop_tombstone(m, r);
        continue;
      }
      keep.push_back(pending_record{r.key, r.stored, r.ver, r.flags, {}});
      old_locs.push_back(loc);
    }
  }
  // 3. Write the survivors to new rows and repoint the index.
  if (!keep.empty()) {
    if (status written = m.write_rows(keep); !written) return written;
    for (std::size_t i = 0; i < keep.size(); ++i)
      relocate(m, keep[i], old_locs[i]);
  }
  // 4. Delete the old rows.
  status deleted = m.log->transaction([&] {
    status st;
    for (std::size_t v = 0; st && v < victims.size(); ++v)
      st = m.log->delete_row(victims[v]);
    return st;
  });
  if (!deleted) return deleted;
  for (auto seq : victims)
    m.forget_row(seq);
  return needs_compaction(m);
}

} // namespace minivault::storage
