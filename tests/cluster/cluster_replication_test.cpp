// Real-process cluster tests (protocol/README.md §4): three `minivault` processes on
// 127.0.0.1 forming one cluster (replication factor 3, write quorum 2: every node holds
// every key). Replication, failures of one and two nodes, nodes that return, concurrent
// writers, and HTTP across nodes. Every wait polls with a deadline; nodes are signalled
// by their PID.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/cluster/cluster_ops.hpp"

namespace minivault::test {
namespace {

/// Health as every node of a fully up cluster shows it: "healthy", and each other node
/// listed by its address, "up", with the node id that node reports for itself.
void expect_healthy_cluster(cluster_harness& c) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < c.size(); ++i) {
    auto h = fetch_health(c.port(i));
    ASSERT_TRUE(h.ok) << h.raw;
    ids.push_back(h.node_id);
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    auto h = fetch_health(c.port(i));
    ASSERT_TRUE(h.ok) << h.raw;
    EXPECT_EQ(h.status, "healthy") << h.raw;
    EXPECT_EQ(h.peers.size(), c.size() - 1) << h.raw;
    for (std::size_t j = 0; j < c.size(); ++j) {
      if (j == i) continue;
      const auto* p = h.find(c.address(j));
      ASSERT_NE(p, nullptr) << "node " << i << " does not list " << c.address(j) << ": " << h.raw;
      EXPECT_EQ(p->state, "up") << h.raw;
      EXPECT_EQ(p->node_id, ids[j]) << h.raw;
    }
  }
}

// 1. A write (SET, overwrite, DELETE) through any node is readable on the other two.
TEST(ClusterReplication, WritesOnOneNodeAreReadableOnTheOthers) {
  cluster_harness c;
  ASSERT_TRUE(c.start_all());
  expect_healthy_cluster(c);

  std::map<std::string, key_state> expected;
  std::vector<op_record> ops;
  for (std::size_t i = 0; i < 100; ++i)
    ops.push_back(set_op("rep/" + std::to_string(i), make_value("rep", i, 16 + i * 37)));
  ASSERT_TRUE(write_acked(c.port(0), ops, expected));
  for (std::size_t n : {1, 2}) {
    clock_type::duration took{};
    ASSERT_TRUE(wait_node_holds(c.port(n), expected, 5s,
                                "SETs through node 0 on node " + std::to_string(n), {}, &took));
    std::cout << "[ info ] 100 SETs through node 0 visible on node " << n << " after " << ms(took)
              << " ms\n";
  }

  // Overwrites through node 1, deletes through node 2 (of keys node 0 wrote).
  ops = numbered_sets("rep/", 30, "rep-over");
  ASSERT_TRUE(write_acked(c.port(1), ops, expected));
  ops.clear();
  for (std::size_t i = 20; i < 60; ++i)
    ops.push_back(del_op("rep/" + std::to_string(i)));
  ASSERT_TRUE(write_acked(c.port(2), ops, expected));
  for (std::size_t n = 0; n < 3; ++n)
    EXPECT_TRUE(wait_node_holds(c.port(n), expected, 5s,
                                "overwrites and DELETEs on node " + std::to_string(n)));

  // One write at a time: each is visible on every other node shortly after its ack.
  clock_type::duration worst{};
  for (std::size_t i = 0; i < 20; ++i) {
    const std::size_t via = i % 3;
    const std::string key = "one/" + std::to_string(i);
    const std::string value = make_value("one", i);
    test_client w(c.port(via));
    auto r = w.set(key, value);
    ASSERT_TRUE(r.ok()) << r;
    const auto acked = clock_type::now();
    for (std::size_t n = 0; n < 3; ++n) {
      if (n == via) continue;
      ASSERT_TRUE(wait_node_holds(c.port(n), {{key, value}}, 2s, "single SET"));
    }
    worst = std::max(worst, clock_type::now() - acked);
  }
  std::cout << "[ info ] single SETs: slowest visible on both other nodes " << ms(worst)
            << " ms after the ack\n";
  expect_healthy_cluster(c);
}

