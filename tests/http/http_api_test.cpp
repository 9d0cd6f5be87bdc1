// Integration tests of the HTTP/JSON front-end (protocol/README.md §3) against the real `minivault`
// binary: every endpoint and error status with exact bodies, byte-identical JSON round
// trips, values crossing between the binary protocol and HTTP, key decoding, /metrics and
// read-your-write. Connection handling (malformed and slow clients, keep-alive,
// pipelining) is in http_connection_test.cpp; shared helpers in http_api_support.hpp.
//
// Clients: cpp-httplib's httplib::Client for ordinary requests (URL encoding off, so the
// target goes out exactly as written) and raw_http, a raw socket, wherever the exact bytes
// on the wire matter (pipelining, partial requests, claimed lengths, connection close).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tests/http/http_api_support.hpp"
#include "tests/support/http_support.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/test_client.hpp"

namespace minivault::test {
namespace {

// -- endpoints and exact bodies ---------------------------------------------------------------

TEST_F(HttpApi, PutAndPostThenGetReturnExactBodies) {
  EXPECT_TRUE(
      replied(http_->Put("/k", R"({"value":"hello"})", "application/json"), 200, success_body));
  EXPECT_TRUE(replied(http_->Get("/k"), 200, R"({"success":true,"data":"hello"})"));
  EXPECT_TRUE(
      replied(http_->Post("/p", R"({"value":{"n":1}})", "application/json"), 200, success_body));
  EXPECT_TRUE(replied(http_->Get("/p"), 200, R"({"success":true,"data":{"n":1}})"));
  // Overwrite.
  EXPECT_TRUE(replied(http_->Put("/k", R"({"value":2})", "application/json"), 200, success_body));
  EXPECT_TRUE(replied(http_->Get("/k"), 200, R"({"success":true,"data":2})"));
}

TEST_F(HttpApi, GetOfMissingKeyIs404WithExactBody) {
  EXPECT_TRUE(replied(http_->Get("/never-written"), 404, not_found_body));
}

TEST_F(HttpApi, DeleteRemovesKeyAndDeleteOfMissingKeyIs200) {
  ASSERT_TRUE(replied(http_->Put("/gone", put_body("1"), "application/json"), 200, success_body));
  EXPECT_TRUE(replied(http_->Delete("/gone"), 200, success_body));
  EXPECT_TRUE(replied(http_->Get("/gone"), 404, not_found_body));
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  EXPECT_TRUE(bin.get("gone").is_error("not found"));
  EXPECT_TRUE(replied(http_->Delete("/gone"), 200, success_body)) << "second delete";
  EXPECT_TRUE(replied(http_->Delete("/was-never-there"), 200, success_body));
}

TEST_F(HttpApi, HealthEndpointServesTheSameJsonAsBinaryHealth) {
  auto r = http_->Get("/health");
  ASSERT_TRUE(r) << describe(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("application/json", 0), 0u);
  auto h = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(h.is_object()) << r->body;
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  auto b = bin.health();
  ASSERT_TRUE(b.ok()) << b;
  auto bj = json::parse(b.payload, nullptr, false);
  ASSERT_TRUE(bj.is_object()) << printable(b.payload, 500);
  std::vector<std::string> http_keys, bin_keys;
  for (auto& [k, v] : h.items())
    http_keys.push_back(k);
  for (auto& [k, v] : bj.items())
    bin_keys.push_back(k);
  EXPECT_EQ(http_keys, bin_keys) << "HTTP: " << r->body << "\nbinary: " << b.payload;
  for (const char* stable : {"status", "node_id", "region", "keys", "peers"})
    EXPECT_EQ(h.value(stable, json()), bj.value(stable, json())) << stable;
  EXPECT_EQ(h.value("status", ""), "healthy");
  // The query string is ignored: still the endpoint.
  auto q = http_->Get("/health?verbose=1");
  ASSERT_TRUE(q) << describe(q);
  EXPECT_EQ(q->status, 200);
  EXPECT_EQ(json::parse(q->body, nullptr, false).value("node_id", json()), h["node_id"]);
}

TEST_F(HttpApi, MetricsEndpointServesPrometheusText) {
  auto r = http_->Get("/metrics");
  ASSERT_TRUE(r) << describe(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/plain", 0), 0u)
      << r->get_header_value("Content-Type");
  EXPECT_NE(r->body.find("# TYPE minivault_requests_total counter\n"), std::string::npos);
  EXPECT_NE(r->body.find("# TYPE minivault_request_duration_seconds histogram\n"),
            std::string::npos);
  EXPECT_TRUE(
      sample_value(r->body, R"(minivault_requests_total{protocol="http",op="get",result="ok"})")
          .has_value())
      << r->body.substr(0, 2000);
}

// -- 400 --------------------------------------------------------------------------------------

TEST_F(HttpApi, InvalidBodiesAre400WithJsonErrorAndWriteNothing) {
  const std::vector<std::string> bodies = {
      "",                 // no body at all
      "{",                // truncated
      R"({"value":})",    // missing value text
      R"({"value":1,})",  // trailing comma
      R"({"value":1} x)", // trailing garbage
      R"({'value':1})",   // single quotes
      R"({"value":NaN})", // not JSON
      R"({"value":01})",  // leading zero
      R"({"value":"a)"
      "\n"
      R"("})",                         // raw control character in a string
      lit("{\"value\":\"\xFF\"}"),     // not UTF-8
      R"({"other":1})",                // no "value" member
      R"({})",                         // no "value" member
      R"({"nested":{"value":1}})",     // only a nested "value"
      R"({"value":1,"value":2})",      // duplicate
      R"({"value":1,"\u0076alue":2})", // duplicate, spelled with an escape
      R"([{"value":1}])",              // not an object
      R"("value")",                    // not an object
      "42",                            // not an object
      "null",                          // not an object
  };
  for (const auto& body : bodies) {
    SCOPED_TRACE("body '" + printable(body) + "'");
    EXPECT_TRUE(replied_error(http_->Put("/bad", body, "application/json"), 400));
    EXPECT_TRUE(replied_error(http_->Post("/bad", body, "application/json"), 400));
    EXPECT_TRUE(replied(http_->Get("/bad"), 404, not_found_body)) << "a refused body was stored";
  }
  // The same connection still serves a valid request.
  expect_round_trip("bad", "true");
}

