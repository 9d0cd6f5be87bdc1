#pragma once
// One connection's replies, in request order, without a socket: the event loop sends what
// `unsent()` holds and reports it with `sent()`; the request pipeline appends replies and
// completes durable writes. Owned by one I/O thread, never shared.
//
// Order: a reply goes straight to the output while nothing waits. Once a reply must wait
// (a write until its batch is durable, a read answered by other replicas), every later
// reply of the connection queues behind it, and `drain` releases them in order as their
// batches complete. A queued reply that depends on a batch that failed is answered with
// that batch's error.
//
// Bounds: `full()` says the connection must stop parsing (protocol/limits.hpp): too many
// queued replies, too many remote reads, or queued plus unsent bytes at the soft output
// bound. `drain` stops filling the output at that bound until the client reads.
//
// Read-your-writes: `pending()` lists this connection's writes that are not durable yet
// (ticket and offset into the batch), so a later read of the same key is answered from
// the newest of them (request_pipeline.cpp).
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "actors/io/completion_board.hpp"
#include "actors/telemetry/metrics.hpp"
#include "protocol/errc.hpp"
#include "protocol/limits.hpp"

namespace minivault {

/// What an encoder needs to know of the request a reply answers.
struct reply_shape {
  op_kind op = op_kind::get;
  bool head = false;  // HTTP HEAD: the reply carries no body
  bool close = false; // HTTP: the reply says the connection closes
};

/// Turns results into one protocol's bytes (binary frames, or HTTP through a front_codec).
/// Stateless and const: one encoder may serve every connection of its protocol.
class reply_encoder {
public:
  virtual ~reply_encoder() = default;
  /// The reply to a read that found `stored`.
  virtual void value(std::string& out, const reply_shape& s, std::string_view stored) const = 0;
  /// The reply to a write that is durable.
  virtual void done(std::string& out, const reply_shape& s) const = 0;
  /// An error reply; `detail`, when not empty, replaces the error's own text.
  virtual void error(std::string& out, const reply_shape& s, errc e,
                     std::string_view detail = {}) const = 0;
  /// A reply carrying a document (the health JSON, the metrics text).
  virtual void document(std::string& out, const reply_shape& s, std::string_view body) const = 0;
};

struct reply_slot {
  enum class kind : std::uint8_t {
    write_ack,      // answered when batch `ticket` completes
    ready,          // `data` is the encoded reply
    read_own_write, // `data` (encoded) read from a pending write in batch `ticket`
    remote_read,    // answered when batch `ticket` completes: its read `read_index`
  };
  kind k = kind::ready;
  reply_shape shape;
  std::int64_t start_us = 0; // write_ack, remote_read: when its round began (latency)
  std::uint64_t ticket = 0;
  errc result = errc::ok;       // set when batch `ticket` failed
  std::uint32_t read_index = 0; // remote_read: which of the batch's reads
  errc read_status = errc::ok;  // remote_read: its answer (`data` holds the value)
  std::string detail;           // a failure's text for the client (may be empty)
  std::string data;
};

/// A write of this connection that is not durable yet: op `offset` of batch `ticket`.
struct pending_write {
  std::uint64_t ticket = 0;
  std::uint64_t key_hash = 0;
  std::uint32_t offset = 0;
};

class reply_queue {
public:
  /// Limits (defaults: protocol/limits.hpp); tests use small ones.
  struct limits {
    std::size_t replies_max = conn_pending_replies_max;
    std::size_t remote_reads_max = conn_remote_reads_max;
    std::size_t out_bytes_soft_max = conn_out_bytes_soft_max;
  };
  reply_queue() = default;
  explicit reply_queue(limits l) : limits_(l) {}

  /// True while no reply waits: a reply may then be appended to `out()` directly.
  [[nodiscard]] bool nothing_waiting() const noexcept { return waiting_.empty(); }
  /// The output buffer; append to it only while nothing_waiting().
  [[nodiscard]] std::string& out() noexcept { return out_; }
  /// Appends an encoded reply: to the output if nothing waits, else behind the waiting.
  void reply(std::string&& bytes);
  /// Queues a reply behind the waiting ones (it may itself wait for its batch).
  void push(reply_slot&& s);

  /// Batch `ticket` failed with `e`: every reply that depends on it answers `e` (with
  /// `detail` as its text when not empty).
  void fail(std::uint64_t ticket, errc e, std::string_view detail = {});
  /// Batch `ticket` completed; its reads' answers go to the remote reads waiting on it.
  void deliver_reads(std::uint64_t ticket, std::vector<read_result>& reads);
  /// Moves replies whose batch is at or before `completed_ticket` to the output, in
  /// order, until one still waits or the output reaches its soft bound. Counts each
  /// answered write and remote read in `m` (latency up to `now_us`). Returns true if
  /// anything was appended. Also forgets pending writes that are now durable.
  bool drain(std::uint64_t completed_ticket, const reply_encoder& enc, front_metrics& m,
             std::int64_t now_us);

  /// The bytes to send next, and how many of them the socket took.
  [[nodiscard]] std::string_view unsent() const noexcept {
    return std::string_view(out_).substr(out_pos_);
  }
  void sent(std::size_t n) noexcept { out_pos_ += n; }
  /// Everything appended so far was sent: resets the buffer (releasing a large one).
  void reset_sent();
  [[nodiscard]] bool all_sent() const noexcept { return out_pos_ == out_.size(); }
  /// Nothing waits and nothing is unsent: a closing connection may close now.
  [[nodiscard]] bool finished() const noexcept { return waiting_.empty() && all_sent(); }

  /// The connection must stop parsing until replies drain (see the header comment).
  [[nodiscard]] bool full() const noexcept;
  [[nodiscard]] std::size_t waiting() const noexcept { return waiting_.size(); }
  [[nodiscard]] std::size_t remote_reads() const noexcept { return remote_reads_; }
  /// Forgets every remote read (the connection closed); returns how many there were.
  std::size_t drop_remote_reads() noexcept;

  void add_pending(pending_write w) { pending_.push_back(w); }
  [[nodiscard]] const std::deque<pending_write>& pending() const noexcept { return pending_; }

private:
  void append_answer(reply_slot& s, const reply_encoder& enc, front_metrics& m,
                     std::int64_t now_us);

  limits limits_;
  std::string out_;         // encoded replies not yet sent
  std::size_t out_pos_ = 0; // bytes of out_ already sent
  std::deque<reply_slot> waiting_;
  std::size_t waiting_bytes_ = 0;     // sum of data sizes in waiting_
  std::size_t remote_reads_ = 0;      // remote_read slots in waiting_
  std::deque<pending_write> pending_; // in ticket order; pruned by drain()
};

} // namespace minivault
