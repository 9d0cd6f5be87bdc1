// Integration tests of authentication (protocol/README.md §6.1) against the real
// `minivault` binary: the full matrix mode {none, writes, all} x protocol {binary, http}
// x op {get, set, delete, health} x credential {right, wrong, missing}, plus the failure
// counters in /metrics, a right key after a wrong one, and exact (whole-key) comparison.
//
// Expected outcome of a cell: the op is allowed iff mode == none, or op == health, or
// (mode == writes && op == get), or the credential is right. Refused: binary `0xFF
// unauthorized` and the connection closes; HTTP 401 with the JSON error, `WWW-Authenticate:
// Bearer` and `Connection: close`, and the connection really closes.
// On the binary protocol "wrong" means AUTH with a wrong key first: that AUTH itself is
// refused and closes the connection in every mode (the node has a key configured, so a
// wrong one is wrong), and the op pipelined behind it is never executed.
//
// One node per mode, started on first use and shared by the tests of this process.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "protocol/wire.hpp"
#include "tests/support/http_support.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/test_client.hpp"

namespace minivault::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;

const std::string auth_key = "s3cret-Key_42";
const std::string wrong_key = "s3cret-Key_43"; // same length, last byte differs
const std::string unauthorized_body = R"({"success":false,"error":"unauthorized"})";

enum class mode_kind : std::uint8_t { none, writes, all };
enum class proto_kind : std::uint8_t { binary, http };
enum class op_kind : std::uint8_t { get, set, del, health };
enum class cred_kind : std::uint8_t { right, wrong, missing };

const char* name_of(mode_kind m) {
  return m == mode_kind::none ? "none" : m == mode_kind::writes ? "writes" : "all";
}
const char* name_of(proto_kind p) {
  return p == proto_kind::binary ? "binary" : "http";
}
const char* name_of(op_kind o) {
  switch (o) {
  case op_kind::get:
    return "get";
  case op_kind::set:
    return "set";
  case op_kind::del:
    return "delete";
  case op_kind::health:
    break;
  }
  return "health";
}
const char* name_of(cred_kind c) {
  return c == cred_kind::right ? "right" : c == cred_kind::wrong ? "wrong" : "missing";
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string percent_encode(std::string_view key) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

/// A complete HTTP/1.1 request; `authorization` empty = no Authorization header.
std::string http_request(const std::string& method, const std::string& target,
                         const std::string& authorization, const std::string& body = {}) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!authorization.empty()) r += "Authorization: " + authorization + "\r\n";
  if (method == "PUT" || method == "POST") {
    r +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  r += "\r\n" + body;
  return r;
}

/// Sends one request on a fresh connection and reads the response.
std::optional<raw_response> http_once(std::uint16_t port, const std::string& request) {
  raw_http h(port);
  if (!h.connected() || !h.send(request)) return std::nullopt;
  return h.read_response();
}

bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (clock_type::now() < deadline) {
    raw_http probe(port);
    if (probe.connected()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

/// Expects a 401 refusal with the exact body and headers, then the connection closing.
void expect_unauthorized_and_closed(raw_http& h, const std::optional<raw_response>& r) {
  ASSERT_TRUE(r.has_value()) << "no HTTP response";
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, unauthorized_body);
  EXPECT_EQ(r->header("www-authenticate").value_or(""), "Bearer");
  EXPECT_EQ(lower(r->header("connection").value_or("")), "close");
  // The server closes right after the response; on loopback 500 ms is plenty.
  if (h.closed_by_peer(500ms) && h.unread().empty()) return;
  std::string detail = "no reply to a further request either";
  if (h.send(http_request("GET", "/health", ""))) {
    if (auto next = h.read_response())
      detail = "it even served a further GET /health: " + std::to_string(next->status);
  }
  ADD_FAILURE() << "the connection stayed open after a 401 with Connection: close; " << detail;
}

// -- the nodes --------------------------------------------------------------------------

struct auth_node {
  std::unique_ptr<node_process> proc;
  std::uint16_t http_port = 0;
};

std::array<std::unique_ptr<auth_node>, 3> g_nodes;

class nodes_environment : public ::testing::Environment {
public:
  void TearDown() override {
    for (auto& n : g_nodes)
      n.reset();
  }
};

[[maybe_unused]] ::testing::Environment* const g_env =
    ::testing::AddGlobalTestEnvironment(new nodes_environment);

/// The node for `m`, started on first use; nullptr (with a test failure) if it cannot start.
auth_node* node_for(mode_kind m) {
  auto& slot = g_nodes[static_cast<std::size_t>(m)];
  if (slot) return slot.get();
  auto n = std::make_unique<auth_node>();
  n->http_port = pick_free_port();
  n->proc = std::make_unique<node_process>(std::vector<std::string>{
      "-auth", auth_key, "-authmode", name_of(m), "-http", std::to_string(n->http_port)});
  auto started = n->proc->start();
  EXPECT_TRUE(started);
  if (!started) return nullptr;
  bool http_up = wait_for_port(n->http_port, 10s);
  EXPECT_TRUE(http_up) << "HTTP port " << n->http_port << " never accepted";
  if (!http_up) return nullptr;
  slot = std::move(n);
  return slot.get();
}

/// A binary connection that has authenticated with the right key.
std::unique_ptr<test_client> admin_client(const auth_node& n) {
  auto c = std::make_unique<test_client>(n.proc->port());
  EXPECT_TRUE(c->connected());
  auto a = c->auth(auth_key);
  EXPECT_TRUE(a.ok()) << "AUTH with the right key: " << a;
  return c;
}

/// The value of one sample (`name{labels}`) in the Prometheus text; nullopt if absent.
std::optional<std::uint64_t> metric_value(const std::string& text, const std::string& sample) {
  std::string prefix = sample + " ";
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (line.substr(0, prefix.size()) == prefix)
      return std::stoull(std::string(line.substr(prefix.size())));
    pos = end + 1;
  }
  return std::nullopt;
}

struct auth_counters {
  std::uint64_t binary = 0;
  std::uint64_t http = 0;
  bool operator==(const auth_counters& o) const { return binary == o.binary && http == o.http; }
};

/// Reads both auth failure counters over HTTP with the right key (which never counts).
std::optional<auth_counters> read_auth_counters(const auth_node& n) {
  httplib::Client cli("127.0.0.1", n.http_port);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get("/metrics", {{"Authorization", "Bearer " + auth_key}});
  if (!res || res->status != 200) return std::nullopt;
  auto b = metric_value(res->body, R"(minivault_auth_failures_total{protocol="binary"})");
  auto h = metric_value(res->body, R"(minivault_auth_failures_total{protocol="http"})");
  if (!b || !h) return std::nullopt;
  return auth_counters{*b, *h};
}

// -- the matrix -------------------------------------------------------------------------

struct cell {
  mode_kind mode;
  proto_kind proto;
  op_kind op;
  cred_kind cred;
};

bool expect_allowed(const cell& c) {
  return c.mode == mode_kind::none || c.op == op_kind::health ||
         (c.mode == mode_kind::writes && c.op == op_kind::get) || c.cred == cred_kind::right;
}

std::string cell_name(const cell& c) {
  return std::string(name_of(c.mode)) + "_" + name_of(c.proto) + "_" + name_of(c.op) + "_" +
         name_of(c.cred);
}

void PrintTo(const cell& c, std::ostream* out) {
  *out << cell_name(c);
}

std::vector<cell> all_cells() {
  std::vector<cell> out;
  for (auto m : {mode_kind::none, mode_kind::writes, mode_kind::all})
    for (auto p : {proto_kind::binary, proto_kind::http})
      for (auto o : {op_kind::get, op_kind::set, op_kind::del, op_kind::health})
        for (auto c : {cred_kind::right, cred_kind::wrong, cred_kind::missing})
          out.push_back(cell{m, p, o, c});
  return out;
}