TEST_F(HttpApi, EmptyKeyIs400) {
  EXPECT_TRUE(replied_error(http_->Get("/"), 400));
  EXPECT_TRUE(replied_error(http_->Get("/?x=1"), 400));
  EXPECT_TRUE(replied_error(http_->Put("/", put_body("1"), "application/json"), 400));
  EXPECT_TRUE(replied_error(http_->Post("/", put_body("1"), "application/json"), 400));
  EXPECT_TRUE(replied_error(http_->Delete("/"), 400));
  expect_node_serves("after-empty-key");
}

TEST_F(HttpApi, BadPercentEncodingIs400) {
  for (const char* target : {"/a%zz", "/a%", "/a%2", "/%g0", "/a%2Fb%"}) {
    SCOPED_TRACE(target);
    EXPECT_TRUE(replied_error(http_->Get(target), 400));
    EXPECT_TRUE(replied_error(http_->Put(target, put_body("1"), "application/json"), 400));
    EXPECT_TRUE(replied_error(http_->Delete(target), 400));
  }
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  EXPECT_TRUE(bin.get("a%zz").is_error("not found")) << "stored under the undecoded key";
  expect_node_serves("after-bad-percent");
}

// -- 405 --------------------------------------------------------------------------------------

TEST_F(HttpApi, OtherMethodsAre405WithAllowHeader) {
  struct check {
    std::string what;
    httplib::Result r;
    bool key;
  };
  std::vector<check> checks;
  checks.push_back({"PATCH /k", http_->Patch("/k", put_body("1"), "application/json"), true});
  checks.push_back({"OPTIONS /k", http_->Options("/k"), true});
  checks.push_back(
      {"PUT /health", http_->Put("/health", put_body("1"), "application/json"), false});
  checks.push_back(
      {"POST /health", http_->Post("/health", put_body("1"), "application/json"), false});
  checks.push_back({"DELETE /health", http_->Delete("/health"), false});
  checks.push_back(
      {"PATCH /health", http_->Patch("/health", put_body("1"), "application/json"), false});
  checks.push_back(
      {"PUT /metrics", http_->Put("/metrics", put_body("1"), "application/json"), false});
  checks.push_back({"DELETE /metrics", http_->Delete("/metrics"), false});
  for (auto& c : checks) {
    SCOPED_TRACE(c.what);
    EXPECT_TRUE(replied_error(c.r, 405));
    if (!c.r) continue;
    ASSERT_TRUE(c.r->has_header("Allow"));
    auto allow = split_allow(c.r->get_header_value("Allow"));
    EXPECT_TRUE(contains(allow, "GET")) << c.r->get_header_value("Allow");
    EXPECT_FALSE(contains(allow, "PATCH")) << c.r->get_header_value("Allow");
    EXPECT_FALSE(contains(allow, "OPTIONS")) << c.r->get_header_value("Allow");
    if (c.key) {
      for (const char* m : {"PUT", "POST", "DELETE"})
        EXPECT_TRUE(contains(allow, m)) << c.r->get_header_value("Allow");
    } else {
      for (const char* m : {"PUT", "POST", "DELETE"})
        EXPECT_FALSE(contains(allow, m)) << c.r->get_header_value("Allow");
    }
  }
  EXPECT_TRUE(replied(http_->Get("/k"), 404, not_found_body)) << "PATCH must not write";
  auto h = http_->Get("/health");
  ASSERT_TRUE(h) << describe(h);
  EXPECT_EQ(h->status, 200);
}