// 2. With one node SIGKILLed, writes through the other two are all acknowledged, and
// health shows the dead peer not up and the node degraded.
TEST(ClusterReplication, OneNodeKilledWritesKeepSucceeding) {
  cluster_harness c;
  ASSERT_TRUE(c.start_all());
  c.node(2).kill_hard();

  // At once, before the survivors noticed, and again once they did.
  std::map<std::string, key_state> expected;
  auto round = [&](const std::string& tag) {
    std::vector<op_record> a, b;
    for (std::size_t i = 0; i < 300; ++i) {
      a.push_back(set_op(tag + "/a/" + std::to_string(i), make_value(tag + "a", i)));
      b.push_back(set_op(tag + "/b/" + std::to_string(i), make_value(tag + "b", i)));
    }
    for (std::size_t i = 0; i < 300; i += 10)
      a.push_back(del_op(tag + "/a/" + std::to_string(i)));
    const auto [sa, sb] = write_both(c.port(0), a, c.port(1), b);
    EXPECT_EQ(sa.acked, a.size()) << tag << " via node 0: " << sa.first_error
                                  << summarize_failures(a);
    EXPECT_EQ(sb.acked, b.size()) << tag << " via node 1: " << sb.first_error
                                  << summarize_failures(b);
    apply_acked(a, expected);
    apply_acked(b, expected);
    std::cout << "[ info ] " << tag << ": slowest ack "
              << ms(std::max(sa.max_latency, sb.max_latency)) << " ms\n";
  };
  round("before-noticed");
  for (std::size_t n : {0, 1}) {
    EXPECT_TRUE(c.wait_peer_state(n, 2, "up", /*negate=*/true, 10s));
    EXPECT_TRUE(c.wait_health(
        n, [](const health_view& h) { return h.status == "degraded"; }, "status degraded", 5s));
  }
  EXPECT_TRUE(c.wait_peer_state(0, 1, "up")) << "the live peers still see each other";
  EXPECT_TRUE(c.wait_peer_state(1, 0, "up"));
  round("after-noticed");
  for (std::size_t n : {0, 1})
    EXPECT_TRUE(wait_node_holds(c.port(n), expected, 10s, "node " + std::to_string(n)));
}

// 3. With two nodes SIGKILLed, the survivor refuses writes fast with "no quorum" (binary
// 0xFF, HTTP 503) and still serves reads of what it holds.
TEST(ClusterReplication, TwoNodesKilledWritesFailFastWithNoQuorum) {
  constexpr auto request_timeout = 3000ms;
  constexpr auto fast = 500ms; // "fail fast": well under the request timeout
  cluster_config cfg;
  cfg.http = true;
  cfg.common_args = {"-request-timeout-ms", std::to_string(request_timeout.count())};
  cluster_harness c(cfg);
  ASSERT_TRUE(c.start_all());

  std::map<std::string, key_state> expected;
  auto ops = numbered_sets("nq/", 50, "nq");
  ASSERT_TRUE(write_acked(c.port(1), ops, expected));
  ASSERT_TRUE(wait_node_holds(c.port(0), expected, 5s, "before the kills"));

  c.node(1).kill_hard();
  c.node(2).kill_hard();
  ASSERT_TRUE(c.wait_health(
      0,
      [&](const health_view& h) {
        const auto* p1 = h.find(c.address(1));
        const auto* p2 = h.find(c.address(2));
        return h.status == "no_quorum" && p1 && p2 && p1->state != "up" && p2->state != "up";
      },
      "both peers not up and status no_quorum", 10s));

  test_client w(c.port(0));
  ASSERT_TRUE(w.connected());
  clock_type::duration worst{};
  for (std::size_t i = 0; i < 30; ++i) {
    const std::string fresh = "nq-new/" + std::to_string(i);
    const std::string old = "nq/" + std::to_string(i);
    const auto t0 = clock_type::now();
    reply r = i % 3 == 0 ? w.set(fresh, "x") : i % 3 == 1 ? w.set(old, "overwritten") : w.del(old);
    const auto took = clock_type::now() - t0;
    worst = std::max(worst, took);
    EXPECT_TRUE(r.is_error_like("no quorum")) << "write " << i << ": " << r;
    EXPECT_EQ(r.status, wire::status_error);
    EXPECT_LT(ms(took), ms(fast)) << "write " << i << " took " << ms(took)
                                  << " ms (request timeout " << request_timeout.count() << " ms)";
  }
  std::cout << "[ info ] writes without quorum: slowest refusal " << ms(worst) << " ms\n";

  // HTTP: 503 with the same reason.
  httplib::Client http("127.0.0.1", c.http_port(0));
  http.set_connection_timeout(5);
  http.set_read_timeout(10);
  {
    const auto t0 = clock_type::now();
    auto res = http.Put("/nq-http", R"({"value":1})", "application/json");
    const auto took = clock_type::now() - t0;
    ASSERT_TRUE(res) << "HTTP PUT got no response";
    EXPECT_EQ(res->status, 503) << res->body;
    EXPECT_EQ(
        res->body,
        R"({"success":false,"error":"no quorum: region local has 1 of 3 replicas up, 2 needed"})");
    EXPECT_LT(ms(took), ms(fast));
    res = http.Delete("/nq/7");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503) << res->body;
  }

  // Reads are local: every key written before the kills is still there, unchanged by
  // the refused overwrites and deletes; refused new keys were not written.
  EXPECT_TRUE(wait_node_holds(c.port(0), expected, 1s, "reads on the survivor"));
  std::map<std::string, key_state> refused;
  for (std::size_t i = 0; i < 30; i += 3)
    refused["nq-new/" + std::to_string(i)] = std::nullopt;
  refused["nq-http"] = std::nullopt;
  EXPECT_TRUE(wait_node_holds(c.port(0), refused, 1s, "refused new keys"));
  auto res = http.Get("/nq/7");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  auto h = fetch_health(c.port(0));
  EXPECT_EQ(h.status, "no_quorum") << h.raw;
}

