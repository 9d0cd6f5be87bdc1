// The C++ client library against real nodes (and, for misbehaviour a node never shows,
// a scripted fake server): results, pipelining, compression, auth, reconnects, timeouts.
#include "client/client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "protocol/compression.hpp"
#include "tests/client/fake_server.hpp"
#include "tests/support/node_process.hpp"

namespace minivault::test {
namespace {

using namespace std::chrono_literals;
using minivault::client::batch;
using minivault::client::client;
using minivault::client::options;
using minivault::client::status;

options to(std::uint16_t port) {
  options o;
  o.port = port;
  o.connect_timeout = 2s;
  o.io_timeout = 10s;
  return o;
}

std::string random_bytes(std::size_t n, std::uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(rng() & 0xFF);
  return out;
}

class Client : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(node_.start()); }
  node_process node_;
};

TEST_F(Client, SetGetDeleteAndNotFoundAreDistinctResults) {
  client c(to(node_.port()));
  ASSERT_TRUE(c.set("k", "v1").ok());
  auto g = c.get("k");
  ASSERT_EQ(g.code, status::ok) << g.message();
  EXPECT_EQ(g.value, "v1");
  ASSERT_TRUE(c.del("k").ok());
  auto missing = c.get("k");
  EXPECT_EQ(missing.code, status::not_found);
  EXPECT_TRUE(missing.not_found());
  EXPECT_FALSE(missing.transport_failed());
  EXPECT_TRUE(c.del("never-existed").ok()) << "DELETE of a missing key succeeds";
}

TEST_F(Client, KeysAndValuesAreBinarySafe) {
  client c(to(node_.port()));
  const std::string key("\0k\xFF/\x01", 5);
  const std::string value = random_bytes(3 << 20);
  ASSERT_TRUE(c.set(key, value).ok());
  auto g = c.get(key);
  ASSERT_TRUE(g.ok()) << g.message();
  EXPECT_TRUE(g.value == value);
  EXPECT_TRUE(c.set("empty", "").ok());
  EXPECT_EQ(c.get("empty").value, "");
}

TEST_F(Client, HealthIsTheNodesJson) {
  client c(to(node_.port()));
  auto h = c.health();
  ASSERT_TRUE(h.ok()) << h.message();
  auto j = nlohmann::json::parse(h.value);
  EXPECT_EQ(j["status"], "healthy");
  EXPECT_TRUE(j.contains("node_id"));
}

TEST_F(Client, ErrorReplyCarriesTheNodesReason) {
  client c(to(node_.port()));
  auto r = c.set("", "value"); // empty keys are refused by the node
  EXPECT_EQ(r.code, status::error_reply);
  EXPECT_EQ(r.value, "bad request");
  EXPECT_EQ(r.message(), "error: bad request");
  EXPECT_TRUE(c.set("after", "ok").ok()) << "the client keeps working after an error reply";
}

TEST_F(Client, BatchRepliesComeBackInRequestOrder) {
  client c(to(node_.port()));
  batch b;
  for (int i = 0; i < 500; ++i)
    b.set("key" + std::to_string(i), "value" + std::to_string(i));
  b.get("key7").del("key7").get("key7").get("key499").health();
  auto results = c.execute(b);
  ASSERT_EQ(results.size(), b.size());
  for (int i = 0; i < 500; ++i)
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].message();
  EXPECT_EQ(results[500].value, "value7");
  EXPECT_TRUE(results[501].ok());
  EXPECT_TRUE(results[502].not_found()) << "a GET after a DELETE in the same batch misses";
  EXPECT_EQ(results[503].value, "value499");
  EXPECT_EQ(results[504].value.front(), '{');
  EXPECT_TRUE(c.execute(batch{}).empty());
}

// A batch far larger than the socket buffers on both sides: the node stops reading once
// its replies back up, so a client that only writes would deadlock with it.
TEST_F(Client, HugeBatchDoesNotDeadlock) {
  client c(to(node_.port()));
  const std::string value(4096, 'x');
  batch b;
  for (int i = 0; i < 6000; ++i) // ~24 MB of SETs, then as much GET payload back
    b.set("big" + std::to_string(i), value);
  for (int i = 0; i < 6000; ++i)
    b.get("big" + std::to_string(i));
  auto results = c.execute(b);
  ASSERT_EQ(results.size(), b.size());
  for (std::size_t i = 0; i < results.size(); ++i)
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].message();
  EXPECT_EQ(results.back().value, value);
}

TEST_F(Client, CompressedValuesComeBackAsTheOriginalBytes) {
  options o = to(node_.port());
  o.compress_min_bytes = 64;
  client c(o);
  std::string text;
  while (text.size() < (1 << 20))
    text += "a compressible line of text, repeated many times over\n";
  const std::string noise = random_bytes(1 << 16); // incompressible: sent raw
  ASSERT_TRUE(c.set("text", text).ok());
  ASSERT_TRUE(c.set("noise", noise).ok());
  EXPECT_TRUE(c.get("text").value == text);
  EXPECT_TRUE(c.get("noise").value == noise);
  client plain(to(node_.port()));
  EXPECT_TRUE(plain.get("text").value == text) << "a reader without compression sees the same";
}

