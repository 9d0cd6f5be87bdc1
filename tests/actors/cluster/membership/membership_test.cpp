// Cluster membership: the peer tracker's decisions with explicit times, then real nodes
// in this process (each with its own actor system, middleman and loopback ports) finding,
// losing and re-finding each other.
#include "actors/cluster/membership/peer_tracker.hpp"

#include "actors/cluster/membership/peer_auth.hpp"
#include "actors/durability/batch_codec.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include <caf/io/middleman.hpp>

#include "actors/node/node.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/test_client.hpp"

namespace minivault {
namespace {

using namespace std::chrono_literals;

peer_tracker two_peers() {
  return peer_tracker({{"a", 1}, {"b", 2}}, peer_tracker::timing{500, 3000, 100, 800});
}

TEST(peer_tracker, attempts_back_off_exponentially_up_to_the_cap) {
  auto t = two_peers();
  EXPECT_EQ(t.due_attempts(0), (std::vector<std::size_t>{0, 1}));
  EXPECT_TRUE(t.due_attempts(0).empty()); // already being attempted
  t.attempt_failed(0, 0);
  EXPECT_TRUE(t.due_attempts(99).empty());
  EXPECT_EQ(t.due_attempts(100), (std::vector<std::size_t>{0}));
  t.attempt_failed(0, 100); // next in 200
  EXPECT_TRUE(t.due_attempts(299).empty());
  EXPECT_EQ(t.due_attempts(300), (std::vector<std::size_t>{0}));
  std::int64_t now = 300;
  for (int i = 0; i < 10; ++i) {
    t.attempt_failed(0, now);
    now += 800; // the cap
    EXPECT_EQ(t.due_attempts(now), (std::vector<std::size_t>{0})) << "attempt " << i;
  }
}

TEST(peer_tracker, jitter_spreads_retries_within_the_configured_share) {
  // Two nodes that lost each other at the same instant: with jitter their retries land at
  // different times, each within [delay, delay * 1.5].
  peer_tracker::timing timing{500, 3000, 100, 800, 50};
  std::set<std::int64_t> due_at;
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    peer_tracker t({{"a", 1}}, timing, seed);
    (void)t.due_attempts(0);
    t.attempt_failed(0, 0);
    std::int64_t at = 0;
    while (t.due_attempts(at).empty())
      ++at;
    EXPECT_GE(at, 100);
    EXPECT_LE(at, 150);
    due_at.insert(at);
  }
  EXPECT_GT(due_at.size(), 1u) << "every seed retried at the same instant";
}

TEST(peer_tracker, exactly_one_side_of_a_pair_dials) {
  const std::string a = "10.0.0.1:3000", b = "10.0.0.2:3000";
  EXPECT_TRUE(dials_peer(a, b, 0));
  EXPECT_FALSE(dials_peer(b, a, 0));
  // The side that waits dials after hello_waits_max waits without a hello (the other
  // node may not list it).
  EXPECT_FALSE(dials_peer(b, a, hello_waits_max - 1));
  EXPECT_TRUE(dials_peer(b, a, hello_waits_max));
}

TEST(peer_tracker, up_peers_are_pinged_and_expire_when_silent) {
  auto t = two_peers();
  (void)t.due_attempts(0);
  t.connected(0, "n0", "eu", 0);
  EXPECT_TRUE(t.up(0));
  EXPECT_TRUE(t.due_heartbeats(499).empty());
  EXPECT_EQ(t.due_heartbeats(500), (std::vector<std::size_t>{0}));
  t.heard(0, 600);
  EXPECT_TRUE(t.expire_silent(3599).empty());
  EXPECT_EQ(t.expire_silent(3600), (std::vector<std::size_t>{0}));
  EXPECT_FALSE(t.up(0));
  auto views = t.snapshot(3600);
  EXPECT_EQ(views[0].state, peer_state::down);
  EXPECT_EQ(views[0].ms_since_heard, 3000);
  EXPECT_EQ(views[0].node_id, "n0");
  // A lost peer is retried after the minimum backoff, not the grown one.
  EXPECT_TRUE(t.due_attempts(3699).empty());
  EXPECT_EQ(t.due_attempts(3700), (std::vector<std::size_t>{0}));
}

TEST(peer_tracker, this_node_itself_is_ignored_and_not_shown) {
  auto t = two_peers();
  (void)t.due_attempts(0);
  t.is_self(1);
  t.connected(0, "n0", "eu", 0);
  EXPECT_TRUE(t.all_up());
  EXPECT_EQ(t.snapshot(0).size(), 1u);
  EXPECT_TRUE(t.due_attempts(10000).empty());
}

TEST(peer_auth, proofs_bind_secret_role_nonce_and_node) {
  const std::string p = peer_proof("s", "client", "n1", "node");
  EXPECT_EQ(p.size(), 64u); // hex of SHA-256
  EXPECT_EQ(p, peer_proof("s", "client", "n1", "node"));
  EXPECT_NE(p, peer_proof("t", "client", "n1", "node"));
  EXPECT_NE(p, peer_proof("s", "server", "n1", "node"));
  EXPECT_NE(p, peer_proof("s", "client", "n2", "node"));
  EXPECT_NE(p, peer_proof("s", "client", "n1", "other"));
  const std::string a = make_nonce(), b = make_nonce();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

// -- real nodes in this process -------------------------------------------------------------

struct cluster_member {
  std::string dir;
  node_options opts;
  std::unique_ptr<node> n;

  explicit cluster_member(std::uint16_t port) {
    std::string tmpl = "/tmp/mv-member-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) dir = tmpl;
    opts.port = port;
    opts.bind_address = "127.0.0.1";
    opts.public_url = "127.0.0.1:" + std::to_string(port);
    opts.data_dir = dir;
    opts.cluster_port = test::pick_free_port();
  }
  ~cluster_member() {
    n.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
  ::testing::AssertionResult start() {
    auto started = node::start(opts);
    if (!started) return ::testing::AssertionFailure() << started.error().reason();
    n = std::move(started).value();
    return ::testing::AssertionSuccess();
  }
  nlohmann::json health() const {
    test::test_client c(opts.port);
    auto r = c.health();
    return r.ok() ? nlohmann::json::parse(r.payload) : nlohmann::json();
  }
};

/// Waits until `member`'s health shows `address` in `state`; returns how long it took.
std::optional<std::chrono::milliseconds> wait_for_peer(const cluster_member& member,
                                                       const std::string& address,
                                                       const std::string& state,
                                                       std::chrono::milliseconds limit) {
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    auto h = member.health();
    if (h.is_object())
      for (const auto& p : h["peers"])
        if (p["address"] == address && p["state"] == state)
          return std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - start);
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

TEST(membership, nodes_find_lose_and_refind_each_other) {
  const std::uint16_t pa = test::pick_free_port(), pb = test::pick_free_port();
  const std::string a_addr = "127.0.0.1:" + std::to_string(pa);
  const std::string b_addr = "127.0.0.1:" + std::to_string(pb);
  cluster_member a(pa), b(pb);
  a.opts.peers = {{"127.0.0.1", pb}, {"127.0.0.1", pa}}; // its own entry is ignored
  b.opts.peers = {{"127.0.0.1", pa}};
  a.opts.region = "eu";
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());

  ASSERT_TRUE(wait_for_peer(a, b_addr, "up", 5s)) << a.health().dump();
  ASSERT_TRUE(wait_for_peer(b, a_addr, "up", 5s)) << b.health().dump();
  auto h = a.health();
  EXPECT_EQ(h["status"], "healthy");
  EXPECT_EQ(h["cluster_port"], a.opts.cluster_port);
  ASSERT_EQ(h["peers"].size(), 1u) << "the entry naming node A itself must not be listed";
  EXPECT_EQ(h["peers"][0]["node_id"], b.n->node_id());
  EXPECT_EQ(b.health()["peers"][0]["region"], "eu");

  b.n.reset(); // node B stops: its connection closes
  auto down = wait_for_peer(a, b_addr, "down", 6s);
  ASSERT_TRUE(down) << a.health().dump();
  // Two members with write quorum 2: with B down, A cannot take writes.
  EXPECT_EQ(a.health()["status"], "no_quorum");

  ASSERT_TRUE(b.start()); // same ports, same data
  auto back = wait_for_peer(a, b_addr, "up", 5s);
  ASSERT_TRUE(back) << a.health().dump();
  EXPECT_LT(*back, 1500ms) << "a restarted peer must be reconnected within about a second";
  EXPECT_EQ(a.health()["status"], "healthy");
}

TEST(membership, an_unreachable_peer_stays_connecting_and_writes_fail_without_quorum) {
  cluster_member a(test::pick_free_port());
  a.opts.peers = {{"127.0.0.1", test::pick_free_port()}};
  ASSERT_TRUE(a.start());
  std::this_thread::sleep_for(500ms);
  auto h = a.health();
  ASSERT_EQ(h["peers"].size(), 1u);
  EXPECT_EQ(h["peers"][0]["state"], "connecting");
  EXPECT_EQ(h["peers"][0]["last_heard_ms"], -1);
  EXPECT_EQ(h["status"], "no_quorum");
  // Two members, write quorum 2, the peer unreachable: a write fails fast and writes
  // nothing; reads and health go on.
  test::test_client c(a.opts.port);
  auto r = c.set("k", "v");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.payload, "no quorum: region local has 1 of 2 replicas up, 2 needed");
  EXPECT_EQ(c.get("k").payload, "not found");
  EXPECT_TRUE(c.health().ok());
}

TEST(membership, peers_with_the_secret_trust_each_other_and_others_never_come_up) {
  const std::uint16_t pa = test::pick_free_port(), pb = test::pick_free_port(),
                      pc = test::pick_free_port();
  cluster_member a(pa), b(pb), c(pc);
  a.opts.peers = {{"127.0.0.1", pb}, {"127.0.0.1", pc}};
  b.opts.peers = {{"127.0.0.1", pa}};
  c.opts.peers = {{"127.0.0.1", pa}};
  a.opts.auth_key = b.opts.auth_key = "cluster-secret";
  c.opts.auth_key = "another-secret";
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());
  ASSERT_TRUE(c.start());
  const std::string b_addr = "127.0.0.1:" + std::to_string(pb);
  const std::string c_addr = "127.0.0.1:" + std::to_string(pc);
  const std::string a_addr = "127.0.0.1:" + std::to_string(pa);
  ASSERT_TRUE(wait_for_peer(a, b_addr, "up", 5s)) << a.health().dump();
  ASSERT_TRUE(wait_for_peer(b, a_addr, "up", 5s)) << b.health().dump();
  // C holds another secret: neither side ever counts the other as up.
  EXPECT_FALSE(wait_for_peer(a, c_addr, "up", 1500ms)) << a.health().dump();
  EXPECT_FALSE(wait_for_peer(c, a_addr, "up", 100ms)) << c.health().dump();
  EXPECT_EQ(a.health()["status"], "degraded");
}

