// Integration tests: malformed, hostile and abandoned input to the real `minivault`
// binary (protocol/README.md §1.3). Each bad input goes on its own connection while
// another connection keeps working; after each one the node must still serve that
// connection and accept new ones.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "protocol/limits.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/test_client.hpp"

namespace minivault::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// How long a node may take to close a connection after its error reply.
constexpr auto close_wait = 2s;

/// A string literal with its embedded NULs (and without the terminating one).
template <std::size_t N> std::string lit(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::string u16le(std::uint16_t v) {
  std::string s(2, '\0');
  wire::store_u16(s.data(), v);
  return s;
}

std::string u32le(std::uint32_t v) {
  std::string s(4, '\0');
  wire::store_u32(s.data(), v);
  return s;
}

/// The start of a SET frame: [02][keylen][key][vallen][flag], without the value.
std::string set_header(std::string_view key, std::uint32_t vallen, std::uint8_t flag) {
  std::string f;
  f.push_back('\x02');
  f += u16le(static_cast<std::uint16_t>(key.size()));
  f += key;
  f += u32le(vallen);
  f.push_back(static_cast<char>(flag));
  return f;
}

class NodeBadInput : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(node_.start());
    good_ = std::make_unique<test_client>(node_.port());
    ASSERT_TRUE(good_->connected());
    ASSERT_TRUE(good_->set("good/seed", "seed").ok());
  }

  /// The long-lived connection still does SET/GET, and a new connection is accepted and
  /// served (HEALTH and GET).
  void expect_node_serving(const std::string& after) {
    SCOPED_TRACE("node check after: " + after);
    ASSERT_TRUE(node_.running()) << "node died: " << node_.last_exit_description();
    std::string key = "good/" + std::to_string(++checks_);
    std::string value = "value " + std::to_string(checks_) + lit("\0\xFF");
    auto s = good_->set(key, value);
    EXPECT_TRUE(s.ok()) << "SET on the good connection: " << s;
    auto g = good_->get(key);
    EXPECT_TRUE(g.ok() && g.payload == value) << "GET on the good connection: " << g;
    test_client fresh(node_.port());
    ASSERT_TRUE(fresh.connected()) << "the node no longer accepts connections";
    auto h = fresh.health();
    EXPECT_TRUE(h.ok()) << "HEALTH on a new connection: " << h;
    auto g2 = fresh.get(key);
    EXPECT_TRUE(g2.ok() && g2.payload == value) << "GET on a new connection: " << g2;
  }

  /// Sends `frame` on a new connection; expects one error reply (with `reason` unless
  /// empty), then the connection closed by the node.
  void expect_error_then_close(const std::string& frame, const std::string& reason,
                               const std::string& what) {
    SCOPED_TRACE(what);
    test_client bad(node_.port());
    ASSERT_TRUE(bad.connected());
    ASSERT_TRUE(bad.send_raw(frame));
    auto r = bad.read_reply();
    ASSERT_TRUE(r.io_ok) << "no error reply (closed or timed out) to " << printable(frame);
    EXPECT_EQ(r.status, wire::status_error) << r;
    if (!reason.empty()) {
      EXPECT_EQ(r.payload, reason) << r;
    }
    EXPECT_TRUE(bad.is_closed_by_peer(close_wait)) << "connection still open after the error";
  }

  node_process node_;
  std::unique_ptr<test_client> good_;
  int checks_ = 0;
};

TEST_F(NodeBadInput, UnknownOpcodeGetsErrorThenClose) {
  for (int op : {0x09, 0x00, 0x04, 0x7F, 0xFF}) { // 0x07 is QGET, 0x08 CONSISTENCY
    std::string frame(1, static_cast<char>(op));
    frame += u16le(1) + "k";
    expect_error_then_close(frame, "bad frame", "opcode " + std::to_string(op));
    expect_node_serving("opcode " + std::to_string(op));
  }
}

