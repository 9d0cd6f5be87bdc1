#include "actors/cluster/geo/repair_marks.hpp"

#include <algorithm>

#include "storage/partition.hpp"

namespace minivault {

namespace {

bool exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

} // namespace

result<std::unique_ptr<repair_marks>> repair_marks::open(const std::string& path,
                                                         std::vector<std::string> regions) {
  std::unique_ptr<repair_marks> m(new repair_marks());
  m->regions_.resize(std::max<std::size_t>(regions.size(), 1));
  for (std::size_t r = 0; r < regions.size(); ++r) {
    m->regions_[r].name = std::move(regions[r]);
    m->regions_[r].marked_ms.assign(storage::partition_count, 0);
  }
  auto fail = [&](const std::string& what) {
    return status(errc::io_error,
                  path + ": " + what + ": " + (m->db_ ? sqlite3_errmsg(m->db_) : "out of memory"));
  };
  if (sqlite3_open_v2(path.c_str(), &m->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK)
    return fail("cannot open");
  sqlite3_busy_timeout(m->db_, 1000);
  if (!exec(m->db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") ||
      !exec(m->db_, "CREATE TABLE IF NOT EXISTS marks(region TEXT NOT NULL, part INTEGER NOT "
                    "NULL, PRIMARY KEY(region, part)) WITHOUT ROWID;"))
    return fail("cannot create the marks table");
  sqlite3_stmt* scan = nullptr;
  if (sqlite3_prepare_v2(m->db_, "SELECT region, part FROM marks", -1, &scan, nullptr) != SQLITE_OK)
    return fail("cannot read the marks");
  bool stale = false; // a region no longer configured, or a partition out of range
  while (sqlite3_step(scan) == SQLITE_ROW) {
    const std::string region(reinterpret_cast<const char*>(sqlite3_column_text(scan, 0)));
    const auto p = static_cast<std::uint64_t>(sqlite3_column_int64(scan, 1));
    auto it = std::find_if(m->regions_.begin() + 1, m->regions_.end(),
                           [&](const region_marks& x) { return x.name == region; });
    if (it == m->regions_.end() || p >= storage::partition_count) {
      stale = true;
      continue;
    }
    if (it->marked_ms[p] == 0) ++it->count;
    it->marked_ms[p] = 1; // before any comparison made after this start
  }
  sqlite3_finalize(scan);
  if (sqlite3_prepare_v2(m->db_, "INSERT OR IGNORE INTO marks(region, part) VALUES(?, ?)", -1,
                         &m->insert_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(m->db_, "DELETE FROM marks WHERE region = ? AND part = ?", -1, &m->delete_,
                         nullptr) != SQLITE_OK)
    return fail("cannot prepare");
  if (stale) { // rewrite what is kept
    if (!exec(m->db_, "DELETE FROM marks")) return fail("cannot drop stale marks");
    for (std::size_t r = 1; r < m->regions_.size(); ++r)
      if (!m->write_rows(true, m->regions_[r].name, m->marked_unlocked(r)))
        return fail("cannot rewrite the marks");
  }
  return m;
}

repair_marks::~repair_marks() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(delete_);
  sqlite3_close(db_);
}

bool repair_marks::write_rows(bool insert, const std::string& region,
                              const std::vector<std::uint32_t>& parts) {
  if (parts.empty()) return true;
  sqlite3_stmt* s = insert ? insert_ : delete_;
  bool ok = exec(db_, "BEGIN");
  for (std::uint32_t p : parts) {
    if (!ok) break;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, region.data(), static_cast<int>(region.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, p);
    ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_clear_bindings(s);
  }
  if (ok && exec(db_, "COMMIT")) return true;
  (void)exec(db_, "ROLLBACK");
  return false;
}

errc repair_marks::mark(std::size_t r, const std::vector<std::uint32_t>& parts,
                        std::uint64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (r == 0 || r >= regions_.size()) return errc::bad_request;
  region_marks& rm = regions_[r];
  std::vector<std::uint32_t> fresh;
  for (std::uint32_t p : parts) {
    if (p >= storage::partition_count) continue;
    if (rm.marked_ms[p] == 0) {
      fresh.push_back(p);
      ++rm.count;
    }
    rm.marked_ms[p] = std::max(rm.marked_ms[p], now_ms);
  }
  return write_rows(true, rm.name, fresh) ? errc::ok : errc::io_error;
}

errc repair_marks::clear(std::size_t r, const std::vector<std::uint32_t>& parts,
                         std::uint64_t compared_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (r == 0 || r >= regions_.size()) return errc::bad_request;
  region_marks& rm = regions_[r];
  std::vector<std::uint32_t> gone;
  for (std::uint32_t p : parts) {
    if (p >= storage::partition_count || rm.marked_ms[p] == 0 || rm.marked_ms[p] > compared_ms)
      continue;
    rm.marked_ms[p] = 0;
    --rm.count;
    gone.push_back(p);
  }
  return write_rows(false, rm.name, gone) ? errc::ok : errc::io_error;
}

std::vector<std::uint32_t> repair_marks::marked(std::size_t r) const {
  std::lock_guard<std::mutex> lock(mu_);
  return marked_unlocked(r);
}

std::vector<std::uint32_t> repair_marks::marked_unlocked(std::size_t r) const {
  std::vector<std::uint32_t> out;
  if (r == 0 || r >= regions_.size()) return out;
  for (std::uint32_t p = 0; p < storage::partition_count; ++p)
    if (regions_[r].marked_ms[p] != 0) out.push_back(p);
  return out;
}

bool repair_marks::marked_before(std::size_t r, std::uint32_t p, std::uint64_t ms) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (r == 0 || r >= regions_.size() || p >= storage::partition_count) return false;
  const std::uint64_t at = regions_[r].marked_ms[p];
  return at != 0 && at <= ms;
}

std::size_t repair_marks::count(std::size_t r) const {
  std::lock_guard<std::mutex> lock(mu_);
  return r == 0 || r >= regions_.size() ? 0 : regions_[r].count;
}

} // namespace minivault
