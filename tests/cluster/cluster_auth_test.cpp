// Real-process cluster test (peers authenticate each other, protocol/README.md §6.1): a
// process that cannot prove the cluster secret is never trusted, and nothing written
// through it reaches the cluster.
#include <gtest/gtest.h>

#include <thread>

#include "tests/cluster/cluster_ops.hpp"

namespace minivault::test {
namespace {

// 9. Three nodes share -auth S; a fourth, started with -auth WRONG, lists them as its
// peers. With `listed`, they list its address too (an impostor at a member's address:
// a 4-member placement, replication factor 3); otherwise they do not know it. Either
// way it is never shown up by them (nor they by it), its writes fail "no quorum", none
// of them arrives on the cluster, and the three correct nodes see each other up.
void wrong_secret_scenario(bool listed) {
  const std::string secret = "cluster-s3cret", wrong = "not-the-secret";
  auto own = pick_free_ports(2);
  ASSERT_EQ(own.size(), 2u);
  const std::uint16_t impostor_port = own[0], impostor_cluster_port = own[1];
  const std::string impostor_address = "127.0.0.1:" + std::to_string(impostor_port);

  cluster_config cfg;
  cfg.common_args = {"-auth", secret, "-authmode", "writes"};
  if (listed) cfg.extra_members = {impostor_port};
  cluster_harness c(cfg);
  ASSERT_TRUE(c.ports_ok());
  for (std::size_t n = 0; n < 3; ++n) {
    ASSERT_NE(c.port(n), impostor_cluster_port);
    ASSERT_NE(c.cluster_port(n), impostor_port);
    ASSERT_NE(c.cluster_port(n), impostor_cluster_port);
  }
  node_process impostor({"-bind", "127.0.0.1", "-public-url", impostor_address, "-cluster-port",
                         std::to_string(impostor_cluster_port), "-cluster-nodes",
                         c.address(0) + "," + c.address(1) + "," + c.address(2), "-auth", wrong,
                         "-authmode", "writes"},
                        {}, impostor_port);
  ASSERT_TRUE(impostor.start());
  for (std::size_t n = 0; n < 3; ++n)
    ASSERT_TRUE(c.node(n).start()) << "node " << n;
  const std::string impostor_id = fetch_health(impostor.port()).node_id;
  ASSERT_FALSE(impostor_id.empty());

  // What a correct node must show: the other two up; the impostor, when listed, listed
  // and not up (so the node is degraded), else absent (and the node healthy); no entry
  // ever carries the impostor's node id while up.
  auto correct_view = [&](std::size_t n, const health_view& h) {
    for (std::size_t j = 0; j < 3; ++j) {
      if (j == n) continue;
      const auto* p = h.find(c.address(j));
      if (!p || p->state != "up") return false;
    }
    for (const auto& p : h.peers)
      if (p.state == "up" && p.node_id == impostor_id) return false;
    const auto* imp = h.find(impostor_address);
    if (listed) return imp != nullptr && imp->state != "up" && h.status == "degraded";
    return imp == nullptr && h.peers.size() == 2 && h.status == "healthy";
  };
  for (std::size_t n = 0; n < 3; ++n)
    ASSERT_TRUE(c.wait_health(
        n, [&, n](const health_view& h) { return correct_view(n, h); },
        listed ? "the other two correct nodes up, the impostor listed and not up"
               : "the other two correct nodes up, healthy, the impostor not listed",
        15s));

  // A key the cluster holds, which the impostor then tries to delete and overwrite.
  {
    test_client good(c.port(0));
    ASSERT_TRUE(good.auth(secret).ok());
    auto r = good.set("kept", "by-the-cluster");
    ASSERT_TRUE(r.ok()) << r;
  }
  // Writes through the impostor (authenticated with its own key): refused, no quorum.
  test_client w(impostor.port());
  ASSERT_TRUE(w.auth(wrong).ok());
  std::vector<std::string> impostor_keys;
  for (std::size_t i = 0; i < 20; ++i) {
    impostor_keys.push_back("impostor/" + std::to_string(i));
    auto r = w.set(impostor_keys.back(), "planted");
    EXPECT_TRUE(r.is_error_like("no quorum")) << r;
  }
  auto r = w.del("kept");
  EXPECT_TRUE(r.is_error_like("no quorum")) << r;
  r = w.set("kept", "planted");
  EXPECT_TRUE(r.is_error_like("no quorum")) << r;

  // Every correct node reads "kept" as the cluster wrote it (with the impostor listed,
  // "kept" lives on three of four members, and a correct node that does not hold it
  // forwards the read to its replicas).
  std::vector<std::string> names = impostor_keys;
  names.push_back("kept");
  auto kept_ok = [&](const std::vector<std::map<std::string, key_state>>& got) {
    for (const auto& g : got) {
      auto it = g.find("kept");
      if (it == g.end() || it->second != key_state("by-the-cluster")) return false;
    }
    return true;
  };
  std::vector<std::map<std::string, key_state>> got(3);
  auto read_all = [&] {
    for (std::size_t n = 0; n < 3; ++n) {
      got[n].clear();
      std::string error;
      if (!read_keys(c.port(n), names, got[n], error)) {
        ADD_FAILURE() << error;
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(poll_until([&] { return read_all() && kept_ok(got); }, 5s))
      << "\"kept\" is not on its replicas as written by the cluster";

  // Watch for several seconds (many connection attempts, heartbeats and anti-entropy
  // periods): the impostor is never up anywhere, and none of its writes lands.
  const auto watch_until = clock_type::now() + 4s;
  std::size_t checks = 0;
  while (clock_type::now() < watch_until && !::testing::Test::HasFailure()) {
    for (std::size_t n = 0; n < 3; ++n) {
      auto h = fetch_health(c.port(n));
      ASSERT_TRUE(h.ok) << h.raw;
      EXPECT_TRUE(correct_view(n, h)) << "node " << n << ": " << h.raw;
    }
    ASSERT_TRUE(read_all());
    EXPECT_TRUE(kept_ok(got)) << "\"kept\" changed";
    for (std::size_t n = 0; n < 3; ++n)
      for (const auto& k : impostor_keys)
        EXPECT_FALSE(got[n][k].has_value())
            << "node " << n << " holds " << k << ", written through the impostor";
    auto ih = fetch_health(impostor.port());
    ASSERT_TRUE(ih.ok) << ih.raw;
    EXPECT_EQ(ih.status, "no_quorum") << ih.raw;
    EXPECT_EQ(ih.peers.size(), 3u) << ih.raw;
    for (const auto& p : ih.peers)
      EXPECT_NE(p.state, "up") << "the impostor trusts a correct node: " << ih.raw;
    ++checks;
    std::this_thread::sleep_for(100ms);
  }
  std::cout << "[ info ] wrong secret" << (listed ? " (listed as a member)" : "") << ": " << checks
            << " rounds of checks over 4 s\n";

  // The correct nodes still replicate among themselves.
  test_client good(c.port(1));
  ASSERT_TRUE(good.auth(secret).ok());
  for (std::size_t i = 0; i < 20; ++i)
    ASSERT_TRUE(good.set("among-correct/" + std::to_string(i), "v").ok());
  std::map<std::string, key_state> expected;
  for (std::size_t i = 0; i < 20; ++i)
    expected["among-correct/" + std::to_string(i)] = std::string("v");
  for (std::size_t n : {0, 2})
    EXPECT_TRUE(wait_node_holds(c.port(n), expected, 5s, "replication among correct nodes"));
  impostor.stop();
}

TEST(ClusterAuth, WrongSecretNodeIsNeverTrusted) {
  wrong_secret_scenario(false);
}

TEST(ClusterAuth, WrongSecretNodeAtAMemberAddressIsNeverTrusted) {
  wrong_secret_scenario(true);
}

} // namespace
} // namespace minivault::test