TEST_F(NodeBadInput, PipelinedRequestsBeforeABadFrameAreAnsweredFirst) {
  std::string burst;
  wire::append_request(burst, wire::opcode::set, "pre-bad", "v");
  wire::append_request(burst, wire::opcode::get, "pre-bad");
  burst += lit("\x09\x01\x00"
               "k");
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_raw(burst));
  auto s = c.read_reply();
  EXPECT_TRUE(s.ok()) << s;
  auto g = c.read_reply();
  EXPECT_TRUE(g.ok() && g.payload == "v") << g;
  auto e = c.read_reply();
  EXPECT_TRUE(e.is_error("bad frame")) << e;
  EXPECT_TRUE(c.is_closed_by_peer(close_wait));
  expect_node_serving("bad frame after pipelined requests");
}

TEST_F(NodeBadInput, ClaimedFourGiBValueIsRefusedWithoutSendingIt) {
  // Only the 13-byte header is sent: the node must answer from the claim alone (within
  // the client's 10 s receive timeout).
  expect_error_then_close(set_header("k", 0xFFFFFFFFu, 0), "too large", "vallen 0xFFFFFFFF");
  expect_error_then_close(set_header("k", 0xFFFFFFFFu, 1), "too large",
                          "vallen 0xFFFFFFFF, compressed");
  expect_node_serving("4 GiB claim");
}

TEST_F(NodeBadInput, ClaimedValueOverDefaultLimitIsRefused) {
  constexpr auto over = static_cast<std::uint32_t>(value_bytes_max_default + 1);
  expect_error_then_close(set_header("k", over, 0), "too large", "vallen 64 MiB + 1");
  // Even with some of the value following the header.
  expect_error_then_close(set_header("k", 100u << 20, 0) + std::string(4096, 'x'), "too large",
                          "vallen 100 MiB with 4 KiB of it sent");
  expect_node_serving("over-limit claim");
}

TEST_F(NodeBadInput, ValueExactlyAtDefaultLimitIsAccepted) {
  std::mt19937_64 rng(5);
  std::string value(value_bytes_max_default, '\0');
  for (std::size_t i = 0; i + 8 <= value.size(); i += 8) {
    std::uint64_t x = rng();
    std::memcpy(value.data() + i, &x, 8);
  }
  test_client c(node_.port(), 20s);
  ASSERT_TRUE(c.connected());
  auto s = c.set("at-limit", value);
  ASSERT_TRUE(s.ok()) << "a 64 MiB value (the default limit) was refused: " << s;
  auto g = c.get("at-limit");
  ASSERT_TRUE(g.ok()) << g;
  EXPECT_EQ(g.payload.size(), value.size());
  EXPECT_TRUE(g.payload == value);
  expect_node_serving("64 MiB value");
}

TEST_F(NodeBadInput, TruncatedFramesThenCloseLeaveTheNodeServing) {
  std::string half_set = set_header("half", 1000, 0) + std::string(500, 'v');
  const std::vector<std::pair<std::string, std::string>> partials = {
      {"\x02", "opcode only"},
      {lit("\x02\x05"), "half a key length"},
      {lit("\x01\x10\x00"
           "abc"),
       "GET with a partial key"},
      {set_header("half", 1000, 0).substr(0, 8), "SET cut inside the value length"},
      {half_set, "half a SET value"},
  };
  for (bool reset : {false, true}) {
    for (const auto& [bytes, what] : partials) {
      std::string label = what + (reset ? " (RST)" : " (FIN)");
      {
        test_client bad(node_.port());
        ASSERT_TRUE(bad.connected());
        ASSERT_TRUE(bad.send_raw(bytes));
        bad.close(reset);
      }
      expect_node_serving(label);
    }
  }
  // A client that sends half a frame and then just waits must not hold anybody up.
  test_client stalled(node_.port());
  ASSERT_TRUE(stalled.connected());
  ASSERT_TRUE(stalled.send_raw(half_set));
  expect_node_serving("a stalled half frame");
  // The half-sent value was never stored.
  EXPECT_TRUE(good_->get("half").is_error("not found"));
}

