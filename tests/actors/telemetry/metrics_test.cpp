// The metrics registry and its Prometheus text rendering: the registry's rules, the text
// writer, and the families each component registers (I/O, storage, cluster, process).
#include "actors/telemetry/metrics.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "actors/cluster/cluster_metrics.hpp"
#include "actors/durability/storage_metrics.hpp"
#include "actors/io/io_metrics.hpp"
#include "actors/telemetry/metrics_registry.hpp"
#include "actors/telemetry/process_metrics.hpp"
#include "actors/telemetry/prometheus_text.hpp"

namespace minivault {
namespace {

/// The value of the sample line that starts with `series` followed by a space.
std::string sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  return "<missing>";
}

/// The `# TYPE` lines of `text`, in order ("name type").
std::vector<std::string> families(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("# TYPE ", 0) == 0) out.push_back(line.substr(7));
  return out;
}

/// A node's registrations without the node: the I/O families over `m` and `ctx`, the
/// storage families from `stats` and `m`'s commit sizes, the process families, sealed.
struct node_families {
  server_context ctx;
  storage::engine_stats stats;
  metrics_registry registry;

  explicit node_families(node_metrics& m, const cluster* c = nullptr) {
    ctx.metrics = &m;
    EXPECT_TRUE(register_io_metrics(registry, ctx).ok());
    EXPECT_TRUE(register_storage_metrics(
                    registry, [this] { return stats; }, m.commit_batch_writes)
                    .ok());
    if (c) {
      EXPECT_TRUE(register_cluster_metrics(registry, *c).ok());
    }
    EXPECT_TRUE(register_process_metrics(registry, std::chrono::steady_clock::now()).ok());
    registry.seal();
  }
  [[nodiscard]] std::string render() const { return registry.render(); }
};

std::string render_prometheus(node_metrics& m) {
  return node_families(m).render();
}

TEST(metrics, requests_are_summed_over_shards_by_protocol_op_and_result) {
  node_metrics m(2);
  m.binary_shards[0].count(op_kind::get, op_result::ok, 3);
  m.binary_shards[1].count(op_kind::get, op_result::ok, 4);
  m.binary_shards[1].count(op_kind::set, op_result::rate_limited, 2);
  m.http.count(op_kind::del, op_result::unauthorized);
  m.http.auth_failures += 5;
  std::string text = render_prometheus(m);
  EXPECT_EQ(sample(text, R"(minivault_requests_total{protocol="binary",op="get",result="ok"})"),
            "7");
  EXPECT_EQ(
      sample(text, R"(minivault_requests_total{protocol="binary",op="set",result="rate_limited"})"),
      "2");
  EXPECT_EQ(
      sample(text,
             R"(minivault_requests_total{protocol="http",op="delete",result="unauthorized"})"),
      "1");
  EXPECT_EQ(sample(text, R"(minivault_auth_failures_total{protocol="http"})"), "5");
  EXPECT_EQ(sample(text, R"(minivault_auth_failures_total{protocol="binary"})"), "0");
  // Zero results other than ok are left out; ok is always present.
  EXPECT_EQ(sample(text, R"(minivault_requests_total{protocol="http",op="get",result="error"})"),
            "<missing>");
  EXPECT_EQ(sample(text, R"(minivault_requests_total{protocol="http",op="get",result="ok"})"), "0");
}

TEST(metrics, latency_histograms_are_cumulative_in_seconds) {
  node_metrics m(1);
  m.http.observe(op_kind::get, 20);       // <= 25 µs
  m.http.observe(op_kind::get, 300, 2);   // <= 500 µs
  m.http.observe(op_kind::get, 20000000); // over 10 s: only +Inf
  std::string text = render_prometheus(m);
  const std::string h = R"(minivault_request_duration_seconds_bucket{protocol="http",op="get",)";
  EXPECT_EQ(sample(text, h + R"(le="2.5e-05"})"), "1");
  EXPECT_EQ(sample(text, h + R"(le="0.00025"})"), "1");
  EXPECT_EQ(sample(text, h + R"(le="0.0005"})"), "3");
  EXPECT_EQ(sample(text, h + R"(le="10"})"), "3");
  EXPECT_EQ(sample(text, h + R"(le="+Inf"})"), "4");
  EXPECT_EQ(sample(text, R"(minivault_request_duration_seconds_count{protocol="http",op="get"})"),
            "4");
  EXPECT_EQ(sample(text, R"(minivault_request_duration_seconds_sum{protocol="http",op="get"})"),
            "20.00062");
}

