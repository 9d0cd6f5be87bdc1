// Real-process cluster test (optional TLS between nodes): with
// -tls-cert/-tls-key/-tls-ca the cluster port speaks TLS through libcaf_openssl, writes
// replicate over it, and a node whose certificate the CA did not sign is never trusted.
// The certificates are made for the test with the `openssl` command-line tool.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "tests/cluster/cluster_ops.hpp"
#include "tests/support/run_process.hpp"

namespace minivault::test {
namespace {

/// A private CA, certificates it signed for the nodes, and one self-signed stranger,
/// in a temporary directory removed at the end.
class tls_files {
public:
  tls_files() {
    std::string tmpl = "/tmp/minivault-tls-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    dir_ = tmpl;
    ok_ = openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"),
                   "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=minivault-test-ca"});
    for (const char* n : {"node0", "node1", "node2"}) {
      ok_ = ok_ &&
            openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", path(n) + ".key", "-out",
                     path(n) + ".csr", "-subj", std::string("/CN=") + n}) &&
            openssl({"x509", "-req", "-in", path(n) + ".csr", "-CA", path("ca.pem"), "-CAkey",
                     path("ca.key"), "-CAcreateserial", "-out", path(n) + ".pem", "-days", "2"});
    }
    ok_ = ok_ &&
          openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("stranger.key"),
                   "-out", path("stranger.pem"), "-days", "2", "-subj", "/CN=stranger"});
  }
  ~tls_files() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::string path(const std::string& name) const { return dir_ + "/" + name; }
  /// The TLS flags of a node using certificate `name` (signed by CA `ca`).
  [[nodiscard]] std::vector<std::string> args(const std::string& name,
                                              const std::string& ca = "ca") const {
    return {"-tls-cert",         path(name) + ".pem", "-tls-key",
            path(name) + ".key", "-tls-ca",           path(ca) + ".pem"};
  }

private:
  bool openssl(const std::vector<std::string>& args) {
    auto r = run_process("/usr/bin/openssl", args);
    if (r.exit_code != 0) ADD_FAILURE() << "openssl failed: " << r.err;
    return r.exit_code == 0;
  }
  std::string dir_;
  bool ok_ = false;
};

TEST(ClusterTls, WritesReplicateOverTlsAndAnUntrustedCertificateIsRefused) {
  tls_files tls;
  ASSERT_TRUE(tls.ok());
  cluster_config cfg;
  for (std::size_t i = 0; i < 3; ++i)
    cfg.node_args[i] = tls.args("node" + std::to_string(i));
  cluster_harness c(cfg);
  ASSERT_TRUE(c.ports_ok());
  ASSERT_TRUE(c.start_all(30s)) << "nodes with CA-signed certificates must connect over TLS";

  {
    test_client a(c.port(0));
    // Over TLS the peer links are lost and made again a few times in the first seconds
    // after a start (seen in clean-clone runs: "connection lost" every ~0.4 s for about
    // 2 s, cause not found yet; listed in issue 11's note), and start_all may catch a
    // moment when all were up. Wait until the cluster has taken writes for a second
    // without a failure, then every write must succeed.
    auto ok_since = std::chrono::steady_clock::now();
    ASSERT_TRUE(poll_until(
        [&] {
          if (!a.set("tls/warmup", "x").ok()) ok_since = std::chrono::steady_clock::now();
          return std::chrono::steady_clock::now() - ok_since >= 1s;
        },
        15s))
        << "a TLS cluster never took writes for a second in a row";
    for (int i = 0; i < 50; ++i)
      ASSERT_TRUE(a.set("tls/" + std::to_string(i), "v" + std::to_string(i)).ok()) << i;
  }
  for (std::size_t n : {1u, 2u}) {
    std::map<std::string, key_state> seen;
    std::vector<std::string> keys;
    for (int i = 0; i < 50; ++i)
      keys.push_back("tls/" + std::to_string(i));
    std::string error;
    ASSERT_TRUE(poll_until(
        [&] {
          seen.clear();
          if (!read_keys(c.port(n), keys, seen, error)) return false;
          for (int i = 0; i < 50; ++i)
            if (seen["tls/" + std::to_string(i)] != "v" + std::to_string(i)) return false;
          return true;
        },
        10s))
        << "node " << n << " did not get the writes: " << error;
  }

  // Node 2 comes back with a certificate the CA never signed (trusting only itself):
  // the others refuse its TLS handshake, it never shows up, and with node 2 out the
  // two others still make a quorum.
  c.node(2).kill_hard();
  auto args = c.args(2);
  std::vector<std::string> stranger_args;
  for (std::size_t k = 0; k < args.size(); ++k) {
    if (args[k] == "-tls-cert" || args[k] == "-tls-key" || args[k] == "-tls-ca") {
      ++k; // replaced below
      continue;
    }
    stranger_args.push_back(args[k]);
  }
  for (auto& a : tls.args("stranger", "stranger"))
    stranger_args.push_back(a);
  node_process stranger(stranger_args, {}, c.port(2));
  ASSERT_TRUE(stranger.start());
  std::this_thread::sleep_for(3s); // several connection attempts in both directions
  for (std::size_t n : {0u, 1u}) {
    auto h = fetch_health(c.port(n));
    ASSERT_TRUE(h.ok) << h.raw;
    const auto* p = h.find(c.address(2));
    ASSERT_NE(p, nullptr) << h.raw;
    EXPECT_NE(p->state, "up") << "node " << n << " trusted a certificate its CA did not sign";
  }
  auto hs = fetch_health(c.port(2));
  ASSERT_TRUE(hs.ok) << hs.raw;
  for (const auto& p : hs.peers)
    EXPECT_NE(p.state, "up") << "the stranger connected to " << p.address;
  test_client s(c.port(2));
  auto r = s.set("tls/stranger", "x");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.payload, "no quorum: region local has 1 of 3 replicas up, 2 needed");
  test_client a(c.port(0));
  EXPECT_EQ(a.get("tls/stranger").payload, "not found") << "the stranger's write reached node 0";
  // Not asserted (a known issue, see README "Cluster"): while the stranger keeps failing
  // TLS handshakes, the link between nodes 0 and 1 sometimes drops for a moment, so a
  // write through them may fail with no quorum or timeout instead of succeeding.
}

} // namespace
} // namespace minivault::test
