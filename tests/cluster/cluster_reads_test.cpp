// Real-process tests of cluster reads: quorum reads (binary QGET 0x07, HTTP
// `GET /key?consistency=quorum`) through every node, on a single node, with a frozen peer,
// with too few peers, through a node that missed writes, and reads of keys a node does
// not hold forwarded to their replicas (5 nodes). Every wait polls with a deadline; nodes
// are signalled by their own PID.
//
// What is not tested here: that read repair (rather than hinted handoff or anti-entropy)
// fixed a stale replica. Both catch a returning node up within about a second, and no
// flag turns them off, so which mechanism won is not observable from outside; the unit
// tests (tests/actors/cluster/replication/replication_reads_test.cpp) cover read repair
// deterministically.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <thread>

#include "actors/cluster/replication/placement.hpp"
#include "storage/partition.hpp"
#include "storage/table.hpp"
#include "tests/cluster/cluster_ops.hpp"
#include "tests/support/http_support.hpp"

namespace minivault::test {
namespace {

// -- helpers --------------------------------------------------------------------------------

/// One QGET (0x07) on its own round trip.
reply qget(test_client& c, const std::string& key) {
  std::string frame;
  wire::append_request(frame, wire::opcode::qget, key);
  if (!c.send_raw(frame)) return reply{};
  return c.read_reply();
}

/// One HTTP request on a fresh connection; nullopt if no whole response came back.
std::optional<raw_response> http_once(std::uint16_t port, const std::string& method,
                                      const std::string& target, const std::string& body = {},
                                      std::chrono::milliseconds timeout = 10s) {
  raw_http h(port);
  if (!h.connected()) return std::nullopt;
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: t\r\n";
  if (!body.empty() || method == "PUT")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (!h.send(req)) return std::nullopt;
  return h.read_response(timeout, method == "HEAD");
}

std::string json_value(const std::string& v) {
  return R"({"success":true,"data":")" + v + R"("})";
}
std::string json_error(const std::string& e) {
  return R"({"success":false,"error":")" + e + R"("})";
}

/// One HTTP request (on its own connection) and what it must answer.
struct http_check {
  std::string method, target;
  int status;
  std::optional<std::string> body = std::nullopt;           // checked unless nullopt
  std::string note = {};                                    // printed with a mismatch
  std::optional<std::string> content_length = std::nullopt; // checked unless nullopt
};

/// Sends every request of `checks` to `port` (http_once) and checks its answer. A request
/// that gets no response is a fatal failure: call it inside ASSERT_NO_FATAL_FAILURE.
void expect_http(std::uint16_t port, const std::vector<http_check>& checks) {
  for (const auto& w : checks) {
    SCOPED_TRACE(w.method + " " + w.target);
    auto res = http_once(port, w.method, w.target);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, w.status) << w.note << " (body: " << res->body << ")";
    if (w.content_length) {
      EXPECT_EQ(res->header("Content-Length"), *w.content_length) << w.note;
    }
    if (w.body) {
      EXPECT_EQ(res->body, *w.body) << w.note;
    }
  }
}

/// Whether the node at `c.address(i)` holds `key`, by the placement every node computes
/// (rendezvous over the member names, replication factor 3).
bool holds(cluster_harness& c, std::size_t i, const std::string& key) {
  std::vector<std::string> names{c.address(i)};
  for (std::size_t j = 0; j < c.size(); ++j)
    if (j != i) names.push_back(c.address(j));
  placement p(names, 3);
  return p.holds(self_member, storage::partition_of(storage::table::hash_key(key)));
}

/// The value of one sample of node `http_port`'s /metrics (0 when absent; -1 when the
/// metrics could not be fetched).
long long metric(std::uint16_t http_port, const std::string& name_and_labels) {
  auto res = http_once(http_port, "GET", "/metrics");
  if (!res || res->status != 200) return -1;
  std::istringstream in(res->body);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name_and_labels + " ", 0) == 0)
      return std::stoll(line.substr(name_and_labels.size() + 1));
  return 0;
}

std::string requests(const std::string& proto, const std::string& op, const std::string& result) {
  return "minivault_requests_total{protocol=\"" + proto + "\",op=\"" + op + "\",result=\"" +
         result + "\"}";
}

