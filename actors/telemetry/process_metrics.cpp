#include "actors/telemetry/process_metrics.hpp"

#include "actors/telemetry/health.hpp"

namespace minivault {

status register_process_metrics(metrics_registry& registry,
                                std::chrono::steady_clock::time_point started) {
  status st = registry.add(
      {"minivault_uptime_seconds", "Seconds since the node started.", metric_type::gauge},
      [started](family_writer& w) {
        auto up = std::chrono::steady_clock::now() - started;
        w.sample(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(up).count()));
      });
  if (!st.ok()) return st;
  return registry.add(
      {"minivault_resident_memory_bytes", "Resident set size of the process.", metric_type::gauge},
      [](family_writer& w) { w.sample(resident_bytes()); });
}

} // namespace minivault
