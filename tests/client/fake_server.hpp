#pragma once
// fake_server: a one-connection TCP server on a free 127.0.0.1 port whose behaviour is a
// test-supplied function, for client behaviour a real node never shows (silence,
// garbage replies) and for capturing exactly what a client sends.
//
// Contract: the handler runs on its own thread with the accepted fd (blocking) and must
// return; the destructor closes the listener, unblocks accept, and joins the thread.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace minivault::test {

class fake_server {
public:
  explicit fake_server(std::function<void(int fd)> handler) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(listen_fd_, 4);
    socklen_t len = sizeof(a);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, h = std::move(handler)] {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      h(fd);
      ::close(fd);
    });
  }
  ~fake_server() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  fake_server(const fake_server&) = delete;
  fake_server& operator=(const fake_server&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  /// Reads exactly `n` bytes from `fd` (blocking); fewer if the peer closed.
  static std::string read_n(int fd, std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
  }

private:
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

} // namespace minivault::test
