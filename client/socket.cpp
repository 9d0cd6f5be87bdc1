#include "client/socket.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace minivault::client {

namespace {

io_result fail(io_status s, std::string what) {
  return {s, std::move(what)};
}

io_result fail_errno(const char* step, int err) {
  io_status s = (err == ECONNRESET || err == EPIPE) ? io_status::closed : io_status::failed;
  return fail(s, std::string(step) + ": " + std::strerror(err));
}

/// Milliseconds left until `deadline` for poll(2); 0 once it has passed.
int remaining_ms(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30));
}

/// Waits for `events` on `fd` until `deadline`. Returns the revents, 0 on timeout, -1 on
/// a poll error (errno set).
int wait_for(int fd, short events, clock_type::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return p.revents;
    if (n == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

io_result connect_one(const addrinfo* ai, clock_type::time_point deadline, int& fd_out) {
  unique_fd fd(
      ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
  if (!fd) return fail_errno("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
    return fail_errno("connect", errno);
  int ev = wait_for(fd.get(), POLLOUT, deadline);
  if (ev == 0) return fail(io_status::timeout, "connect: timed out");
  if (ev < 0) return fail_errno("poll", errno);
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return fail_errno("connect", err);
  fd_out = fd.release();
  return {};
}

} // namespace

io_result connect_tcp(const std::string& host, std::uint16_t port, clock_type::time_point deadline,
                      int& fd_out, ip_family family) {
  addrinfo hints{};
  hints.ai_family = family == ip_family::v4 ? AF_INET : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) return fail(io_status::failed, "resolve " + host + ": " + ::gai_strerror(rc));
  io_result last = fail(io_status::failed, "resolve " + host + ": no address");
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    last = connect_one(ai, deadline, fd_out);
    if (last.status == io_status::ok || last.status == io_status::timeout) break;
  }
  ::freeaddrinfo(list);
  if (last.status != io_status::ok) last.detail += " (" + host + ":" + service + ")";
  return last;
}

bool socket_stream::peer_gone() const noexcept {
  if (!fd_) return true;
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  // Readable while idle: EOF, an error, or unrequested bytes. None leaves a usable stream.
  return true;
}

io_result socket_stream::send_all(std::string_view out, clock_type::time_point deadline) {
  return send_loop(out, nullptr, deadline);
}

io_result socket_stream::send_while_reading(std::string_view out, std::string& in,
                                            clock_type::time_point deadline) {
  return send_loop(out, &in, deadline);
}

io_result socket_stream::send_loop(std::string_view out, std::string* in,
                                   clock_type::time_point deadline) {
  std::size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(fd_.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno("send", errno);
    int ev = wait_for(fd_.get(), in ? POLLOUT | POLLIN : POLLOUT, deadline);
    if (ev == 0) return fail(io_status::timeout, "send: timed out");
    if (ev < 0) return fail_errno("poll", errno);
    if (in && (ev & POLLIN)) {
      // Drain what the peer sent so it can go on reading our frames.
      io_result r = recv_some(*in, deadline);
      if (r.status != io_status::ok) return r;
    }
  }
  return {};
}

io_result socket_stream::recv_some(std::string& in, clock_type::time_point deadline) {
  char buf[64 << 10]; // recv into the stack, append only what arrived (no zero-fill)
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
      return {};
    }
    if (n == 0) return fail(io_status::closed, "connection closed by the server");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno("recv", errno);
    int ev = wait_for(fd_.get(), POLLIN, deadline);
    if (ev == 0) return fail(io_status::timeout, "recv: timed out");
    if (ev < 0) return fail_errno("poll", errno);
  }
}

} // namespace minivault::client
