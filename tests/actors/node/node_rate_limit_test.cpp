// Integration tests of `-ratelimit N` against the real `minivault` binary: the limit is
// node-wide (one pool, burst = one second's worth, starts full, refilled every 10 ms),
// GET/SET/DELETE cost a token on both protocols and HEALTH is free. Over the limit the
// binary protocol answers `0xFF rate limited` in place (the stream stays in step) and HTTP
// answers 429; both are counted in /metrics.
//
// Bounds: from a full pool, the ops accepted during `t` seconds are at most
// burst + rate x t (plus a token or two of slack: each I/O thread may hold one chunk,
// which is a single token at these rates) and at least the burst.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "protocol/wire.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/test_client.hpp"

namespace minivault::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

const std::string rate_limited_body = R"({"success":false,"error":"rate limited"})";

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Writes `frames` from a second thread while this one reads `n` replies, so neither
/// side's socket buffers can fill up and stall the other. Stops at the first unreadable
/// reply (the result is then shorter than `n`).
std::vector<reply> pipeline(test_client& c, const std::string& frames, std::size_t n) {
  const int fd = c.fd();
  std::thread writer([fd, &frames] {
    const char* p = frames.data();
    std::size_t left = frames.size();
    while (left > 0) {
      ssize_t sent = ::send(fd, p, left, MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) continue;
      if (sent <= 0) return;
      p += sent;
      left -= static_cast<std::size_t>(sent);
    }
  });
  std::vector<reply> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(c.read_reply());
    if (!out.back().io_ok) break;
  }
  writer.join();
  return out;
}

std::string repeated_get(std::string_view key, std::size_t n) {
  std::string frames;
  for (std::size_t i = 0; i < n; ++i)
    wire::append_request(frames, wire::opcode::get, key);
  return frames;
}

struct tally {
  std::size_t accepted = 0; // answered normally
  std::size_t limited = 0;  // exactly `0xFF rate limited`
  std::size_t other = 0;    // anything else: a failure
};

/// Counts the replies to GETs of a missing key: `not found` (accepted) or `rate limited`.
tally count_missing_gets(const std::vector<reply>& replies) {
  tally t;
  for (const auto& r : replies) {
    if (r.is_error("not found"))
      ++t.accepted;
    else if (r.is_error("rate limited"))
      ++t.limited;
    else
      ++t.other;
  }
  return t;
}

/// The value of one sample (`name{labels}`) in the node's /metrics; nullopt if absent.
std::optional<std::uint64_t> metric(std::uint16_t http_port, const std::string& sample) {
  httplib::Client cli("127.0.0.1", http_port);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get("/metrics");
  if (!res || res->status != 200) return std::nullopt;
  const std::string& text = res->body;
  const std::string prefix = sample + " ";
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (text.compare(pos, prefix.size(), prefix) == 0)
      return std::stoull(text.substr(pos + prefix.size(), end - pos - prefix.size()));
    pos = end + 1;
  }
  return std::nullopt;
}

/// Polls /metrics until `sample` equals `want` (at most 5 s), then returns its value.
std::optional<std::uint64_t> metric_settled(std::uint16_t http_port, const std::string& sample,
                                            std::uint64_t want) {
  std::optional<std::uint64_t> v;
  auto deadline = clock_type::now() + 5s;
  do {
    v = metric(http_port, sample);
    if (v && *v == want) break;
    std::this_thread::sleep_for(20ms);
  } while (clock_type::now() < deadline);
  return v;
}

