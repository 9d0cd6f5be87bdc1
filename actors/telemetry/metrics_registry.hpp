#pragma once
// The metric families of a node, each registered by the component that owns its figures
// (actors/io/io_metrics.hpp, actors/durability/storage_metrics.hpp,
// actors/cluster/cluster_metrics.hpp, actors/telemetry/process_metrics.hpp), and their
// rendering for `GET /metrics`. Adding a metric touches only its component's
// registration; the registry knows no metric by name.
//
//   node::start --register_*_metrics--> registry --seal()--> I/O threads --render()--> text
//
// Thread-safety: `add`, `add_snapshot` and `seal` run during node assembly, on one thread,
// before anything that may scrape exists. `seal()` ends registration: `add` after it is
// refused (an error status, the registry unchanged), so a registration cannot race a
// scrape. `render()` may then run on any number of threads at once, concurrently with the
// components updating their figures; it calls the registered collectors on the rendering
// thread, so a collector must be safe to call from any thread (read relaxed atomics, or
// take the component's own lock) and must not block for long. Each counter is read
// exactly; families are not a snapshot of one instant, except those registered together
// with `add_snapshot`, which come from one snapshot per scrape.
//
// Lifetime: whatever a collector reads must outlive the last `render()` (the node keeps
// them until its actors and I/O threads are gone).
#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "actors/telemetry/prometheus_text.hpp"
#include "protocol/status.hpp"

namespace minivault {

/// Hands a collector the writers of its families, in the order they were registered.
/// Every family must be written (announced), even one with no sample this time.
class family_cursor {
public:
  family_cursor(std::string& out, const std::vector<metric_family>& families)
      : out_(out), families_(families) {}
  /// The writer of the next family (its HELP and TYPE lines are written now).
  [[nodiscard]] family_writer next();
  [[nodiscard]] bool done() const noexcept { return next_ == families_.size(); }

private:
  std::string& out_;
  const std::vector<metric_family>& families_;
  std::size_t next_ = 0;
};

class metrics_registry {
public:
  /// Families one registry holds at most (a node registers about 30).
  static constexpr std::size_t families_max = 64;

  /// Writes one family's samples at each scrape.
  using samples_fn = std::function<void(family_writer&)>;
  /// A family read from a snapshot that its group shares.
  template <class Snapshot> struct snapshot_family {
    metric_family family;
    std::function<void(family_writer&, const Snapshot&)> samples;
  };

  metrics_registry() = default;
  metrics_registry(const metrics_registry&) = delete;
  metrics_registry& operator=(const metrics_registry&) = delete;

  /// Registers one family. Refused (config_error) after `seal()`, for an invalid or
  /// already registered name or a null `samples`; too_large past `families_max`.
  [[nodiscard]] status add(metric_family family, samples_fn samples);

  /// Registers families rendered together from one `take()` per scrape: figures that
  /// must agree with each other or cost a lock or a system call to read. Refused as
  /// `add` is (then none of them is registered).
  template <class Snapshot>
  [[nodiscard]] status add_snapshot(std::function<Snapshot()> take,
                                    std::vector<snapshot_family<Snapshot>> families) {
    std::vector<metric_family> heads;
    std::vector<std::function<void(family_writer&, const Snapshot&)>> samples;
    heads.reserve(families.size());
    samples.reserve(families.size());
    for (auto& f : families) {
      if (!f.samples) return status(errc::config_error, "metric " + f.family.name + ": no samples");
      heads.push_back(std::move(f.family));
      samples.push_back(std::move(f.samples));
    }
    if (!take) return status(errc::config_error, "metric snapshot: nothing to take");
    return add_collector(std::move(heads),
                         [take = std::move(take), samples = std::move(samples)](family_cursor& c) {
                           const Snapshot snapshot = take();
                           for (const auto& write : samples) {
                             family_writer w = c.next();
                             write(w, snapshot);
                           }
                         });
  }

  /// Ends registration (see the thread-safety contract above). Idempotent.
  void seal() noexcept { sealed_.store(true, std::memory_order_release); }
  [[nodiscard]] bool sealed() const noexcept { return sealed_.load(std::memory_order_acquire); }
  /// Families registered.
  [[nodiscard]] std::size_t size() const noexcept { return families_; }

  /// Every registered family in registration order, in the Prometheus text format
  /// (version 0.0.4). Only once sealed.
  [[nodiscard]] std::string render() const;

private:
  using collect_fn = std::function<void(family_cursor&)>;
  struct collector {
    std::vector<metric_family> families;
    collect_fn collect;
  };

  [[nodiscard]] status add_collector(std::vector<metric_family> families, collect_fn collect);
  [[nodiscard]] bool registered(const std::string& name) const noexcept;

  std::vector<collector> collectors_; // written before seal(), read-only after
  std::size_t families_ = 0;
  std::atomic<bool> sealed_{false};
};

} // namespace minivault
