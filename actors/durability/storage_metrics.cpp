// One engine_stats per scrape for all the engine families: they come from one moment,
// and stats() sums the cache shards and asks the file system for two files' sizes.
#include "actors/durability/storage_metrics.hpp"

#include <cstdint>

namespace minivault {

namespace {

using storage::engine_stats;

/// An unlabelled engine family: `field` of the snapshot.
struct engine_figure {
  const char* name;
  const char* help;
  metric_type type;
  std::uint64_t engine_stats::*field;
};

constexpr engine_figure engine_figures[] = {
    {"minivault_cache_hits_total", "Reads served from the value cache.", metric_type::counter,
     &engine_stats::cache_hits},
    {"minivault_cache_misses_total", "Reads that went to SQLite.", metric_type::counter,
     &engine_stats::cache_misses},
    {"minivault_cache_items", "Values held in the cache.", metric_type::gauge,
     &engine_stats::cache_items},
    {"minivault_cache_bytes", "Bytes of values held in the cache.", metric_type::gauge,
     &engine_stats::cache_bytes},
    {"minivault_keys", "Live keys.", metric_type::gauge, &engine_stats::keys},
    {"minivault_stored_bytes", "Bytes of live records (keys, values, headers).", metric_type::gauge,
     &engine_stats::live_bytes},
    {"minivault_storage_bytes", "Bytes of the database and WAL files on disk.", metric_type::gauge,
     &engine_stats::storage_bytes},
    {"minivault_commits_total", "Group commits.", metric_type::counter, &engine_stats::commits},
    {"minivault_writes_committed_total", "Writes made durable.", metric_type::counter,
     &engine_stats::writes_committed},
    {"minivault_commit_failures_total", "Group commits that failed (disk full, I/O error).",
     metric_type::counter, &engine_stats::commit_failures},
};

void write_commit_sizes(family_writer& w, const commit_histogram& h) {
  std::array<std::uint64_t, commit_bounds_writes.size() + 1> buckets{};
  for (std::size_t i = 0; i < buckets.size(); ++i)
    buckets[i] = h.buckets[i].load(std::memory_order_relaxed);
  w.histogram({}, commit_bounds_writes, 1.0, buckets, h.sum.load(std::memory_order_relaxed));
}

} // namespace

status register_storage_metrics(metrics_registry& registry, engine_stats_source stats,
                                const commit_histogram& commit_sizes) {
  std::vector<metrics_registry::snapshot_family<engine_stats>> families;
  families.reserve(std::size(engine_figures));
  for (const auto& f : engine_figures)
    families.push_back(
        {{f.name, f.help, f.type},
         [field = f.field](family_writer& w, const engine_stats& s) { w.sample(s.*field); }});
  status st = registry.add_snapshot(std::move(stats), std::move(families));
  if (!st.ok()) return st;
  return registry.add(
      {"minivault_commit_batch_writes", "Writes per group commit.", metric_type::histogram},
      [h = &commit_sizes](family_writer& w) { write_commit_sizes(w, *h); });
}

status register_storage_metrics(metrics_registry& registry, const storage::engine& engine,
                                const commit_histogram& commit_sizes) {
  return register_storage_metrics(
      registry, [e = &engine] { return e->stats(); }, commit_sizes);
}

} // namespace minivault
