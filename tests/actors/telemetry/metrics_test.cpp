// The metrics registry and its Prometheus text rendering.
#include "actors/telemetry/metrics.hpp"

#include <gtest/gtest.h>

#include <sstream>

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

TEST(metrics, requests_are_summed_over_shards_by_protocol_op_and_result) {
  node_metrics m(2);
  m.binary_shards[0].count(op_kind::get, op_result::ok, 3);
  m.binary_shards[1].count(op_kind::get, op_result::ok, 4);
  m.binary_shards[1].count(op_kind::set, op_result::rate_limited, 2);
  m.http.count(op_kind::del, op_result::unauthorized);
  m.http.auth_failures += 5;
  std::string text = render_prometheus(m, {});
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
  std::string text = render_prometheus(m, {});
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
  metrics_inputs in;
  in.storage.keys = 42;
  in.storage.cache_hits = 7;
  in.storage.cache_misses = 2;
  in.storage.live_bytes = 1234;
  in.connections_open = 3;
  std::string text = render_prometheus(m, in);
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

} // namespace
} // namespace minivault