// 4. Nodes SIGKILLed one after the other and restarted on their data directories get
// every write acknowledged while they were down (hinted handoff, anti-entropy).
TEST(ClusterReplication, RestartedNodesReceiveWritesAcknowledgedWhileDown) {
  cluster_harness c;
  ASSERT_TRUE(c.start_all());
  std::map<std::string, key_state> expected;
  auto ops = numbered_sets("pre/", 200, "pre");
  ASSERT_TRUE(write_acked(c.port(0), ops, expected));
  for (std::size_t n = 0; n < 3; ++n)
    ASSERT_TRUE(wait_node_holds(c.port(n), expected, 5s, "prefill on node " + std::to_string(n)));

  // Writes (new keys, overwrites, deletes) through both live nodes while `down` is down.
  auto write_while_down = [&](std::size_t down, const std::string& tag,
                              const std::vector<std::string>& older) {
    std::vector<op_record> a, b;
    for (std::size_t i = 0; i < 300; ++i) {
      auto& out = i % 2 == 0 ? a : b;
      out.push_back(set_op(tag + "/" + std::to_string(i), make_value(tag, i, 16 + i % 200)));
    }
    for (std::size_t i = 0; i < older.size(); ++i) {
      auto& out = i % 2 == 0 ? a : b;
      if (i % 3 == 0)
        out.push_back(del_op(older[i]));
      else if (i % 3 == 1)
        out.push_back(set_op(older[i], make_value(tag + "-over", i)));
    }
    std::size_t via_a = (down + 1) % 3, via_b = (down + 2) % 3;
    const auto [sa, sb] = write_both(c.port(via_a), a, c.port(via_b), b);
    EXPECT_EQ(sa.acked, a.size()) << sa.first_error << summarize_failures(a);
    EXPECT_EQ(sb.acked, b.size()) << sb.first_error << summarize_failures(b);
    apply_acked(a, expected);
    apply_acked(b, expected);
  };

  std::vector<std::string> pre_keys;
  for (std::size_t i = 0; i < 200; ++i)
    pre_keys.push_back("pre/" + std::to_string(i));
  c.node(2).kill_hard();
  write_while_down(2, "while2", pre_keys);
  ASSERT_TRUE(c.node(2).start()) << "restart of node 2";
  // Once it sees its peers, quorum reads through it see every acknowledged write (read
  // quorum + write quorum > replication factor), caught up or not. A quarter of the keys
  // only, so that read repair does not do the catching up checked below.
  ASSERT_TRUE(c.wait_all_peers_up(2));
  EXPECT_TRUE(node_holds_now(c.port(2), every_nth(expected, 4),
                             "QGET through node 2 after its restart", true));
  clock_type::duration took{};
  EXPECT_TRUE(wait_node_holds(c.port(2), expected, 20s, "node 2 after its restart", {}, &took));
  std::cout << "[ info ] node 2 caught up " << ms(took) << " ms after it accepted again\n";

  std::vector<std::string> older = keys_of(expected);
  c.node(1).kill_hard();
  write_while_down(1, "while1", older);
  ASSERT_TRUE(c.node(1).start()) << "restart of node 1";
  EXPECT_TRUE(wait_node_holds(c.port(1), expected, 20s, "node 1 after its restart", {}, &took));
  std::cout << "[ info ] node 1 caught up " << ms(took) << " ms after it accepted again ("
            << expected.size() << " keys)\n";
  for (std::size_t n = 0; n < 3; ++n)
    EXPECT_TRUE(wait_node_holds(c.port(n), expected, 10s, "node " + std::to_string(n)));
  EXPECT_TRUE(c.wait_cluster_up());
}