TEST(metrics, a_round_tally_publishes_counts_and_latency_except_for_writes) {
  front_metrics shard;
  front_tally t;
  t.count(op_kind::get, op_result::ok);
  t.count(op_kind::get, op_result::not_found);
  t.count(op_kind::set, op_result::bad_request);
  t.rate_limited = 2;
  t.publish(shard, 40);
  EXPECT_EQ(shard.requests[0][0].load(), 1u);
  EXPECT_EQ(shard.requests[0][1].load(), 1u);
  EXPECT_EQ(shard.rate_limited.load(), 2u);
  EXPECT_EQ(shard.latency[0].buckets[1].load(), 2u); // both GETs, 25 < 40 <= 50 µs
  std::uint64_t set_observed = 0;
  for (const auto& b : shard.latency[static_cast<std::size_t>(op_kind::set)].buckets)
    set_observed += b.load();
  EXPECT_EQ(set_observed, 0u); // writes are observed when they become durable
  t.publish(shard, 40);        // the tally was reset: publishing again adds nothing
  EXPECT_EQ(shard.requests[0][0].load(), 1u);
}

TEST(metrics, gauges_and_commit_sizes_are_rendered) {
  node_metrics m(1);
  m.commit_batch_writes.observe(commit_bounds_writes, 3);
  m.commit_batch_writes.observe(commit_bounds_writes, 600);
  node_families node(m);
  node.stats.keys = 42;
  node.stats.cache_hits = 7;
  node.stats.cache_misses = 2;
  node.stats.live_bytes = 1234;
  node.ctx.open_connections = 3;
  std::string text = node.render();
  EXPECT_EQ(sample(text, "minivault_keys"), "42");
  EXPECT_EQ(sample(text, "minivault_cache_hits_total"), "7");
  EXPECT_EQ(sample(text, "minivault_cache_misses_total"), "2");
  EXPECT_EQ(sample(text, "minivault_stored_bytes"), "1234");
  EXPECT_EQ(sample(text, "minivault_connections"), "3");
  EXPECT_EQ(sample(text, R"(minivault_commit_batch_writes_bucket{le="4"})"), "1");
  EXPECT_EQ(sample(text, R"(minivault_commit_batch_writes_bucket{le="1024"})"), "2");
  EXPECT_EQ(sample(text, "minivault_commit_batch_writes_sum"), "603");
  // Every family is announced once with HELP and TYPE.
  EXPECT_NE(text.find("# TYPE minivault_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE minivault_request_duration_seconds histogram\n"), std::string::npos);
}

// The families of a single node, in the order of /metrics (README.md "Health and metrics").
const std::vector<std::string> node_family_types = {
    "minivault_requests_total counter",
    "minivault_request_duration_seconds histogram",
    "minivault_auth_failures_total counter",
    "minivault_rate_limited_total counter",
    "minivault_connections gauge",
    "minivault_connections_accepted_total counter",
    "minivault_connections_refused_total counter",
    "minivault_cache_hits_total counter",
    "minivault_cache_misses_total counter",
    "minivault_cache_items gauge",
    "minivault_cache_bytes gauge",
    "minivault_keys gauge",
    "minivault_stored_bytes gauge",
    "minivault_storage_bytes gauge",
    "minivault_commits_total counter",
    "minivault_writes_committed_total counter",
    "minivault_commit_failures_total counter",
    "minivault_commit_batch_writes histogram",
    "minivault_uptime_seconds gauge",
    "minivault_resident_memory_bytes gauge",
};

TEST(metrics, a_single_node_renders_its_families_once_each_in_order) {
  node_metrics m(2);
  std::string text = render_prometheus(m);
  EXPECT_EQ(families(text), node_family_types);
  EXPECT_NE(text.find("# HELP minivault_connections_refused_total Client connections closed at "
                      "accept (connection or file limit).\n"),
            std::string::npos);
  EXPECT_NE(sample(text, "minivault_uptime_seconds"), "<missing>");
  EXPECT_NE(sample(text, "minivault_resident_memory_bytes"), "<missing>");
}

