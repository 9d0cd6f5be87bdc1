#pragma once
// An I/O thread of the binary protocol: one epoll loop serving its share of the client
// connections. Per loop iteration it reads what is ready, parses every complete frame,
// answers GET/HEALTH/AUTH in place (reading the engine's shared table), packs SET/DELETE
// into one write_batch for the storage actor, then writes each touched connection's
// replies with one send. Durable-write completions arrive through the completion board.
//
// Thread-safety: every member is owned by the thread, except `adopt`, `request_stop` and
// `stats`, which are safe from any thread.
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/io/connection.hpp"
#include "actors/telemetry/metrics.hpp"
#include "actors/admission/rate_limiter.hpp"
#include "actors/io/server_context.hpp"
#include "actors/durability/storage_actor.hpp"
#include "protocol/actors.hpp"
#include "protocol/thread_annotations.hpp"
#include "protocol/wire.hpp"

namespace minivault {

/// Monotonic milliseconds (steady clock), for connection timers.
[[nodiscard]] std::int64_t now_ms();
/// Monotonic microseconds (steady clock), for request latencies.
[[nodiscard]] std::int64_t now_us();

class io_thread {
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
  void end_iteration();
  void wake();
  void on_wake();
  void on_accept(bool front);
  /// Registers an accepted socket; returns the connection, or nullptr (closed) on failure.
  connection* add_connection(int fd, bool front);
  /// Protected mode: answers `c` with the refusal (binary error frame or HTTP 403) and
  /// closes it once that is sent, without reading a request.
  void refuse_protected(connection& c);
  void on_readable(connection& c);
  void on_writable(connection& c);
  void process_input(connection& c, const char* data, std::size_t len);
  void parse_buffered(connection& c);
  /// Parses and handles complete frames of [data, data+len); returns the bytes used.
  std::size_t consume(connection& c, const char* data, std::size_t len);
  [[nodiscard]] bool handle(connection& c, const wire::request& req);
  void handle_get(connection& c, std::string_view key, bool quorum);
  /// In a cluster: does this read need other replicas (a quorum read, or a key this node
  /// does not hold)?
  [[nodiscard]] bool served_remotely(std::string_view key, bool quorum) const;
  /// Packs a read into the batch; its reply waits for the batch's completion.
  void queue_remote_read(connection& c, std::string_view key, bool quorum, bool head, bool close);
  void append_remote_read(connection& c, const reply_slot& s);
  /// Takes a rate-limit token for a data op: the client address's first (-ratelimit-per-ip),
  /// then the node's (-ratelimit). False: answer `rate limited`.
  [[nodiscard]] bool admit(const connection& c) noexcept;
  /// Counts a request answered in this round (its latency is the round's).
  void tally(wire::opcode op, op_result r) noexcept;
  void handle_write(connection& c, const wire::request& req);
  void handle_auth(connection& c, std::string_view key);
  void reply(connection& c, std::uint8_t status, std::string_view payload);
  void reply_error(connection& c, errc e);
  void fail_and_close(connection& c, errc e);
  [[nodiscard]] bool allowed(connection& c, wire::opcode op);
  [[nodiscard]] op_result append_get_reply(std::string& out, std::string_view key);

  void on_completions();
  /// Moves replies that are ready (in order) from `waiting` to `out`, up to the
  /// output soft limit; called on completions and whenever `out` was sent.
  void drain(connection& c);
  void queue(connection& c, reply_slot&& s);
  void send_batch();
  [[nodiscard]] bool can_send_batch() const noexcept;
  /// Index prefetch hints for the complete GET frames at the front of `data`.
  void prefetch_gets(const char* data, std::size_t len, std::size_t value_max);
  void resume_paused();
  /// Un-pauses `c` if no limit holds it any more; returns false if it must stay paused.
  bool resume(connection& c);
  static void remove_from(std::vector<connection*>& list, connection& c);
  [[nodiscard]] bool must_pause(const connection& c) const;
  /// Before each request: hands over a full batch, and pauses `c` at a limit (false:
  /// stop parsing it until resume()).
  [[nodiscard]] bool ready_to_parse(connection& c);
  void mark_dirty(connection& c);
  void flush(connection& c);
  void set_interest(connection& c, bool want_read, bool want_write);
  void close_connection(connection& c);
  void linger(connection& c);
  void pause_listener();
  /// Adds the shared listeners to this thread's epoll set; false if epoll refused.
  [[nodiscard]] bool watch_listener();

