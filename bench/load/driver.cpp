#include "bench/load/driver.hpp"

#include "bench/load/zipf.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "client/socket.hpp"
#include "protocol/limits.hpp"

namespace minivault::bench {

namespace {

using client::clock_type;

enum class phase : int { warmup, measure, stop };

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
          .count());
}

/// xorshift64*: cheap, good enough to pick keys and operations.
struct rng64 {
  std::uint64_t s;
  std::uint64_t next() noexcept {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
};

/// One connection's state. `sent_ns` is a ring of the send times of the requests in
/// flight, oldest at `head`; replies arrive in the same order.
struct connection {
  int fd = -1;
  std::string in;
  std::size_t in_pos = 0;
  std::string out;
  std::size_t out_pos = 0;
  std::vector<std::uint64_t> sent_ns;
  std::size_t head = 0;
  std::size_t in_flight = 0;
  std::vector<bool> is_set; // ring parallel to sent_ns
  bool waiting_writable = false;

  ~connection() {
    if (fd >= 0) ::close(fd);
  }
};

std::string open_connection(const workload& w, connection& c) {
  auto deadline = clock_type::now() + std::chrono::seconds(5);
  int fd = -1;
  auto io = client::connect_tcp(w.host, w.port, deadline, fd);
  if (io.status != client::io_status::ok) return io.detail;
  client::socket_stream s(fd);
  if (!w.auth.empty()) {
    std::string frame, in;
    encode_auth(w.protocol, frame, w.auth);
    io = s.send_all(frame, deadline);
    decoded_reply r;
    while (io.status == client::io_status::ok) {
      r = decode_reply(w.protocol, in.data(), in.size(), 1 << 20);
      if (r.st != decoded_reply::state::need_more) break;
      io = s.recv_some(in, deadline);
    }
    if (io.status != client::io_status::ok) return "auth: " + io.detail;
    if (r.st != decoded_reply::state::complete || r.kind != reply_kind::ok)
      return "auth refused: " + std::string(r.payload);
  }
  c.fd = s.release();
  return {};
}

/// One worker thread: its own epoll set, connections, RNG and statistics.
class worker {
public:
  worker(const workload& w, const std::vector<std::string>& keys, const zipf_table* zipf,
         std::uint64_t seed, const std::atomic<int>& ph)
      : w_(w), keys_(keys), zipf_(zipf), rng_{seed | 1}, phase_(ph), value_(w.value_bytes, 'v') {
    for (std::size_t i = 0; i < value_.size(); ++i)
      value_[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  }
  ~worker() {
    if (ep_ >= 0) ::close(ep_);
  }

  std::string add(std::unique_ptr<connection> c) {
    c->sent_ns.assign(w_.pipeline, 0);
    c->is_set.assign(w_.pipeline, false);
    conns_.push_back(std::move(c));
    return {};
  }

  void run() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
      error_ = "epoll_create1 failed";
      return;
    }
    for (auto& c : conns_) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = c.get();
      if (::epoll_ctl(ep_, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        error_ = "epoll_ctl failed";
        return;
      }
      refill(*c);
      if (!error_.empty()) return;
    }
    bool counting = false;
    epoll_event evs[128];
    while (error_.empty()) {
      auto ph = static_cast<phase>(phase_.load(std::memory_order_acquire));
      if (ph == phase::stop) break;
      if (ph == phase::measure && !counting) {
        counting = true;
        stats_ = run_stats{};
      }
      int n = ::epoll_wait(ep_, evs, 128, 20);
      for (int i = 0; i < n && error_.empty(); ++i) {
        auto& c = *static_cast<connection*>(evs[i].data.ptr);
        if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
        if (error_.empty() && (evs[i].events & EPOLLOUT)) flush(c);
        if (error_.empty() && !c.waiting_writable) refill(c);
      }
    }
  }

  [[nodiscard]] const run_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

private:
  void on_readable(connection& c) {
    char buf[256 << 10];
    ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      error_ = "the server closed a connection";
      return;
    }
    std::uint64_t t = now_ns();
    c.in.append(buf, static_cast<std::size_t>(n));
    for (;;) {
      auto r = decode_reply(w_.protocol, c.in.data() + c.in_pos, c.in.size() - c.in_pos,
                            value_bytes_max_ceiling);
      if (r.st == decoded_reply::state::need_more) break;
      if (r.st == decoded_reply::state::invalid || c.in_flight == 0) {
        error_ = "unparseable or unexpected reply";
        return;
      }
      c.in_pos += r.consumed;
      stats_.latency.record(t - c.sent_ns[c.head]);
      if (c.is_set[c.head]) ++stats_.sets;
      c.head = (c.head + 1) % w_.pipeline;
      --c.in_flight;
      ++stats_.ops;
      if (r.kind == reply_kind::miss) ++stats_.misses;
      if (r.kind == reply_kind::error && stats_.errors++ == 0)
        stats_.first_error = std::string(r.payload);
    }
    if (c.in_pos == c.in.size()) {
      c.in.clear();
      c.in_pos = 0;
    } else if (c.in_pos > (64u << 10)) {
      c.in.erase(0, c.in_pos);
      c.in_pos = 0;
    }
  }

  /// Tops the connection up to `pipeline` requests in flight with one send.
  void refill(connection& c) {
    if (c.in_flight == w_.pipeline) return;
    c.out.clear();
    c.out_pos = 0;
    std::uint64_t t = now_ns();
    while (c.in_flight < w_.pipeline) {
      const std::string& key =
          zipf_ ? keys_[zipf_->draw(static_cast<double>(rng_.next() >> 11) * 0x1.0p-53)]
                : keys_[rng_.next() % keys_.size()];
      bool read = static_cast<double>(rng_.next() >> 11) * 0x1.0p-53 < w_.read_fraction;
      if (read)
        encode_get(w_.protocol, c.out, key);
      else
        encode_set(w_.protocol, c.out, key, value_);
      std::size_t slot = (c.head + c.in_flight) % w_.pipeline;
      c.sent_ns[slot] = t;
      c.is_set[slot] = !read;
      ++c.in_flight;
    }
    flush(c);
  }

  void flush(connection& c) {
    while (c.out_pos < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_pos += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        watch_writable(c, true);
        return;
      }
      error_ = "send failed: the server closed a connection";
      return;
    }
    if (c.waiting_writable) watch_writable(c, false);
  }

  void watch_writable(connection& c, bool on) {
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.ptr = &c;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    c.waiting_writable = on;
  }

  const workload& w_;
  const std::vector<std::string>& keys_;
  const zipf_table* zipf_; // nullptr: uniform keys
  rng64 rng_;
  const std::atomic<int>& phase_;
  std::string value_;
  std::vector<std::unique_ptr<connection>> conns_;
  int ep_ = -1;
  run_stats stats_;
  std::string error_;
};

