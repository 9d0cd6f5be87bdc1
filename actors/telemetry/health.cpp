#include "actors/telemetry/health.hpp"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace minivault {

namespace {

double mib(std::uint64_t bytes) {
  // Two decimals: small stores still show a non-zero size.
  return static_cast<double>(bytes * 100 / (1024 * 1024)) / 100.0;
}

} // namespace

std::uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::string render_health(const health_inputs& in) {
  nlohmann::ordered_json j;
  j["status"] = !in.write_quorum_reachable ? "no_quorum" : in.all_peers_up ? "healthy" : "degraded";
  j["node_id"] = in.node_id;
  j["region"] = in.region;
  j["uptime_seconds"] = in.uptime_seconds;
  j["keys"] = in.storage.keys;
  j["cache_items"] = in.storage.cache_items;
  j["cache_size_mb"] = mib(in.storage.cache_bytes);
  j["storage_size_mb"] = mib(in.storage.storage_bytes);
  j["memory_mb"] = mib(resident_bytes());
  j["connections"] = in.connections;
  j["write_errors"] = in.storage.commit_failures;
  if (in.cluster_port != 0) j["cluster_port"] = in.cluster_port;
  j["peers"] = nlohmann::ordered_json::array();
  for (const peer_view& p : in.peers) {
    nlohmann::ordered_json peer;
    peer["address"] = p.address;
    peer["state"] = to_string(p.state);
    peer["last_heard_ms"] = p.ms_since_heard;
    if (!p.node_id.empty()) peer["node_id"] = p.node_id;
    if (!p.region.empty()) peer["region"] = p.region;
    j["peers"].push_back(std::move(peer));
  }
  if (!in.regions.empty()) {
    j["regions"] = nlohmann::ordered_json::array();
    for (const region_view& r : in.regions) {
      nlohmann::ordered_json region{{"name", r.name}, {"nodes", r.nodes}, {"nodes_up", r.nodes_up}};
      if (r.remote) {
        region["backlog_writes"] = r.backlog_writes;
        region["oldest_unshipped_ms"] = r.oldest_unshipped_ms;
        region["lag_ms"] = r.lag_ms;
      }
      j["regions"].push_back(std::move(region));
    }
  }
  // Never throws: invalid UTF-8 (options refuse it, but be safe) is replaced, not fatal.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

} // namespace minivault