class AuthMatrix : public ::testing::TestWithParam<cell> {
protected:
  void SetUp() override {
    node_ = node_for(GetParam().mode);
    ASSERT_NE(node_, nullptr);
    key_ = "auth-matrix/" + cell_name(GetParam());
    seed_ = R"({"seed":")" + cell_name(GetParam()) + R"("})";
    // Every cell starts from its own key holding a known JSON value.
    auto admin = admin_client(*node_);
    auto s = admin->set(key_, seed_);
    ASSERT_TRUE(s.ok()) << "seeding " << key_ << ": " << s;
  }

  /// What the key holds now, read by an authenticated binary connection.
  reply stored() { return admin_client(*node_)->get(key_); }

  /// Checks the key after the op: changed as the op says if it ran, untouched otherwise.
  void expect_effect(bool ran, const std::string& new_value) {
    auto r = stored();
    if (!ran || GetParam().op == op_kind::get || GetParam().op == op_kind::health) {
      EXPECT_TRUE(r.ok() && r.payload == seed_) << "key should be untouched, holds " << r;
    } else if (GetParam().op == op_kind::set) {
      EXPECT_TRUE(r.ok() && r.payload == new_value) << "SET should have stored it, key holds " << r;
    } else {
      EXPECT_TRUE(r.is_error("not found")) << "DELETE should have removed it, key holds " << r;
    }
  }

  void run_binary();
  void run_http();

  auth_node* node_ = nullptr;
  std::string key_;
  std::string seed_;
};

void AuthMatrix::run_binary() {
  const cell c = GetParam();
  const std::string new_value = "binary-new-" + cell_name(c);
  std::string op_frame;
  switch (c.op) {
  case op_kind::get:
    wire::append_request(op_frame, wire::opcode::get, key_);
    break;
  case op_kind::set:
    wire::append_request(op_frame, wire::opcode::set, key_, new_value);
    break;
  case op_kind::del:
    wire::append_request(op_frame, wire::opcode::del, key_);
    break;
  case op_kind::health:
    wire::append_request(op_frame, wire::opcode::health, "");
    break;
  }
  test_client client(node_->proc->port());
  ASSERT_TRUE(client.connected());

  if (c.cred == cred_kind::wrong) {
    // The op is pipelined right behind the wrong AUTH: it must never run.
    std::string frames;
    wire::append_request(frames, wire::opcode::auth, wrong_key);
    ASSERT_TRUE(client.send_raw(frames + op_frame));
    auto a = client.read_reply();
    EXPECT_TRUE(a.is_error("unauthorized")) << "AUTH with a wrong key: " << a;
    EXPECT_TRUE(client.is_closed_by_peer(3s)) << "a wrong AUTH must close the connection";
    auto extra = client.read_reply();
    EXPECT_FALSE(extra.io_ok) << "the op behind a refused AUTH was answered: " << extra;
    expect_effect(false, new_value);
    return;
  }
  if (c.cred == cred_kind::right) {
    auto a = client.auth(auth_key);
    ASSERT_TRUE(a.ok()) << "AUTH with the right key: " << a;
    EXPECT_TRUE(a.payload.empty()) << a;
  }
  ASSERT_TRUE(client.send_raw(op_frame));
  auto r = client.read_reply();
  if (!expect_allowed(c)) {
    EXPECT_TRUE(r.is_error("unauthorized")) << r;
    EXPECT_TRUE(client.is_closed_by_peer(3s)) << "a refused op must close the connection";
    expect_effect(false, new_value);
    return;
  }
  switch (c.op) {
  case op_kind::get:
    EXPECT_TRUE(r.ok() && r.payload == seed_) << r;
    break;
  case op_kind::set:
  case op_kind::del:
    EXPECT_TRUE(r.ok() && r.payload.empty()) << r;
    break;
  case op_kind::health: {
    ASSERT_TRUE(r.ok()) << r;
    auto j = json::parse(r.payload, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("status")) << printable(r.payload, 2000);
    break;
  }
  }
  // Still open and in step: a HEALTH on the same connection is answered.
  EXPECT_FALSE(client.is_closed_by_peer(50ms)) << "an allowed op closed the connection";
  EXPECT_TRUE(client.health().ok());
  expect_effect(true, new_value);
}