std::vector<std::string> make_keys(std::size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    keys.push_back(key_name(i));
  return keys;
}

} // namespace

std::string key_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key:%012zu", i);
  return buf;
}

std::string prefill(const workload& w) {
  connection c;
  if (auto err = open_connection(w, c); !err.empty()) return err;
  client::socket_stream s(std::exchange(c.fd, -1));
  const std::string value(w.value_bytes, 'p');
  constexpr std::size_t chunk = 1000;
  std::string out, in;
  auto deadline = clock_type::now() + std::chrono::minutes(10);
  for (std::size_t first = 0; first < w.keys; first += chunk) {
    std::size_t last = std::min(w.keys, first + chunk);
    out.clear();
    for (std::size_t i = first; i < last; ++i)
      encode_set(w.protocol, out, key_name(i), value);
    if (auto io = s.send_while_reading(out, in, deadline); io.status != client::io_status::ok)
      return "prefill: " + io.detail;
    std::size_t pos = 0;
    for (std::size_t got = first; got < last;) {
      auto r = decode_reply(w.protocol, in.data() + pos, in.size() - pos, 1 << 20);
      if (r.st == decoded_reply::state::complete) {
        if (r.kind != reply_kind::ok) return "prefill: error reply: " + std::string(r.payload);
        pos += r.consumed;
        ++got;
        continue;
      }
      if (r.st == decoded_reply::state::invalid) return "prefill: unparseable reply";
      if (auto io = s.recv_some(in, deadline); io.status != client::io_status::ok)
        return "prefill: " + io.detail;
    }
    in.erase(0, pos);
  }
  return {};
}

std::string run_load(const workload& w, run_stats& out) {
  if (w.connections == 0 || w.pipeline == 0 || w.threads == 0 || w.keys == 0)
    return "connections, pipeline, threads and keys must be at least 1";
  if (w.zipf_theta < 0 || w.zipf_theta >= 1) return "--zipf must be 0 (uniform) or in (0, 1)";
  const auto keys = make_keys(w.keys);
  const zipf_table zipf = w.zipf_theta > 0 ? zipf_table(w.keys, w.zipf_theta) : zipf_table();
  std::atomic<int> ph{static_cast<int>(phase::warmup)};
  std::size_t threads = std::min(w.threads, w.connections);
  std::vector<std::unique_ptr<worker>> workers;
  for (std::size_t t = 0; t < threads; ++t)
    workers.push_back(std::make_unique<worker>(w, keys, w.zipf_theta > 0 ? &zipf : nullptr,
                                               w.seed * 7919 + t, ph));
  for (std::size_t i = 0; i < w.connections; ++i) {
    auto c = std::make_unique<connection>();
    if (auto err = open_connection(w, *c); !err.empty())
      return "connection " + std::to_string(i + 1) + ": " + err;
    (void)workers[i % threads]->add(std::move(c));
  }
  std::vector<std::thread> pool;
  for (auto& wk : workers)
    pool.emplace_back([&wk] { wk->run(); });
  auto sleep_for = [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); };
  sleep_for(w.warmup_s);
  ph.store(static_cast<int>(phase::measure), std::memory_order_release);
  auto t0 = clock_type::now();
  sleep_for(w.duration_s);
  ph.store(static_cast<int>(phase::stop), std::memory_order_release);
  auto t1 = clock_type::now();
  for (auto& t : pool)
    t.join();

  out = run_stats{};
  out.seconds = std::chrono::duration<double>(t1 - t0).count();
  for (auto& wk : workers) {
    if (!wk->error().empty()) return wk->error();
    const auto& s = wk->stats();
    out.ops += s.ops;
    out.sets += s.sets;
    out.misses += s.misses;
    if (out.errors == 0 && s.errors > 0) out.first_error = s.first_error;
    out.errors += s.errors;
    out.latency.merge(s.latency);
  }
  return {};
}

} // namespace minivault::bench
