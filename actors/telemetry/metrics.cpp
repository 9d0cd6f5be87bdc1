#include "actors/telemetry/metrics.hpp"

#include <cstdio>

namespace minivault {

const char* to_string(op_kind k) noexcept {
  switch (k) {
  case op_kind::get:
    return "get";
  case op_kind::set:
    return "set";
  case op_kind::del:
    return "delete";
  case op_kind::health:
    return "health";
  case op_kind::auth:
    return "auth";
  case op_kind::metrics:
    return "metrics";
  case op_kind::count_:
    break;
  }
  return "unknown";
}

const char* to_string(op_result r) noexcept {
  switch (r) {
  case op_result::ok:
    return "ok";
  case op_result::not_found:
    return "not_found";
  case op_result::bad_request:
    return "bad_request";
  case op_result::unauthorized:
    return "unauthorized";
  case op_result::rate_limited:
    return "rate_limited";
  case op_result::error:
    return "error";
  case op_result::count_:
    break;
  }
  return "unknown";
}

const char* to_string(front_kind f) noexcept {
  return f == front_kind::binary ? "binary" : "http";
}

void front_tally::publish(front_metrics& m, std::uint64_t micros) noexcept {
  if (empty) return;
  for (std::size_t k = 0; k < op_kinds; ++k) {
    std::uint64_t answered = 0;
    for (std::size_t r = 0; r < op_results; ++r) {
      if (requests[k][r] == 0) continue;
      m.requests[k][r].fetch_add(requests[k][r], std::memory_order_relaxed);
      answered += requests[k][r];
      requests[k][r] = 0;
    }
    auto kind = static_cast<op_kind>(k);
    if (answered > 0 && kind != op_kind::set && kind != op_kind::del)
      m.observe(kind, micros, answered);
  }
  if (auth_failures) m.auth_failures.fetch_add(auth_failures, std::memory_order_relaxed);
  if (rate_limited) m.rate_limited.fetch_add(rate_limited, std::memory_order_relaxed);
  auth_failures = rate_limited = 0;
  empty = true;
}

namespace {

std::uint64_t load(const std::atomic<std::uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

class prom_writer {
public:
  explicit prom_writer(std::string& out) : out_(out) {}

  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  /// A family with one unlabelled sample.
  void single(const char* name, const char* type, const char* help, std::uint64_t v) {
    family(name, type, help);
    sample(name, "", v);
  }
  /// `labels` is either empty or `k="v",k="v"` (values here never need escaping).
  void sample(const std::string& name, const std::string& labels, std::uint64_t v) {
    head(name, labels);
    out_ += std::to_string(v);
    out_ += '\n';
  }
  void sample(const std::string& name, const std::string& labels, double v) {
    head(name, labels);
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.12g", v);
    out_ += buf;
    out_ += '\n';
  }
  template <std::size_t N>
  void histogram(const std::string& name, const std::string& labels,
                 const std::array<std::uint64_t, N>& bounds, double unit,
                 const std::array<std::uint64_t, N + 1>& buckets, std::uint64_t sum) {
    std::uint64_t cumulative = 0;
    std::string sep = labels.empty() ? "" : ",";
    for (std::size_t i = 0; i <= N; ++i) {
      cumulative += buckets[i];
      std::string le;
      if (i == N) {
        le = "+Inf";
      } else {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(bounds[i]) * unit);
        le = buf;
      }
      sample(name + "_bucket", labels + sep + "le=\"" + le + "\"", cumulative);
    }
    sample(name + "_sum", labels, static_cast<double>(sum) * unit);
    sample(name + "_count", labels, cumulative);
  }

private:
  void head(const std::string& name, const std::string& labels) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
  }
  std::string& out_;
};

/// Sums the shards of one front-end into plain numbers.
struct front_sum {
  std::uint64_t requests[op_kinds][op_results] = {};
  std::array<std::uint64_t, latency_bounds_us.size() + 1> latency[op_kinds] = {};
  std::uint64_t latency_sum[op_kinds] = {};
  std::uint64_t auth_failures = 0;
  std::uint64_t rate_limited = 0;

  void add(const front_metrics& m) {
    for (std::size_t k = 0; k < op_kinds; ++k) {
      for (std::size_t r = 0; r < op_results; ++r)
        requests[k][r] += load(m.requests[k][r]);
      for (std::size_t b = 0; b < latency[k].size(); ++b)
        latency[k][b] += load(m.latency[k].buckets[b]);
      latency_sum[k] += load(m.latency[k].sum);
    }
    auth_failures += load(m.auth_failures);
    rate_limited += load(m.rate_limited);
  }
};

} // namespace

