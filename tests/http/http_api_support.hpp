#pragma once
// Shared by the HTTP API tests: exact-body helpers, base64 written independently of the
// server, an httplib client that sends targets verbatim, and the HttpApi fixture (a
// fresh node serving HTTP per test).
#include "tests/support/http_support.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/test_client.hpp"
#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <httplib.h>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace minivault::test {
inline namespace http_api_support {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;
using json = nlohmann::json;

inline const char* const host = "127.0.0.1";
inline const std::string not_found_body = R"({"success":false,"error":"not found"})";
inline const std::string success_body = R"({"success":true})";

/// A string literal with its embedded NULs (and without the terminating one).
template <std::size_t N> std::string lit(const char (&s)[N]) {
  return std::string(s, N - 1);
}

inline std::string data_body(std::string_view json_text) {
  return R"({"success":true,"data":)" + std::string(json_text) + "}";
}

inline std::string put_body(std::string_view json_text) {
  return R"({"value":)" + std::string(json_text) + "}";
}

// -- base64 (RFC 4648 §4), written here so the test does not trust the server's ------------

inline const char* const b64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline std::string base64_encode(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                      (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out.push_back(b64_alphabet[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16;
    out += {b64_alphabet[(v >> 18) & 63], b64_alphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    std::uint32_t v =
        (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8);
    out += {b64_alphabet[(v >> 18) & 63], b64_alphabet[(v >> 12) & 63], b64_alphabet[(v >> 6) & 63],
            '='};
  }
  return out;
}

/// Strict decoder: nullopt on any character outside the alphabet or bad padding.
inline std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    std::uint32_t v = 0;
    int pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      char c = in[i + j];
      int d = 0;
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        ++pad;
      } else {
        if (pad > 0) return std::nullopt;
        const char* p = std::strchr(b64_alphabet, c);
        if (c == '\0' || p == nullptr) return std::nullopt;
        d = static_cast<int>(p - b64_alphabet);
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    out.push_back(static_cast<char>((v >> 16) & 0xFF));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xFF));
  }
  return out;
}

/// An httplib client that sends targets verbatim and keeps its connection alive.
inline std::unique_ptr<httplib::Client> make_client(std::uint16_t port, time_t read_timeout_s = 5) {
  auto c = std::make_unique<httplib::Client>(host, port);
  c->set_url_encode(false);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true); // else each PUT waits ~40 ms for a delayed ACK
  c->set_connection_timeout(2, 0);
  c->set_read_timeout(read_timeout_s, 0);
  c->set_write_timeout(5, 0);
  return c;
}

inline std::string describe(const httplib::Result& r) {
  if (!r) return "no response (httplib error " + std::to_string(static_cast<int>(r.error())) + ")";
  return "status " + std::to_string(r->status) + ", body '" + printable(r->body, 300) + "'";
}

/// The response has exactly this status and body, and a JSON content type.
inline ::testing::AssertionResult replied(const httplib::Result& r, int status,
                                          std::string_view body) {
  if (!r || r->status != status || r->body != body)
    return ::testing::AssertionFailure() << "expected status " << status << ", body '"
                                         << printable(body, 300) << "'; got " << describe(r);
  if (r->get_header_value("Content-Type").rfind("application/json", 0) != 0)
    return ::testing::AssertionFailure()
           << "Content-Type '" << r->get_header_value("Content-Type") << "' is not JSON";
  return ::testing::AssertionSuccess();
}

/// `body` is exactly `{"success":false,"error":"<non-empty text>"}` (as JSON).
inline ::testing::AssertionResult is_error_json(std::string_view body) {
  auto j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.size() != 2 || !j.contains("success") ||
      j["success"] != false || !j.contains("error") || !j["error"].is_string() ||
      j["error"].get<std::string>().empty())
    return ::testing::AssertionFailure()
           << "not {\"success\":false,\"error\":\"...\"}: '" << printable(body, 300) << "'";
  return ::testing::AssertionSuccess();
}

/// The response is an error with this status and the JSON error shape.
inline ::testing::AssertionResult replied_error(const httplib::Result& r, int status) {
  if (!r || r->status != status)
    return ::testing::AssertionFailure() << "expected status " << status << "; got " << describe(r);
  if (r->get_header_value("Content-Type").rfind("application/json", 0) != 0)
    return ::testing::AssertionFailure()
           << "Content-Type '" << r->get_header_value("Content-Type") << "' is not JSON";
  return is_error_json(r->body);
}

/// Comma-separated methods of an Allow header.
inline std::vector<std::string> split_allow(const std::string& allow) {
  std::vector<std::string> out;
  std::stringstream in(allow);
  std::string m;
  while (std::getline(in, m, ',')) {
    while (!m.empty() && m.front() == ' ')
      m.erase(0, 1);
    while (!m.empty() && m.back() == ' ')
      m.pop_back();
    if (!m.empty()) out.push_back(m);
  }
  return out;
}

inline bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

/// The value of the sample `series` (`name{labels}`) in Prometheus text, if present.
inline std::optional<double> sample_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ')
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
  }
  return std::nullopt;
}

/// Every `<prefix>le="...".* N` bucket line in order, as (le, count).
inline std::vector<std::pair<std::string, double>> buckets(const std::string& text,
                                                           const std::string& prefix) {
  std::vector<std::pair<std::string, double>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) != 0) continue;
    auto le_end = line.find('"', prefix.size());
    auto close = line.find("} ", prefix.size());
    if (le_end == std::string::npos || close == std::string::npos) continue;
    out.emplace_back(line.substr(prefix.size(), le_end - prefix.size()),
                     std::strtod(line.c_str() + close + 2, nullptr));
  }
  return out;
}

inline std::string raw_put(std::string_view target, std::string_view body) {
  return "PUT " + std::string(target) + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json" +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

inline std::string raw_get(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

class HttpApi : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(node_.start());
    http_ = make_client(node_.http_port());
  }

  /// PUT then GET over HTTP, expecting the GET to return `value_text` verbatim.
  void expect_round_trip(const std::string& key, const std::string& value_text) {
    SCOPED_TRACE("value " + printable(value_text, 120));
    EXPECT_TRUE(replied(http_->Put("/" + key, put_body(value_text), "application/json"), 200,
                        success_body));
    EXPECT_TRUE(replied(http_->Get("/" + key), 200, data_body(value_text)));
  }

  /// After some abuse: a normal PUT and GET on a fresh connection still work.
  void expect_node_serves(const std::string& key) {
    auto c = make_client(node_.http_port());
    EXPECT_TRUE(
        replied(c->Put("/" + key, put_body("[1,2]"), "application/json"), 200, success_body));
    EXPECT_TRUE(replied(c->Get("/" + key), 200, data_body("[1,2]")));
  }

  http_node node_;
  std::unique_ptr<httplib::Client> http_;
};

} // namespace http_api_support
} // namespace minivault::test
