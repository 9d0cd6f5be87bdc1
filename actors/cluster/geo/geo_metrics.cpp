#include "actors/cluster/geo/geo_metrics.hpp"

#include <vector>

#include "actors/telemetry/prometheus_text.hpp"
#include "storage/version.hpp"

namespace minivault {

namespace {

using per_region = geo_counters::per_region<std::atomic<std::uint64_t>>;

struct gauge_or_counter {
  const char* name;
  const char* help;
  metric_type type;
  const per_region geo_counters::*field;
};

const gauge_or_counter simple_families[] = {
    {"minivault_geo_backlog_writes",
     "Writes in this node's outbox that the region has not acknowledged yet.", metric_type::gauge,
     &geo_counters::backlog_writes},
    {"minivault_geo_backlog_bytes", "Key and value bytes of those writes.", metric_type::gauge,
     &geo_counters::backlog_bytes},
    {"minivault_geo_shipped_writes_total",
     "Writes shipped to the region and acknowledged durable there.", metric_type::counter,
     &geo_counters::shipped_writes},
    {"minivault_geo_ship_failures_total",
     "Batches the region's relay refused or did not answer in time (shipped again).",
     metric_type::counter, &geo_counters::failed_batches},
};

} // namespace

status register_geo_metrics(metrics_registry& registry, const placement& place,
                            const geo_counters& counters, const anti_entropy_counters& repair,
                            const std::unique_ptr<repair_marks>& marks) {
  std::vector<std::pair<std::string, std::size_t>> regions; // (labels, index)
  for (std::size_t r = 1; r < place.regions(); ++r)
    regions.emplace_back(label("region", place.region_name(r)), r);
  const geo_counters* c = &counters;
  for (const auto& f : simple_families) {
    status st =
        registry.add({f.name, f.help, f.type}, [regions, c, field = f.field](family_writer& w) {
          for (const auto& [labels, r] : regions)
            w.sample(labels, ((*c).*field)[r].load(std::memory_order_relaxed));
        });
    if (!st.ok()) return st;
  }
  status st = registry.add(
      {"minivault_geo_oldest_unshipped_seconds",
       "Age of the oldest write the region has not acknowledged: what this region would "
       "lose if it were lost now.",
       metric_type::gauge},
      [regions, c](family_writer& w) {
        const std::uint64_t now = storage::wall_ms();
        for (const auto& [labels, r] : regions)
          w.sample(labels, c->unshipped_age_ms(r, now) / 1000);
      });
  if (!st.ok()) return st;
  st = registry.add({"minivault_geo_replication_lag_seconds",
                     "From a write's version time here to durable in the region (the "
                     "relay's answer, by its clock), per shipped write.",
                     metric_type::histogram},
                    [regions, c](family_writer& w) {
                      for (const auto& [labels, r] : regions) {
                        const auto& h = c->lag[r];
                        std::array<std::uint64_t, latency_bounds_us.size() + 1> buckets{};
                        for (std::size_t i = 0; i < buckets.size(); ++i)
                          buckets[i] = h.buckets[i].load(std::memory_order_relaxed);
                        w.histogram(labels, latency_bounds_us, 1e-6, buckets,
                                    h.sum.load(std::memory_order_relaxed));
                      }
                    });
  if (!st.ok()) return st;
  using per_region_counter = std::array<std::atomic<std::uint64_t>, regions_max>;
  auto per_region_family = [&](metric_family f, const per_region_counter* values) {
    return registry.add(std::move(f), [regions, values](family_writer& w) {
      for (const auto& [labels, r] : regions)
        w.sample(labels, (*values)[r].load(std::memory_order_relaxed));
    });
  };
  if (st = per_region_family({"minivault_geo_repaired_records_total",
                              "Records anti-entropy pulled from the region's nodes: what "
                              "shipping did not deliver.",
                              metric_type::counter},
                             &repair.remote_records_pulled);
      !st.ok())
    return st;
  if (st = per_region_family({"minivault_geo_repair_sent_records_total",
                              "Records anti-entropy sent to the region for its repair marks.",
                              metric_type::counter},
                             &repair.remote_records_pushed);
      !st.ok())
    return st;
  st = registry.add({"minivault_geo_repair_marked_partitions",
                     "Partitions marked for repair with the region: the outbox had no room "
                     "for some of their writes.",
                     metric_type::gauge},
                    [regions, m = &marks](family_writer& w) {
                      for (const auto& [labels, r] : regions)
                        w.sample(labels, *m ? (*m)->count(r) : 0);
                    });
  if (!st.ok()) return st;
  return registry.add(
      {"minivault_geo_outbox_overflow_total",
       "Region copies of writes the outbox had no room for (their partitions are "
       "marked for repair).",
       metric_type::counter},
      [c](family_writer& w) { w.sample(c->overflow.load(std::memory_order_relaxed)); });
}

} // namespace minivault