// -- quorum reads through every node, both protocols ------------------------------------------

TEST(ClusterReads, QuorumReadsThroughEveryNodeSeeAnAcknowledgedWriteAtOnce) {
  cluster_config cfg;
  cfg.http = true;
  cluster_harness c(cfg);
  ASSERT_TRUE(c.ports_ok());
  ASSERT_TRUE(c.start_all());
  for (std::size_t i = 0; i < c.size(); ++i)
    ASSERT_TRUE(poll_until([&] { return port_accepts(c.http_port(i)); }, 5s)) << "HTTP " << i;

  // Acknowledged through node 0: a quorum read through any node sees it at once (read
  // quorum 2 + write quorum 2 > 3), without polling.
  {
    test_client w(c.port(0));
    ASSERT_TRUE(w.set("qr-a", "alpha").ok());
    ASSERT_TRUE(w.set("qr-gone", "soon deleted").ok());
    ASSERT_TRUE(w.del("qr-gone").ok());
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    SCOPED_TRACE("node " + std::to_string(i));
    test_client r(c.port(i));
    ASSERT_TRUE(r.connected());
    auto got = qget(r, "qr-a");
    EXPECT_TRUE(got.ok() && got.payload == "alpha") << got;
    got = qget(r, "qr-gone");
    EXPECT_TRUE(got.is_error("not found")) << "a deleted key: " << got;
    got = qget(r, "qr-never-written");
    EXPECT_TRUE(got.is_error("not found")) << got;
    got = qget(r, "");
    EXPECT_TRUE(got.is_error("bad request")) << "an empty key: " << got;
    // The connection still works after the error.
    got = qget(r, "qr-a");
    EXPECT_TRUE(got.ok() && got.payload == "alpha") << got;

    ASSERT_NO_FATAL_FAILURE(expect_http(
        c.http_port(i),
        {
            {"GET", "/qr-a?consistency=quorum", 200, json_value("alpha")},
            {"GET", "/qr-a?consistency=one", 200, std::nullopt,
             "consistency=one is a plain (local) read"},
            {"GET", "/qr-gone?consistency=quorum", 404, json_error("not found")},
            {"GET", "/qr-never-written?consistency=quorum", 404},
            {"GET", "/qr-a?consistency=bogus", 400,
             json_error("consistency must be one|local_quorum|region_safe|each_quorum|quorum|all")},
            {"GET", "/qr-a?consistency=", 400, std::nullopt, "an empty consistency"},
            // HEAD: the GET's status and Content-Length, no body.
            {"HEAD", "/qr-a?consistency=quorum", 200, "", "",
             std::to_string(json_value("alpha").size())},
            {"HEAD", "/qr-never-written?consistency=quorum", 404},
        }));
  }
}