TEST_F(NodeBadInput, BadCompressionKeepsTheConnection) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  auto r = c.set("bc", "this is not a zstd frame at all", /*compressed=*/true);
  EXPECT_TRUE(r.is_error("bad compression")) << r;
  // The frame was read completely, so the same connection stays in step.
  auto s = c.set("bc-after", "fine");
  EXPECT_TRUE(s.ok()) << "same connection after bad compression: " << s;
  EXPECT_EQ(c.get("bc-after").payload, "fine");
  EXPECT_TRUE(c.get("bc").is_error("not found")) << "a refused value was stored";

  // A real zstd frame cut in half is not a value either.
  std::string text;
  while (text.size() < 100000)
    text += "truncated zstd frame content ";
  std::string frame = zstd_compress(text);
  ASSERT_GT(frame.size(), 20u);
  r = c.set("bc-half", frame.substr(0, frame.size() / 2), true);
  EXPECT_TRUE(r.is_error("bad compression")) << r;
  EXPECT_TRUE(c.get("bc-half").is_error("not found"));
  // An empty value that claims to be compressed is not a zstd frame.
  r = c.set("bc-empty", "", true);
  EXPECT_TRUE(r.is_error("bad compression")) << r;
  EXPECT_TRUE(c.set("bc-after", "still fine").ok());
  EXPECT_EQ(c.get("bc-after").payload, "still fine");
  expect_node_serving("bad compression");
}

// CONSISTENCY (0x08) sets a level for the connection; an unknown level is an error reply
// and the connection stays open and in step (protocol/README.md §1).
TEST_F(NodeBadInput, UnknownConsistencyLevelKeepsTheConnection) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  std::string frames;
  wire::append_request(frames, wire::opcode::consistency, "each_quorum");
  wire::append_request(frames, wire::opcode::consistency, "EACH_QUORUM");
  wire::append_request(frames, wire::opcode::consistency, "");
  wire::append_request(frames, wire::opcode::set, "cl", "v");
  ASSERT_TRUE(c.send_raw(frames));
  auto ok = c.read_reply();
  EXPECT_TRUE(ok.io_ok && ok.status == wire::status_ok && ok.payload.empty()) << ok;
  for (const char* what : {"upper case", "empty"}) {
    auto bad = c.read_reply();
    EXPECT_TRUE(bad.io_ok && bad.status == wire::status_error) << what << ": " << bad;
    EXPECT_NE(bad.payload.find("unknown consistency level"), std::string::npos) << bad;
  }
  auto set = c.read_reply();
  EXPECT_TRUE(set.ok()) << "a single node meets every level: " << set;
  EXPECT_EQ(c.get("cl").payload, "v");
  expect_node_serving("unknown consistency level");
}

TEST_F(NodeBadInput, ZstdBombIsRefusedWithoutMemoryJump) {
  const std::string zeros(80u << 20, '\0');
  const std::string bomb_sized = zstd_compress(zeros, 3, /*record_content_size=*/true);
  const std::string bomb_unsized = zstd_compress(zeros, 3, /*record_content_size=*/false);
  ASSERT_FALSE(bomb_sized.empty());
  ASSERT_FALSE(bomb_unsized.empty());
  ASSERT_LT(bomb_sized.size(), 64u << 10) << "the bomb should be a small frame";
  const std::size_t slack_kib = 40u << 10;
  auto rss_before = node_.rss_kib();
  ASSERT_TRUE(rss_before.has_value());
  // The sized bomb declares 80 MiB in its frame header; the unsized one does not, so
  // only a bounded decompression can refuse it.
  for (int round = 0; round < 2; ++round) {
    for (const auto* bomb : {&bomb_sized, &bomb_unsized}) {
      std::string what = std::string(bomb == &bomb_sized ? "sized" : "unsized") + " bomb, round " +
                         std::to_string(round);
      SCOPED_TRACE(what);
      test_client c(node_.port());
      ASSERT_TRUE(c.connected());
      auto r = c.set("bomb", *bomb, /*compressed=*/true);
      EXPECT_TRUE(r.is_error("too large"))
          << "80 MiB zstd bomb (" << bomb->size() << " bytes compressed): " << r;
      expect_node_serving(what);
      auto rss = node_.rss_kib();
      ASSERT_TRUE(rss.has_value());
      std::cout << "[ info ] after the " << what << ": node VmRSS " << *rss_before / 1024 << " -> "
                << *rss / 1024 << " MiB, VmHWM " << node_.status_kib("VmHWM").value_or(0) / 1024
                << " MiB\n";
      EXPECT_LE(*rss, *rss_before + slack_kib)
          << "node RSS grew from " << *rss_before << " KiB to " << *rss << " KiB";
    }
  }
  EXPECT_TRUE(good_->get("bomb").is_error("not found")) << "a bomb was stored";
}

