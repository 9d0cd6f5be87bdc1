#pragma once
// The request pipeline of an I/O thread: what happens to a request between its codec and
// its reply, written once for both client protocols (protocol/README.md §1 and §3).
//
//   bytes --(binary_requests.cpp | front_requests.cpp: parse, decode)--> client_request
//     --> handle(): auth rule -> rate limit -> refusal -> read / write / document
//     reads:  this connection's own pending write of the key, else the table, else (in a
//             cluster) a read packed into the batch for other replicas
//     writes: packed into the batch being filled; acknowledged in order once durable
//   batches --> one node: committed here when the engine's writer role is free (else
//   left to its holder, actors/durability/group_commit.hpp); a cluster: the replication
//   actor. At most batches_in_flight_max in flight (a cluster: one, which fills the next
//   batch meanwhile); completions come back through the completion board.
//
// Everything here runs on the owning I/O thread; the pipeline never touches a socket. It
// tells the event loop what it needs through `connection_events`.
#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "actors/admission/rate_limiter.hpp"
#include "actors/durability/batch_codec.hpp"
#include "actors/io/connection.hpp"
#include "actors/io/reply_encoders.hpp"
#include "actors/io/server_context.hpp"
#include "protocol/actors.hpp"
#include "protocol/wire.hpp"

namespace minivault {

/// Monotonic milliseconds (steady clock), for connection timers.
[[nodiscard]] std::int64_t now_ms();
/// Monotonic microseconds (steady clock), for request latencies.
[[nodiscard]] std::int64_t now_us();

/// A request as either codec hands it to the pipeline.
struct client_request {
  reply_shape shape;      // shape.op: get, set, del, health or metrics
  std::string_view key;   // get, set, del
  std::string_view value; // set: the bytes to store (decompressed)
  bool quorum = false;    // get: a quorum read
  /// set, del, quorum get: the level asked for this request (HTTP ?consistency=); else the
  /// connection's (binary CONSISTENCY), else the node's -write/-read-consistency.
  std::optional<consistency> level;
  bool authorized = true;    // the auth rule let it through (protocol/auth_rule.hpp)
  bool metered = false;      // costs a rate-limit token (data ops)
  errc refusal = errc::ok;   // refused after auth and the rate limit (e.g. an empty key)
  std::string refusal_reply; // the refusal, already encoded (the codec knew more); or empty
};

/// What the pipeline asks of the event loop that owns the sockets.
class connection_events {
public:
  virtual ~connection_events() = default;
  /// `c` has output to send before the loop sleeps.
  virtual void mark_dirty(connection& c) = 0;
  /// Stop reading `c` (it closes once its replies are sent).
  virtual void stop_reading(connection& c) = 0;
  /// `c` reached a limit: stop parsing it until the loop resumes it.
  virtual void pause(connection& c) = 0;
};

class request_pipeline {
public:
  /// Counts into `binary` / `http` (the thread's shard and the shared HTTP shard).
  request_pipeline(std::uint32_t index, server_context& ctx, connection_events& loop,
                   front_metrics& binary, front_metrics& http);
  request_pipeline(const request_pipeline&) = delete;
  request_pipeline& operator=(const request_pipeline&) = delete;

  // -- input --------------------------------------------------------------------------
  /// New bytes from `c`: parses and handles every complete request.
  void process_input(connection& c, const char* data, std::size_t len);
  /// Parses what `c` has buffered (after a pause).
  void parse_buffered(connection& c);
  /// `c` must stop parsing (its replies, the thread's remote reads, or a full batch).
  [[nodiscard]] bool must_pause(const connection& c) const;

  // -- rounds and batches ---------------------------------------------------------------
  void begin_round(std::int64_t now_us) noexcept { round_start_us_ = now_us; }
  /// Publishes the round's tallies (latency `round_us` for requests answered in place).
  void end_round(std::uint64_t round_us) noexcept;
  /// Hands the batch being filled to storage/replication, if there is one and room.
  /// `round_over`: the thread has nothing left to read this round, so on one node it may
  /// commit the batch itself (group_commit::submit).
  void send_batch(bool round_over = true);
  /// Hands it over early once it is big enough (called after each read from a socket).
  void send_batch_if_eager();
  /// No batch is filling and none is in flight.
  [[nodiscard]] bool idle() const noexcept { return in_flight_ == 0 && batch_.count == 0; }
  /// Takes this thread's completions from the board and releases the replies they free.
  /// `woken`: the board's eventfd woke the thread (false: this thread posted them).
  void on_completions(bool woken = true);
  /// Releases `c`'s replies that are ready (after the loop sent its output).
  void drain(connection& c);