bool wait_for_http(std::uint16_t port) {
  auto deadline = clock_type::now() + 10s;
  while (clock_type::now() < deadline) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_connection_timeout(0, 200'000);
    if (auto res = cli.Get("/health"); res && res->status == 200) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

const char* const binary_limited = R"(minivault_rate_limited_total{protocol="binary"})";
const char* const http_limited = R"(minivault_rate_limited_total{protocol="http"})";

// (a) -------------------------------------------------------------------------------------

TEST(NodeRateLimit, PipelinedStreamStaysInStepAndOnlyAcceptedWritesLand) {
  constexpr std::size_t rate = 100;
  constexpr std::size_t requests = 3000;
  constexpr std::size_t pairs = requests / 2;
  const std::uint16_t http_port = pick_free_port();
  node_process node({"-ratelimit", std::to_string(rate), "-http", std::to_string(http_port)});
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(wait_for_http(http_port));

  // SET k_j v_j then GET k_j, 1500 times: a GET's right answer depends on its SET.
  auto key_of = [](std::size_t j) { return "rl-key-" + std::to_string(j); };
  auto value_of = [](std::size_t j) {
    return "value-" + std::to_string(j) + "-" +
           std::string(j % 17, static_cast<char>('a' + j % 26));
  };
  std::string frames;
  for (std::size_t j = 0; j < pairs; ++j) {
    wire::append_request(frames, wire::opcode::set, key_of(j), value_of(j));
    wire::append_request(frames, wire::opcode::get, key_of(j));
  }
  test_client c(node.port());
  ASSERT_TRUE(c.connected());
  const auto start = clock_type::now();
  auto replies = pipeline(c, frames, requests);
  const double elapsed = seconds_since(start);
  ASSERT_EQ(replies.size(), requests) << "the stream stopped at reply " << replies.size();

  std::vector<bool> set_acked(pairs, false);
  std::size_t accepted = 0, limited = 0, wrong = 0;
  for (std::size_t j = 0; j < pairs; ++j) {
    const reply& s = replies[2 * j];
    const reply& g = replies[2 * j + 1];
    if (s.is_error("rate limited")) {
      ++limited;
    } else if (s.ok() && s.payload.empty()) {
      ++accepted;
      set_acked[j] = true;
    } else {
      ++wrong;
      ADD_FAILURE() << "SET " << key_of(j) << ": " << s;
    }
    if (g.is_error("rate limited")) {
      ++limited;
    } else if (set_acked[j] ? (g.ok() && g.payload == value_of(j)) : g.is_error("not found")) {
      ++accepted;
    } else {
      ++wrong;
      ADD_FAILURE() << "GET " << key_of(j) << " (SET " << (set_acked[j] ? "acked" : "limited")
                    << "): " << g;
    }
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(accepted + limited, requests);
  const double bound = static_cast<double>(rate) + rate * elapsed + 3;
  EXPECT_GE(accepted, 1u);
  EXPECT_GE(accepted, rate) << "the pool starts full: the burst must be available";
  EXPECT_LE(static_cast<double>(accepted), bound)
      << "accepted " << accepted << " ops in " << elapsed << " s at " << rate << "/s";

  // HEALTH is free: answered while the GETs around it are throttled.
  std::string probe = repeated_get("rl-missing", 20);
  wire::append_request(probe, wire::opcode::health, "");
  probe += repeated_get("rl-missing", 20);
  auto probe_replies = pipeline(c, probe, 41);
  ASSERT_EQ(probe_replies.size(), 41u);
  EXPECT_TRUE(probe_replies[20].ok()) << "HEALTH while limited: " << probe_replies[20];
  EXPECT_EQ(probe_replies[20].payload.front(), '{');
  probe_replies.erase(probe_replies.begin() + 20);
  tally p = count_missing_gets(probe_replies);
  EXPECT_EQ(p.other, 0u);
  EXPECT_GE(p.limited, 30u) << "the pool should still be (nearly) empty";

  // The bucket refills, and the same connection is still in step.
  std::this_thread::sleep_for(1100ms);
  auto s = c.set("rl-after", "after-value");
  EXPECT_TRUE(s.ok()) << s;
  auto g = c.get("rl-after");
  EXPECT_TRUE(g.ok() && g.payload == "after-value") << g;

  // The throttled requests were counted (plus the probe's).
  auto counted = metric_settled(http_port, binary_limited, limited + p.limited);
  ASSERT_TRUE(counted.has_value());
  EXPECT_EQ(*counted, limited + p.limited);

  // Every acknowledged SET is durable with its exact value; every throttled one is absent.
  // Read back on the same data with no limit, so 1500 reads need no tokens.
  ASSERT_TRUE(node.stop());
  node_process reader({}, node.data_dir());
  ASSERT_TRUE(reader.start());
  test_client r(reader.port());
  ASSERT_TRUE(r.connected());
  std::string reads;
  for (std::size_t j = 0; j < pairs; ++j)
    wire::append_request(reads, wire::opcode::get, key_of(j));
  auto read_back = pipeline(r, reads, pairs);
  ASSERT_EQ(read_back.size(), pairs);
  std::size_t mismatches = 0;
  for (std::size_t j = 0; j < pairs; ++j) {
    bool good = set_acked[j] ? (read_back[j].ok() && read_back[j].payload == value_of(j))
                             : read_back[j].is_error("not found");
    if (!good && ++mismatches <= 10)
      ADD_FAILURE() << key_of(j) << " (SET " << (set_acked[j] ? "acked" : "limited")
                    << ") reads back " << read_back[j];
  }
  EXPECT_EQ(mismatches, 0u);
  auto after = r.get("rl-after");
  EXPECT_TRUE(after.ok() && after.payload == "after-value") << after;
}

// (b) -------------------------------------------------------------------------------------

TEST(NodeRateLimit, TheLimitIsNodeWideNotPerConnection) {
  constexpr std::size_t rate = 200;
  constexpr std::size_t per_connection = 1000;
  // Several I/O threads, so two connections are likely served by different threads.
  node_process node({"-ratelimit", std::to_string(rate), "-io-threads", "2"});
  ASSERT_TRUE(node.start());
  const double slack = 4; // one chunk (one token) per I/O thread, and rounding

  test_client one(node.port());
  ASSERT_TRUE(one.connected());
  auto start = clock_type::now();
  auto replies = pipeline(one, repeated_get("nw-missing", per_connection), per_connection);
  const double elapsed_one = seconds_since(start);
  ASSERT_EQ(replies.size(), per_connection);
  tally alone = count_missing_gets(replies);
  EXPECT_EQ(alone.other, 0u);
  EXPECT_GE(alone.accepted, rate);
  EXPECT_LE(static_cast<double>(alone.accepted), rate + rate * elapsed_one + slack);

  std::this_thread::sleep_for(1200ms); // the pool is full again

  test_client a(node.port());
  test_client b(node.port());
  ASSERT_TRUE(a.connected());
  ASSERT_TRUE(b.connected());
  const std::string frames = repeated_get("nw-missing", per_connection);
  std::vector<reply> ra, rb;
  start = clock_type::now();
  std::thread ta([&] { ra = pipeline(a, frames, per_connection); });
  std::thread tb([&] { rb = pipeline(b, frames, per_connection); });
  ta.join();
  tb.join();
  const double elapsed_two = seconds_since(start);
  ASSERT_EQ(ra.size(), per_connection);
  ASSERT_EQ(rb.size(), per_connection);
  tally ta_count = count_missing_gets(ra);
  tally tb_count = count_missing_gets(rb);
  EXPECT_EQ(ta_count.other + tb_count.other, 0u);
  const std::size_t together = ta_count.accepted + tb_count.accepted;
  EXPECT_GE(together, rate);
  EXPECT_LE(static_cast<double>(together), rate + rate * elapsed_two + slack)
      << "two connections got " << ta_count.accepted << " + " << tb_count.accepted << " in "
      << elapsed_two << " s";
  // Per-connection limiting would give about twice as much.
  EXPECT_LT(static_cast<double>(together), 1.5 * static_cast<double>(alone.accepted))
      << "one connection alone got " << alone.accepted;
}

// (c) -------------------------------------------------------------------------------------

TEST(NodeRateLimit, SustainedRateMatchesTheLimit) {
  constexpr double rate = 500;
  constexpr std::size_t batch = 250;
  node_process node({"-ratelimit", "500"});
  ASSERT_TRUE(node.start());
  test_client c(node.port());
  ASSERT_TRUE(c.connected());
  const std::string frames = repeated_get("sr-missing", batch);
  std::size_t sent = 0, accepted = 0;
  const auto start = clock_type::now();
  while (seconds_since(start) < 2.0) {
    auto replies = pipeline(c, frames, batch);
    ASSERT_EQ(replies.size(), batch);
    tally t = count_missing_gets(replies);
    ASSERT_EQ(t.other, 0u);
    sent += batch;
    accepted += t.accepted;
  }
  const double elapsed = seconds_since(start);
  const double expected = rate + rate * elapsed; // the full burst, then the refill rate
  // The offered load must far exceed the limit, or the upper bound could not fail.
  ASSERT_GT(static_cast<double>(sent), 3 * expected) << "the client was too slow to test a limit";
  EXPECT_GE(static_cast<double>(accepted), 0.8 * expected)
      << accepted << " accepted of " << sent << " in " << elapsed << " s";
  EXPECT_LE(static_cast<double>(accepted), 1.3 * expected)
      << accepted << " accepted of " << sent << " in " << elapsed << " s";
}

// (d) -------------------------------------------------------------------------------------

TEST(NodeRateLimit, HttpAnswers429AndCountsIt) {
  constexpr double rate = 5;
  const std::uint16_t http_port = pick_free_port();
  node_process node({"-ratelimit", "5", "-http", std::to_string(http_port)});
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(wait_for_http(http_port)); // GET /health: free

  httplib::Client cli("127.0.0.1", http_port);
  cli.set_keep_alive(true);
  cli.set_tcp_nodelay(true); // else Nagle + delayed ACK: 40 ms per PUT
  cli.set_read_timeout(5, 0);
  std::vector<int> statuses;
  const auto start = clock_type::now();
  for (int i = 0; i < 20; ++i) {
    auto res = cli.Put("/burst-" + std::to_string(i), R"({"value":)" + std::to_string(i) + "}",
                       "application/json");
    ASSERT_TRUE(res) << "PUT " << i << ": " << httplib::to_string(res.error());
    statuses.push_back(res->status);
    if (res->status == 429) {
      EXPECT_EQ(res->body, rate_limited_body) << "PUT " << i;
      EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    } else {
      EXPECT_EQ(res->status, 200) << "PUT " << i << ": " << res->body;
      EXPECT_EQ(res->body, R"({"success":true})");
    }
  }
  const double elapsed = seconds_since(start);

  // Node-wide: the binary protocol draws on the same (now empty) pool.
  test_client bin(node.port());
  ASSERT_TRUE(bin.connected());
  auto bin_replies = pipeline(bin, repeated_get("burst-missing", 10), 10);
  ASSERT_EQ(bin_replies.size(), 10u);
  tally b = count_missing_gets(bin_replies);
  EXPECT_EQ(b.other, 0u);
  EXPECT_LE(b.accepted, 3u) << "the HTTP burst should have emptied the node's pool";

  std::size_t ok = 0, limited = 0;
  for (int s : statuses) {
    if (s == 200) ++ok;
    if (s == 429) ++limited;
  }
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(statuses[static_cast<std::size_t>(i)], 200) << "PUT " << i << " is within the burst";
  EXPECT_GE(limited, 1u);
  EXPECT_LE(static_cast<double>(ok), rate + rate * elapsed + 2)
      << ok << " PUTs accepted in " << elapsed << " s";
  EXPECT_EQ(ok + limited, 20u);

  // /health is free; /metrics counts the 429s (and the binary refusals separately).
  auto health = cli.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto h = metric_settled(http_port, http_limited, limited);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(*h, limited);
  auto bl = metric_settled(http_port, binary_limited, b.limited);
  ASSERT_TRUE(bl.has_value());
  EXPECT_EQ(*bl, b.limited);

  // A refused PUT stored nothing; an accepted one did (after the pool refilled).
  std::this_thread::sleep_for(1200ms);
  std::size_t last_refused = 0;
  for (std::size_t i = 0; i < statuses.size(); ++i)
    if (statuses[i] == 429) last_refused = i;
  auto refused = cli.Get("/burst-" + std::to_string(last_refused));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 404) << refused->body;
  auto stored = cli.Get("/burst-0");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, 200);
  EXPECT_EQ(stored->body, R"({"success":true,"data":0})");
}

// (e) -------------------------------------------------------------------------------------

TEST(NodeRateLimit, ZeroMeansUnlimited) {
  constexpr std::size_t n = 20000;
  for (const auto& args :
       {std::vector<std::string>{}, std::vector<std::string>{"-ratelimit", "0"}}) {
    SCOPED_TRACE(args.empty() ? "default" : "-ratelimit 0");
    const std::uint16_t http_port = pick_free_port();
    std::vector<std::string> all = args;
    all.insert(all.end(), {"-http", std::to_string(http_port)});
    node_process node(all);
    ASSERT_TRUE(node.start());
    ASSERT_TRUE(wait_for_http(http_port));
    test_client c(node.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.set("present", "here").ok());
    std::string frames;
    for (std::size_t i = 0; i < n; ++i)
      wire::append_request(frames, wire::opcode::get, i % 2 == 0 ? "present" : "absent");
    auto replies = pipeline(c, frames, n);
    ASSERT_EQ(replies.size(), n);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      bool good = i % 2 == 0 ? (replies[i].ok() && replies[i].payload == "here")
                             : replies[i].is_error("not found");
      if (!good && ++bad <= 5) ADD_FAILURE() << "reply " << i << ": " << replies[i];
    }
    EXPECT_EQ(bad, 0u);
    httplib::Client cli("127.0.0.1", http_port);
    cli.set_keep_alive(true);
    cli.set_tcp_nodelay(true); // else Nagle + delayed ACK: 40 ms per PUT
    for (int i = 0; i < 100; ++i) {
      auto res =
          cli.Put("/unlimited-" + std::to_string(i), R"({"value":true})", "application/json");
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200) << "PUT " << i << ": " << res->body;
    }
    EXPECT_EQ(metric(http_port, binary_limited), std::optional<std::uint64_t>(0));
    EXPECT_EQ(metric(http_port, http_limited), std::optional<std::uint64_t>(0));
  }
}