/// Sends `head`, waits, then sends `body` as a separate segment (a client streaming its
/// body, or a slow network), so the server cannot have buffered it with the head.
bool send_head_then_body(raw_http& c, const std::string& head, const std::string& body) {
  if (!c.send(head)) return false;
  std::this_thread::sleep_for(150ms);
  return c.send(body);
}

const std::string smuggled_delete = "DELETE /victim HTTP/1.1\r\nHost: x\r\n\r\n";

/// A refused request's body must never be read as the next request on the connection.
TEST_F(HttpApi, BodyOfARefusedRequestIsNeverRunAsTheNextRequest) {
  ASSERT_TRUE(replied(http_->Put("/victim", put_body("1"), "application/json"), 200, success_body));
  raw_http c(node_.http_port());
  ASSERT_TRUE(c.connected());
  // 405 for PUT /health is decided from the head alone; the body follows it.
  (void)send_head_then_body(c,
                            "PUT /health HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(smuggled_delete.size()) + "\r\n\r\n",
                            smuggled_delete);
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 405);
  // The node may close, or read the body by its Content-Length and stay in step: then
  // the next response on the connection answers the next request, not the body.
  if (!c.closed_by_peer(500ms)) {
    EXPECT_TRUE(c.unread().empty()) << "a second response: '" << printable(c.unread()) << "'";
    ASSERT_TRUE(c.send(raw_get("/victim")));
    auto next = c.read_response(3s);
    ASSERT_TRUE(next.has_value()) << "connection kept open but no longer answers";
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, data_body("1")) << "the body of the refused PUT ran as a DELETE";
  }
  EXPECT_TRUE(replied(http_->Get("/victim"), 200, data_body("1")))
      << "the body of the refused PUT ran as a DELETE";
}