std::string render_prometheus(const node_metrics& m, const metrics_inputs& in) {
  std::string out;
  out.reserve(16 << 10);
  prom_writer w(out);
  front_sum fronts[2];
  for (const auto& shard : m.binary_shards)
    fronts[0].add(shard);
  fronts[1].add(m.http);
  auto proto = [](std::size_t f) {
    return std::string("protocol=\"") + to_string(static_cast<front_kind>(f)) + "\"";
  };

  w.family("minivault_requests_total", "counter", "Client requests by protocol, op and result.");
  for (std::size_t f = 0; f < 2; ++f)
    for (std::size_t k = 0; k < op_kinds; ++k)
      for (std::size_t r = 0; r < op_results; ++r)
        if (fronts[f].requests[k][r] != 0 || r == 0)
          w.sample("minivault_requests_total",
                   proto(f) + ",op=\"" + to_string(static_cast<op_kind>(k)) + "\",result=\"" +
                       to_string(static_cast<op_result>(r)) + "\"",
                   fronts[f].requests[k][r]);

  w.family("minivault_request_duration_seconds", "histogram",
           "Time from receiving a request to its reply being ready (writes: until durable).");
  for (std::size_t f = 0; f < 2; ++f)
    for (std::size_t k = 0; k < op_kinds; ++k)
      w.histogram("minivault_request_duration_seconds",
                  proto(f) + ",op=\"" + to_string(static_cast<op_kind>(k)) + "\"",
                  latency_bounds_us, 1e-6, fronts[f].latency[k], fronts[f].latency_sum[k]);

  w.family("minivault_auth_failures_total", "counter",
           "Requests refused for a missing or wrong key (the connection is closed).");
  for (std::size_t f = 0; f < 2; ++f)
    w.sample("minivault_auth_failures_total", proto(f), fronts[f].auth_failures);
  w.family("minivault_rate_limited_total", "counter", "Requests refused by -ratelimit.");
  for (std::size_t f = 0; f < 2; ++f)
    w.sample("minivault_rate_limited_total", proto(f), fronts[f].rate_limited);

  w.single("minivault_connections", "gauge", "Open client connections (both protocols).",
           in.connections_open);
  w.single("minivault_connections_accepted_total", "counter", "Client connections accepted.",
           in.connections_accepted);
  w.single("minivault_connections_refused_total", "counter",
           "Client connections closed at accept (connection or file limit).",
           in.connections_refused);

  const auto& s = in.storage;
  w.single("minivault_cache_hits_total", "counter", "Reads served from the value cache.",
           s.cache_hits);
  w.single("minivault_cache_misses_total", "counter", "Reads that went to SQLite.", s.cache_misses);
  w.single("minivault_cache_items", "gauge", "Values held in the cache.", s.cache_items);
  w.single("minivault_cache_bytes", "gauge", "Bytes of values held in the cache.", s.cache_bytes);
  w.single("minivault_keys", "gauge", "Live keys.", s.keys);
  w.single("minivault_stored_bytes", "gauge", "Bytes of live records (keys, values, headers).",
           s.live_bytes);
  w.single("minivault_storage_bytes", "gauge", "Bytes of the database and WAL files on disk.",
           s.storage_bytes);
  w.single("minivault_commits_total", "counter", "Group commits.", s.commits);
  w.single("minivault_writes_committed_total", "counter", "Writes made durable.",
           s.writes_committed);
  w.single("minivault_commit_failures_total", "counter",
           "Group commits that failed (disk full, I/O error).", s.commit_failures);

  w.family("minivault_commit_batch_writes", "histogram", "Writes per group commit.");
  std::array<std::uint64_t, commit_bounds_writes.size() + 1> commit_buckets{};
  for (std::size_t i = 0; i < commit_buckets.size(); ++i)
    commit_buckets[i] = load(m.commit_batch_writes.buckets[i]);
  w.histogram("minivault_commit_batch_writes", "", commit_bounds_writes, 1.0, commit_buckets,
              load(m.commit_batch_writes.sum));

  if (in.clustered) {
    w.single("minivault_peers", "gauge", "Peers configured (this node excluded).", in.peers);
    w.single("minivault_peers_up", "gauge", "Peers up (connected, authenticated, answering).",
             in.peers_up);
    w.family("minivault_replicated_batches_total", "counter",
             "Client write batches by replication outcome.");
    w.sample("minivault_replicated_batches_total", "result=\"ok\"", in.replicated_ok);
    w.sample("minivault_replicated_batches_total", "result=\"no_quorum\"", in.replicated_no_quorum);
    w.sample("minivault_replicated_batches_total", "result=\"timeout\"", in.replicated_timeout);
    w.single("minivault_replication_superseded_rounds_total", "counter",
             "Write batches sent again with newer versions because a replica kept a newer "
             "version of one of their keys.",
             in.superseded_rounds);
    w.single("minivault_replica_failures_total", "counter",
             "Batches a peer failed, refused or did not answer in time.", in.replica_failures);
    w.family("minivault_hints_total", "counter", "Hinted handoff: batches a peer missed.");
    w.sample("minivault_hints_total", "event=\"stored\"", in.hints_stored);
    w.sample("minivault_hints_total", "event=\"delivered\"", in.hints_delivered);
    w.sample("minivault_hints_total", "event=\"dropped\"", in.hints_dropped);
    w.single("minivault_hints_pending", "gauge", "Hints waiting for their peer.", in.hints_pending);
    w.single("minivault_anti_entropy_rounds_total", "counter", "Anti-entropy comparison rounds.",
             in.anti_entropy_rounds);
    w.single("minivault_anti_entropy_records_total", "counter",
             "Records pulled from peers by anti-entropy.", in.anti_entropy_records);
  }
  w.single("minivault_uptime_seconds", "gauge", "Seconds since the node started.",
           in.uptime_seconds);
  w.single("minivault_resident_memory_bytes", "gauge", "Resident set size of the process.",
           in.resident_bytes);
  return out;
}

} // namespace minivault
