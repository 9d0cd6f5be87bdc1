#include "actors/cluster/cluster_metrics.hpp"

#include <string>
#include <utility>
#include <vector>

#include "actors/cluster/geo/geo_metrics.hpp"
#include "actors/telemetry/prometheus_text.hpp"

namespace minivault {

namespace {

struct peer_counts {
  std::uint64_t peers = 0;
  std::uint64_t up = 0;
};

peer_counts count_peers(const peer_board& board) {
  peer_counts n;
  bool all_up = false;
  for (const auto& p : board.peers(all_up)) {
    ++n.peers;
    n.up += p.state == peer_state::up ? 1 : 0;
  }
  return n;
}

std::uint64_t load(const std::atomic<std::uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

/// A family of atomics, one sample each: `labels` (may be empty) and the counter.
struct labelled {
  const char* labels;
  const std::atomic<std::uint64_t>* value;
};

metrics_registry::samples_fn read(std::vector<labelled> samples) {
  return [samples = std::move(samples)](family_writer& w) {
    for (const auto& s : samples)
      w.sample(s.labels, load(*s.value));
  };
}

} // namespace

status register_cluster_metrics(metrics_registry& registry, const cluster& c) {
  // Both peer families from one look at the board, so peers_up never exceeds peers.
  using peers_family = metrics_registry::snapshot_family<peer_counts>;
  std::vector<peers_family> peer_families;
  peer_families.push_back(
      {{"minivault_peers", "Peers configured (this node excluded).", metric_type::gauge},
       [](family_writer& w, const peer_counts& n) { w.sample(n.peers); }});
  peer_families.push_back({{"minivault_peers_up", "Peers up (connected, authenticated, answering).",
                            metric_type::gauge},
                           [](family_writer& w, const peer_counts& n) { w.sample(n.up); }});
  status st = registry.add_snapshot<peer_counts>([board = &c.peers] { return count_peers(*board); },
                                                 std::move(peer_families));
  if (!st.ok()) return st;

  const auto& r = c.replication_stats;
  const auto& h = c.handoff_stats;
  const auto& ae = c.anti_entropy_stats;
  struct entry {
    metric_family family;
    metrics_registry::samples_fn samples;
  };
  entry entries[] = {
      {{"minivault_replicated_batches_total", "Client write batches by replication outcome.",
        metric_type::counter},
       read({{"result=\"ok\"", &r.batches_ok},
             {"result=\"no_quorum\"", &r.batches_no_quorum},
             {"result=\"timeout\"", &r.batches_timeout}})},
      {{"minivault_replication_superseded_rounds_total",
        "Write batches sent again with newer versions because a replica kept a newer "
        "version of one of their keys.",
        metric_type::counter},
       read({{"", &r.superseded_rounds}})},
      {{"minivault_replica_failures_total",
        "Batches a peer failed, refused or did not answer in time.", metric_type::counter},
       read({{"", &r.peer_failures}})},
      {{"minivault_hints_total", "Hinted handoff: batches a peer missed.", metric_type::counter},
       read({{"event=\"stored\"", &h.stored},
             {"event=\"delivered\"", &h.delivered},
             {"event=\"dropped\"", &h.dropped}})},
      {{"minivault_hints_pending", "Hints waiting for their peer.", metric_type::gauge},
       read({{"", &h.pending}})},
      {{"minivault_anti_entropy_rounds_total", "Anti-entropy comparison rounds.",
        metric_type::counter},
       read({{"", &ae.rounds}})},
      {{"minivault_anti_entropy_records_total", "Records pulled from peers by anti-entropy.",
        metric_type::counter},
       read({{"", &ae.records_pulled}})},
  };
  for (auto& e : entries)
    if (st = registry.add(std::move(e.family), std::move(e.samples)); !st.ok()) return st;
  if (c.place && c.place->regions() > 1) {
    struct region_bytes {
      std::string labels;
      const std::atomic<std::uint64_t>* replicated;
      const std::atomic<std::uint64_t>* hinted;
      const std::atomic<std::uint64_t>* shipped;
      const std::atomic<std::uint64_t>* repaired;
    };
    std::vector<region_bytes> per_region;
    for (std::size_t i = 1; i < c.place->regions(); ++i)
      per_region.push_back({label("region", c.place->region_name(i)), &r.wan_bytes[i],
                            &h.wan_bytes[i], &c.geo_stats.wan_bytes[i],
                            &ae.remote_bytes_pushed[i]});
    st = registry.add(
        {"minivault_wan_bytes_sent_total",
         "Bytes of writes sent to each other region: shipped (compressed), "
         "replicated at a level that waits for it, hints (before framing), and anti-entropy's "
         "repairs for repair marks (compressed).",
         metric_type::counter},
        [per_region = std::move(per_region)](family_writer& w) {
          for (const auto& b : per_region)
            w.sample(b.labels,
                     load(*b.replicated) + load(*b.hinted) + load(*b.shipped) + load(*b.repaired));
        });
    if (!st.ok()) return st;
    if (st = register_geo_metrics(registry, *c.place, c.geo_stats, c.anti_entropy_stats, c.marks);
        !st.ok())
      return st;
  }
  return {};
}

} // namespace minivault
