// Real-process cluster tests (protocol/README.md §4): a frozen (SIGSTOPped) node, a wiped
// node, and the whole cluster SIGKILLed mid-stream. No acknowledged write may be lost,
// deleted keys stay deleted, and nodes that return catch up by themselves.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "tests/cluster/cluster_ops.hpp"

namespace minivault::test {
namespace {

// 5. A frozen node (SIGSTOP: its sockets stay open, it answers nothing) does not slow
// writes through the others past the request timeout, nor grow their memory without
// bound; once it resumes (SIGCONT) it catches up on every key.
TEST(ClusterRecovery, FrozenNodeStallsNoWriteAndCatchesUp) {
  constexpr auto request_timeout = 1000ms;
  // The value cache is capped so RSS measures what replication holds, not cached values.
  constexpr std::size_t rss_growth_max_kib = 150u << 10;
  cluster_config cfg;
  cfg.common_args = {"-request-timeout-ms", std::to_string(request_timeout.count()), "-cache",
                     "16"};
  cluster_harness c(cfg);
  ASSERT_TRUE(c.start_all());

  std::map<std::string, key_state> expected;
  {
    std::vector<op_record> warm;
    for (std::size_t i = 0; i < 300; ++i)
      warm.push_back(set_op("warm/" + std::to_string(i), make_value("warm", i, 30000)));
    for (std::size_t n : {0, 1}) {
      auto w = warm;
      ASSERT_TRUE(write_acked(c.port(n), w, expected));
    }
  }
  ASSERT_TRUE(c.node(0).rss_kib() && c.node(1).rss_kib());
  std::size_t baseline_kib[2] = {*c.node(0).rss_kib(), *c.node(1).rss_kib()};

  ASSERT_TRUE(c.node(2).freeze());
  // Two writers, through nodes 0 and 1, 4 requests in flight each: every other value of
  // 10-100 KB (about 200 MiB in all), the rest 100 bytes; 2000 keys each, so most are
  // overwritten, and some deleted.
  constexpr std::size_t ops_per_writer = 4000;
  node_writers writers(
      c, 2,
      [](std::size_t n, std::size_t i) {
        const std::string tag = "frozen" + std::to_string(n);
        const std::string key = tag + "/" + std::to_string(i % 2000);
        if (i % 97 == 96) return del_op(tag + "/" + std::to_string((i * 13) % 2000));
        std::size_t bytes = i % 2 == 0 ? 10000 + (i * 7919) % 90000 : 100;
        return set_op(key, make_value(tag, i, bytes));
      },
      ops_per_writer, 4);
  std::size_t peak_kib[2] = {baseline_kib[0], baseline_kib[1]};
  auto sample = [&] {
    for (std::size_t n = 0; n < 2; ++n)
      if (auto r = c.node(n).rss_kib()) peak_kib[n] = std::max(peak_kib[n], *r);
  };
  const auto started = clock_type::now();
  while (writers.finished() < 2) {
    sample();
    std::this_thread::sleep_for(20ms);
  }
  writers.join();
  const auto streamed = clock_type::now() - started;
  sample();
  const auto& streams = writers.streams;
  const auto& stats = writers.stats;

  std::size_t bytes = 0;
  for (std::size_t n = 0; n < 2; ++n) {
    for (const auto& op : streams[n])
      bytes += op.value.size();
    EXPECT_EQ(stats[n].acked, ops_per_writer)
        << "writer via node " << n << ": " << stats[n].first_error
        << summarize_failures(streams[n]);
    std::size_t slow = 0;
    for (const auto& op : streams[n])
      slow += op.latency >= request_timeout ? 1 : 0;
    EXPECT_EQ(slow, 0u) << "writes via node " << n << " at or over the request timeout of "
                        << request_timeout.count() << " ms; slowest " << ms(stats[n].max_latency)
                        << " ms";
    EXPECT_LT(peak_kib[n] - baseline_kib[n], rss_growth_max_kib)
        << "node " << n << " RSS grew from " << baseline_kib[n] / 1024 << " MiB to "
        << peak_kib[n] / 1024 << " MiB while its peer was frozen";
    apply_acked(streams[n], expected);
  }
  std::cout << "[ info ] frozen peer: " << 2 * ops_per_writer << " writes (" << bytes / (1 << 20)
            << " MiB) in " << ms(streamed) << " ms; slowest ack "
            << ms(std::max(stats[0].max_latency, stats[1].max_latency)) << " ms; RSS node 0 "
            << baseline_kib[0] / 1024 << " -> " << peak_kib[0] / 1024 << " MiB, node 1 "
            << baseline_kib[1] / 1024 << " -> " << peak_kib[1] / 1024 << " MiB\n";

  // A frozen peer is silent: it is marked down (not up) and the others degraded.
  EXPECT_TRUE(c.wait_peer_state(0, 2, "up", /*negate=*/true, 10s));
  EXPECT_TRUE(c.wait_health(
      0, [](const health_view& h) { return h.status == "degraded"; }, "status degraded", 5s));

  ASSERT_TRUE(c.node(2).thaw());
  clock_type::duration took{};
  EXPECT_TRUE(wait_node_holds(c.port(2), expected, 40s, "node 2 after SIGCONT", {}, &took));
  std::cout << "[ info ] node 2 caught up " << ms(took) << " ms after SIGCONT (" << expected.size()
            << " keys)\n";
  EXPECT_TRUE(c.wait_cluster_up());
  for (std::size_t n : {0, 1})
    EXPECT_TRUE(wait_node_holds(c.port(n), expected, 10s, "node " + std::to_string(n)));
}

// 6. A node whose data directory is wiped (SIGKILL, delete, restart empty) refills by
// anti-entropy: every key with its latest value, and deleted keys stay deleted on every
// node.
TEST(ClusterRecovery, WipedNodeRefillsByAntiEntropy) {
  cluster_harness c;
  ASSERT_TRUE(c.start_all());
  std::map<std::string, key_state> expected;
  for (std::size_t n = 0; n < 3; ++n) {
    std::vector<op_record> ops;
    for (std::size_t i = 0; i < 600; ++i) {
      const std::string key = "wipe" + std::to_string(n) + "/" + std::to_string(i);
      ops.push_back(set_op(key, make_value("wipe" + std::to_string(n), i, 16 + (i * 131) % 3000)));
    }
    for (std::size_t i = 0; i < 600; i += 5) // overwrites
      ops.push_back(
          set_op("wipe" + std::to_string(n) + "/" + std::to_string(i), make_value("wipe-over", i)));
    for (std::size_t i = 1; i < 600; i += 4) // deletes
      ops.push_back(del_op("wipe" + std::to_string(n) + "/" + std::to_string(i)));
    ASSERT_TRUE(write_acked(c.port(n), ops, expected));
  }
  for (std::size_t n = 0; n < 3; ++n)
    ASSERT_TRUE(wait_node_holds(c.port(n), expected, 10s, "before the wipe"));

  c.node(2).kill_hard();
  std::error_code ec;
  std::filesystem::remove_all(c.node(2).data_dir(), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_FALSE(std::filesystem::exists(c.node(2).data_dir()));
  ASSERT_TRUE(c.node(2).start()) << "restart with an empty data directory";
  // Before the refill is done, quorum reads through the empty node already see every
  // acknowledged write and delete (the other replica of each read quorum has it). Only
  // a quarter of the keys: read repair fixes what a quorum read finds stale, and the
  // rest must be refilled by anti-entropy alone.
  ASSERT_TRUE(c.wait_all_peers_up(2));
  EXPECT_TRUE(
      node_holds_now(c.port(2), every_nth(expected, 4), "QGET through the wiped node", true));

  clock_type::duration took{};
  EXPECT_TRUE(wait_node_holds(c.port(2), expected, 30s, "wiped node 2", {}, &took));
  std::cout << "[ info ] wiped node refilled in " << ms(took) << " ms (" << expected.size()
            << " keys, "
            << std::count_if(expected.begin(), expected.end(),
                             [](const auto& e) { return !e.second; })
            << " deleted)\n";
  EXPECT_TRUE(c.wait_cluster_up());
  for (std::size_t n = 0; n < 3; ++n)
    EXPECT_TRUE(
        wait_node_holds(c.port(n), expected, 5s, "after the refill, node " + std::to_string(n)));

  // The refilled node (with its new identity) replicates its own writes again.
  std::vector<op_record> after = {set_op("after-wipe", "v1"), del_op("wipe0/0")};
  ASSERT_TRUE(write_acked(c.port(2), after, expected));
  for (std::size_t n : {0, 1})
    EXPECT_TRUE(wait_node_holds(c.port(n), expected, 5s, "writes through the refilled node"));
}

// 7. The whole cluster SIGKILLed while a client streams writes through every node, then
// restarted: no acknowledged write is missing on any node, deleted keys stay deleted, and
// the replicas converge.
TEST(ClusterRecovery, FullClusterRestartLosesNoAcknowledgedWrite) {
  cluster_harness c;
  ASSERT_TRUE(c.start_all());
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> acked{0};
  node_writers writers(
      c, 3,
      [](std::size_t n, std::size_t i) {
        // New keys, overwrites of recent keys and deletes of older ones.
        const std::string tag = "full" + std::to_string(n);
        std::size_t j = i / 3;
        switch (i % 3) {
        case 0:
          return set_op(tag + "/" + std::to_string(j), make_value(tag, i, 16 + (i * 61) % 1500));
        case 1:
          return set_op(tag + "/" + std::to_string(j >= 5 ? j - 5 : j),
                        make_value(tag + "-over", i));
        default:
          return del_op(tag + "/" + std::to_string(j >= 20 ? j - 20 : j));
        }
      },
      200000, 16, &stop, &acked);
  // Mid-stream: after a while and once enough writes were acknowledged (bounded).
  const auto started = clock_type::now();
  poll_until([&] { return clock_type::now() - started >= 1500ms && acked.load() >= 300; }, 10s);
  for (std::size_t n = 0; n < 3; ++n) // SIGKILL all three at once, then reap
    c.node(n).send_signal(SIGKILL);
  for (std::size_t n = 0; n < 3; ++n)
    c.node(n).kill_hard();
  stop.store(true);
  writers.join();
  const auto& streams = writers.streams;
  const auto& stats = writers.stats;

  std::size_t total_acked = 0, total_failed = 0, acked_deletes = 0;
  for (std::size_t n = 0; n < 3; ++n) {
    total_acked += stats[n].acked;
    total_failed += stats[n].failed;
    EXPECT_GT(stats[n].acked, 0u) << "no write via node " << n
                                  << " was acknowledged: " << stats[n].first_error;
    for (const auto& op : streams[n])
      acked_deletes += op.kind == op_kind::del && op.state == op_state::acked;
  }
  ASSERT_GT(acked_deletes, 0u);

  for (std::size_t n = 0; n < 3; ++n)
    ASSERT_TRUE(c.node(n).start()) << "restart of node " << n;
  EXPECT_TRUE(c.wait_cluster_up(20s));

  auto allowed = allowed_states({&streams[0], &streams[1], &streams[2]});
  for (std::size_t n = 0; n < 3; ++n)
    EXPECT_TRUE(wait_node_holds(c.port(n), allowed, 30s,
                                "after the full restart, node " + std::to_string(n)));
  // Converged: the three replicas agree on every key (a write that failed or was cut off
  // may have reached one replica; anti-entropy spreads whichever version is newest).
  std::vector<std::string> names;
  for (const auto& [k, v] : allowed)
    names.push_back(k);
  std::vector<std::map<std::string, key_state>> seen(3);
  std::string error;
  if (!poll_until([&] { return nodes_agree(c, names, seen, error); }, 20s)) {
    report_disagreement(names, seen);
    ADD_FAILURE() << "the replicas never converged (last read error: " << error << ")";
  }
  std::cout << "[ info ] full restart: " << total_acked << " writes acknowledged (" << acked_deletes
            << " DELETEs), " << total_failed << " error replies, " << names.size()
            << " keys checked on each node\n";
}

// A node stops promptly and cleanly on SIGTERM (exit status 0, well before main's 5 s
// shutdown watchdog gives up on it) even while a peer is frozen and never answers the
// requests this node has in flight to it.
TEST(ClusterShutdown, SigtermStopsPromptlyWhileAPeerIsFrozen) {
  cluster_harness c;
  ASSERT_TRUE(c.start_all());
  auto ops = numbered_sets("stop/", 100, "stop");
  ASSERT_TRUE(write_acked(c.port(0), ops));

  ASSERT_TRUE(c.node(2).freeze());
  // Until node 2 is marked down (3 s of silence) its peers keep talking to it: heartbeats,
  // anti-entropy rounds (one per second) whose requests it never answers.
  for (std::size_t n : {0, 1})
    ASSERT_TRUE(c.wait_peer_state(n, 2, "up", /*negate=*/true, 10s));
  for (std::size_t n : {0, 1}) {
    const auto t0 = clock_type::now();
    const bool clean = c.node(n).stop(std::chrono::seconds(10));
    const auto took = clock_type::now() - t0;
    EXPECT_TRUE(clean) << "node " << n << " needed SIGKILL";
    EXPECT_EQ(c.node(n).last_exit_description(), "exited 0") << "node " << n;
    EXPECT_LT(ms(took), 3000) << "node " << n << " took " << ms(took)
                              << " ms to stop on SIGTERM; log tail:\n"
                              << c.node(n).log_tail(800);
    std::cout << "[ info ] node " << n << " stopped on SIGTERM in " << ms(took) << " ms ("
              << c.node(n).last_exit_description() << ")\n";
  }
  ASSERT_TRUE(c.node(2).thaw());
}

// Every node stops cleanly and promptly when the whole cluster gets SIGTERM together
// just after a node came back and caught up (hints delivered, anti-entropy rounds
// running). A few rounds, since the moment of the SIGTERM varies.
TEST(ClusterShutdown, SigtermToEveryNodeAfterACatchUpStopsEachCleanly) {
  constexpr std::size_t rounds = 4;
  cluster_harness c;
  ASSERT_TRUE(c.start_all());
  for (std::size_t round = 0; round < rounds; ++round) {
    c.node(1).kill_hard();
    std::vector<op_record> a, b;
    for (std::size_t i = 0; i < 300; ++i) {
      const std::string tag = "r" + std::to_string(round);
      a.push_back(set_op(tag + "a/" + std::to_string(i), make_value(tag, i, 100)));
      b.push_back(set_op(tag + "b/" + std::to_string(i), make_value(tag, i, 100)));
    }
    const auto [sa, sb] = write_both(c.port(0), a, c.port(2), b);
    ASSERT_EQ(sa.acked + sb.acked, a.size() + b.size()) << sa.first_error << sb.first_error;
    std::map<std::string, key_state> expected;
    apply_acked(a, expected);
    apply_acked(b, expected);
    ASSERT_TRUE(c.node(1).start());
    ASSERT_TRUE(wait_node_holds(c.port(1), expected, 20s, "node 1 after its restart"));
    ASSERT_TRUE(c.wait_cluster_up());

    // SIGTERM to all three at once; each exit is timed on its own.
    const auto t0 = clock_type::now();
    for (std::size_t n = 0; n < 3; ++n)
      c.node(n).send_signal(SIGTERM);
    std::vector<std::optional<clock_type::duration>> exited(3);
    poll_until(
        [&] {
          bool all = true;
          for (std::size_t n = 0; n < 3; ++n) {
            if (exited[n]) continue;
            if (c.node(n).running())
              all = false;
            else
              exited[n] = clock_type::now() - t0;
          }
          return all;
        },
        10s);
    for (std::size_t n = 0; n < 3; ++n) {
      if (!exited[n]) {
        ADD_FAILURE() << "round " << round << ": node " << n << " still runs 10 s after SIGTERM";
        c.node(n).kill_hard();
        continue;
      }
      EXPECT_EQ(c.node(n).last_exit_description(), "exited 0")
          << "round " << round << ", node " << n << ", " << ms(*exited[n])
          << " ms after SIGTERM; log tail:\n"
          << c.node(n).log_tail(600);
      EXPECT_LT(ms(*exited[n]), 3000) << "round " << round << ": node " << n << " stopped "
                                      << ms(*exited[n]) << " ms after SIGTERM";
    }
    if (::testing::Test::HasFailure()) break;
    for (std::size_t n = 0; n < 3; ++n)
      ASSERT_TRUE(c.node(n).start()) << "node " << n;
    ASSERT_TRUE(c.wait_cluster_up());
  }
}

} // namespace
} // namespace minivault::test
