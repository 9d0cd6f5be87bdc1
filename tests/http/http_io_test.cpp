// HTTP connection handling on the I/O threads against the real `minivault` binary: what
// is decided from the head before a body is read, interim replies in pipelines, and the
// timeouts that must close stuck clients without touching healthy ones.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/http_support.hpp"
#include "tests/support/test_client.hpp"

namespace minivault::test {
namespace {

using clock_type = std::chrono::steady_clock;
const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

std::string put_head(const std::string& target, std::size_t length, const std::string& extra = {}) {
  return "PUT " + target + " HTTP/1.1\r\nHost: x\r\n" + extra +
         "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

TEST(HttpIo, RefusalsDecidedFromTheHeadComeBeforeTheBodyAndClose) {
  http_node node({"-auth", "s3cret", "-authmode", "writes"});
  ASSERT_TRUE(node.start());
  struct probe {
    std::string head;
    int status;
  };
  for (const probe& p : {
           probe{put_head("/k", 30000000, "Expect: 100-continue\r\n"), 401},
           probe{"PATCH /k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n"
                 "Expect: 100-continue\r\nContent-Length: 60000000\r\n\r\n",
                 405},
           probe{put_head("/a%zz", 1000, "Authorization: Bearer s3cret\r\n"), 400},
       }) {
    SCOPED_TRACE(p.head);
    raw_http c(node.http_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(p.head));
    auto r = c.read_response(3s);
    ASSERT_TRUE(r.has_value()) << "no reply before the body was sent";
    EXPECT_EQ(r->status, p.status) << "no 100 Continue may invite the upload first";
    EXPECT_TRUE(c.closed_by_peer(3s)) << "the connection stayed open with a body pending";
  }
}

TEST(HttpIo, AnInterimReplyWaitsForTheRepliesAheadOfIt) {
  http_node node;
  ASSERT_TRUE(node.start());
  raw_http c(node.http_port());
  ASSERT_TRUE(c.connected());
  const std::string body_a = R"({"value":"a"})";
  const std::string body_b = R"({"value":"b"})";
  // A write, then a head that waits for "100 Continue", in one packet: the interim
  // reply must follow the write's reply, not overtake it, and must not be forgotten.
  ASSERT_TRUE(c.send(put_head("/a", body_a.size()) + body_a +
                     put_head("/b", body_b.size(), "Expect: 100-continue\r\n")));
  auto first = c.read_response(3s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  auto deadline = clock_type::now() + 3s;
  while (c.unread().size() < continue_line.size() && clock_type::now() < deadline)
    (void)c.closed_by_peer(50ms);
  ASSERT_EQ(c.unread().substr(0, continue_line.size()), continue_line);
  c.discard(continue_line.size());
  ASSERT_TRUE(c.send(body_b));
  auto second = c.read_response(3s);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200);
  ASSERT_TRUE(c.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto read_back = c.read_response(3s);
  ASSERT_TRUE(read_back.has_value());
  EXPECT_EQ(read_back->body, R"({"success":true,"data":"b"})");
}

TEST(HttpIo, AConnectionIsIdleOnlyAfterItsLastReplyWasTaken) {
  http_node node({"-http-timeout-ms", "1000"});
  ASSERT_TRUE(node.start());
  test_client bin(node.binary_port());
  ASSERT_TRUE(bin.set("big", std::string(6 << 20, 'v')).ok());
  raw_http c(node.http_port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Take the 6 MiB reply slowly (about 2 s: longer than the timeout, with steady progress).
  std::size_t got = 0;
  char buf[16 << 10];
  auto deadline = clock_type::now() + 20s;
  while (got < (6u << 20) && clock_type::now() < deadline) {
    ssize_t n = ::recv(c.fd(), buf, sizeof(buf), 0);
    ASSERT_GT(n, 0) << "closed while the client was still reading, after " << got << " bytes";
    got += static_cast<std::size_t>(n);
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(300ms); // well within the idle timeout since the reply
  ASSERT_TRUE(c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response(3s);
  ASSERT_TRUE(r.has_value()) << "a connection idle for 300 ms was closed";
  EXPECT_EQ(r->status, 200);
}

TEST(HttpIo, AClientThatNeverReadsItsRepliesIsClosed) {
  http_node node({"-http-timeout-ms", "1000"});
  ASSERT_TRUE(node.start());
  test_client bin(node.binary_port());
  ASSERT_TRUE(bin.set("big", std::string(6 << 20, 'v')).ok());
  raw_http stuck(node.http_port());
  ASSERT_TRUE(stuck.connected());
  ASSERT_TRUE(
      stuck.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  httplib::Client metrics("127.0.0.1", node.http_port());
  auto open_connections = [&]() -> long {
    auto res = metrics.Get("/metrics");
    if (!res) return -1;
    auto at = res->body.find("\nminivault_connections ");
    return at == std::string::npos ? -1 : std::atol(res->body.c_str() + at + 23);
  };
  EXPECT_EQ(open_connections(), 3) << "binary client, stuck client, metrics client";
  auto deadline = clock_type::now() + 5s;
  long open = 3;
  while (open != 2 && clock_type::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    open = open_connections();
  }
  EXPECT_EQ(open, 2) << "a client that stopped reading kept its connection (and replies)";
}

} // namespace
} // namespace minivault::test