TEST(membership, a_process_without_the_secret_is_not_answered) {
  const std::uint16_t pa = test::pick_free_port();
  cluster_member a(pa);
  a.opts.peers = {{"127.0.0.1", test::pick_free_port()}};
  a.opts.auth_key = "cluster-secret";
  ASSERT_TRUE(a.start());
  // An impostor: its own actor system, straight to the cluster port.
  caf::actor_system_config cfg;
  add_minivault_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto remote = sys.middleman().remote_actor<peer_endpoint_actor>("127.0.0.1", a.opts.cluster_port);
  ASSERT_TRUE(remote) << sys.render(remote.error());
  caf::scoped_actor self{sys};
  bool answered = false;
  self->request(*remote, 2s, ping_atom_v, std::string("impostor"))
      .receive([&](const std::string&, const std::string&) { answered = true; },
               [&](const caf::error&) {});
  EXPECT_FALSE(answered) << "a heartbeat from a process that never proved the secret was answered";
  // A made-up proof is refused too.
  bool accepted = true;
  self->request(*remote, 2s, challenge_atom_v, std::string("00"))
      .receive([&](const std::string&, const std::string&, const std::string&) {},
               [&](const caf::error&) {});
  self->request(*remote, 2s, peer_auth_atom_v, std::string("impostor"), std::string("00"),
                std::string("00"))
      .receive([&](bool ok) { accepted = ok; }, [&](const caf::error&) { accepted = false; });
  EXPECT_FALSE(accepted);
  // Nor does it get what trusted peers may ask for: a key's record, or a write.
  bool read_answered = false, write_answered = false;
  std::string keys;
  std::uint32_t count = 0;
  pack_read(keys, count, "k");
  self->request(*remote, 2s, read_atom_v, count, keys)
      .receive([&](const read_reply&) { read_answered = true; }, [&](const caf::error&) {});
  EXPECT_FALSE(read_answered);
  versioned_writes w;
  pack_versioned_write(w, false, "k", "v", storage::version{1, 7});
  self->request(*remote, 2s, replicate_atom_v, w)
      .receive([&](const replica_ack&) { write_answered = true; }, [&](const caf::error&) {});
  EXPECT_FALSE(write_answered);
}

TEST(membership, a_taken_cluster_port_fails_the_start_cleanly) {
  cluster_member a(test::pick_free_port());
  a.opts.peers = {{"127.0.0.1", test::pick_free_port()}};
  ASSERT_TRUE(a.start());
  cluster_member b(test::pick_free_port());
  b.opts.peers = a.opts.peers;
  b.opts.cluster_port = a.opts.cluster_port; // taken by node A
  auto refused = node::start(b.opts);
  ASSERT_FALSE(refused);
  const std::string error = refused.error().reason();
  EXPECT_NE(error.find("cannot listen for peers"), std::string::npos) << error;
  // Its client port was released: a node can start on it now.
  b.opts.cluster_port = test::pick_free_port();
  EXPECT_TRUE(b.start());
}

// Whatever a process that reaches the cluster port sends (here stop_atom and tick_atom,
// which control the node's own membership actor), the published actor only answers
// challenges, proofs and heartbeats: the node's membership keeps working.
TEST(membership_security, a_process_without_the_secret_cannot_stop_membership) {
  const std::uint16_t pa = test::pick_free_port(), pb = test::pick_free_port();
  cluster_member a(pa), b(pb);
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