void AuthMatrix::run_http() {
  const cell c = GetParam();
  const std::string new_value = "http-new-" + cell_name(c);
  const std::string target = "/" + percent_encode(key_);
  const std::string authorization = c.cred == cred_kind::right   ? "Bearer " + auth_key
                                    : c.cred == cred_kind::wrong ? "Bearer " + wrong_key
                                                                 : std::string();
  std::string request;
  switch (c.op) {
  case op_kind::get:
    request = http_request("GET", target, authorization);
    break;
  case op_kind::set:
    request = http_request("PUT", target, authorization, json{{"value", new_value}}.dump());
    break;
  case op_kind::del:
    request = http_request("DELETE", target, authorization);
    break;
  case op_kind::health:
    request = http_request("GET", "/health", authorization);
    break;
  }
  raw_http h(node_->http_port);
  ASSERT_TRUE(h.connected());
  ASSERT_TRUE(h.send(request));
  auto r = h.read_response();
  ASSERT_TRUE(r.has_value()) << "no HTTP response";
  if (!expect_allowed(c)) {
    expect_unauthorized_and_closed(h, r);
    expect_effect(false, json(new_value).dump());
    return;
  }
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(r->header("www-authenticate").value_or("").empty());
  auto body = json::parse(r->body, nullptr, false);
  switch (c.op) {
  case op_kind::get:
    EXPECT_EQ(body, json::parse(R"({"success":true,"data":)" + seed_ + "}")) << r->body;
    break;
  case op_kind::set:
  case op_kind::del:
    EXPECT_EQ(r->body, R"({"success":true})");
    break;
  case op_kind::health:
    EXPECT_TRUE(body.is_object() && body.contains("status")) << r->body;
    break;
  }
  // Keep-alive: the same connection serves another request.
  ASSERT_TRUE(h.send(http_request("GET", "/health", "")));
  auto again = h.read_response();
  ASSERT_TRUE(again.has_value()) << "an allowed request closed the connection";
  EXPECT_EQ(again->status, 200);
  // A value set over HTTP is stored as its JSON text.
  expect_effect(true, json(new_value).dump());
}

TEST_P(AuthMatrix, Cell) {
  SCOPED_TRACE(cell_name(GetParam()) +
               (expect_allowed(GetParam()) ? " (expected allowed)" : " (expected refused)"));
  if (GetParam().proto == proto_kind::binary)
    run_binary();
  else
    run_http();
}

INSTANTIATE_TEST_SUITE_P(All, AuthMatrix, ::testing::ValuesIn(all_cells()),
                         [](const ::testing::TestParamInfo<cell>& info) {
                           return cell_name(info.param);
                         });

// -- beyond the matrix ------------------------------------------------------------------