  // -- connection life ------------------------------------------------------------------
  /// Protected mode: answers `c` with the refusal and closes it once that is sent.
  void refuse(connection& c, std::string_view why);
  /// `c` closed: forgets its queued replies' claims on the thread.
  void forget(connection& c);

  [[nodiscard]] std::uint64_t requests() const noexcept { return requests_.load(); }
  [[nodiscard]] std::uint64_t protocol_errors() const noexcept { return protocol_errors_.load(); }

private:
  // binary_requests.cpp: the binary codec
  std::size_t consume_binary(connection& c, const char* data, std::size_t len);
  void prefetch_gets(const char* data, std::size_t len, std::size_t value_max);
  [[nodiscard]] bool handle_binary(connection& c, const wire::request& req);
  /// CONSISTENCY (0x08): sets the connection's level, or answers an error (it stays open).
  void handle_consistency(connection& c, std::string_view name);
  void handle_auth(connection& c, std::string_view key);
  // front_requests.cpp: the front codec (HTTP)
  std::size_t consume_front(connection& c, const char* data, std::size_t len);
  void offer_continue(connection& c);
  // request_pipeline.cpp: what both share
  std::size_t consume(connection& c, const char* data, std::size_t len);
  [[nodiscard]] bool ready_to_parse(connection& c);
  void handle(connection& c, const client_request& r);
  void read(connection& c, const client_request& r);
  void write(connection& c, const client_request& r);
  void document(connection& c, const client_request& r);
  [[nodiscard]] op_result append_stored(std::string& out, const reply_encoder& enc,
                                        const reply_shape& s, std::string_view key);
  [[nodiscard]] bool served_remotely(std::string_view key, bool quorum) const;
  void queue_remote_read(connection& c, const client_request& r);
  [[nodiscard]] bool admit(const connection& c) noexcept;
  void reply(connection& c, std::string&& bytes);
  void reply_error(connection& c, const reply_shape& s, errc e, std::string_view detail = {});
  void queue(connection& c, reply_slot&& s);
  void close_after_replies(connection& c);
  [[nodiscard]] bool can_send_batch() const noexcept;
  [[nodiscard]] const reply_encoder& encoder(const connection& c) const noexcept;
  [[nodiscard]] front_tally& tally(const connection& c) noexcept;
  [[nodiscard]] front_metrics& metrics(const connection& c) noexcept;

  /// Copies of sent batches until they complete: pipelined reads see pending writes in
  /// them. At most batches_in_flight_max entries and batch_in_flight_bytes_max bytes.
  struct retained_batch {
    std::uint64_t ticket = 0;
    std::string ops;
  };
  [[nodiscard]] const std::string* batch_ops(std::uint64_t ticket) const;
  /// The latest write of `key` this connection has pending, if any (views into a batch).
  [[nodiscard]] bool find_pending(const connection& c, std::string_view key, packed_op& op,
                                  std::uint64_t& ticket) const;

  std::uint32_t index_;
  server_context& ctx_;
  connection_events& loop_;
  binary_encoder binary_encoder_;
  front_encoder front_encoder_;
  front_metrics& binary_metrics_;
  front_metrics& http_metrics_;
  front_tally binary_tally_; // this round's answered requests, published at its end
  front_tally http_tally_;
  std::int64_t round_start_us_ = 0; // when this round's epoll_wait returned
  token_bucket tokens_;             // this thread's share of -ratelimit
  std::string plain_;               // decompression output (released when large)
  std::vector<completion> completions_;
  std::vector<connection*> waiting_; // connections whose replies may wait (listed_waiting)

  client_batch batch_;            // the batch being filled
  std::uint64_t next_ticket_ = 1; // ticket of `batch_`
  std::uint32_t batch_reads_ = 0; // reads packed in `batch_`
  std::size_t remote_reads_ = 0;  // remote_read slots over all connections
  /// A batch is handed over early at these sizes (larger in a cluster, where every batch
  /// costs a message per replica).
  std::size_t in_flight_max_ = batches_in_flight_max; // cluster_batches_in_flight_max in a cluster
  std::size_t eager_ops_ = batch_eager_ops;
  std::size_t eager_bytes_ = batch_eager_bytes;
  std::deque<retained_batch> retained_;
  std::size_t in_flight_ = 0;          // batches sent, not yet completed
  std::size_t in_flight_bytes_ = 0;    // their packed bytes (the sum over retained_)
  std::uint64_t completed_ticket_ = 0; // every ticket up to this one has completed

  std::atomic<std::uint64_t> requests_{0}, protocol_errors_{0};
};

} // namespace minivault
