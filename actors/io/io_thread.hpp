#pragma once
// An I/O thread: one epoll loop serving its share of the client connections of both
// protocols. The loop owns the sockets (accept, read, write, lingering close, timeouts);
// what a request means and in which order replies go is the request pipeline's
// (request_pipeline.hpp), which never touches a socket.
//
// Per loop iteration: read what is ready and hand it to the pipeline (which parses every
// complete request and fills one write batch), send the batch, then write each touched
// connection's replies with one send. Durable-write completions arrive through the
// completion board's eventfd.
//
// Thread-safety: every member is owned by the thread, except `adopt`, `request_stop` and
// `stats`, which are safe from any thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/epoll.h>

#include "actors/io/connection.hpp"
#include "actors/io/request_pipeline.hpp"
#include "actors/io/server_context.hpp"
#include "protocol/actors.hpp"
#include "protocol/thread_annotations.hpp"
#include "protocol/unique_fd.hpp"

namespace minivault {

class io_thread final : private connection_events {
public:
  /// `listen_fd` is shared by all I/O threads (EPOLLEXCLUSIVE); accepted sockets are
  /// spread round-robin over `peers` (all I/O threads, this one included). The thread
  /// writes its counters to `ctx.metrics->binary_shards[index]` (a private shard when
  /// ctx.metrics is null) and takes rate-limit tokens from `ctx.tokens` (if set).
  io_thread(std::uint32_t index, server_context& ctx, int listen_fd);
  ~io_thread();
  io_thread(const io_thread&) = delete;
  io_thread& operator=(const io_thread&) = delete;

  void start(std::vector<io_thread*> peers);
  /// Stops accepting and reading, waits (bounded) for in-flight writes, flushes replies,
  /// closes every connection and ends the loop. Thread-safe; `join` waits for it.
  void request_stop();
  void join();
  /// Hands an accepted socket to this thread (`front`: it speaks the front codec).
  /// Thread-safe.
  void adopt(int fd, bool front);
  [[nodiscard]] connection_stats stats() const;

private:
  void run();
  /// Stop requested: stop accepting and reading, hand over the last batch.
  void begin_drain();
  void dispatch(const epoll_event& e);
  void end_iteration();
  void wake();
  void on_wake();
  void on_accept(bool front);
  /// Out of descriptors: accepts and closes one pending connection with the spare fd;
  /// false if that failed too (the listener then rests).
  [[nodiscard]] bool shed_one(int listen_fd);
  /// Registers an accepted socket; returns the connection, or nullptr (closed) on failure.
  connection* add_connection(int fd, bool front);
  void on_readable(connection& c);
  void flush(connection& c);
  void set_interest(connection& c, bool want_read, bool want_write);
  void close_connection(connection& c);
  /// Lingering close: shut our side, drop what the client still sends (bounded), close.
  void linger(connection& c);
  void discard_input(connection& c);
  void resume_paused();
  /// Un-pauses `c` if no limit holds it any more; returns false if it must stay paused.
  bool resume(connection& c);
  static void remove_from(std::vector<connection*>& list, connection& c);
  void pause_listener();
  /// Adds the shared listeners to this thread's epoll set; false if epoll refused.
  [[nodiscard]] bool watch_listener();
  /// Closes lingering connections past their time and (once a second) stalled ones.
  void sweep(std::int64_t now_ms);
  /// The front protocol's request deadline and idle keep-alive timeout.
  void sweep_front(connection& c, std::int64_t now_ms);
  void reap();
  void shutdown_connections();

  // connection_events (asked by the pipeline)
  void mark_dirty(connection& c) override;
  void stop_reading(connection& c) override;
  void pause(connection& c) override;

  // Tags of the non-connection descriptors in epoll_event::data.ptr.
  inline static char listen_tag_ = 0, front_listen_tag_ = 0, wake_tag_ = 0, completion_tag_ = 0;

  std::uint32_t index_;
  server_context& ctx_;
  int listen_fd_;
  int front_listen_fd_; // -1 when no front protocol is served
  unique_fd epoll_fd_;
  unique_fd wake_fd_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::vector<io_thread*> peers_;
  std::uint64_t next_peer_ = 0;

  mutex adopt_mutex_;
  std::vector<std::pair<int, bool>> adopted_ MV_GUARDED_BY(adopt_mutex_); // (fd, front)

  std::vector<std::unique_ptr<connection>> conns_; // conns_[c->slot].get() == c
  std::vector<connection*> dirty_;                 // connections with output to send this iteration
  std::vector<connection*> paused_;                // connections that stopped parsing at a limit
  std::vector<connection*> dead_;                  // closed this iteration, freed by reap()
  std::vector<connection*> lingering_;             // error sent, discarding input until closed
  std::int64_t last_sweep_ms_ = 0;
  unique_fd spare_fd_;                        // given up to accept-and-close when out of fds
  std::int64_t listener_paused_until_ms_ = 0; // out of fds: listener off until then
  bool draining_ = false;                     // stop requested: finishing in-flight writes
  std::chrono::steady_clock::time_point drain_deadline_;
  std::string scratch_;             // receive buffer, parsed in place when possible
  std::int64_t round_start_us_ = 0; // when this round's epoll_wait returned
  bool protected_ = false;          // protected mode: serve loopback clients only

  std::unique_ptr<front_metrics> own_metrics_; // when the context has no metrics
  request_pipeline pipeline_;

  std::atomic<std::uint64_t> accepted_{0}, open_{0}, refused_{0};
};

} // namespace minivault