/// GET and DELETE carry no meaningful body, but one that is sent (with a Content-Length)
/// belongs to the request: it must be read or the connection closed, never run as a
/// request of its own.
TEST_F(HttpApi, BodyOfGetHeadOrDeleteIsNeverRunAsTheNextRequest) {
  for (std::string method : {"GET", "HEAD", "DELETE"}) {
    SCOPED_TRACE(method);
    ASSERT_TRUE(
        replied(http_->Put("/victim", put_body("1"), "application/json"), 200, success_body));
    ASSERT_TRUE(
        replied(http_->Put("/carrier", put_body("2"), "application/json"), 200, success_body));
    raw_http c(node_.http_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(send_head_then_body(c,
                                    method + " /carrier HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                        std::to_string(smuggled_delete.size()) + "\r\n\r\n",
                                    smuggled_delete));
    if (method != "HEAD") {
      auto r = c.read_response(3s);
      ASSERT_TRUE(r.has_value()) << "no response to the " << method;
      EXPECT_EQ(r->status, 200);
      // Give a smuggled request time to be answered (or the connection time to close).
      c.closed_by_peer(500ms);
      EXPECT_TRUE(c.unread().empty())
          << "a second response on the connection: '" << printable(c.unread()) << "'";
    } else {
      c.closed_by_peer(500ms);
    }
    EXPECT_TRUE(replied(http_->Get("/victim"), 200, data_body("1")))
        << "the body of a " << method << " ran as a DELETE of its own";
  }
}

// -- 413 --------------------------------------------------------------------------------------

/// A node with -value-max-bytes 1024: bodies up to 1024 + 64 KiB are read, values up to
/// 1024 bytes stored.
class HttpApiSmallValues : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(small_.start());
    http_ = make_client(small_.http_port());
  }
  static constexpr std::size_t value_max = 1024;
  static constexpr std::size_t body_max = value_max + (64u << 10);
  http_node small_{{"-value-max-bytes", std::to_string(value_max)}};
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(HttpApiSmallValues, ContentLengthClaimOverTheLimitIs413BeforeTheBodyAndCloses) {
  for (const char* method : {"PUT", "POST"}) {
    SCOPED_TRACE(method);
    raw_http c(small_.http_port());
    ASSERT_TRUE(c.connected());
    auto start = clock_type::now();
    ASSERT_TRUE(c.send(std::string(method) +
                       " /huge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 1073741824\r\n\r\n"));
    auto r = c.read_response(3s);
    ASSERT_TRUE(r.has_value()) << "no 413 before the (never sent) 1 GiB body";
    EXPECT_LT(clock_type::now() - start, 2s);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(is_error_json(r->body));
    EXPECT_EQ(r->header("Connection").value_or(""), "close");
    EXPECT_TRUE(c.closed_by_peer(2s)) << "connection left open after refusing the body";
  }
  // Just over the envelope: claimed only, refused the same way.
  raw_http c(small_.http_port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("PUT /huge HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(body_max + 1) + "\r\n\r\n"));
  auto r = c.read_response(3s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.closed_by_peer(2s));
  EXPECT_TRUE(replied(http_->Get("/huge"), 404, not_found_body));
}

/// After a 413 for a claimed body, whatever the client sends next is that body: it must
/// never run as a request (the connection closes instead).
TEST_F(HttpApiSmallValues, BytesSentAfterA413AreNeverRunAsARequest) {
  ASSERT_TRUE(replied(http_->Put("/victim", put_body("1"), "application/json"), 200, success_body));
  raw_http c(small_.http_port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"));
  auto r = c.read_response(3s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  (void)c.send(smuggled_delete); // the first bytes of the claimed body
  c.closed_by_peer(500ms);
  EXPECT_TRUE(c.unread().empty()) << "the body got a response: '" << printable(c.unread()) << "'";
  EXPECT_TRUE(replied(http_->Get("/victim"), 200, data_body("1")))
      << "bytes of the refused body ran as a DELETE";
}

TEST_F(HttpApiSmallValues, ContentLengthClaimOnDeleteIsRefusedWithoutReadingTheBody) {
  raw_http c(small_.http_port());
  ASSERT_TRUE(c.connected());
  auto start = clock_type::now();
  ASSERT_TRUE(c.send("DELETE /k HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"));
  auto r = c.read_response(3s);
  ASSERT_TRUE(r.has_value()) << "no reply within 3 s: the node waits for the claimed 1 GiB body";
  EXPECT_LT(clock_type::now() - start, 2s);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(is_error_json(r->body));
  EXPECT_TRUE(c.closed_by_peer(2s));
}

TEST_F(HttpApiSmallValues, BodyAtTheEnvelopeLimitIsReadAndValueAtTheLimitIsStored) {
  // A body of exactly value limit + 64 KiB, padded with another member: accepted.
  std::string body = R"({"value":7,"pad":")";
  body += std::string(body_max - body.size() - 2, 'p');
  body += "\"}";
  ASSERT_EQ(body.size(), body_max);
  EXPECT_TRUE(replied(http_->Put("/env", body, "application/json"), 200, success_body));
  EXPECT_TRUE(replied(http_->Get("/env"), 200, data_body("7")));
  // A value of exactly 1024 bytes of JSON text (quotes included).
  std::string at_limit = "\"" + std::string(value_max - 2, 'a') + "\"";
  ASSERT_EQ(at_limit.size(), value_max);
  EXPECT_TRUE(replied(http_->Put("/v", put_body(at_limit), "application/json"), 200, success_body));
  EXPECT_TRUE(replied(http_->Get("/v"), 200, data_body(at_limit)));
}

TEST_F(HttpApiSmallValues, ActualBodyWithValueJustOverTheLimitIs413) {
  std::string over = "\"" + std::string(value_max - 1, 'b') + "\"";
  ASSERT_EQ(over.size(), value_max + 1);
  EXPECT_TRUE(replied_error(http_->Put("/over", put_body(over), "application/json"), 413));
  EXPECT_TRUE(replied(http_->Get("/over"), 404, not_found_body)) << "an oversized value was stored";
  // Same with a non-string value: an array of 1025 bytes.
  std::string arr = "[" + std::string(value_max - 2 + 1, '0') + "]";
  for (std::size_t i = 2; i + 1 < arr.size(); i += 2)
    arr[i] = ',';
  arr[arr.size() - 2] = '0';
  ASSERT_EQ(arr.size(), value_max + 1);
  ASSERT_TRUE(json::accept(arr)) << arr;
  EXPECT_TRUE(replied_error(http_->Post("/over", put_body(arr), "application/json"), 413));
  EXPECT_TRUE(replied(http_->Get("/over"), 404, not_found_body));
  // A body over the envelope sent whole: refused (413), and the node keeps serving.
  std::string big = put_body("\"" + std::string(body_max, 'c') + "\"");
  auto c = make_client(small_.http_port());
  auto r = c->Put("/over", big, "application/json");
  if (r) {
    EXPECT_TRUE(replied_error(r, 413)) << "a reply other than 413 to an oversized body";
  }
  EXPECT_TRUE(replied(http_->Get("/over"), 404, not_found_body));
  EXPECT_TRUE(replied(http_->Put("/ok", put_body("1"), "application/json"), 200, success_body));
}

// -- 429 --------------------------------------------------------------------------------------

TEST(HttpApiRateLimit, OverTheRateRequestsAre429WhileHealthStays200) {
  http_node n({"-ratelimit", "5"});
  ASSERT_TRUE(n.start());
  auto c = make_client(n.http_port());
  // The pool starts with one second's worth (5): the first requests pass.
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(replied(c->Get("/rl"), 404, not_found_body)) << "request " << i;
  int limited = 0;
  for (int i = 0; i < 30 && limited < 3; ++i) {
    auto r = c->Get("/rl");
    ASSERT_TRUE(r) << describe(r);
    if (r->status == 429) {
      ++limited;
      EXPECT_TRUE(replied_error(r, 429));
    } else {
      EXPECT_TRUE(replied(r, 404, not_found_body));
    }
  }
  EXPECT_GE(limited, 1) << "30 requests at once never got 429 under -ratelimit 5";
  auto w = c->Put("/rl", put_body("1"), "application/json");
  ASSERT_TRUE(w) << describe(w);
  EXPECT_TRUE(w->status == 429 || w->status == 200) << describe(w);
  if (w->status == 429) {
    EXPECT_TRUE(is_error_json(w->body));
  }
  // HEALTH costs no token.
  for (int i = 0; i < 10; ++i) {
    auto h = c->Get("/health");
    ASSERT_TRUE(h) << describe(h);
    EXPECT_EQ(h->status, 200) << "HEALTH " << i << ": " << describe(h);
  }
  test_client bin(n.binary_port());
  ASSERT_TRUE(bin.connected());
  EXPECT_TRUE(bin.health().ok());
  auto m = c->Get("/metrics");
  ASSERT_TRUE(m) << describe(m);
  auto counted = sample_value(m->body, R"(minivault_rate_limited_total{protocol="http"})");
  ASSERT_TRUE(counted.has_value());
  EXPECT_GE(*counted, limited);
}

// -- JSON round trips ---------------------------------------------------------------------------

TEST_F(HttpApi, ScalarsRoundTripByteForByte) {
  const std::vector<std::string> values = {R"("hello")",
                                           R"("")",
                                           R"("with \"quotes\" and \\ and \/ and \n\t\r\b\f")",
                                           "12345678901234567890",
                                           "-12345678901234567890123456789",
                                           "-0",
                                           "0",
                                           "1e308",
                                           "1E+308",
                                           "-1e-308",
                                           "0.1",
                                           "0.10000000000000000000001",
                                           "3.0",
                                           "true",
                                           "false",
                                           "null",
                                           R"("\u0000")"};
  int i = 0;
  for (const auto& v : values)
    expect_round_trip("scalar" + std::to_string(i++), v);
}

TEST_F(HttpApi, ContainersRoundTripWithKeyOrderAndWhitespaceInside) {
  const std::vector<std::string> values = {
      "[]",
      "{}",
      "[1,\"a\",null,true,false,[[]],{}]",
      R"({"b":1,"a":2})",
      R"({"z":{"y":{"x":[3,2,1]}},"a":{"b":"c"}})",
      "[ 1 , 2 ,\n\t3 ]",
      "{ \"b\" :\t1 ,\r\n \"a\" : [ ] }",
      R"({"b":1,"b":2})", // duplicate names inside the value are kept as written
  };
  int i = 0;
  for (const auto& v : values)
    expect_round_trip("container" + std::to_string(i++), v);
}

TEST_F(HttpApi, UnicodeRoundTripsRawAndEscapesAsWritten) {
  const std::vector<std::string> values = {
      "\"caf\xC3\xA9\"",              // raw é
      "\"\xE6\x97\xA5\xE6\x9C\xAC\"", // raw 日本
      "\"\xF0\x9F\x98\x80\"",         // raw emoji
      R"("caf\u00e9")",               // escaped é, lower case
      R"("caf\u00E9")",               // escaped é, upper case
      R"("\ud83d\ude00")",            // escaped surrogate pair
      "{\"\xE6\x97\xA5\":\"\xC3\xA9\",\"k\\u00e9\":[\"\xF0\x9F\x98\x80\"]}", // in names too
  };
  int i = 0;
  for (const auto& v : values)
    expect_round_trip("unicode" + std::to_string(i++), v);
}

TEST_F(HttpApi, WhitespaceAroundTheValueAndOtherMembersAreNotStored) {
  EXPECT_TRUE(replied(http_->Put("/ws",
                                 "  {\n\"before\":[1], \"value\" :\t {\"b\" : 1} \r\n,"
                                 "\"after\":{\"value\":9}}\n",
                                 "application/json"),
                      200, success_body));
  EXPECT_TRUE(replied(http_->Get("/ws"), 200, data_body(R"({"b" : 1})")));
  // The member name may be spelled with an escape.
  EXPECT_TRUE(
      replied(http_->Put("/esc", R"({"\u0076alue":"v"})", "application/json"), 200, success_body));
  EXPECT_TRUE(replied(http_->Get("/esc"), 200, data_body(R"("v")")));
}

TEST_F(HttpApi, OneMebibyteValueRoundTrips) {
  std::string v = "[";
  for (int i = 0; v.size() < (1u << 20); ++i)
    v += std::to_string(i * 7919) + (i % 3 == 0 ? ".5," : ",");
  v += "0]";
  ASSERT_TRUE(json::accept(v));
  expect_round_trip("big", v);
  std::string s = "\"" + std::string(1u << 20, 'x') + "\"";
  expect_round_trip("bigstring", s);
}

// -- across protocols -------------------------------------------------------------------------

TEST_F(HttpApi, BinaryWrittenJsonIsServedVerbatim) {
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  const std::vector<std::string> values = {R"({"b":1,"a":[true,null]})",
                                           "12345678901234567890",
                                           "1e308",
                                           R"("caf\u00e9")",
                                           "[ 1,\n 2 ]",
                                           "-0"};
  int i = 0;
  for (const auto& v : values) {
    std::string key = "bj" + std::to_string(i++);
    ASSERT_TRUE(bin.set(key, v).ok());
    EXPECT_TRUE(replied(http_->Get("/" + key), 200, data_body(v))) << v;
  }
}

TEST_F(HttpApi, BinaryWrittenUtf8TextIsServedAsJsonString) {
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  struct text_case {
    std::string stored;
    std::string shown; // the JSON string the contract fixes
  };
  const std::vector<text_case> cases = {
      {"plain text", R"("plain text")"},
      {"he said \"hi\"\nbye\\", R"("he said \"hi\"\nbye\\")"},
      {"tab\there\r\n", R"("tab\there\r\n")"},
      {"caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80",
       "\"caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80\""},
      {"", R"("")"},
      {"{not json", R"("{not json")"},
      {"01", R"("01")"},
  };
  int i = 0;
  for (const auto& c : cases) {
    std::string key = "bt" + std::to_string(i++);
    ASSERT_TRUE(bin.set(key, c.stored).ok());
    EXPECT_TRUE(replied(http_->Get("/" + key), 200, data_body(c.shown)))
        << "stored '" << printable(c.stored) << "'";
  }
  // Other control characters: the escape spelling is free, the decoded text is not.
  const std::string controls = lit("a\x01\x1F\x7F\0z");
  ASSERT_TRUE(bin.set("btc", controls).ok());
  auto r = http_->Get("/btc");
  ASSERT_TRUE(r) << describe(r);
  EXPECT_EQ(r->status, 200);
  auto j = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << printable(r->body);
  ASSERT_TRUE(j["data"].is_string()) << printable(r->body);
  EXPECT_EQ(j["data"].get<std::string>(), controls);
  EXPECT_FALSE(j.contains("encoding")) << printable(r->body);
}

TEST_F(HttpApi, BinaryWrittenNonUtf8IsServedAsBase64) {
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  std::string every_byte;
  for (int b = 0; b < 256; ++b)
    every_byte.push_back(static_cast<char>(b));
  const std::vector<std::string> values = {
      lit("\xFF"),           // 1 byte: "==" padding
      lit("\xFF\xFE"),       // 2 bytes: "=" padding
      lit("\x00\xFF\x01"),   // 3 bytes: no padding
      lit("ok\xC0\xAF"),     // overlong encoding
      lit("\xED\xA0\x80"),   // encoded surrogate
      lit("\"quoted\xE9\""), // Latin-1 é
      every_byte,
  };
  int i = 0;
  for (const auto& v : values) {
    std::string key = "bb" + std::to_string(i++);
    SCOPED_TRACE("stored '" + printable(v, 40) + "'");
    ASSERT_TRUE(bin.set(key, v).ok());
    auto r = http_->Get("/" + key);
    EXPECT_TRUE(replied(
        r, 200, R"({"success":true,"data":")" + base64_encode(v) + R"(","encoding":"base64"})"));
    if (!r) continue;
    auto j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j["data"].is_string());
    auto decoded = base64_decode(j["data"].get<std::string>());
    ASSERT_TRUE(decoded.has_value()) << "not strict base64";
    EXPECT_EQ(printable(*decoded, 1000), printable(v, 1000));
  }
}

TEST_F(HttpApi, HttpWrittenValuesReadOverBinaryAreTheExactJsonText) {
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  const std::vector<std::string> values = {R"({"b":1, "a":"caf\u00e9"})",
                                           "\"\xE6\x97\xA5\"",
                                           "12345678901234567890",
                                           "[ true ]",
                                           R"("text")",
                                           "null"};
  int i = 0;
  for (const auto& v : values) {
    std::string key = "hb" + std::to_string(i++);
    ASSERT_TRUE(replied(http_->Put("/" + key, " {\"value\": " + v + " } ", "application/json"), 200,
                        success_body));
    auto g = bin.get(key);
    ASSERT_TRUE(g.ok()) << g;
    EXPECT_EQ(printable(g.payload), printable(v));
  }
}

// -- keys -------------------------------------------------------------------------------------

TEST_F(HttpApi, KeysAreThePercentDecodedPathAfterTheFirstSlash) {
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  struct key_case {
    std::string target;
    std::string key;
  };
  const std::vector<key_case> cases = {
      {"/a/b", "a/b"},
      {"/dir/sub/leaf", "dir/sub/leaf"},
      {"/x%2Fy", "x/y"},
      {"/x%2fz", "x/z"},
      {"/sp%20ace", "sp ace"},
      {"/a+b", "a+b"},
      {"/pct%25", "pct%"},
      {"/%E6%97%A5%E6%9C%AC", "\xE6\x97\xA5\xE6\x9C\xAC"},
      {"/caf%C3%A9", "caf\xC3\xA9"},
      {"/nul%00byte", lit("nul\0byte")},
      {"/%FF%FE", lit("\xFF\xFE")},
      {"//lead", "/lead"},
      {"/trail/", "trail/"},
      {"/q?ignored=1&x=%zz", "q"},
  };
  int i = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    std::string v = std::to_string(i++);
    EXPECT_TRUE(replied(http_->Put(c.target, put_body(v), "application/json"), 200, success_body));
    auto g = bin.get(c.key);
    EXPECT_TRUE(g.ok() && g.payload == v) << "binary GET of '" << printable(c.key) << "': " << g;
    EXPECT_TRUE(replied(http_->Get(c.target), 200, data_body(v)));
  }
  // Two spellings of one key.
  EXPECT_TRUE(replied(http_->Get("/a%2Fb"), 200, data_body("0")));
  EXPECT_TRUE(replied(http_->Get("/%61/b"), 200, data_body("0")));
  EXPECT_TRUE(replied(http_->Get("/q"), 200, data_body(std::to_string(cases.size() - 1))));
  // Over the binary protocol, then over HTTP.
  ASSERT_TRUE(bin.set("from binary/with space+plus", "\"bin\"").ok());
  EXPECT_TRUE(replied(http_->Get("/from%20binary/with%20space+plus"), 200, data_body("\"bin\"")));
  // Delete through one spelling, gone through the other.
  EXPECT_TRUE(replied(http_->Delete("/a%2fb"), 200, success_body));
  EXPECT_TRUE(replied(http_->Get("/a/b"), 404, not_found_body));
  EXPECT_TRUE(bin.get("a/b").is_error("not found"));
}

TEST_F(HttpApi, PercentEncodedEndpointNamesAreKeys) {
  EXPECT_TRUE(replied(http_->Put("/%68ealth", put_body(R"("a key")"), "application/json"), 200,
                      success_body));
  EXPECT_TRUE(replied(http_->Get("/%68ealth"), 200, data_body(R"("a key")")));
  EXPECT_TRUE(replied(http_->Get("/%68%65%61%6c%74%68"), 200, data_body(R"("a key")")));
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  auto g = bin.get("health");
  EXPECT_TRUE(g.ok() && g.payload == R"("a key")") << g;
  // The literal target is still the endpoint.
  auto h = http_->Get("/health");
  ASSERT_TRUE(h) << describe(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body, nullptr, false).value("status", ""), "healthy") << h->body;
  EXPECT_TRUE(
      replied(http_->Put("/%6Detrics", put_body("3"), "application/json"), 200, success_body));
  EXPECT_TRUE(replied(http_->Get("/%6Detrics"), 200, data_body("3")));
  auto m = http_->Get("/metrics");
  ASSERT_TRUE(m) << describe(m);
  EXPECT_NE(m->body.find("minivault_requests_total"), std::string::npos);
  // Keys near the endpoint names are keys.
  EXPECT_TRUE(replied(http_->Get("/health/"), 404, not_found_body));
  EXPECT_TRUE(replied(http_->Get("/Health"), 404, not_found_body));
  EXPECT_TRUE(replied(http_->Delete("/%68ealth"), 200, success_body));
  EXPECT_TRUE(replied(http_->Get("/%68ealth"), 404, not_found_body));
  EXPECT_TRUE(bin.get("health").is_error("not found"));
}