// Pipelined on one connection: quorum reads, local reads and writes answer in request
// order, and a quorum read behind this connection's own pending write sees that write.
TEST(ClusterReads, PipelinedQuorumReadsKeepOrderAndSeeTheConnectionsOwnWrites) {
  cluster_config cfg;
  cfg.http = true;
  cluster_harness c(cfg);
  ASSERT_TRUE(c.ports_ok());
  ASSERT_TRUE(c.start_all());
  {
    test_client w(c.port(1));
    ASSERT_TRUE(w.set("pipe-y", "why").ok());
  }
  // Binary, through node 2. The write's quorum may have been nodes 0 and 1 (node 2's copy
  // can come later, e.g. as a hint when node 1 had not seen it up yet): its local GETs
  // below may only expect the value once node 2 holds it.
  test_client t(c.port(2));
  ASSERT_TRUE(t.connected());
  ASSERT_TRUE(poll_until([&] { return t.get("pipe-y").payload == "why"; }, 5s));
  std::string frames;
  struct want {
    bool ok;
    std::string payload; // the value, or the error
  };
  std::vector<want> wants;
  auto add = [&](wire::opcode op, const std::string& key, const std::string& value, want w) {
    wire::append_request(frames, op, key, value);
    wants.push_back(std::move(w));
  };
  using wire::opcode;
  for (int round = 0; round < 3; ++round) {
    const std::string x = "pipe-x" + std::to_string(round);
    add(opcode::set, x, "one", {true, ""});
    add(opcode::qget, x, "", {true, "one"});
    add(opcode::get, "pipe-y", "", {true, "why"});
    add(opcode::qget, "pipe-y", "", {true, "why"});
    add(opcode::del, x, "", {true, ""});
    add(opcode::qget, x, "", {false, "not found"});
    add(opcode::qget, "pipe-missing", "", {false, "not found"});
    add(opcode::set, x, "two", {true, ""});
    add(opcode::get, x, "", {true, "two"});
    add(opcode::qget, x, "", {true, "two"});
    add(opcode::health, "", "", {true, "*"});
    add(opcode::qget, "pipe-y", "", {true, "why"});
  }
  ASSERT_TRUE(t.send_raw(frames));
  for (std::size_t i = 0; i < wants.size(); ++i) {
    auto r = t.read_reply();
    ASSERT_TRUE(r.io_ok) << "reply " << i << " missing";
    if (wants[i].ok) {
      EXPECT_EQ(r.status, wire::status_ok) << "reply " << i << ": " << r;
      if (wants[i].payload != "*") {
        EXPECT_EQ(r.payload, wants[i].payload) << "reply " << i;
      }
    } else {
      EXPECT_TRUE(r.is_error(wants[i].payload)) << "reply " << i << ": " << r;
    }
  }
  // Afterwards, from another node: the connection's last writes hold.
  test_client o(c.port(0));
  for (int round = 0; round < 3; ++round) {
    auto r = qget(o, "pipe-x" + std::to_string(round));
    EXPECT_TRUE(r.ok() && r.payload == "two") << r;
  }

  // HTTP, through node 0: the same on one keep-alive connection, then Connection: close.
  ASSERT_TRUE(poll_until([&] { return port_accepts(c.http_port(0)); }, 5s));
  raw_http h(c.http_port(0));
  ASSERT_TRUE(h.connected());
  std::string reqs;
  auto req = [&](const std::string& method, const std::string& target, const std::string& body,
                 bool close = false) {
    reqs += method + " " + target + " HTTP/1.1\r\nHost: t\r\n";
    if (method == "PUT") reqs += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (close) reqs += "Connection: close\r\n";
    reqs += "\r\n" + body;
  };
  req("PUT", "/http-x", R"({"value":"one"})");
  req("GET", "/http-x?consistency=quorum", "");
  req("HEAD", "/pipe-y?consistency=quorum", "");
  req("GET", "/pipe-y?consistency=quorum", "");
  req("GET", "/http-missing?consistency=quorum", "");
  req("GET", "/pipe-y?consistency=bogus", "");
  req("DELETE", "/http-x", "");
  req("GET", "/http-x?consistency=quorum", "");
  req("GET", "/pipe-y?consistency=quorum", "", /*close=*/true);
  ASSERT_TRUE(h.send(reqs));
  struct hwant {
    int status;
    std::string body;
    bool head = false;
  };
  const std::vector<hwant> hwants = {
      {200, R"({"success":true})"},
      {200, json_value("one")},
      {200, "", true},
      {200, json_value("why")},
      {404, json_error("not found")},
      {400, json_error("consistency must be one|local_quorum|region_safe|each_quorum|quorum|all")},
      {200, R"({"success":true})"},
      {404, json_error("not found")},
      {200, json_value("why")},
  };
  for (std::size_t i = 0; i < hwants.size(); ++i) {
    auto r = h.read_response(10s, hwants[i].head);
    ASSERT_TRUE(r) << "HTTP response " << i << " missing";
    EXPECT_EQ(r->status, hwants[i].status) << "response " << i << ": " << r->body;
    if (hwants[i].head)
      EXPECT_EQ(r->header("Content-Length"), std::to_string(json_value("why").size()));
    else
      EXPECT_EQ(r->body, hwants[i].body) << "response " << i;
    if (i + 1 == hwants.size()) {
      EXPECT_EQ(r->header("Connection"), "close") << "the last request asked to close";
    }
  }
  EXPECT_TRUE(h.closed_by_peer(5s)) << "Connection: close on a quorum read left it open";
}

// -- a single node --------------------------------------------------------------------------

