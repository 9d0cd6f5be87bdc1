#include "storage/log_reader.hpp"

namespace minivault::storage {

void decode_row(scanned_row& r) {
  r.recs.clear();
  std::size_t off = 0, good = 0;
  record_view rv;
  decode_state ds;
  while ((ds = decode_record(r.body, off, rv)) == decode_state::ok) {
    r.recs.push_back({rv, location{r.seq, static_cast<std::uint32_t>(good),
                                   static_cast<std::uint32_t>(off - good)}});
    good = off;
  }
  r.good = good;
  r.corrupt = ds == decode_state::corrupt;
  r.hashes.resize(r.recs.size());
  for (std::size_t i = 0; i < r.recs.size(); ++i)
    r.hashes[i] = table::hash_key(r.recs[i].first.key);
}

log_reader::log_reader(sqlite_log& log, std::size_t depth) : log_(log) {
  lock_guard guard(mutex_);
  for (std::size_t i = 0; i < (depth == 0 ? 1 : depth); ++i) {
    rows_.push_back(std::make_unique<scanned_row>());
    free_.push_back(rows_.back().get());
  }
  thread_ = std::thread([this] { run(); });
}

log_reader::~log_reader() {
  {
    lock_guard guard(mutex_);
    stopping_ = true;
  }
  freed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void log_reader::run() {
  status st = log_.scan([this](std::uint64_t seq, std::string_view body) {
    scanned_row* r = take_free();
    if (r == nullptr) return false; // stopping
    r->seq = seq;
    r->body.assign(body); // SQLite's buffer lasts only until its next step
    decode_row(*r);
    {
      lock_guard guard(mutex_);
      full_.push_back(r);
    }
    filled_.notify_one();
    return true;
  });
  {
    lock_guard guard(mutex_);
    scanned_ = std::move(st);
    done_ = true;
  }
  filled_.notify_one();
}

scanned_row* log_reader::take_free() {
  lock_guard guard(mutex_);
  while (free_.empty() && !stopping_)
    freed_.wait(mutex_);
  if (stopping_) return nullptr;
  scanned_row* r = free_.back();
  free_.pop_back();
  return r;
}

scanned_row* log_reader::next() {
  lock_guard guard(mutex_);
  while (full_.empty() && !done_)
    filled_.wait(mutex_);
  if (full_.empty()) return nullptr;
  scanned_row* r = full_.front();
  full_.pop_front();
  return r;
}

void log_reader::recycle(scanned_row* row) {
  {
    lock_guard guard(mutex_);
    free_.push_back(row);
  }
  freed_.notify_one();
}

status log_reader::finish() {
  if (thread_.joinable()) thread_.join();
  lock_guard guard(mutex_);
  return scanned_;
}

} // namespace minivault::storage