// -- metrics ----------------------------------------------------------------------------------

TEST_F(HttpApi, MetricsCountHttpGetsWithCumulativeHistogramBuckets) {
  const std::string ok_gets = R"(minivault_requests_total{protocol="http",op="get",result="ok"})";
  ASSERT_TRUE(replied(http_->Put("/m", put_body("1"), "application/json"), 200, success_body));
  auto before = http_->Get("/metrics");
  ASSERT_TRUE(before) << describe(before);
  double gets_before = sample_value(before->body, ok_gets).value_or(-1);
  ASSERT_GE(gets_before, 0) << before->body.substr(0, 3000);
  constexpr int n = 37;
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(replied(http_->Get("/m"), 200, data_body("1")));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(replied(http_->Get("/m-missing"), 404, not_found_body));
  auto after = http_->Get("/metrics");
  ASSERT_TRUE(after) << describe(after);
  const std::string& text = after->body;
  double gets_after = sample_value(text, ok_gets).value_or(-1);
  EXPECT_GE(gets_after - gets_before, n) << text.substr(0, 3000);
  EXPECT_GE(
      sample_value(text, R"(minivault_requests_total{protocol="http",op="get",result="not_found"})")
          .value_or(0),
      5);
  EXPECT_GE(sample_value(text, R"(minivault_requests_total{protocol="http",op="set",result="ok"})")
                .value_or(0),
            1);
  auto b =
      buckets(text, R"(minivault_request_duration_seconds_bucket{protocol="http",op="get",le=")");
  ASSERT_GE(b.size(), 2u) << "no HTTP GET histogram buckets";
  EXPECT_EQ(b.back().first, "+Inf");
  for (std::size_t i = 1; i < b.size(); ++i)
    EXPECT_GE(b[i].second, b[i - 1].second) << "bucket le=" << b[i].first << " not cumulative";
  auto count =
      sample_value(text, R"(minivault_request_duration_seconds_count{protocol="http",op="get"})");
  ASSERT_TRUE(count.has_value());
  EXPECT_EQ(*count, b.back().second) << "_count differs from the +Inf bucket";
  EXPECT_GE(*count, n + 5);
  EXPECT_TRUE(
      sample_value(text, R"(minivault_request_duration_seconds_sum{protocol="http",op="get"})")
          .has_value());
}

