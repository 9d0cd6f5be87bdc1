// Review findings (metrics): binary requests refused as malformed frames (unknown opcode,
// value over -value-max-bytes) are answered and the connection closed, but they are never
// counted in minivault_requests_total, although result="bad_request" is documented to
// include "bad frame, too large" (actors/telemetry/metrics.hpp, README "Health and metrics").
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "protocol/wire.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/test_client.hpp"

namespace minivault {
namespace {

using namespace std::chrono_literals;

/// Sum of every minivault_requests_total sample of the binary protocol whose result is
/// `result`; nullopt if /metrics cannot be read.
std::optional<std::uint64_t> binary_requests(std::uint16_t http_port, const std::string& result) {
  httplib::Client cli("127.0.0.1", http_port);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get("/metrics");
  if (!res || res->status != 200) return std::nullopt;
  const std::string& text = res->body;
  const std::string name = "minivault_requests_total{protocol=\"binary\"";
  const std::string want = "result=\"" + result + "\"} ";
  std::uint64_t sum = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    std::size_t at = line.find(want);
    if (line.compare(0, name.size(), name) == 0 && at != std::string::npos)
      sum += std::stoull(line.substr(at + want.size()));
    pos = end + 1;
  }
  return sum;
}

TEST(node_metrics_miss, a_too_large_binary_set_is_counted_as_bad_request) {
  const std::uint16_t http = test::pick_free_port();
  test::node_process n({"-http", std::to_string(http), "-value-max-bytes", "16"});
  ASSERT_TRUE(n.start());
  auto before = binary_requests(http, "bad_request");
  ASSERT_TRUE(before);
  {
    test::test_client c(n.port());
    std::string frame;
    wire::append_request(frame, wire::opcode::set, "k", std::string(64, 'x'));
    ASSERT_TRUE(c.send_raw(frame));
    (void)c.read_reply(); // "too large", then the node closes the connection
  }
  std::optional<std::uint64_t> after;
  for (int i = 0; i < 50; ++i) { // counters are published at the end of a round
    after = binary_requests(http, "bad_request");
    if (after && *after > *before) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, *before + 1) << "the refused frame is missing from minivault_requests_total";
}

} // namespace
} // namespace minivault
