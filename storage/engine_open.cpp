// Engine open + recovery: create and lock the data directory, open the SQLite log, load
// (or mint) the node id, size the index from the stored entry count, then replay the log
// into the index (read by a log_reader on its own thread), cutting rows at the first
// damaged record (a copy of each goes to the quarantine table).
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "protocol/limits.hpp"
#include "storage/engine.hpp"
#include "storage/engine_impl.hpp"
#include "storage/log_reader.hpp"

namespace minivault::storage {

namespace {

std::uint32_t random_node_id() {
  std::random_device rd;
  std::uint32_t id = 0;
  while (id == 0)
    id = rd();
  return id;
}

/// This node's id: the one the meta table holds, else `wanted` (0: a random one), stored.
result<std::uint32_t> load_node_id(sqlite_log& log, std::uint32_t wanted) {
  auto stored = log.meta_get("node_id");
  if (!stored) return status(stored.error().code(), "reading node id: " + stored.error().reason());
  if (const auto& text = *stored) {
    auto node = static_cast<std::uint32_t>(std::strtoul(text->c_str(), nullptr, 10));
    if (node == 0)
      return status(errc::corrupt, "meta table holds an invalid node id '" + *text + "'");
    return node;
  }
  std::uint32_t node = wanted ? wanted : random_node_id();
  if (status put = log.meta_put("node_id", std::to_string(node)); !put)
    return status(put.code(), "writing node id: " + put.reason());
  return node;
}

/// The index size stored by the last commits (0: none, or not a number). A hint only: a
/// damaged one must not make the open reserve memory the log could never fill, so it is
/// capped at one entry per record header the database and WAL files could hold.
std::uint64_t stored_index_entries(sqlite_log& log) {
  auto stored = log.meta_get(index_entries_meta_key);
  if (!stored || !*stored) return 0;
  const std::string& text = **stored;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;
  const std::uint64_t cap =
      (file_bytes(log.path()) + file_bytes(log.path() + "-wal")) / record_header_bytes;
  return n < cap ? n : cap;
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
  // The stored size lags the index by at most 1/8 (note_index_entries).
  index_entries_stored = stored_index_entries(*log);
  tbl.reserve(index_entries_stored + index_entries_stored / 8);
  // Rows are read, checked and hashed on the reader's thread while this one publishes.
  log_reader reader(*log);
  while (scanned_row* r = reader.next()) {
    if (r->corrupt) cuts.push_back({r->seq, r->body, r->good});
    if (r->good > 0) add_row(r->seq, static_cast<std::uint32_t>(r->good));
    // A row holds thousands of records of random keys: their index lookups overlap.
    visit_prefetched(r->hashes, [&](std::size_t i) {
      const auto& [rec, loc] = r->recs[i];
      clock.observe(rec.ver);
      std::string_view value = rec.stored;
      const std::string_view* vp = &value;
      if (rec.compressed()) {
        vp = decompress_value(rec.stored, value_bytes_max_ceiling, plain) == errc::ok ? &value
                                                                                      : nullptr;
        value = plain;
      }
      publish(rec.key, r->hashes[i], rec.ver, loc, rec.tombstone(), vp, true);
    });
    next_seq = r->seq + 1;
    reader.recycle(r);
  }
  status scanned = reader.finish();
  if (!scanned || cuts.empty()) return scanned;
  return log->transaction([&] {
    for (auto& c : cuts)
      cut_row(c.seq, c.body, c.keep);
    return status();
  });
}

} // namespace minivault::storage