  // -- the front protocol (HTTP), front_requests.cpp ------------------------------------
  [[nodiscard]] std::size_t consume_front(connection& c, const char* data, std::size_t len);
  void handle_front(connection& c, const front_request& req);
  void front_get(connection& c, const front_request& req);
  void front_write(connection& c, const front_request& req);
  /// Queues an encoded front reply in order (like reply() for the binary protocol).
  void front_reply(connection& c, std::string&& bytes);
  void front_error(connection& c, const front_request& req, errc e, std::string_view detail = {});
  /// Stops reading `c`; it closes once every queued reply has been sent.
  void close_after_replies(connection& c);
  void tally_front(front_request::kind k, op_result r) noexcept;
  void discard_input(connection& c);
  /// Closes lingering connections past their time and (once a second) stalled ones.
  void sweep(std::int64_t now_ms);
  /// The front protocol's request deadline and idle keep-alive timeout.
  void sweep_front(connection& c, std::int64_t now_ms);
  void reap();
  void shutdown_connections();

  std::uint32_t index_;
  server_context& ctx_;
  int listen_fd_;
  int front_listen_fd_; // -1 when no front protocol is served
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::vector<io_thread*> peers_;
  std::uint64_t next_peer_ = 0;

  mutex adopt_mutex_;
  std::vector<std::pair<int, bool>> adopted_ MV_GUARDED_BY(adopt_mutex_); // (fd, front)

  std::vector<std::unique_ptr<connection>> conns_; // conns_[c->slot].get() == c
  std::vector<connection*> waiting_;               // connections with non-empty `waiting`
  std::vector<connection*> dirty_;                 // connections with output to send this iteration
  std::vector<connection*> paused_;                // connections that stopped parsing at a limit
  std::vector<connection*> dead_;                  // closed this iteration, freed by reap()
  std::vector<connection*> lingering_;             // error sent, discarding input until closed
  std::int64_t last_sweep_ms_ = 0;
  int spare_fd_ = -1;                         // given up to accept-and-close when out of fds
  std::int64_t listener_paused_until_ms_ = 0; // out of fds: listener off until then
  bool draining_ = false;                     // stop requested: finishing in-flight writes
  std::string scratch_;                       // receive buffer, parsed in place when possible
  std::string plain_;                         // decompression output (released when large)
  std::vector<completion> completions_;

  /// Copies of sent batches until they complete: pipelined GETs read pending writes
  /// from them. At most batches_in_flight_max entries and batch_in_flight_bytes_max
  /// bytes (or one batch).
  struct retained_batch {
    std::uint64_t ticket = 0;
    std::string ops;
  };
  std::deque<retained_batch> retained_;
  [[nodiscard]] const std::string* batch_ops(std::uint64_t ticket) const;
  /// The latest write of `key` this connection has pending, if any (views into a
  /// retained batch).
  [[nodiscard]] bool find_pending(const connection& c, std::string_view key, packed_op& op,
                                  std::uint64_t& ticket) const;

  write_batch batch_;                  // the batch being filled
  std::uint64_t next_ticket_ = 1;      // ticket of `batch_`
  std::uint32_t batch_reads_ = 0;      // reads packed in `batch_`
  std::size_t remote_reads_ = 0;       // remote_read slots over all connections
  /// A batch is handed over early at these sizes (larger in a cluster, where every batch
  /// costs a message per replica).
  std::size_t eager_ops_ = batch_eager_ops;
  std::size_t eager_bytes_ = batch_eager_bytes;
  std::size_t in_flight_ = 0;          // batches sent, not yet completed
  std::size_t in_flight_bytes_ = 0;    // their packed bytes (the sum over retained_)
  std::uint64_t completed_ticket_ = 0; // every ticket up to this one has completed

  std::unique_ptr<front_metrics> own_metrics_; // when the context has no metrics
  front_metrics* metrics_;
  front_metrics* http_metrics_; // shared by every I/O thread (atomic adds)
  front_tally http_tally_;
  front_tally tally_;               // this round's answered requests, published at its end
  std::int64_t round_start_us_ = 0; // when this round's epoll_wait returned
  token_bucket tokens_;             // this thread's share of -ratelimit
  bool protected_ = false;          // protected mode: serve loopback clients only

  std::atomic<std::uint64_t> accepted_{0}, requests_{0}, protocol_errors_{0}, open_{0}, refused_{0};
};

} // namespace minivault
