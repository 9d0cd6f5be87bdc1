#include "actors/cluster/geo/outbox.hpp"

#include <algorithm>

namespace minivault {

namespace {

struct statement_guard {
  sqlite3_stmt* s;
  ~statement_guard() { sqlite3_finalize(s); }
};

} // namespace

bool outbox::exec(const char* sql) {
  return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

result<std::unique_ptr<outbox>>
outbox::open(const std::string& path, std::vector<std::string> regions, std::size_t rows_max) {
  std::unique_ptr<outbox> o(new outbox());
  o->rows_max_ = rows_max;
  o->regions_.resize(std::max<std::size_t>(regions.size(), 1));
  for (std::size_t r = 0; r < regions.size(); ++r)
    o->regions_[r].name = std::move(regions[r]);
  auto fail = [&](const std::string& what) {
    return status(errc::io_error,
                  path + ": " + what + ": " + (o->db_ ? sqlite3_errmsg(o->db_) : "out of memory"));
  };
  if (sqlite3_open_v2(path.c_str(), &o->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK)
    return fail("cannot open");
  sqlite3_busy_timeout(o->db_, 1000);
  if (!o->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") ||
      !o->exec("CREATE TABLE IF NOT EXISTS outbox(region TEXT NOT NULL, key BLOB NOT NULL, "
               "part INTEGER NOT NULL, hlc INTEGER NOT NULL, node INTEGER NOT NULL, "
               "added INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY(region, key)) "
               "WITHOUT ROWID;"))
    return fail("cannot create the outbox table");
  sqlite3_stmt* scan = nullptr;
  if (sqlite3_prepare_v2(o->db_,
                         "SELECT region, key, part, hlc, node, added, bytes FROM outbox "
                         "ORDER BY added",
                         -1, &scan, nullptr) != SQLITE_OK)
    return fail("cannot read the outbox");
  statement_guard scan_guard{scan};
  std::vector<std::string> stale; // regions no longer configured
  while (sqlite3_step(scan) == SQLITE_ROW) {
    std::string region(reinterpret_cast<const char*>(sqlite3_column_text(scan, 0)));
    auto q = std::find_if(o->regions_.begin() + 1, o->regions_.end(),
                          [&](const region_queue& x) { return x.name == region; });
    if (q == o->regions_.end()) {
      if (std::find(stale.begin(), stale.end(), region) == stale.end()) stale.push_back(region);
      continue;
    }
    std::string key(static_cast<const char*>(sqlite3_column_blob(scan, 1)),
                    static_cast<std::size_t>(sqlite3_column_bytes(scan, 1)));
    item it;
    it.partition = static_cast<std::uint32_t>(sqlite3_column_int64(scan, 2));
    it.ver = storage::version{static_cast<std::uint64_t>(sqlite3_column_int64(scan, 3)),
                              static_cast<std::uint32_t>(sqlite3_column_int64(scan, 4))};
    it.added_ms = static_cast<std::uint64_t>(sqlite3_column_int64(scan, 5));
    it.bytes = static_cast<std::uint32_t>(sqlite3_column_int64(scan, 6));
    it.seq = o->next_seq_++;
    q->bytes += it.bytes;
    q->follow.emplace(it.seq, key); // no partition is led until set_leading
    q->by_key.emplace(std::move(key), it);
    ++o->total_rows_;
  }
  for (const auto& region : stale) {
    sqlite3_stmt* del = nullptr;
    if (sqlite3_prepare_v2(o->db_, "DELETE FROM outbox WHERE region = ?", -1, &del, nullptr) !=
        SQLITE_OK)
      return fail("cannot prepare");
    statement_guard del_guard{del};
    sqlite3_bind_text(del, 1, region.data(), static_cast<int>(region.size()), SQLITE_STATIC);
    if (sqlite3_step(del) != SQLITE_DONE) return fail("cannot drop region " + region);
  }
  if (sqlite3_prepare_v2(o->db_,
                         "INSERT OR REPLACE INTO outbox(region, key, part, hlc, node, added, "
                         "bytes) VALUES(?, ?, ?, ?, ?, ?, ?)",
                         -1, &o->upsert_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(o->db_, "DELETE FROM outbox WHERE region = ? AND key = ?", -1, &o->delete_,
                         nullptr) != SQLITE_OK)
    return fail("cannot prepare");
  return o;
}

outbox::~outbox() {
  sqlite3_finalize(upsert_);
  sqlite3_finalize(delete_);
  sqlite3_close(db_);
}

bool outbox::store(const std::string& region, const std::string& key, const item& it) {
  sqlite3_reset(upsert_);
  sqlite3_bind_text(upsert_, 1, region.data(), static_cast<int>(region.size()), SQLITE_STATIC);
  sqlite3_bind_blob64(upsert_, 2, key.data(), key.size(), SQLITE_STATIC);
  sqlite3_bind_int64(upsert_, 3, it.partition);
  sqlite3_bind_int64(upsert_, 4, static_cast<sqlite3_int64>(it.ver.hlc));
  sqlite3_bind_int64(upsert_, 5, it.ver.node);
  sqlite3_bind_int64(upsert_, 6, static_cast<sqlite3_int64>(it.added_ms));
  sqlite3_bind_int64(upsert_, 7, it.bytes);
  const bool ok = sqlite3_step(upsert_) == SQLITE_DONE;
  sqlite3_clear_bindings(upsert_);
  return ok;
}

bool outbox::erase(const std::string& region, const std::string& key) {
  sqlite3_reset(delete_);
  sqlite3_bind_text(delete_, 1, region.data(), static_cast<int>(region.size()), SQLITE_STATIC);
  sqlite3_bind_blob64(delete_, 2, key.data(), key.size(), SQLITE_STATIC);
  const bool ok = sqlite3_step(delete_) == SQLITE_DONE;
  sqlite3_clear_bindings(delete_);
  return ok;
}

void outbox::enqueue(region_queue& q, const std::string& key, const item& it) {
  (leads(it.partition) ? q.lead : q.follow).emplace(it.seq, key);
}

void outbox::forget(region_queue& q, std::unordered_map<std::string, item>::iterator it) {
  const item& i = it->second;
  (i.flying ? q.flying : leads(i.partition) ? q.lead : q.follow).erase(i.seq);
  q.bytes -= i.bytes;
  --total_rows_;
  q.by_key.erase(it);
}

void outbox::remember_shipped(region_queue& q, const std::string& key, storage::version v) {
  auto [it, fresh] = q.recent.try_emplace(key, v);
  if (!fresh) {
    it->second = std::max(it->second, v);
    return;
  }
  q.recent_order.push_back(key);
  if (q.recent_order.size() > outbox_recent_max) {
    q.recent.erase(q.recent_order.front());
    q.recent_order.pop_front();
  }
}

errc outbox::add(const std::vector<write>& writes, std::uint64_t now_ms,
                 std::vector<overflow>& dropped) {
  std::unordered_map<std::string_view, const write*> newest; // per key, within the group
  for (const write& w : writes) {
    auto [it, fresh] = newest.try_emplace(w.key, &w);
    if (!fresh && it->second->ver < w.ver) it->second = &w;
  }
  if (!exec("BEGIN")) return errc::io_error;
  struct change {
    std::size_t region;
    std::string key;
    item it;
  };
  std::vector<change> changes;
  for (std::size_t r = 1; r < regions_.size(); ++r) {
    region_queue& q = regions_[r];
    for (const auto& [view, wp] : newest) {
      const write& w = *wp;
      std::string key(view);
      if (auto rec = q.recent.find(key); rec != q.recent.end() && !(rec->second < w.ver)) continue;
      auto old = q.by_key.find(key);
      if (old != q.by_key.end() && !(old->second.ver < w.ver)) continue;
      if (old == q.by_key.end() && total_rows_ + changes.size() >= rows_max_) {
        dropped.push_back({r, w.partition});
        continue;
      }
      item it{w.partition, w.ver, now_ms, w.bytes, 0, false};
      if (!store(q.name, key, it)) {
        (void)exec("ROLLBACK");
        return errc::io_error;
      }
      changes.push_back({r, std::move(key), it});
    }
  }
  if (!exec("COMMIT")) {
    (void)exec("ROLLBACK");
    return errc::io_error;
  }
  for (auto& c : changes) { // durable: now visible to take()
    region_queue& q = regions_[c.region];
    if (auto old = q.by_key.find(c.key); old != q.by_key.end()) forget(q, old);
    c.it.seq = next_seq_++;
    enqueue(q, c.key, c.it);
    q.bytes += c.it.bytes;
    ++total_rows_;
    q.by_key.emplace(std::move(c.key), c.it);
  }
  return errc::ok;
}

void outbox::take(std::size_t r, std::size_t rows_max, std::size_t bytes_max,
                  std::uint64_t follow_before_ms, std::vector<entry>& out) {
  region_queue& q = regions_[r];
  std::size_t bytes = 0;
  auto move_out = [&](std::map<std::uint64_t, std::string>& from,
                      std::map<std::uint64_t, std::string>::iterator at) {
    item& it = q.by_key.at(at->second);
    it.flying = true;
    bytes += it.bytes;
    out.push_back({at->second, it.ver, it.seq, it.added_ms});
    q.flying.emplace(at->first, std::move(at->second));
    from.erase(at);
  };
  auto room = [&](std::size_t rows) { return out.size() < rows && bytes < bytes_max; };
  // Live writes before catch-up: with more waiting than one batch, a quarter of it comes
  // from the newest end, so writes taken now are not queued behind a long backlog.
  if (q.lead.size() > rows_max)
    while (!q.lead.empty() && room(rows_max / 4))
      move_out(q.lead, std::prev(q.lead.end()));
  while (!q.lead.empty() && room(rows_max))
    move_out(q.lead, q.lead.begin());
  while (follow_before_ms != 0 && !q.follow.empty() && room(rows_max) &&
         q.by_key.at(q.follow.begin()->second).added_ms <= follow_before_ms)
    move_out(q.follow, q.follow.begin());
}

errc outbox::shipped(std::size_t r, const shipped_list& done) {
  region_queue& q = regions_[r];
  std::vector<std::unordered_map<std::string, item>::iterator> gone;
  for (const auto& [key, ver] : done) {
    remember_shipped(q, key, ver);
    auto it = q.by_key.find(key);
    if (it != q.by_key.end() && !(ver < it->second.ver)) gone.push_back(it);
  }
  if (gone.empty()) return errc::ok;
  bool ok = exec("BEGIN");
  for (auto it : gone)
    ok = ok && erase(q.name, it->first);
  ok = ok && exec("COMMIT");
  if (!ok) (void)exec("ROLLBACK");
  for (auto it : gone) // gone from memory either way: a restart ships what stayed on disk
    forget(q, it);
  return ok ? errc::ok : errc::io_error;
}

void outbox::unshipped(std::size_t r, const std::vector<entry>& batch) {
  region_queue& q = regions_[r];
  for (const entry& e : batch) {
    auto it = q.by_key.find(e.key);
    if (it == q.by_key.end() || it->second.seq != e.seq || !it->second.flying) continue;
    q.flying.erase(e.seq);
    it->second.flying = false;
    enqueue(q, it->first, it->second);
  }
}

void outbox::set_leading(std::vector<bool> leading) {
  leading_ = std::move(leading);
  for (std::size_t r = 1; r < regions_.size(); ++r) {
    region_queue& q = regions_[r];
    std::map<std::uint64_t, std::string> waiting;
    waiting.merge(q.lead);
    waiting.merge(q.follow);
    q.lead.clear();
    q.follow.clear();
    for (auto& [seq, key] : waiting)
      enqueue(q, key, q.by_key.at(key));
  }
}

std::uint64_t outbox::oldest_ms(std::size_t r) const {
  const region_queue& q = regions_[r];
  std::uint64_t oldest = 0;
  for (const auto* m : {&q.lead, &q.follow, &q.flying}) {
    if (m->empty()) continue;
    const std::uint64_t t = q.by_key.at(m->begin()->second).added_ms;
    if (oldest == 0 || t < oldest) oldest = t;
  }
  return oldest;
}

} // namespace minivault