TEST(AuthNode, FailuresAreCountedInMetricsPerProtocol) {
  auth_node* n = node_for(mode_kind::all);
  ASSERT_NE(n, nullptr);
  // Wait until the counters are still (nothing of an earlier test in flight).
  std::optional<auth_counters> base = read_auth_counters(*n);
  ASSERT_TRUE(base.has_value());
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(20ms);
    auto now = read_auth_counters(*n);
    ASSERT_TRUE(now.has_value());
    if (*now == *base) break;
    base = now;
  }

  std::uint64_t binary_failures = 0;
  for (int i = 0; i < 3; ++i) { // wrong AUTH
    test_client c(n->proc->port());
    ASSERT_TRUE(c.connected());
    EXPECT_TRUE(c.auth(wrong_key).is_error("unauthorized"));
    ++binary_failures;
  }
  for (auto op : {wire::opcode::get, wire::opcode::set, wire::opcode::del}) { // no AUTH
    test_client c(n->proc->port());
    ASSERT_TRUE(c.connected());
    std::string f;
    wire::append_request(f, op, "metrics-key", "v");
    ASSERT_TRUE(c.send_raw(f));
    EXPECT_TRUE(c.read_reply().is_error("unauthorized"));
    ++binary_failures;
  }
  { // a wrong AUTH with a GET pipelined behind it: one failure, the GET never runs
    test_client c(n->proc->port());
    ASSERT_TRUE(c.connected());
    std::string f;
    wire::append_request(f, wire::opcode::auth, wrong_key);
    wire::append_request(f, wire::opcode::get, "metrics-key");
    ASSERT_TRUE(c.send_raw(f));
    EXPECT_TRUE(c.read_reply().is_error("unauthorized"));
    EXPECT_TRUE(c.is_closed_by_peer(3s));
    ++binary_failures;
  }
  // Successes never count: HEALTH unauthenticated, a right AUTH and an authorised GET.
  {
    test_client c(n->proc->port());
    ASSERT_TRUE(c.connected());
    EXPECT_TRUE(c.health().ok());
    EXPECT_TRUE(c.auth(auth_key).ok());
    EXPECT_TRUE(c.get("metrics-key").is_error("not found"));
  }

  std::uint64_t http_failures = 0;
  const std::vector<std::string> refused = {
      http_request("GET", "/metrics-key", ""),
      http_request("PUT", "/metrics-key", "Bearer " + wrong_key, R"({"value":1})"),
      http_request("DELETE", "/metrics-key", "Basic " + auth_key),
      http_request("GET", "/metrics", "Bearer " + wrong_key),
  };
  for (const auto& req : refused) {
    raw_http h(n->http_port);
    ASSERT_TRUE(h.connected());
    ASSERT_TRUE(h.send(req));
    expect_unauthorized_and_closed(h, h.read_response());
    ++http_failures;
  }
  auto health = http_once(n->http_port, http_request("GET", "/health", ""));
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);

  const auth_counters want{base->binary + binary_failures, base->http + http_failures};
  std::optional<auth_counters> got;
  auto deadline = clock_type::now() + 5s;
  do {
    got = read_auth_counters(*n);
    ASSERT_TRUE(got.has_value());
    if (*got == want) break;
    std::this_thread::sleep_for(20ms);
  } while (clock_type::now() < deadline);
  std::this_thread::sleep_for(200ms); // and no more than that arrives later
  got = read_auth_counters(*n);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->binary, want.binary) << "binary auth failures: base " << base->binary;
  EXPECT_EQ(got->http, want.http) << "http auth failures: base " << base->http;
}

TEST(AuthNode, RightKeyAfterWrongOneWorksOnANewConnection) {
  auth_node* n = node_for(mode_kind::all);
  ASSERT_NE(n, nullptr);
  {
    test_client c(n->proc->port());
    ASSERT_TRUE(c.connected());
    EXPECT_TRUE(c.auth(wrong_key).is_error("unauthorized"));
    EXPECT_TRUE(c.is_closed_by_peer(3s));
  }
  {
    test_client c(n->proc->port());
    ASSERT_TRUE(c.connected());
    auto a = c.auth(auth_key);
    ASSERT_TRUE(a.ok()) << a;
    EXPECT_TRUE(c.set("after-wrong", "v1").ok());
    auto g = c.get("after-wrong");
    EXPECT_TRUE(g.ok() && g.payload == "v1") << g;
  }
  {
    raw_http h(n->http_port);
    ASSERT_TRUE(h.connected());
    ASSERT_TRUE(h.send(http_request("GET", "/after-wrong", "Bearer " + wrong_key)));
    expect_unauthorized_and_closed(h, h.read_response());
  }
  auto r = http_once(n->http_port, http_request("GET", "/after-wrong", "Bearer " + auth_key));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body, nullptr, false), json::parse(R"({"success":true,"data":"v1"})"))
      << r->body;
}

