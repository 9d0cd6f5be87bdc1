#pragma once
// The shipper: sends this region's writes to every other region as one stream per
// region (README.md here; protocol/README.md §4).
//
// Every replica keeps the writes it committed with `ship` set in its outbox (durable,
// newest write per key). Per partition, the first of this region's replicas that is up
// (placement order) is its leader: it ships that partition's entries at once; the other
// replicas keep theirs until the leader says it shipped them (shipped_atom), and ship
// them themselves only once they are `follower_grace` old and the region has been
// reachable that long (their leader evidently could not: a takeover, with no election).
// Per remote region a relay (the first up member of that region in an order that
// differs per shipper, so shippers spread over the relays) takes each batch: entries
// read back from the engine (the newest value, or a tombstone), packed, compressed,
// up to `window` batches in flight; the relay answers once a replica of its region
// holds them durably (the others get them too, or as hints). A batch that fails goes
// back to the outbox and the next relay is tried. Nothing here waits on a client: a
// slow or dead WAN only grows the outbox.
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/cluster/geo/outbox.hpp"
#include "actors/cluster/geo/repair_marks.hpp"
#include "actors/cluster/replication/placement.hpp"
#include "actors/telemetry/metrics.hpp"
#include "protocol/actors.hpp"
#include "storage/engine.hpp"

namespace minivault {

/// Per remote region (placement's index; [0], this node's region, unused). Any thread
/// reads them (metrics, health); the shipper writes them.
struct geo_counters {
  template <class T> using per_region = std::array<T, regions_max>;
  per_region<std::atomic<std::uint64_t>> backlog_writes{}, backlog_bytes{};
  per_region<std::atomic<std::uint64_t>> oldest_unshipped_ms{}; // wall ms; 0: none
  per_region<std::atomic<std::uint64_t>> shipped_writes{}, shipped_batches{}, failed_batches{};
  per_region<std::atomic<std::uint64_t>> wan_bytes{}; // compressed batches sent
  per_region<std::atomic<std::uint64_t>> last_lag_ms{};
  /// The write's version time to durable in the other region (the relay's answer, by
  /// its clock), in microseconds: latency_bounds_us.
  per_region<latency_histogram> lag{};
  std::atomic<std::uint64_t> overflow{0}; // writes the outbox had no room for

  /// How long region `r`'s oldest unshipped write has waited at wall time `now_ms` (0:
  /// nothing waits).
  [[nodiscard]] std::uint64_t unshipped_age_ms(std::size_t r, std::uint64_t now_ms) const noexcept {
    const std::uint64_t oldest = oldest_unshipped_ms[r].load(std::memory_order_relaxed);
    return oldest == 0 || oldest > now_ms ? 0 : now_ms - oldest;
  }
};

struct shipper_config {
  std::string path; // the outbox database
  std::size_t rows_max = outbox_rows_max_default;
  std::size_t batch_bytes = 256u << 10; // keys and values per batch, before compression
  std::size_t batch_rows = 4096;
  std::size_t window = 8; // batches in flight per region
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds follower_grace{30000};
  std::chrono::milliseconds tick{100};
  peer_map members; // as replication_config
};

struct shipper_state {
  static inline const char* name = "minivault.shipper";

  struct region_link {
    std::vector<member_id> relays;        // this region's members, in this shipper's order
    std::size_t skip = 0;                 // up members passed over after failures
    std::uint64_t reachable_since_ms = 0; // 0: no member up
  };

  shipper_config config;
  std::shared_ptr<const placement> place;
  storage::engine* engine = nullptr;
  geo_counters* counters = nullptr;
  repair_marks* marks = nullptr; // where writes the outbox has no room for are marked
  std::unique_ptr<outbox> box;   // null when it could not be opened: nothing is shipped
  std::vector<peer_endpoint_actor> endpoints; // per member, while up ([0] unused)
  std::vector<region_link> regions;           // per region ([0] unused)
  /// Batches in flight per relay (member): the window is per relay, so a relay that
  /// died with batches in flight (they time out) does not hold up its successor.
  std::vector<std::size_t> in_flight;
  std::uint64_t last_overflow_log_ms = 0;
};

shipper_actor::behavior_type shipper_actor_impl(shipper_actor::stateful_pointer<shipper_state> self,
                                                shipper_config config,
                                                std::shared_ptr<const placement> place,
                                                storage::engine* engine, geo_counters* counters,
                                                repair_marks* marks);

} // namespace minivault
