#pragma once
// HTTP test support: raw_http, a blocking socket that speaks exactly the bytes it is
// given and reads responses back (for pipelining, partial requests, claimed lengths and
// checking that the node closed a connection), and http_node, a real node serving HTTP.
//
// Contract: every wait is bounded by a deadline, nothing throws, one thread per object;
// only 127.0.0.1 is ever contacted.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/node_process.hpp"

namespace minivault::test {

using namespace std::chrono_literals;

// -- raw HTTP over a socket ------------------------------------------------------------------

struct raw_response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers; // names lower-cased
  std::string body;

  std::optional<std::string> header(std::string name) const {
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return std::nullopt;
  }
};

/// One blocking TCP connection to 127.0.0.1 that speaks exactly the bytes it is given.
/// Every wait is bounded by a deadline; nothing throws. One thread per object.
class raw_http {
public:
  explicit raw_http(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      return;
    }
    fd_ = fd;
  }
  ~raw_http() { close(); }
  raw_http(const raw_http&) = delete;
  raw_http& operator=(const raw_http&) = delete;

  bool connected() const noexcept { return fd_ >= 0; }

  /// Writes all of `bytes`; false if the socket refused them (closed or reset).
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads one response (framed by Content-Length, else up to EOF; no body at all for the
  /// response to a HEAD, `head_request`). nullopt when the peer closed or the timeout
  /// passed before a whole response arrived.
  std::optional<raw_response> read_response(std::chrono::milliseconds timeout = 5s,
                                            bool head_request = false) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t head_end;
    while ((head_end = in_.find("\r\n\r\n")) == std::string::npos)
      if (fill(deadline) != fill_result::data) return std::nullopt;
    raw_response r;
    std::istringstream head(in_.substr(0, head_end));
    std::string line;
    std::getline(head, line);
    if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) return std::nullopt;
    r.status = std::atoi(line.c_str() + 9);
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      r.headers.emplace_back(std::move(name), std::move(value));
    }
    std::size_t body_start = head_end + 4;
    if (head_request) {
      in_.erase(0, body_start);
    } else if (auto length = r.header("Content-Length")) {
      std::size_t n = std::strtoull(length->c_str(), nullptr, 10);
      while (in_.size() < body_start + n)
        if (fill(deadline) != fill_result::data) return std::nullopt;
      r.body = in_.substr(body_start, n);
      in_.erase(0, body_start + n);
    } else {
      while (fill(deadline) == fill_result::data) {
      }
      r.body = in_.substr(body_start);
      in_.clear();
    }
    return r;
  }

  /// Waits up to `timeout` for the peer to close (EOF or reset). Bytes that arrive
  /// meanwhile are kept for read_response().
  bool closed_by_peer(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      switch (fill(deadline)) {
      case fill_result::closed:
        return true;
      case fill_result::timeout:
        return false;
      case fill_result::data:
        break;
      }
    }
  }

  /// Bytes received but not consumed by read_response().
  const std::string& unread() const noexcept { return in_; }
  /// Drops the first `n` unread bytes (e.g. an interim 100 Continue already checked).
  void discard(std::size_t n) { in_.erase(0, n); }
  [[nodiscard]] int fd() const noexcept { return fd_; }

  /// Closes the socket; with `reset`, SO_LINGER 0 makes the close send an RST.
  void close(bool reset = false) {
    if (fd_ < 0) return;
    if (reset) {
      linger l{1, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    ::close(fd_);
    fd_ = -1;
  }

private:
  enum class fill_result { data, closed, timeout };

  fill_result fill(std::chrono::steady_clock::time_point deadline) {
    if (fd_ < 0 || eof_) return fill_result::closed;
    for (;;) {
      // Polls once even past the deadline, so what has already arrived is seen.
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      int rc = ::poll(&p, 1,
                      static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0)));
      if (rc < 0 && errno == EINTR) continue;
      if (rc == 0) return fill_result::timeout;
      char buf[64 << 10];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        in_.append(buf, static_cast<std::size_t>(n));
        return fill_result::data;
      }
      eof_ = true; // 0 = orderly close; < 0 = reset or another error: closed either way
      return fill_result::closed;
    }
  }

  int fd_ = -1;
  bool eof_ = false;
  std::string in_;
};

inline bool port_accepts(std::uint16_t port) {
  raw_http c(port);
  return c.connected();
}

// -- a node serving HTTP -----------------------------------------------------------------------

inline std::vector<std::string> with_http(std::uint16_t http_port, std::vector<std::string> extra) {
  std::vector<std::string> args{"-http", std::to_string(http_port)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

class http_node {
public:
  explicit http_node(std::vector<std::string> extra = {})
      : http_port_(pick_free_port()), proc_(with_http(http_port_, std::move(extra))) {}

  /// Starts the node and waits until both its binary and its HTTP port accept.
  ::testing::AssertionResult start() {
    auto started = proc_.start();
    if (!started) return started;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!port_accepts(http_port_)) {
      if (std::chrono::steady_clock::now() > deadline)
        return ::testing::AssertionFailure()
               << "HTTP port " << http_port_ << " never accepted; log:\n"
               << proc_.log_tail();
      std::this_thread::sleep_for(10ms);
    }
    return ::testing::AssertionSuccess();
  }

  std::uint16_t http_port() const noexcept { return http_port_; }
  std::uint16_t binary_port() const noexcept { return proc_.port(); }
  node_process& process() noexcept { return proc_; }

private:
  std::uint16_t http_port_;
  node_process proc_;
};

} // namespace minivault::test
