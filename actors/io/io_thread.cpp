// I/O thread: the epoll loop and the sockets (io_thread.hpp). What requests mean is the
// request pipeline's (request_pipeline.cpp).
//
// Loop iteration: epoll_wait -> accept / adopt / completions / read+parse per ready
// connection -> send the write batch -> one send() per touched connection -> free closed
// connections. Nothing here blocks except epoll_wait.
#include "actors/io/io_thread.hpp"
#include "actors/admission/protected_mode.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "protocol/assert.hpp"
#include "protocol/limits.hpp"

namespace minivault {

namespace {

constexpr std::size_t scratch_bytes = 256u << 10;
constexpr int drain_deadline_ms = 3000;
constexpr std::int64_t linger_ms = 1000;            // lingering close: time bound
constexpr std::size_t linger_bytes_max = 16u << 20; // ... and input bound

} // namespace

io_thread::io_thread(std::uint32_t index, server_context& ctx, int listen_fd)
    : index_(index), ctx_(ctx), listen_fd_(listen_fd),
      front_listen_fd_(ctx.front ? ctx.front_listen_fd : -1),
      protected_(ctx.options && protected_mode_active(*ctx.options)),
      own_metrics_(ctx.metrics ? nullptr : std::make_unique<front_metrics>()),
      pipeline_(index, ctx, *this,
                ctx.metrics ? ctx.metrics->binary_shards.at(index) : *own_metrics_,
                ctx.metrics ? ctx.metrics->http : *own_metrics_) {
  epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_fd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  KV_ASSERT(epoll_fd_ && wake_fd_);
  scratch_.resize(scratch_bytes);
  spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  bool watched = watch_listener();
  KV_ASSERT(watched);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &wake_tag_;
  KV_ASSERT(::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev) == 0);
  ev.data.ptr = &completion_tag_;
  KV_ASSERT(::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, ctx_.board->event_fd(index_), &ev) == 0);
}

io_thread::~io_thread() {
  join();
  {
    lock_guard guard(adopt_mutex_);
    for (auto [fd, front] : adopted_)
      ::close(fd);
  }
}

void io_thread::start(std::vector<io_thread*> peers) {
  peers_ = std::move(peers);
  thread_ = std::thread([this] { run(); });
}

void io_thread::request_stop() {
  stop_.store(true);
  wake();
}

void io_thread::join() {
  if (thread_.joinable()) thread_.join();
}

void io_thread::wake() {
  std::uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void io_thread::adopt(int fd, bool front) {
  {
    lock_guard guard(adopt_mutex_);
    adopted_.emplace_back(fd, front);
  }
  wake();
}

connection_stats io_thread::stats() const {
  return connection_stats{open_.load(), accepted_.load(), pipeline_.requests(),
                          pipeline_.protocol_errors(), refused_.load()};
}

void io_thread::run() {
  constexpr int max_events = 256;
  epoll_event events[max_events];
  for (;;) {
    if (stop_.load(std::memory_order_relaxed) && !draining_) begin_drain();
    if (draining_ && (pipeline_.idle() || std::chrono::steady_clock::now() > drain_deadline_))
      break;
    int timeout_ms = draining_ || !lingering_.empty() || listener_paused_until_ms_ ? 50 : 1000;
    int n = ::epoll_wait(epoll_fd_.get(), events, max_events, timeout_ms);
    if (n < 0 && errno != EINTR) break;
    round_start_us_ = now_us();
    pipeline_.begin_round(round_start_us_);
    for (int i = 0; i < n; ++i)
      dispatch(events[i]);
    end_iteration();
  }
  shutdown_connections();
}

void io_thread::begin_drain() {
  // Stop taking new work; let the writes already accepted become durable.
  draining_ = true;
  listener_paused_until_ms_ = 0;
  drain_deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_deadline_ms);
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, listen_fd_, nullptr);
  if (front_listen_fd_ >= 0) ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, front_listen_fd_, nullptr);
  for (auto& c : conns_)
    if (!c->dead) set_interest(*c, false, c->want_write);
  pipeline_.send_batch();
}