// 8. Writers hitting the same 50 keys through all three nodes at once: once they stop,
// every node returns the same value for every key (last writer wins, ties broken the
// same way everywhere), and that value is one that was written.
TEST(ClusterReplication, ConcurrentWritersOnTheSameKeysConverge) {
  cluster_harness c;
  ASSERT_TRUE(c.start_all());
  constexpr std::size_t keys = 50, rounds = 20;
  node_writers writers(
      c, 3,
      [](std::size_t n, std::size_t i) {
        std::size_t k = i % keys, r = i / keys;
        std::string key = "same/" + std::to_string(k);
        if (r % 7 == 6 && n == 1) return del_op(key);
        return set_op(key, "node" + std::to_string(n) + "-round" + std::to_string(r) + "-key" +
                               std::to_string(k));
      },
      keys * rounds, 8);
  writers.join();
  const auto& streams = writers.streams;
  const auto& stats = writers.stats;
  std::map<std::string, std::set<key_state>> written;
  for (std::size_t n = 0; n < 3; ++n) {
    EXPECT_EQ(stats[n].acked, keys * rounds)
        << "node " << n << ": " << stats[n].first_error << summarize_failures(streams[n]);
    for (const auto& op : streams[n])
      written[op.key].insert(op.kind == op_kind::set ? key_state(op.value) : key_state());
  }
  std::vector<std::string> names;
  for (std::size_t k = 0; k < keys; ++k)
    names.push_back("same/" + std::to_string(k));

  std::vector<std::map<std::string, key_state>> seen(3);
  std::string error;
  auto agree = [&] { return nodes_agree(c, names, seen, error); };
  const auto quiet = clock_type::now();
  bool converged = poll_until(agree, 15s);
  std::cout << "[ info ] concurrent writers: nodes agree " << ms(clock_type::now() - quiet)
            << " ms after the last ack\n";
  if (!converged) {
    report_disagreement(names, seen);
    FAIL() << "the nodes never agreed (last read error: " << error << ")";
  }
  for (const auto& k : names)
    EXPECT_TRUE(written[k].count(seen[0][k]))
        << k << " reads " << describe(seen[0][k]) << ", which no writer wrote";
  // Stable: still the same a moment later (no late replica flips a value).
  auto before = seen;
  ASSERT_TRUE(agree());
  EXPECT_EQ(before, seen);
}

// 10. HTTP: a PUT through one node is readable with GET through the others; a DELETE
// through another is seen everywhere; /health shows the peers.
TEST(ClusterReplication, HttpPutOnOneNodeIsReadableOnTheOthers) {
  cluster_config cfg;
  cfg.http = true;
  cluster_harness c(cfg);
  ASSERT_TRUE(c.start_all());
  std::vector<std::unique_ptr<httplib::Client>> http;
  for (std::size_t n = 0; n < 3; ++n) {
    http.push_back(std::make_unique<httplib::Client>("127.0.0.1", c.http_port(n)));
    http.back()->set_connection_timeout(5);
    http.back()->set_read_timeout(10);
  }
  const std::string value =
      R"({"name": "Ada", "id": 12345678901234567890, "tags": ["x","\u00e9"]})";
  auto res = http[0]->Put("/user%3A1", R"({"value": )" + value + "}", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->body, R"({"success":true})");

  auto http_get = [&](std::size_t n, const std::string& path, int& status, std::string& body) {
    auto r = http[n]->Get(path.c_str());
    if (!r) return false;
    status = r->status;
    body = r->body;
    return true;
  };
  // GET /user%3A1 on each of `nodes`, polled until it answers `want_status`; then its body.
  auto expect_user = [&](std::initializer_list<std::size_t> nodes, int want_status,
                         const std::string& want_body) {
    for (std::size_t n : nodes) {
      int status = 0;
      std::string body;
      EXPECT_TRUE(poll_until(
          [&] { return http_get(n, "/user%3A1", status, body) && status == want_status; }, 5s))
          << "node " << n << ": " << status << " " << body;
      EXPECT_EQ(body, want_body);
    }
  };
  expect_user({1, 2}, 200, R"({"success":true,"data":)" + value + "}");
  // The same value over the binary protocol of the third node.
  EXPECT_TRUE(wait_node_holds(c.port(2), {{"user:1", value}}, 2s, "binary GET"));

  res = http[1]->Delete("/user%3A1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  expect_user({0, 2}, 404, R"({"success":false,"error":"not found"})");

  int status = 0;
  std::string body;
  ASSERT_TRUE(http_get(2, "/health", status, body));
  EXPECT_EQ(status, 200);
  auto j = nlohmann::json::parse(body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << body;
  EXPECT_EQ(j.value("status", ""), "healthy") << body;
  ASSERT_TRUE(j.contains("peers") && j["peers"].is_array()) << body;
  EXPECT_EQ(j["peers"].size(), 2u) << body;
  for (const auto& p : j["peers"])
    EXPECT_EQ(p.value("state", ""), "up") << body;
}

} // namespace
} // namespace minivault::test