TEST_F(HttpApi, MetricsShowBinaryTrafficUnderItsOwnProtocolLabel) {
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  constexpr int n = 23;
  ASSERT_TRUE(bin.set("mb", "1").ok());
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(bin.get("mb").ok());
  ASSERT_TRUE(bin.del("mb").ok());
  auto r = http_->Get("/metrics");
  ASSERT_TRUE(r) << describe(r);
  const std::string& text = r->body;
  EXPECT_GE(
      sample_value(text, R"(minivault_requests_total{protocol="binary",op="get",result="ok"})")
          .value_or(-1),
      n)
      << text.substr(0, 3000);
  EXPECT_GE(
      sample_value(text, R"(minivault_requests_total{protocol="binary",op="set",result="ok"})")
          .value_or(-1),
      1);
  EXPECT_GE(
      sample_value(text, R"(minivault_requests_total{protocol="binary",op="delete",result="ok"})")
          .value_or(-1),
      1);
  // None of the binary requests is counted as HTTP.
  EXPECT_EQ(sample_value(text, R"(minivault_requests_total{protocol="http",op="set",result="ok"})")
                .value_or(0),
            0);
  EXPECT_LT(sample_value(text, R"(minivault_requests_total{protocol="http",op="get",result="ok"})")
                .value_or(0),
            n);
  auto b =
      buckets(text, R"(minivault_request_duration_seconds_bucket{protocol="binary",op="get",le=")");
  ASSERT_GE(b.size(), 2u);
  EXPECT_GE(b.back().second, n);
}

// -- read-your-write ----------------------------------------------------------------------------

TEST_F(HttpApi, AcknowledgedHttpWriteIsImmediatelyVisibleOverBinary) {
  test_client bin(node_.binary_port());
  ASSERT_TRUE(bin.connected());
  for (int i = 0; i < 200; ++i) {
    std::string v = "{\"seq\":" + std::to_string(i) + "}";
    ASSERT_TRUE(replied(http_->Put("/ryw", put_body(v), "application/json"), 200, success_body));
    auto g = bin.get("ryw");
    ASSERT_TRUE(g.ok() && g.payload == v) << "write " << i << " acked but binary GET gave " << g;
    if (i % 50 == 49) {
      ASSERT_TRUE(replied(http_->Delete("/ryw"), 200, success_body));
      ASSERT_TRUE(bin.get("ryw").is_error("not found")) << "delete " << i << " not visible";
    }
  }
}

} // namespace
} // namespace minivault::test