TEST(ClusterReads, OnASingleNodeQgetWorksLikeGet) {
  http_node n;
  ASSERT_TRUE(n.start());
  test_client t(n.binary_port());
  ASSERT_TRUE(t.set("solo", "value").ok());
  auto r = qget(t, "solo");
  EXPECT_TRUE(r.ok() && r.payload == "value") << r;
  r = qget(t, "solo-missing");
  EXPECT_TRUE(r.is_error("not found")) << r;
  ASSERT_TRUE(t.del("solo").ok());
  r = qget(t, "solo");
  EXPECT_TRUE(r.is_error("not found")) << r;
  // Pipelined behind a pending write of the key.
  std::string frames;
  wire::append_request(frames, wire::opcode::set, "solo2", "v2");
  wire::append_request(frames, wire::opcode::qget, "solo2");
  ASSERT_TRUE(t.send_raw(frames));
  EXPECT_TRUE(t.read_reply().ok());
  r = t.read_reply();
  EXPECT_TRUE(r.ok() && r.payload == "v2") << r;

  ASSERT_NO_FATAL_FAILURE(expect_http(
      n.http_port(),
      {
          {"GET", "/solo2?consistency=quorum", 200, json_value("v2")},
          {"GET", "/solo-missing?consistency=quorum", 404},
          {"GET", "/solo2?consistency=bogus", 400,
           json_error("consistency must be one|local_quorum|region_safe|each_quorum|quorum|all")},
      }));
}

// -- failures -------------------------------------------------------------------------------