TEST(metrics, a_clustered_node_adds_the_cluster_families_before_the_process_ones) {
  node_metrics m(1);
  cluster c;
  std::vector<peer_view> peers(3);
  peers[0].state = peer_state::up;
  peers[2].state = peer_state::up;
  c.peers.publish(peers, false);
  c.replication_stats.batches_ok = 11;
  c.replication_stats.batches_no_quorum = 12;
  c.replication_stats.batches_timeout = 13;
  c.replication_stats.superseded_rounds = 14;
  c.replication_stats.peer_failures = 15;
  c.handoff_stats.stored = 21;
  c.handoff_stats.delivered = 22;
  c.handoff_stats.dropped = 23;
  c.handoff_stats.pending = 24;
  c.anti_entropy_stats.rounds = 31;
  c.anti_entropy_stats.records_pulled = 32;
  std::string text = node_families(m, &c).render();

  std::vector<std::string> want = node_family_types;
  want.insert(want.end() - 2,
              {"minivault_peers gauge", "minivault_peers_up gauge",
               "minivault_replicated_batches_total counter",
               "minivault_replication_superseded_rounds_total counter",
               "minivault_replica_failures_total counter", "minivault_hints_total counter",
               "minivault_hints_pending gauge", "minivault_anti_entropy_rounds_total counter",
               "minivault_anti_entropy_records_total counter"});
  EXPECT_EQ(families(text), want);
  EXPECT_EQ(sample(text, "minivault_peers"), "3");
  EXPECT_EQ(sample(text, "minivault_peers_up"), "2");
  EXPECT_EQ(sample(text, R"(minivault_replicated_batches_total{result="ok"})"), "11");
  EXPECT_EQ(sample(text, R"(minivault_replicated_batches_total{result="no_quorum"})"), "12");
  EXPECT_EQ(sample(text, R"(minivault_replicated_batches_total{result="timeout"})"), "13");
  EXPECT_EQ(sample(text, "minivault_replication_superseded_rounds_total"), "14");
  EXPECT_EQ(sample(text, "minivault_replica_failures_total"), "15");
  EXPECT_EQ(sample(text, R"(minivault_hints_total{event="stored"})"), "21");
  EXPECT_EQ(sample(text, R"(minivault_hints_total{event="delivered"})"), "22");
  EXPECT_EQ(sample(text, R"(minivault_hints_total{event="dropped"})"), "23");
  EXPECT_EQ(sample(text, "minivault_hints_pending"), "24");
  EXPECT_EQ(sample(text, "minivault_anti_entropy_rounds_total"), "31");
  EXPECT_EQ(sample(text, "minivault_anti_entropy_records_total"), "32");
}

TEST(prometheus_text, a_label_value_an_operator_chose_is_escaped) {
  EXPECT_EQ(label("region", "eu-west"), "region=\"eu-west\"");
  EXPECT_EQ(label("region", "a\"b\\c\nd"), "region=\"a\\\"b\\\\c\\nd\"");
}

TEST(metrics_registry, renders_help_type_and_samples_of_each_family) {
  metrics_registry r;
  ASSERT_TRUE(r.add({"a_total", "Things counted.", metric_type::counter}, [](family_writer& w) {
                 w.sample(R"(k="x")", 1);
                 w.sample(R"(k="y")", 2);
               }).ok());
  ASSERT_TRUE(
      r.add({"b", "A level.", metric_type::gauge}, [](family_writer& w) { w.sample(7); }).ok());
  ASSERT_TRUE(r.add({"c_seconds", "Times.", metric_type::histogram}, [](family_writer& w) {
                 w.histogram<2>(R"(op="get")", {10, 100}, 1e-3, {1, 0, 2}, 1250);
               }).ok());
  r.seal();
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(r.render(), "# HELP a_total Things counted.\n# TYPE a_total counter\n"
                        "a_total{k=\"x\"} 1\na_total{k=\"y\"} 2\n"
                        "# HELP b A level.\n# TYPE b gauge\nb 7\n"
                        "# HELP c_seconds Times.\n# TYPE c_seconds histogram\n"
                        "c_seconds_bucket{op=\"get\",le=\"0.01\"} 1\n"
                        "c_seconds_bucket{op=\"get\",le=\"0.1\"} 1\n"
                        "c_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"
                        "c_seconds_sum{op=\"get\"} 1.25\n"
                        "c_seconds_count{op=\"get\"} 3\n");
}