void io_thread::dispatch(const epoll_event& e) {
  void* tag = e.data.ptr;
  if (tag == &listen_tag_ || tag == &front_listen_tag_) {
    on_accept(tag == &front_listen_tag_);
  } else if (tag == &wake_tag_) {
    on_wake();
  } else if (tag == &completion_tag_) {
    pipeline_.on_completions();
    if (!paused_.empty()) resume_paused();
  } else {
    auto* c = static_cast<connection*>(tag);
    if (c->dead) return;
    // HUP/ERR are reported even without EPOLLIN interest: a connection that is not
    // reading (paused, closing, EOF seen) would spin on them, so it closes here.
    if ((e.events & (EPOLLHUP | EPOLLERR)) && !(c->interest & EPOLLIN)) {
      close_connection(*c);
      return;
    }
    if (e.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(*c);
    if (!c->dead && (e.events & EPOLLOUT)) flush(*c);
  }
}

void io_thread::end_iteration() {
  // Order matters: resuming paused connections parses input, which adds output and
  // writes; all of it must be flushed and handed to storage before epoll_wait sleeps,
  // since nothing else would wake the loop for it.
  if (!paused_.empty()) resume_paused();
  pipeline_.send_batch();
  for (std::size_t i = 0; i < dirty_.size(); ++i)
    flush(*dirty_[i]); // may grow dirty_
  dirty_.clear();
  pipeline_.send_batch(); // flush() may have resumed a connection that queued writes
  const std::int64_t now = now_us();
  pipeline_.end_round(static_cast<std::uint64_t>(std::max<std::int64_t>(now - round_start_us_, 0)));
  sweep(now / 1000);
  reap();
}

void io_thread::on_readable(connection& c) {
  if (c.lingering) {
    discard_input(c);
    return;
  }
  // Bounded rounds per wake-up keep one busy client from starving the others; epoll is
  // level-triggered, so what is left is reported again.
  for (int round = 0; round < 16; ++round) {
    if (c.dead || c.paused || c.closing || c.peer_closed || draining_) return;
    ssize_t n = ::recv(c.fd.get(), scratch_.data(), scratch_.size(), 0);
    if (n > 0) {
      c.last_input_ms = now_ms();
      pipeline_.process_input(c, scratch_.data(), static_cast<std::size_t>(n));
      pipeline_.send_batch_if_eager();
      if (static_cast<std::size_t>(n) < scratch_.size()) return;
      continue;
    }
    if (n == 0) {
      // The client finished sending. Writes it already made still complete (and are
      // answered, if it still reads); then the connection closes.
      c.peer_closed = true;
      set_interest(c, false, c.want_write);
      if (c.replies.nothing_waiting()) mark_dirty(c);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) close_connection(c);
    return;
  }
}

void io_thread::mark_dirty(connection& c) {
  if (c.listed_dirty) return;
  c.listed_dirty = true;
  dirty_.push_back(&c);
}

void io_thread::stop_reading(connection& c) {
  set_interest(c, false, c.want_write);
}

void io_thread::pause(connection& c) {
  c.paused = true;
  paused_.push_back(&c);
  set_interest(c, false, c.want_write);
}

void io_thread::flush(connection& c) {
  c.listed_dirty = false;
  for (;;) {
    if (c.dead) return;
    while (!c.replies.all_sent()) {
      std::string_view unsent = c.replies.unsent();
      ssize_t n = ::send(c.fd.get(), unsent.data(), unsent.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.replies.sent(static_cast<std::size_t>(n));
        c.last_output_ms = round_start_us_ / 1000;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        set_interest(c, c.interest & EPOLLIN, true);
        return;
      }
      close_connection(c); // the peer is gone
      return;
    }
    c.replies.reset_sent();
    // Replies held back by the output limit can go now, and a connection paused at the
    // limit parses again (no other event would wake it). Either may refill the output.
    if (!c.replies.nothing_waiting()) pipeline_.drain(c);
    if (c.paused) resume(c);
    if (c.dead || c.replies.all_sent()) break;
  }
  if (c.dead) return;
  if (c.want_write) set_interest(c, c.interest & EPOLLIN, false);
  // Everything queued so far is sent: only now may the connection end.
  if (c.replies.nothing_waiting()) {
    if (c.peer_closed)
      close_connection(c);
    else if (c.closing && !c.lingering)
      linger(c);
  }
}

void io_thread::linger(connection& c) {
  // Closing a socket with unread input makes the kernel send RST, which can destroy
  // replies still in flight, the error reply included. So: shut our side, read and drop
  // what the client still sends (bounded in bytes and time), then close.
  ::shutdown(c.fd.get(), SHUT_WR);
  c.lingering = true;
  c.in.clear();
  c.linger_until_ms = now_ms() + linger_ms;
  lingering_.push_back(&c);
  set_interest(c, true, false);
}

void io_thread::discard_input(connection& c) {
  for (int round = 0; round < 16; ++round) {
    ssize_t n = ::recv(c.fd.get(), scratch_.data(), scratch_.size(), 0);
    if (n > 0) {
      c.discarded += static_cast<std::size_t>(n);
      if (c.discarded > linger_bytes_max) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    break; // EOF or error: the client is done
  }
  close_connection(c);
}

void io_thread::sweep(std::int64_t now) {
  if (listener_paused_until_ms_ != 0 && now >= listener_paused_until_ms_ && !draining_) {
    listener_paused_until_ms_ = 0;
    if (!spare_fd_) spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    (void)watch_listener(); // as before the pause: a refusal leaves accepting to other threads
  }
  for (std::size_t i = 0; i < lingering_.size(); ++i)
    if (lingering_[i]->linger_until_ms <= now) close_connection(*lingering_[i--]);
  if (now - last_sweep_ms_ < 1000) return;
  last_sweep_ms_ = now;
  // A client that stopped in the middle of a frame holds its buffer (up to the value
  // limit): after the stall timeout the connection is closed and the memory released.
  // Input left in a connection the node paused itself is complete frames, not a stall.
  const std::int64_t stall = ctx_.options->stall_timeout_ms;
  for (auto& c : conns_) {
    if (c->dead) continue;
    // A client that stops reading its replies pins them (up to the output limit plus one
    // reply): without send progress for the timeout it is closed, paused or not.
    const std::int64_t limit = c->front ? ctx_.options->http_timeout_ms : stall;
    if (c->want_write && now - c->last_output_ms >= limit) {
      close_connection(*c);
      continue;
    }
    if (c->paused) continue;
    if (c->front) {
      sweep_front(*c, now);
      continue;
    }
    if (!c->in.empty() && now - c->last_input_ms > stall) close_connection(*c);
  }
}

void io_thread::sweep_front(connection& c, std::int64_t now) {
  // HTTP clients get a deadline per request, not per byte: one that trickles a byte now
  // and then (slowloris) is closed as surely as one that stopped.
  const std::int64_t limit = ctx_.options->http_timeout_ms;
  if (!c.in.empty()) {
    if (c.request_seen_ms == 0)
      c.request_seen_ms = now; // within a second of its first byte
    else if (now - c.request_seen_ms >= limit)
      close_connection(c);
    return;
  }
  c.request_seen_ms = 0;
  const bool idle = c.replies.finished() && !c.closing;
  if (!idle || now - std::max(c.last_input_ms, c.last_output_ms) < limit) return;
  // Replies still in the kernel's send queue are being read: the client is not idle
  // until it has taken them (a large reply can sit there long after the last send).
  int unsent = 0;
  if (::ioctl(c.fd.get(), SIOCOUTQ, &unsent) == 0 && unsent > 0) {
    c.last_output_ms = now;
    return;
  }
  close_connection(c);
}

void io_thread::set_interest(connection& c, bool want_read, bool want_write) {
  std::uint32_t events = (want_read ? EPOLLIN : 0u) | (want_write ? EPOLLOUT : 0u);
  c.want_write = want_write;
  if (events == c.interest || c.dead) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &c;
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
  c.interest = events;
}

void io_thread::close_connection(connection& c) {
  if (c.dead) return;
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
  c.fd.reset();
  c.dead = true;
  pipeline_.forget(c);
  if (c.paused) remove_from(paused_, c);
  if (c.lingering) remove_from(lingering_, c);
  c.paused = false;
  dead_.push_back(&c);
  open_.fetch_sub(1, std::memory_order_relaxed);
  ctx_.open_connections.fetch_sub(1);
}

void io_thread::reap() {
  if (dead_.empty()) return;
  // Lists that outlive this iteration must not keep pointers to what is freed here.
  dirty_.erase(std::remove_if(dirty_.begin(), dirty_.end(), [](connection* c) { return c->dead; }),
               dirty_.end());
  for (connection* c : dead_) {
    std::size_t slot = c->slot;
    KV_ASSERT(conns_[slot].get() == c);
    if (slot != conns_.size() - 1) {
      conns_[slot] = std::move(conns_.back());
      conns_[slot]->slot = slot;
    }
    conns_.pop_back();
  }
  dead_.clear();
}

void io_thread::shutdown_connections() {
  // Whatever could be answered was answered while draining; flush it and close.
  for (auto& c : conns_) {
    if (c->dead) continue;
    flush(*c);
    close_connection(*c);
  }
  reap();
}

void io_thread::resume_paused() {
  if (draining_) return;
  std::vector<connection*> list = paused_; // resume() edits paused_
  for (connection* c : list)
    resume(*c);
}

bool io_thread::resume(connection& c) {
  // resume() owns membership of paused_: it takes `c` out before parsing, and a parse
  // that hits a limit again puts it back (the pipeline asks pause()).
  if (c.dead || !c.paused) return true;
  if (draining_ || pipeline_.must_pause(c)) return false;
  c.paused = false;
  remove_from(paused_, c);
  c.last_input_ms = now_ms(); // the stall clock runs only while the node reads
  bool read = !c.closing && !c.peer_closed;
  set_interest(c, read, c.want_write);
  pipeline_.parse_buffered(c);
  return true;
}

void io_thread::remove_from(std::vector<connection*>& list, connection& c) {
  list.erase(std::remove(list.begin(), list.end(), &c), list.end());
}

} // namespace minivault