// A frozen peer (SIGSTOP, not yet marked down) is not waited for: the other two make the
// read quorum. With both peers frozen, a quorum read fails with `timeout` after the
// request timeout (HTTP 504), and once they are marked down, with `no quorum` at once
// (HTTP 503); plain reads stay local and keep working throughout.
TEST(ClusterReads, FrozenPeersTimeoutThenNoQuorumLocalReadsKeepWorking) {
  constexpr auto request_timeout = 1000ms;
  cluster_config cfg;
  cfg.http = true;
  cfg.common_args = {"-request-timeout-ms", std::to_string(request_timeout.count())};
  cluster_harness c(cfg);
  ASSERT_TRUE(c.ports_ok());
  ASSERT_TRUE(c.start_all());
  ASSERT_TRUE(poll_until([&] { return port_accepts(c.http_port(0)); }, 5s));
  {
    test_client w(c.port(0));
    ASSERT_TRUE(w.set("frozen-k", "v").ok());
  }
  ASSERT_TRUE(wait_node_holds(c.port(0), {{"frozen-k", std::string("v")}}, 5s, "local copy"));

  // One peer frozen: quorum reads through the other two answer well inside the timeout.
  ASSERT_TRUE(c.node(2).freeze());
  for (std::size_t i : {0, 1}) {
    test_client r(c.port(i));
    const auto t0 = clock_type::now();
    auto got = qget(r, "frozen-k");
    const auto took = clock_type::now() - t0;
    EXPECT_TRUE(got.ok() && got.payload == "v") << "node " << i << ": " << got;
    EXPECT_LT(took, request_timeout / 2) << "node " << i << " waited for the frozen peer";
  }

  // Both peers frozen (neither marked down yet: that takes 3 s of silence).
  ASSERT_TRUE(c.node(1).freeze());
  test_client bin(c.port(0));
  raw_http h(c.http_port(0));
  ASSERT_TRUE(bin.connected() && h.connected());
  std::string frame;
  wire::append_request(frame, wire::opcode::qget, "frozen-k");
  const auto t0 = clock_type::now();
  ASSERT_TRUE(bin.send_raw(frame));
  ASSERT_TRUE(h.send("GET /frozen-k?consistency=quorum HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto got = bin.read_reply();
  auto res = h.read_response(10s);
  const auto took = clock_type::now() - t0;
  // The error names what fell short: QGET at the node's local_quorum, HTTP at quorum.
  EXPECT_TRUE(got.is_error("timeout: region local has 1 of 3 replicas answered, 2 needed")) << got;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 504) << res->body;
  EXPECT_EQ(res->body, json_error("timeout: 1 of 3 replicas answered, 2 needed"));
  EXPECT_GE(took, request_timeout - 50ms) << "answered before the request timeout";
  EXPECT_LT(took, request_timeout * 3) << "the read was not bounded by the request timeout";
  // The same connection keeps serving local reads.
  auto local = bin.get("frozen-k");
  EXPECT_TRUE(local.ok() && local.payload == "v") << local;

  // Marked down: no quorum, at once.
  ASSERT_TRUE(c.wait_health(
      0, [](const health_view& v) { return v.status == "no_quorum"; }, "status no_quorum", 10s));
  const auto t1 = clock_type::now();
  got = qget(bin, "frozen-k");
  EXPECT_TRUE(got.is_error_like("no quorum")) << got;
  EXPECT_LT(clock_type::now() - t1, request_timeout / 2) << "no quorum is known up front";
  ASSERT_NO_FATAL_FAILURE(
      expect_http(c.http_port(0), {{"GET", "/frozen-k?consistency=quorum", 503,
                                    json_error("no quorum: 1 of 3 replicas up, 2 needed")}}));
  local = bin.get("frozen-k");
  EXPECT_TRUE(local.ok() && local.payload == "v") << local;

  // Back: quorum reads work again.
  ASSERT_TRUE(c.node(1).thaw());
  ASSERT_TRUE(c.node(2).thaw());
  ASSERT_TRUE(c.wait_cluster_up(20s));
  got = qget(bin, "frozen-k");
  EXPECT_TRUE(got.ok() && got.payload == "v") << got;
}

// A node that missed writes (SIGKILLed while they were acknowledged by the other two)
// answers quorum reads with the newest versions as soon as it sees its peers again,
// whether or not it has caught up yet; deletes it missed read as not found.
TEST(ClusterReads, QuorumReadsThroughANodeThatMissedWritesReturnTheNewest) {
  cluster_harness c;
  ASSERT_TRUE(c.ports_ok());
  ASSERT_TRUE(c.start_all());
  std::map<std::string, key_state> first, second;
  auto ops = numbered_sets("missed/", 200, "v1");
  ASSERT_TRUE(write_acked(c.port(0), ops, first));
  ASSERT_TRUE(wait_node_holds(c.port(2), first, 10s, "v1 on node 2"));

  c.node(2).kill_hard();
  ops.clear();
  for (std::size_t i = 0; i < 200; ++i)
    ops.push_back(i % 4 == 3 ? del_op("missed/" + std::to_string(i))
                             : set_op("missed/" + std::to_string(i), make_value("v2", i)));
  second = first;
  ASSERT_TRUE(write_acked(c.port(1), ops, second));

  ASSERT_TRUE(c.node(2).restart());
  ASSERT_TRUE(c.wait_all_peers_up(2, 20s));
  // Local reads first (how stale node 2 still is: information only), then quorum reads,
  // which must return the newest at once.
  std::map<std::string, key_state> local;
  std::string error;
  ASSERT_TRUE(read_keys(c.port(2), keys_of(second), local, error)) << error;
  std::size_t stale = 0;
  for (const auto& [k, v] : second)
    stale += local[k] != v ? 1 : 0;
  EXPECT_TRUE(node_holds_now(c.port(2), second, "QGET through the returning node", true));
  std::cout << "[ info ] node 2 still had " << stale << " of " << second.size()
            << " keys stale when it saw its peers (quorum reads returned the newest)\n";
  EXPECT_TRUE(wait_node_holds(c.port(2), second, 10s, "node 2 caught up"));
}

// -- metrics --------------------------------------------------------------------------------

// Every quorum read is counted once in minivault_requests_total{op="get"}: answered from a
// quorum, from this connection's own pending write, or failed, including when the batch
// carrying it failed because of a write in it (no quorum for the write).
TEST(ClusterReads, EveryQuorumReadIsCountedOnceInTheMetrics) {
  cluster_config cfg;
  cfg.http = true;
  cluster_harness c(cfg);
  ASSERT_TRUE(c.ports_ok());
  ASSERT_TRUE(c.start_all());
  const std::uint16_t hp = c.http_port(0);
  ASSERT_TRUE(poll_until([&] { return port_accepts(hp); }, 5s));
  test_client t(c.port(0));
  ASSERT_TRUE(t.set("m-k", "v").ok());

  struct counts {
    long long ok, not_found, error, set_error;
  };
  auto now = [&](const std::string& proto) {
    return counts{
        metric(hp, requests(proto, "get", "ok")), metric(hp, requests(proto, "get", "not_found")),
        metric(hp, requests(proto, "get", "error")), metric(hp, requests(proto, "set", "error"))};
  };
  auto b0 = now("binary");
  ASSERT_GE(b0.ok, 0);
  EXPECT_TRUE(qget(t, "m-k").ok());
  EXPECT_TRUE(qget(t, "m-missing").is_error("not found"));
  {
    // Behind this connection's own pending write: answered from it, counted once.
    std::string frames;
    wire::append_request(frames, wire::opcode::set, "m-own", "own");
    wire::append_request(frames, wire::opcode::qget, "m-own");
    ASSERT_TRUE(t.send_raw(frames));
    EXPECT_TRUE(t.read_reply().ok());
    auto r = t.read_reply();
    EXPECT_TRUE(r.ok() && r.payload == "own") << r;
  }
  auto b1 = now("binary");
  EXPECT_EQ(b1.ok - b0.ok, 2) << "quorum reads answered ok";
  EXPECT_EQ(b1.not_found - b0.not_found, 1);
  EXPECT_EQ(b1.error - b0.error, 0);

  // Both peers gone: writes and quorum reads fail fast with no quorum.
  c.node(1).kill_hard();
  c.node(2).kill_hard();
  ASSERT_TRUE(c.wait_health(
      0, [](const health_view& v) { return v.status == "no_quorum"; }, "status no_quorum", 10s));
  EXPECT_TRUE(qget(t, "m-k").is_error_like("no quorum")); // a batch of this read alone
  {
    // One send: the SET and the QGET land in one batch, which fails for the SET.
    std::string frames;
    wire::append_request(frames, wire::opcode::set, "m-w", "w");
    wire::append_request(frames, wire::opcode::qget, "m-k");
    ASSERT_TRUE(t.send_raw(frames));
    EXPECT_TRUE(t.read_reply().is_error_like("no quorum"));
    EXPECT_TRUE(t.read_reply().is_error_like("no quorum"));
  }
  auto b2 = now("binary");
  EXPECT_EQ(b2.set_error - b1.set_error, 1);
  EXPECT_EQ(b2.error - b1.error, 2)
      << "a quorum read whose batch failed (for a write in it) is not counted";
  EXPECT_EQ(b2.ok - b1.ok, 0);

  // HTTP: the same, PUT and quorum GET pipelined on one connection.
  auto h0 = now("http");
  raw_http h(hp);
  ASSERT_TRUE(h.connected());
  ASSERT_TRUE(h.send("PUT /m-w HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n{\"value\":1}"
                     "GET /m-k?consistency=quorum HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto put = h.read_response();
  auto get = h.read_response();
  ASSERT_TRUE(put && get);
  EXPECT_EQ(put->status, 503);
  EXPECT_EQ(get->status, 503);
  EXPECT_EQ(get->body, json_error("no quorum: region local has 1 of 3 replicas up, 2 needed"));
  auto h1 = now("http");
  EXPECT_EQ(h1.error - h0.error, 1) << "an HTTP quorum read whose batch failed is not counted";
}

// -- bounded memory ---------------------------------------------------------------------------

// README "Bounded memory": per connection at most 4096 pending replies and 8 MiB of
// unsent output; past that the node stops reading the client. A client that pipelines
// reads of a large value and does not read the replies must not make the node buffer
// one copy of the value per read: plain GETs pause at the output bound, and so must
// quorum reads (their reply size is only known once the replicas answered).
TEST(ClusterReads, PipelinedQuorumReadsOfALargeValueStayWithinTheConnectionBound) {
  constexpr std::size_t value_bytes = 4u << 20;
  constexpr std::size_t reads = 100; // 400 MiB of replies if every one is buffered
  constexpr std::size_t growth_max_kib = 96u << 10;
  cluster_config cfg;
  cfg.common_args = {"-cache", "16"};
  cluster_harness c(cfg);
  ASSERT_TRUE(c.ports_ok());
  ASSERT_TRUE(c.start_all());
  {
    test_client w(c.port(0));
    ASSERT_TRUE(w.set("big", make_value("big", 0, value_bytes)).ok());
  }
  auto growth_kib = [&](wire::opcode op) -> std::size_t {
    auto before = c.node(0).rss_kib();
    if (!before) return 0;
    std::size_t peak = *before;
    test_client t(c.port(0), 30s);
    std::string frames;
    for (std::size_t i = 0; i < reads; ++i)
      wire::append_request(frames, op, "big");
    EXPECT_TRUE(t.send_raw(frames));
    // The client reads nothing: sample the node until its memory stops moving.
    std::size_t last = 0;
    int quiet = 0;
    for (int i = 0; i < 300 && quiet < 50; ++i) {
      std::this_thread::sleep_for(10ms);
      auto r = c.node(0).rss_kib();
      if (!r) break;
      peak = std::max(peak, *r);
      quiet = *r == last ? quiet + 1 : 0;
      last = *r;
    }
    return peak - *before;
  };
  const std::size_t get_kib = growth_kib(wire::opcode::get);
  const std::size_t qget_kib = growth_kib(wire::opcode::qget);
  std::cout << "[ info ] " << reads << " pipelined reads of a " << (value_bytes >> 20)
            << " MiB value, replies unread: node RSS +" << (get_kib >> 10) << " MiB (GET), +"
            << (qget_kib >> 10) << " MiB (QGET)\n";
  EXPECT_LT(get_kib, growth_max_kib);
  EXPECT_LT(qget_kib, growth_max_kib)
      << "quorum reads are not bounded by the connection's output bound: every reply is "
         "buffered";
}

// -- five nodes: reads of keys a node does not hold ----------------------------------------------

TEST(ClusterReads, FiveNodesReadsOfKeysANodeDoesNotHoldAreForwarded) {
  cluster_config cfg;
  cfg.nodes = 5;
  cfg.http = true;
  cluster_harness c(cfg);
  ASSERT_TRUE(c.ports_ok());
  ASSERT_TRUE(c.start_all(30s));

  std::map<std::string, key_state> expected;
  std::vector<op_record> ops;
  for (std::size_t i = 0; i < 300; ++i)
    ops.push_back(i % 10 == 9 ? del_op("five/" + std::to_string(i - 1))
                              : set_op("five/" + std::to_string(i), make_value("five", i)));
  ASSERT_TRUE(write_acked(c.port(0), ops, expected));
  expected["five/never-written"] = std::nullopt;

  // Every node holds only some keys (about 3/5): the rest are forwarded.
  for (std::size_t i = 0; i < c.size(); ++i) {
    std::size_t held = 0;
    for (const auto& [k, v] : expected)
      held += holds(c, i, k) ? 1 : 0;
    EXPECT_GT(held, 0u);
    EXPECT_LT(held, expected.size()) << "node " << i << " holds every key: nothing forwarded";
  }
  // Quorum reads through every node: exact, at once.
  for (std::size_t i = 0; i < c.size(); ++i)
    EXPECT_TRUE(
        node_holds_now(c.port(i), expected, "QGET through node " + std::to_string(i), true));
  // Plain reads (forwarded ones answered by the first replica; the third replica of a key
  // may lag its ack by a moment, so these poll).
  for (std::size_t i = 0; i < c.size(); ++i)
    EXPECT_TRUE(wait_node_holds(c.port(i), expected, 10s, "GET through node " + std::to_string(i)));

  // HTTP: a key node 3 does not hold, a GET and a HEAD.
  ASSERT_TRUE(poll_until([&] { return port_accepts(c.http_port(3)); }, 5s));
  std::string far;
  for (const auto& [k, v] : expected)
    if (v && !holds(c, 3, k)) {
      far = k;
      break;
    }
  ASSERT_FALSE(far.empty());
  const std::string target = "/five%2F" + far.substr(5);
  ASSERT_NO_FATAL_FAILURE(expect_http(c.http_port(3), {
                                                          {"GET", target, 200},
                                                          {"HEAD", target, 200, ""},
                                                          {"GET", "/five%2Fnever-written", 404},
                                                      }));

  // One node killed: every key still has two replicas; plain and quorum reads through the
  // other four keep answering.
  c.node(4).kill_hard();
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(node_holds_now(c.port(i), expected,
                               "QGET through node " + std::to_string(i) + ", node 4 dead", true));
    EXPECT_TRUE(node_holds_now(c.port(i), expected,
                               "GET through node " + std::to_string(i) + ", node 4 dead", false));
  }
}

} // namespace
} // namespace minivault::test