TEST_F(NodeBadInput, InvalidCompressedFlagGetsErrorThenClose) {
  for (int flag : {7, 2, 0xFF}) {
    std::string frame = set_header("k", 3, static_cast<std::uint8_t>(flag)) + "abc";
    expect_error_then_close(frame, "", "compressed flag " + std::to_string(flag));
    expect_node_serving("compressed flag " + std::to_string(flag));
  }
}

TEST_F(NodeBadInput, EmptyKeyGetsAnErrorReply) {
  const std::vector<std::pair<std::string, std::string>> frames = {
      {lit("\x01\x00\x00"), "GET with keylen 0"},
      {set_header("", 1, 0) + "v", "SET with keylen 0"},
      {lit("\x03\x00\x00"), "DELETE with keylen 0"},
  };
  for (const auto& [frame, what] : frames) {
    SCOPED_TRACE(what);
    test_client bad(node_.port());
    ASSERT_TRUE(bad.connected());
    ASSERT_TRUE(bad.send_raw(frame));
    auto r = bad.read_reply();
    ASSERT_TRUE(r.io_ok) << "no reply";
    EXPECT_EQ(r.status, wire::status_error) << r;
    expect_node_serving(what);
  }
}

TEST_F(NodeBadInput, HundredConnectionsAbandonedMidFrame) {
  auto fds_before = node_.open_fds();
  ASSERT_TRUE(fds_before.has_value());
  std::string value_part = set_header("abandoned", 5000, 0) + std::string(1234, 'a');
  const std::vector<std::string> partials = {"\x01",
                                             lit("\x02\x07\x00"
                                                 "abc"),
                                             set_header("abandoned", 5000, 0).substr(0, 13),
                                             value_part, lit("\x05\xFF")};
  {
    std::vector<std::unique_ptr<test_client>> clients;
    for (int i = 0; i < 100; ++i) {
      clients.push_back(std::make_unique<test_client>(node_.port()));
      ASSERT_TRUE(clients.back()->connected()) << "connection " << i;
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
      EXPECT_TRUE(clients[i]->send_raw(partials[i % partials.size()])) << "connection " << i;
    }
    expect_node_serving("100 half frames pending");
    for (std::size_t i = 0; i < clients.size(); ++i)
      clients[i]->close(/*reset=*/i % 2 == 0);
  }
  expect_node_serving("100 connections closed mid-frame");
  EXPECT_TRUE(good_->get("abandoned").is_error("not found"));
  // The node lets go of the sockets it no longer needs.
  std::size_t fds_after = 0;
  auto deadline = clock_type::now() + 5s;
  while (clock_type::now() < deadline) {
    fds_after = node_.open_fds().value_or(0);
    if (fds_after <= *fds_before + 5) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_LE(fds_after, *fds_before + 5)
      << "open fds of the node: " << *fds_before << " before, " << fds_after << " 5 s after";
}

TEST_F(NodeBadInput, RandomGarbageNeverKillsTheNode) {
  std::mt19937_64 rng(0xBADF00D);
  constexpr int rounds = 40;
  for (int round = 0; round < rounds; ++round) {
    std::string garbage(1 + rng() % 2048, '\0');
    for (auto& ch : garbage)
      ch = static_cast<char>(rng() & 0xFF);
    test_client bad(node_.port(), 2s);
    ASSERT_TRUE(bad.connected()) << "round " << round;
    if (round % 2 == 1) {
      // A good request first: its reply must not be lost to what follows.
      auto s = bad.set("garbage/pre", "ok");
      EXPECT_TRUE(s.ok()) << "round " << round << ": " << s;
    }
    bad.send_raw(garbage); // the node may already have closed: that is fine
    (void)bad.is_closed_by_peer(100ms);
    bad.close(/*reset=*/round % 3 == 0);
    if (round % 10 == 9) expect_node_serving("garbage round " + std::to_string(round));
  }
  expect_node_serving("all garbage rounds");
  test_client last(node_.port());
  ASSERT_TRUE(last.connected());
  EXPECT_TRUE(last.health().ok());
  EXPECT_EQ(last.get("garbage/pre").payload, "ok");
}

} // namespace
} // namespace minivault::test