// What goes on the wire: a zstd frame with the compressed flag, only above the threshold.
TEST(ClientWire, CompressesOnlyAtOrAboveTheThresholdAndOnlyWhenSmaller) {
  const std::string big(1000, 'z');
  std::string frames;
  fake_server server([&](int fd) {
    for (int i = 0; i < 2; ++i) {
      std::string head = fake_server::read_n(fd, 3);
      if (head.size() < 3) return;
      std::string key = fake_server::read_n(fd, wire::load_u16(head.data() + 1));
      std::string vhead = fake_server::read_n(fd, 5);
      std::string val = fake_server::read_n(fd, wire::load_u32(vhead.data()));
      frames += head + key + vhead + val;
      std::string ok;
      wire::append_reply(ok, wire::status_ok);
      ::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL);
    }
  });
  options o = to(server.port());
  o.compress_min_bytes = 100;
  client c(o);
  ASSERT_TRUE(c.set("s", "short").ok());
  ASSERT_TRUE(c.set("b", big).ok());
  auto first = wire::parse_request(frames.data(), frames.size(), 1 << 20);
  ASSERT_EQ(first.state, wire::parse_state::complete);
  EXPECT_FALSE(first.req.compressed);
  EXPECT_EQ(first.req.value, "short");
  auto second =
      wire::parse_request(frames.data() + first.consumed, frames.size() - first.consumed, 1 << 20);
  ASSERT_EQ(second.state, wire::parse_state::complete);
  EXPECT_TRUE(second.req.compressed);
  EXPECT_LT(second.req.value.size(), big.size());
  std::string back;
  ASSERT_EQ(zstd_decompress_bounded(second.req.value, 1 << 20, back), errc::ok);
  EXPECT_EQ(back, big);
}

TEST_F(Client, OverlongKeysAreRefusedBeforeAnythingIsSent) {
  client c(to(node_.port()));
  ASSERT_TRUE(c.set("victim", "alive").ok());
  // Bytes 5.. of this key spell a DELETE of "victim": sent with a wrapped u16 length,
  // the node would run it.
  std::string key(65540, 'k');
  std::string del;
  wire::append_request(del, wire::opcode::del, "victim");
  key.replace(4, del.size(), del);
  auto r = c.get(key);
  EXPECT_EQ(r.code, status::invalid_request) << r.message();
  batch b;
  b.set("fine", "1").set(key, "x");
  auto results = c.execute(b);
  EXPECT_EQ(results[0].code, status::invalid_request) << "the whole batch is refused";
  EXPECT_EQ(c.get("victim").value, "alive");
  EXPECT_TRUE(c.get("fine").not_found());
}

TEST(ClientTooLarge, AnInflatedValueIsRefusedAndTheBatchGoesOn) {
  node_process node({"-value-max-bytes", "1048576"});
  ASSERT_TRUE(node.start());
  options o = to(node.port());
  o.compress_min_bytes = 64;
  client c(o);
  batch b;
  b.set("big", std::string(5 << 20, 'z')).set("k2", "v2").get("k2");
  auto results = c.execute(b);
  EXPECT_EQ(results[0].value, "too large") << results[0].message();
  EXPECT_TRUE(results[1].ok()) << results[1].message();
  EXPECT_EQ(results[2].value, "v2") << results[2].message();
  // A plain value over the limit: the node closes, and the client reports the refusal.
  client plain(to(node.port()));
  auto r = plain.set("huge", std::string(3 << 20, 'y'));
  EXPECT_EQ(r.code, status::error_reply) << r.message();
  EXPECT_EQ(r.value, "too large");
  EXPECT_TRUE(plain.set("after", "ok").ok()) << "and reconnects for the next call";
}

TEST(ClientAuth, AuthWithTheRightKeyRepairsAWrongConfiguredKey) {
  node_process node({"-auth", "pw", "-authmode", "all"});
  ASSERT_TRUE(node.start());
  options o = to(node.port());
  o.auth_key = "wrong";
  client c(o);
  EXPECT_EQ(c.get("k").code, status::error_reply);
  auto r = c.auth("pw");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(c.set("k", "v").ok());
  c.close();
  EXPECT_EQ(c.get("k").value, "v") << "the new key is used for reconnects";
  EXPECT_EQ(c.auth("nope").code, status::error_reply);
  EXPECT_EQ(c.get("k").value, "v") << "a failed auth() keeps the working key";
}

