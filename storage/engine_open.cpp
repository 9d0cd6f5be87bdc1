// Engine open + recovery: create and lock the data directory, open the SQLite log, load
// (or mint) the node id, then replay the log into the index, cutting rows at the first
// damaged record (a copy of each goes to the quarantine table).
#include <cstdlib>
#include <filesystem>
#include <random>

#include "protocol/limits.hpp"
#include "storage/engine.hpp"
#include "storage/engine_impl.hpp"

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
  std::vector<std::uint64_t> hashes;
  std::vector<std::pair<record_view, location>> recs;
  status scanned = log->scan([&](std::uint64_t seq, std::string_view body) {
    std::size_t off = 0, good = 0;
    record_view rv;
    decode_state ds;
    recs.clear();
    while ((ds = decode_record(body, off, rv)) == decode_state::ok) {
      recs.push_back({rv, location{seq, static_cast<std::uint32_t>(good),
                                   static_cast<std::uint32_t>(off - good)}});
      good = off;
    }
    if (ds == decode_state::corrupt) cuts.push_back({seq, std::string(body), good});
    if (good > 0) add_row(seq, static_cast<std::uint32_t>(good));
    // A row holds thousands of records of random keys: their index lookups overlap.
    hashes.resize(recs.size());
    for (std::size_t i = 0; i < recs.size(); ++i)
      hashes[i] = table::hash_key(recs[i].first.key);
    visit_prefetched(hashes, [&](std::size_t i) {
      const auto& [r, loc] = recs[i];
      clock.observe(r.ver);
      std::string_view value = r.stored;
      const std::string_view* vp = &value;
      if (r.compressed()) {
        vp = decompress_value(r.stored, value_bytes_max_ceiling, plain) == errc::ok ? &value
                                                                                    : nullptr;
        value = plain;
      }
      publish(r.key, hashes[i], r.ver, loc, r.tombstone(), vp, true);
    });
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