// (f) -ratelimit-per-ip ----------------------------------------------------------------------

/// A blocking connection to 127.0.0.1:port from the local address `source` (any
/// 127.x.y.z works on loopback), so one test can be several client addresses.
int connect_from(const char* source, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool read_exact(int fd, char* p, std::size_t n) {
  while (n > 0) {
    ssize_t got = ::recv(fd, p, n, 0);
    if (got <= 0) return false;
    p += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

/// Sends `n` pipelined GETs of a missing key from `fd` and counts the replies.
tally missing_gets_from(int fd, std::size_t n) {
  std::string frames = repeated_get("per-ip-missing", n);
  std::thread writer([fd, &frames] {
    std::size_t off = 0;
    while (off < frames.size()) {
      ssize_t sent = ::send(fd, frames.data() + off, frames.size() - off, MSG_NOSIGNAL);
      if (sent <= 0) return;
      off += static_cast<std::size_t>(sent);
    }
  });
  tally t;
  for (std::size_t i = 0; i < n; ++i) {
    char head[5];
    if (!read_exact(fd, head, sizeof(head))) {
      ++t.other;
      break;
    }
    std::uint32_t len = 0;
    std::memcpy(&len, head + 1, 4); // little-endian, as is this machine
    std::string payload(len, '\0');
    if (len > 4096 || !read_exact(fd, payload.data(), len)) {
      ++t.other;
      break;
    }
    if (static_cast<std::uint8_t>(head[0]) == wire::status_error && payload == "not found")
      ++t.accepted;
    else if (static_cast<std::uint8_t>(head[0]) == wire::status_error && payload == "rate limited")
      ++t.limited;
    else
      ++t.other;
  }
  writer.join();
  return t;
}

TEST(NodeRateLimit, PerIpLimitIsPerAddressAndSharedByItsConnections) {
  constexpr std::size_t rate = 100;
  constexpr std::size_t n = 1000;
  node_process node({"-ratelimit-per-ip", std::to_string(rate), "-io-threads", "2"});
  ASSERT_TRUE(node.start());
  const double slack = 2;

  int first = connect_from("127.0.0.1", node.port());
  ASSERT_GE(first, 0);
  auto start = clock_type::now();
  tally a = missing_gets_from(first, n);
  const double elapsed_a = seconds_since(start);
  EXPECT_EQ(a.other, 0u);
  EXPECT_EQ(a.accepted + a.limited, n);
  EXPECT_GE(a.accepted, rate);
  EXPECT_LE(static_cast<double>(a.accepted), rate + rate * elapsed_a + slack);

  // A second connection from the same address finds the bucket drained...
  int same = connect_from("127.0.0.1", node.port());
  ASSERT_GE(same, 0);
  start = clock_type::now();
  tally a2 = missing_gets_from(same, n);
  const double elapsed_a2 = seconds_since(start) + elapsed_a;
  EXPECT_EQ(a2.other, 0u);
  EXPECT_LE(static_cast<double>(a2.accepted), rate * elapsed_a2 + slack)
      << "a new connection of the same address got a fresh budget";

  // ...while another address has a full bucket of its own.
  int other = connect_from("127.0.0.2", node.port());
  ASSERT_GE(other, 0);
  tally b = missing_gets_from(other, n);
  EXPECT_EQ(b.other, 0u);
  EXPECT_GE(b.accepted, rate) << "another address was limited by the first one's use";
  ::close(first);
  ::close(same);
  ::close(other);
}

} // namespace
} // namespace minivault::test