TEST(AuthNode, BinaryAuthComparesTheWholeKey) {
  auth_node* n = node_for(mode_kind::all);
  ASSERT_NE(n, nullptr);
  const std::vector<std::string> near_misses = {
      auth_key.substr(0, auth_key.size() - 1), // a prefix
      auth_key.substr(0, 1),
      auth_key + "x", // one byte more
      auth_key + std::string(1, '\0'),
      std::string(), // empty
      wrong_key,
      "S3CRET-KEY_42", // case matters
  };
  for (const auto& k : near_misses) {
    SCOPED_TRACE("AUTH with " + printable(k));
    test_client c(n->proc->port());
    ASSERT_TRUE(c.connected());
    std::string f;
    wire::append_request(f, wire::opcode::auth, k);
    wire::append_request(f, wire::opcode::get, "whole-key");
    ASSERT_TRUE(c.send_raw(f));
    EXPECT_TRUE(c.read_reply().is_error("unauthorized"));
    EXPECT_TRUE(c.is_closed_by_peer(3s));
    EXPECT_FALSE(c.read_reply().io_ok) << "the GET behind a refused AUTH was answered";
  }
  test_client c(n->proc->port());
  ASSERT_TRUE(c.connected());
  EXPECT_TRUE(c.auth(auth_key).ok());
  EXPECT_TRUE(c.get("whole-key").is_error("not found"));
}

TEST(AuthNode, HttpBearerCheck) {
  auth_node* n = node_for(mode_kind::all);
  ASSERT_NE(n, nullptr);
  {
    auto admin = admin_client(*n);
    ASSERT_TRUE(admin->set("bearer-key", "42").ok());
  }
  // The scheme is case-insensitive; the token is not, and must be the whole key.
  for (const std::string& a :
       {"Bearer " + auth_key, "bearer " + auth_key, "BEARER " + auth_key, "bEaReR " + auth_key}) {
    SCOPED_TRACE("Authorization: " + a);
    auto r = http_once(n->http_port, http_request("GET", "/bearer-key", a));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"success":true,"data":42})");
  }
  for (const std::string& a :
       {"Bearer " + auth_key.substr(0, auth_key.size() - 1), "Bearer " + auth_key + "x",
        "Bearer " + lower(auth_key), "Basic " + auth_key, "Bearer" + auth_key, auth_key,
        std::string("Bearer "), "Token " + auth_key}) {
    SCOPED_TRACE("Authorization: " + a);
    raw_http h(n->http_port);
    ASSERT_TRUE(h.connected());
    ASSERT_TRUE(h.send(http_request("GET", "/bearer-key", a)));
    expect_unauthorized_and_closed(h, h.read_response());
  }
}

TEST(AuthNode, MetricsNeedAuthOnlyInModeAll) {
  for (auto m : {mode_kind::none, mode_kind::writes, mode_kind::all}) {
    SCOPED_TRACE(std::string("mode ") + name_of(m));
    auth_node* n = node_for(m);
    ASSERT_NE(n, nullptr);
    raw_http h(n->http_port);
    ASSERT_TRUE(h.connected());
    ASSERT_TRUE(h.send(http_request("GET", "/metrics", "")));
    auto r = h.read_response();
    if (m == mode_kind::all) {
      expect_unauthorized_and_closed(h, r);
    } else {
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->status, 200);
      EXPECT_NE(r->body.find("minivault_auth_failures_total"), std::string::npos);
    }
    auto ok = http_once(n->http_port, http_request("GET", "/metrics", "Bearer " + auth_key));
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200);
  }
}

} // namespace
} // namespace minivault::test