TEST(ClientAuth, AuthenticatesByItselfAndAfterEveryReconnect) {
  node_process node({"-auth", "s3cret", "-authmode", "all"});
  ASSERT_TRUE(node.start());
  options o = to(node.port());
  o.auth_key = "s3cret";
  client c(o);
  ASSERT_TRUE(c.set("k", "v").ok());
  c.close(); // the next call reconnects and must authenticate again
  EXPECT_EQ(c.get("k").value, "v");

  client anonymous(to(node.port()));
  auto refused = anonymous.get("k");
  EXPECT_EQ(refused.code, status::error_reply);
  EXPECT_EQ(refused.value, "unauthorized");
  EXPECT_TRUE(anonymous.auth("s3cret").ok()) << "a later AUTH reconnects and succeeds";
  EXPECT_EQ(anonymous.get("k").value, "v") << "and the key is kept for reconnects";

  options wrong = o;
  wrong.auth_key = "guess";
  client bad(wrong);
  auto r = bad.connect();
  EXPECT_EQ(r.code, status::error_reply) << r.message();
  EXPECT_FALSE(bad.connected()) << "a failed AUTH leaves no connection behind";
  EXPECT_EQ(bad.set("k", "x").code, status::error_reply);
  EXPECT_EQ(c.get("k").value, "v") << "the wrong key wrote nothing";
}

TEST(ClientReconnect, IdleConnectionToARestartedNodeIsReplacedTransparently) {
  node_process node;
  ASSERT_TRUE(node.start());
  client c(to(node.port()));
  ASSERT_TRUE(c.set("k", "v").ok());
  ASSERT_TRUE(node.restart());
  // Nothing was in flight: the stale connection is noticed before sending, so even a
  // write (never retried) goes through on a new connection.
  auto r = c.set("k2", "v2");
  EXPECT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(c.get("k").value, "v");
}

TEST(ClientReconnect, DeadNodeIsAnIoErrorAndTheNextCallReconnects) {
  node_process node;
  ASSERT_TRUE(node.start());
  options o = to(node.port());
  o.connect_timeout = 500ms;
  client c(o);
  ASSERT_TRUE(c.set("k", "v").ok());
  node.kill_hard();
  auto r = c.get("k");
  EXPECT_EQ(r.code, status::io_error) << r.message();
  EXPECT_TRUE(r.transport_failed());
  EXPECT_NE(r.value.find("refused"), std::string::npos) << r.value;
  ASSERT_TRUE(node.start());
  EXPECT_EQ(c.get("k").value, "v") << "the acknowledged write survived SIGKILL";
}

TEST(ClientTimeouts, SilentServerTimesOutWithinTheBudget) {
  fake_server server([](int fd) { (void)fake_server::read_n(fd, 1 << 20); });
  options o = to(server.port());
  o.connect_timeout = 200ms;
  o.io_timeout = 300ms;
  client c(o);
  auto start = std::chrono::steady_clock::now();
  auto r = c.get("k"); // a GET may be retried: the budget holds for both attempts
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.code, status::timeout) << r.message();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 800ms) << "connect_timeout + io_timeout bounds the whole call";
  EXPECT_FALSE(c.connected()) << "a timed-out connection is out of step and is dropped";
}

TEST(ClientTimeouts, UnreachablePortIsAnIoError) {
  auto port = pick_free_port();
  client c(to(port));
  auto r = c.health();
  EXPECT_EQ(r.code, status::io_error);
  EXPECT_NE(r.message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.message();
}

TEST(ClientProtocol, OversizedOrGarbageRepliesAreProtocolErrors) {
  fake_server server([](int fd) {
    (void)fake_server::read_n(fd, 4);                         // GET "k"
    const char huge[] = {0x00, '\xFF', '\xFF', '\xFF', 0x7F}; // claims ~2 GiB
    ::send(fd, huge, sizeof(huge), MSG_NOSIGNAL);
    (void)fake_server::read_n(fd, 1);
  });
  options o = to(server.port());
  o.reply_bytes_max = 1 << 20;
  client c(o);
  auto r = c.get("k");
  EXPECT_EQ(r.code, status::protocol_error) << r.message();
  EXPECT_FALSE(c.connected());
}

TEST(ClientProtocol, BatchAfterTransportFailureReportsEveryRemainingRequest) {
  fake_server server([](int fd) {
    (void)fake_server::read_n(fd, 4 + 10 + 4); // the whole batch, so closing sends FIN
    std::string ok;
    wire::append_reply(ok, wire::status_ok, "v");
    ::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL); // one reply, then hang up
  });
  client c(to(server.port()));
  batch b;
  b.get("k").set("a", "1").del("b");
  auto results = c.execute(b);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].value, "v");
  EXPECT_EQ(results[1].code, status::io_error) << results[1].message();
  EXPECT_EQ(results[2].code, status::io_error);
}

} // namespace
} // namespace minivault::test
