// I/O thread, accepting side (io_thread.hpp): sockets accepted on the shared listeners or
// adopted from another I/O thread, spread round-robin; protected mode and the connection
// limit refuse at accept; running out of descriptors sheds one connection and rests the
// listener instead of spinning.
#include "actors/admission/protected_mode.hpp"
#include "actors/io/io_thread.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace minivault {

namespace {

constexpr std::int64_t listener_backoff_ms = 100; // out of fds: listener rests

} // namespace

void io_thread::on_wake() {
  std::uint64_t counter = 0;
  (void)!::read(wake_fd_.get(), &counter, sizeof(counter));
  std::vector<std::pair<int, bool>> fds;
  {
    lock_guard guard(adopt_mutex_);
    fds.swap(adopted_);
  }
  for (auto [fd, front] : fds) {
    if (draining_) {
      ::close(fd);
      ctx_.open_connections.fetch_sub(1);
    } else {
      add_connection(fd, front);
    }
  }
}

void io_thread::on_accept(bool front) {
  const int listen_fd = front ? front_listen_fd_ : listen_fd_;
  for (int k = 0; k < 64; ++k) {
    sockaddr_in peer{};
    socklen_t peer_len = sizeof(peer);
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
      if (shed_one(listen_fd)) continue;
      pause_listener(); // instead of spinning on a listener that stays readable
      return;
    }
    if (fd < 0) return; // EAGAIN (another thread took it), or a transient error
    if (ctx_.open_connections.load() >= ctx_.options->max_connections) {
      ::close(fd); // over the connection limit: refuse rather than degrade everyone
      refused_.fetch_add(1, std::memory_order_relaxed);
      ctx_.refused_connections.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ctx_.open_connections.fetch_add(1);
    if (peer.sin_family != AF_INET || !client_allowed(protected_, ntohl(peer.sin_addr.s_addr))) {
      // Refused by protected mode: answered here, on this thread, then closed.
      refused_.fetch_add(1, std::memory_order_relaxed);
      ctx_.refused_connections.fetch_add(1, std::memory_order_relaxed);
      if (connection* c = add_connection(fd, front)) pipeline_.refuse(*c, protected_mode_refusal);
      continue;
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    ctx_.accepted_connections.fetch_add(1, std::memory_order_relaxed);
    io_thread* target = peers_.empty() ? this : peers_[next_peer_++ % peers_.size()];
    if (target == this)
      add_connection(fd, front);
    else
      target->adopt(fd, front);
  }
}

bool io_thread::shed_one(int listen_fd) {
  // The pending connection would make the (level-triggered) listener fire forever. Free
  // the spare, accept and close the connection, take the spare back. That fails when
  // another thread took the slot.
  if (!spare_fd_) return false;
  spare_fd_.reset();
  int victim = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (victim >= 0) ::close(victim);
  spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (victim < 0) return false;
  refused_.fetch_add(1, std::memory_order_relaxed);
  ctx_.refused_connections.fetch_add(1, std::memory_order_relaxed);
  return true;
}

connection* io_thread::add_connection(int fd, bool front) {
  auto c = std::make_unique<connection>();
  c->fd.reset(fd);
  c->front = front;
  c->slot = conns_.size();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = c.get();
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    c->fd.reset();
    ctx_.open_connections.fetch_sub(1);
    return nullptr;
  }
  c->interest = EPOLLIN;
  c->last_input_ms = c->last_output_ms = now_ms();
  if (ctx_.ip_limits && ctx_.ip_limits->enabled()) {
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 &&
        peer.sin_family == AF_INET)
      c->ip_bucket = ctx_.ip_limits->attach(ntohl(peer.sin_addr.s_addr), now_us());
  }
  open_.fetch_add(1, std::memory_order_relaxed);
  conns_.push_back(std::move(c));
  return conns_.back().get();
}

bool io_thread::watch_listener() {
  // EPOLLEXCLUSIVE: a new connection wakes one waiting I/O thread, not all of them.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.ptr = &listen_tag_;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, listen_fd_, &ev) != 0) return false;
  if (front_listen_fd_ < 0) return true;
  ev.data.ptr = &front_listen_tag_;
  return ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, front_listen_fd_, &ev) == 0;
}

void io_thread::pause_listener() {
  if (listener_paused_until_ms_ != 0 || draining_) return;
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, listen_fd_, nullptr);
  if (front_listen_fd_ >= 0) ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, front_listen_fd_, nullptr);
  listener_paused_until_ms_ = now_ms() + listener_backoff_ms;
}

} // namespace minivault
