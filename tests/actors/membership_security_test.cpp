// Review findings (membership): what a process that never proved the cluster secret can
// do to a node's published membership actor. Nodes run inside this process, each with its
// own actor system and loopback ports; the impostor is one more actor system.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include <caf/io/middleman.hpp>

#include "actors/node.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/test_client.hpp"

namespace minivault {
namespace {

using namespace std::chrono_literals;

struct member {
  std::string dir;
  node_options opts;
  std::unique_ptr<node> n;

  explicit member(std::uint16_t port) {
    std::string tmpl = "/tmp/mv-member-sec-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) dir = tmpl;
    opts.port = port;
    opts.bind_address = "127.0.0.1";
    opts.data_dir = dir;
    opts.cluster_port = test::pick_free_port();
  }
  ~member() {
    n.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
  ::testing::AssertionResult start() {
    std::string error;
    n = node::start(opts, error);
    if (!n) return ::testing::AssertionFailure() << error;
    return ::testing::AssertionSuccess();
  }
  nlohmann::json health() const {
    test::test_client c(opts.port);
    auto r = c.health();
    return r.ok() ? nlohmann::json::parse(r.payload) : nlohmann::json();
  }
};

bool wait_for_peer(const member& m, const std::string& address, const std::string& state,
                   std::chrono::milliseconds limit) {
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    auto h = m.health();
    if (h.is_object())
      for (const auto& p : h["peers"])
        if (p["address"] == address && p["state"] == state) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Whatever a process that reaches the cluster port sends (here stop_atom and tick_atom,
// which control the node's own membership actor), the published actor only answers
// challenges, proofs and heartbeats: the node's membership keeps working.
TEST(membership_security, a_process_without_the_secret_cannot_stop_membership) {
  const std::uint16_t pa = test::pick_free_port(), pb = test::pick_free_port();
  member a(pa), b(pb);
  a.opts.peers = {{"127.0.0.1", pb}};
  b.opts.peers = {{"127.0.0.1", pa}};
  a.opts.auth_key = b.opts.auth_key = "cluster-secret";
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());
  const std::string b_addr = "127.0.0.1:" + std::to_string(pb);
  ASSERT_TRUE(wait_for_peer(a, b_addr, "up", 5s)) << a.health().dump();

  caf::actor_system_config cfg;
  add_minivault_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  // Untyped, so nothing but the node itself limits what may be sent.
  caf::actor remote;
  self->request(sys.middleman().actor_handle(), 5s, caf::connect_atom_v, std::string("127.0.0.1"),
                a.opts.cluster_port)
      .receive([&](const caf::node_id&, caf::strong_actor_ptr& ptr,
                   const std::set<std::string>&) { remote = caf::actor_cast<caf::actor>(ptr); },
               [&](const caf::error& e) { ADD_FAILURE() << sys.render(e); });
  ASSERT_TRUE(remote);
  bool stopped = false;
  self->request(remote, 2s, stop_atom_v)
      .receive([&](bool) { stopped = true; }, [&](const caf::error&) {});
  EXPECT_FALSE(stopped) << "an unauthenticated process stopped the membership actor";
  for (int i = 0; i < 100; ++i)
    self->send(remote, tick_atom_v); // no extra timer chains may start

  // Whatever the reply, node A's membership must still work: B going away is noticed.
  b.n.reset();
  EXPECT_TRUE(wait_for_peer(a, b_addr, "down", 6s))
      << "node A still shows a stopped peer: " << a.health().dump();
}

} // namespace
} // namespace minivault