TEST(metrics_registry, a_snapshot_group_takes_one_snapshot_per_scrape) {
  metrics_registry r;
  int taken = 0;
  using fam = metrics_registry::snapshot_family<int>;
  std::vector<fam> group;
  group.push_back({{"x", "X.", metric_type::gauge}, [](family_writer& w, const int& s) {
                     w.sample(static_cast<std::uint64_t>(s));
                   }});
  group.push_back({{"y", "Y.", metric_type::gauge}, [](family_writer& w, const int& s) {
                     w.sample(static_cast<std::uint64_t>(s * 2));
                   }});
  ASSERT_TRUE(r.add_snapshot<int>([&taken] { return ++taken; }, std::move(group)).ok());
  r.seal();
  std::string text = r.render();
  EXPECT_EQ(taken, 1);
  EXPECT_EQ(sample(text, "x"), "1");
  EXPECT_EQ(sample(text, "y"), "2");
  text = r.render();
  EXPECT_EQ(taken, 2);
  EXPECT_EQ(sample(text, "y"), "4");
}

TEST(metrics_registry, refuses_bad_duplicate_and_late_registrations) {
  metrics_registry r;
  auto none = [](family_writer&) {};
  ASSERT_TRUE(r.add({"ok_name", "Fine.", metric_type::gauge}, none).ok());
  EXPECT_EQ(r.add({"ok_name", "Again.", metric_type::gauge}, none).code(), errc::config_error);
  EXPECT_EQ(r.add({"", "Empty.", metric_type::gauge}, none).code(), errc::config_error);
  EXPECT_EQ(r.add({"9lives", "Digit first.", metric_type::gauge}, none).code(), errc::config_error);
  EXPECT_EQ(r.add({"has-dash", "Dash.", metric_type::gauge}, none).code(), errc::config_error);
  EXPECT_EQ(r.add({"two_lines", "One\nTwo.", metric_type::gauge}, none).code(), errc::config_error);
  EXPECT_EQ(r.add({"no_samples", "Null.", metric_type::gauge}, nullptr).code(), errc::config_error);
  // A group with a repeated or taken name is refused whole.
  using fam = metrics_registry::snapshot_family<int>;
  auto group = [](const char* a, const char* b) {
    std::vector<fam> g;
    g.push_back({{a, "A.", metric_type::gauge}, [](family_writer&, const int&) {}});
    g.push_back({{b, "B.", metric_type::gauge}, [](family_writer&, const int&) {}});
    return g;
  };
  EXPECT_EQ(r.add_snapshot<int>([] { return 0; }, group("g1", "g1")).code(), errc::config_error);
  EXPECT_EQ(r.add_snapshot<int>([] { return 0; }, group("g2", "ok_name")).code(),
            errc::config_error);
  EXPECT_EQ(r.size(), 1u);
  r.seal();
  EXPECT_EQ(r.add({"late", "After seal.", metric_type::gauge}, none).code(), errc::config_error);
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(families(r.render()), std::vector<std::string>{"ok_name gauge"});
}

TEST(metrics_registry, holds_at_most_families_max) {
  metrics_registry r;
  for (std::size_t i = 0; i < metrics_registry::families_max; ++i)
    ASSERT_TRUE(
        r.add({"f" + std::to_string(i), "F.", metric_type::gauge}, [](family_writer&) {}).ok());
  EXPECT_EQ(r.add({"one_more", "F.", metric_type::gauge}, [](family_writer&) {}).code(),
            errc::too_large);
  EXPECT_EQ(r.size(), metrics_registry::families_max);
}

TEST(metrics_registry, io_families_need_the_shards) {
  metrics_registry r;
  server_context ctx; // no ctx.metrics
  EXPECT_EQ(register_io_metrics(r, ctx).code(), errc::config_error);
}

} // namespace
} // namespace minivault
