#include "actors/cluster/repair/hint_store.hpp"

namespace minivault {

namespace {

bool exec(sqlite3* db, const char* sql, std::string& error) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
  error = msg ? msg : "sqlite error";
  sqlite3_free(msg);
  return false;
}

} // namespace

std::unique_ptr<hint_store> hint_store::open(const std::string& path, std::uint64_t bytes_max,
                                             std::string& error) {
  std::unique_ptr<hint_store> s(new hint_store());
  s->bytes_max_ = bytes_max;
  if (sqlite3_open_v2(path.c_str(), &s->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    error = "cannot open " + path + ": " + (s->db_ ? sqlite3_errmsg(s->db_) : "out of memory");
    return nullptr;
  }
  sqlite3_busy_timeout(s->db_, 1000);
  if (!exec(s->db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", error) ||
      !exec(s->db_,
            "CREATE TABLE IF NOT EXISTS hints(id INTEGER PRIMARY KEY, peer TEXT NOT NULL, "
            "count INTEGER NOT NULL, ops BLOB NOT NULL);"
            "CREATE INDEX IF NOT EXISTS hints_peer ON hints(peer, id);",
            error)) {
    error = path + ": " + error;
    return nullptr;
  }
  sqlite3_stmt* scan = nullptr;
  if (sqlite3_prepare_v2(s->db_, "SELECT id, peer, length(ops) FROM hints", -1, &scan, nullptr) !=
      SQLITE_OK) {
    error = path + ": " + sqlite3_errmsg(s->db_);
    return nullptr;
  }
  while (sqlite3_step(scan) == SQLITE_ROW) {
    std::string peer(reinterpret_cast<const char*>(sqlite3_column_text(scan, 1)));
    auto bytes = static_cast<std::size_t>(sqlite3_column_int64(scan, 2));
    s->sizes_[sqlite3_column_int64(scan, 0)] = {peer, bytes};
    s->bytes_ += bytes;
    ++s->counts_[peer];
  }
  sqlite3_finalize(scan);
  if (sqlite3_prepare_v2(s->db_, "INSERT INTO hints(peer, count, ops) VALUES(?, ?, ?)", -1,
                         &s->insert_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db_, "SELECT id, count, ops FROM hints WHERE peer = ? ORDER BY id", -1,
                         &s->select_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db_, "DELETE FROM hints WHERE id = ?", -1, &s->delete_, nullptr) !=
          SQLITE_OK) {
    error = path + ": " + sqlite3_errmsg(s->db_);
    return nullptr;
  }
  return s;
}

hint_store::~hint_store() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(select_);
  sqlite3_finalize(delete_);
  sqlite3_close(db_);
}

errc hint_store::add(const std::string& peer, std::string_view ops, std::uint32_t count) {
  if (bytes_ + ops.size() > bytes_max_ || sizes_.size() >= hint_rows_max) return errc::overloaded;
  sqlite3_reset(insert_);
  sqlite3_bind_text(insert_, 1, peer.data(), static_cast<int>(peer.size()), SQLITE_STATIC);
  sqlite3_bind_int64(insert_, 2, count);
  sqlite3_bind_blob64(insert_, 3, ops.data(), ops.size(), SQLITE_STATIC);
  int rc = sqlite3_step(insert_);
  sqlite3_clear_bindings(insert_);
  if (rc != SQLITE_DONE) return errc::io_error;
  sizes_[sqlite3_last_insert_rowid(db_)] = {peer, ops.size()};
  bytes_ += ops.size();
  ++counts_[peer];
  return errc::ok;
}

errc hint_store::oldest(const std::string& peer, std::size_t bytes_max, std::vector<hint>& out) {
  sqlite3_reset(select_);
  sqlite3_bind_text(select_, 1, peer.data(), static_cast<int>(peer.size()), SQLITE_STATIC);
  std::size_t bytes = 0;
  bool first = true; // at least one, whatever the budget
  while ((first || bytes < bytes_max) && sqlite3_step(select_) == SQLITE_ROW) {
    first = false;
    hint h;
    h.id = sqlite3_column_int64(select_, 0);
    h.count = static_cast<std::uint32_t>(sqlite3_column_int64(select_, 1));
    const void* blob = sqlite3_column_blob(select_, 2);
    auto n = static_cast<std::size_t>(sqlite3_column_bytes(select_, 2));
    h.ops.assign(static_cast<const char*>(blob), n);
    bytes += n;
    out.push_back(std::move(h));
  }
  sqlite3_reset(select_);
  sqlite3_clear_bindings(select_);
  return errc::ok;
}

errc hint_store::remove(const std::vector<std::int64_t>& ids) {
  std::string error;
  if (!exec(db_, "BEGIN", error)) return errc::io_error;
  for (auto id : ids) {
    sqlite3_reset(delete_);
    sqlite3_bind_int64(delete_, 1, id);
    if (sqlite3_step(delete_) != SQLITE_DONE) {
      exec(db_, "ROLLBACK", error);
      return errc::io_error;
    }
  }
  if (!exec(db_, "COMMIT", error)) {
    exec(db_, "ROLLBACK", error);
    return errc::io_error;
  }
  for (auto id : ids) {
    auto it = sizes_.find(id);
    if (it == sizes_.end()) continue;
    bytes_ -= it->second.second;
    if (--counts_[it->second.first] == 0) counts_.erase(it->second.first);
    sizes_.erase(it);
  }
  return errc::ok;
}

std::uint64_t hint_store::count(const std::string& peer) const {
  auto it = counts_.find(peer);
  return it == counts_.end() ? 0 : it->second;
}

std::uint64_t hint_store::total() const noexcept {
  return sizes_.size();
}

} // namespace minivault
