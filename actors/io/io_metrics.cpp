// Each family sums the shards at scrape time: the binary protocol's shards (one per I/O
// thread) and the HTTP shard, which every I/O thread shares.
#include "actors/io/io_metrics.hpp"

namespace minivault {

namespace {

constexpr front_kind fronts[] = {front_kind::binary, front_kind::http};

std::uint64_t load(const std::atomic<std::uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

/// Calls `fn` with every shard of front-end `f`.
template <class F> void for_each_shard(const node_metrics& m, front_kind f, F&& fn) {
  if (f == front_kind::http) {
    fn(m.http);
    return;
  }
  for (const auto& shard : m.binary_shards)
    fn(shard);
}

std::string protocol_label(front_kind f) {
  return std::string("protocol=\"") + to_string(f) + "\"";
}

std::string op_labels(front_kind f, std::size_t k) {
  return protocol_label(f) + ",op=\"" + to_string(static_cast<op_kind>(k)) + "\"";
}

void write_requests(family_writer& w, const node_metrics& m) {
  for (front_kind f : fronts) {
    std::uint64_t requests[op_kinds][op_results] = {};
    for_each_shard(m, f, [&](const front_metrics& s) {
      for (std::size_t k = 0; k < op_kinds; ++k)
        for (std::size_t r = 0; r < op_results; ++r)
          requests[k][r] += load(s.requests[k][r]);
    });
    // A result other than ok appears once it happened; ok is always there.
    for (std::size_t k = 0; k < op_kinds; ++k)
      for (std::size_t r = 0; r < op_results; ++r)
        if (requests[k][r] != 0 || r == 0)
          w.sample(op_labels(f, k) + ",result=\"" + to_string(static_cast<op_result>(r)) + "\"",
                   requests[k][r]);
  }
}

void write_latency(family_writer& w, const node_metrics& m) {
  for (front_kind f : fronts)
    for (std::size_t k = 0; k < op_kinds; ++k) {
      std::array<std::uint64_t, latency_bounds_us.size() + 1> buckets{};
      std::uint64_t sum = 0;
      for_each_shard(m, f, [&](const front_metrics& s) {
        for (std::size_t b = 0; b < buckets.size(); ++b)
          buckets[b] += load(s.latency[k].buckets[b]);
        sum += load(s.latency[k].sum);
      });
      w.histogram(op_labels(f, k), latency_bounds_us, 1e-6, buckets, sum);
    }
}

/// One sample per protocol of the shard counter `field`.
void write_per_protocol(family_writer& w, const node_metrics& m,
                        std::atomic<std::uint64_t> front_metrics::*field) {
  for (front_kind f : fronts) {
    std::uint64_t total = 0;
    for_each_shard(m, f, [&](const front_metrics& s) { total += load(s.*field); });
    w.sample(protocol_label(f), total);
  }
}

/// An unlabelled family reading one atomic.
metrics_registry::samples_fn read(const std::atomic<std::uint64_t>* a) {
  return [a](family_writer& w) { w.sample(load(*a)); };
}

} // namespace

status register_io_metrics(metrics_registry& registry, const server_context& ctx) {
  if (!ctx.metrics) return status(errc::config_error, "I/O metrics without counters");
  const node_metrics* m = ctx.metrics;
  struct entry {
    metric_family family;
    metrics_registry::samples_fn samples;
  };
  entry entries[] = {
      {{"minivault_requests_total", "Client requests by protocol, op and result.",
        metric_type::counter},
       [m](family_writer& w) { write_requests(w, *m); }},
      {{"minivault_request_duration_seconds",
        "Time from receiving a request to its reply being ready (writes: until durable).",
        metric_type::histogram},
       [m](family_writer& w) { write_latency(w, *m); }},
      {{"minivault_auth_failures_total",
        "Requests refused for a missing or wrong key (the connection is closed).",
        metric_type::counter},
       [m](family_writer& w) { write_per_protocol(w, *m, &front_metrics::auth_failures); }},
      {{"minivault_rate_limited_total", "Requests refused by -ratelimit.", metric_type::counter},
       [m](family_writer& w) { write_per_protocol(w, *m, &front_metrics::rate_limited); }},
      {{"minivault_connections", "Open client connections (both protocols).", metric_type::gauge},
       read(&ctx.open_connections)},
      {{"minivault_connections_accepted_total", "Client connections accepted.",
        metric_type::counter},
       read(&ctx.accepted_connections)},
      {{"minivault_connections_refused_total",
        "Client connections closed at accept (connection or file limit).", metric_type::counter},
       read(&ctx.refused_connections)},
  };
  for (auto& e : entries)
    if (status st = registry.add(std::move(e.family), std::move(e.samples)); !st.ok()) return st;
  return {};
}

} // namespace minivault
