#pragma once
// One client connection of the binary protocol, owned by exactly one I/O thread and only
// ever touched by it.
//
// Reply order: a reply goes straight to `out` while nothing is waiting. Once a write is
// waiting for its batch to become durable, every later reply of this connection queues
// in `waiting` behind it.
//
// Pipelined reads see exactly the writes sent before them on the same connection: a GET
// behind pending writes is answered at parse time, from this connection's latest pending
// write of that key if there is one (`pending_writes`), else from the committed table.
// Its reply is released in order, i.e. after the write it read became durable; should
// that write fail, the GET is answered with the same error (it saw a write that never
// happened, and the state it would otherwise see may already include later writes).
//
// Memory per connection is bounded: parsing pauses once queued replies (`waiting_bytes`)
// plus unsent output reach conn_out_bytes_soft_max, and draining stops filling `out` at
// that mark until the client reads.
#include <cstdint>
#include <deque>
#include <string>

#include "actors/admission/ip_limiter.hpp"
#include "protocol/errc.hpp"

namespace minivault {

struct reply_slot {
  enum class kind : std::uint8_t {
    write_ack,      // answered when batch `ticket` completes
    ready,          // `data` is the encoded reply
    read_own_write, // `data` read from a pending write in batch `ticket`
    remote_read,    // answered when batch `ticket` completes: its read `read_index`
  };
  kind k = kind::ready;
  bool del = false;          // write_ack: a DELETE (for metrics)
  bool head = false;         // front protocol: the reply carries no body (HEAD)
  bool close = false;        // front protocol: the reply says the connection closes
  std::int64_t start_us = 0; // write_ack: when its round began (for the latency metric)
  std::uint64_t ticket = 0;
  errc result = errc::ok; // set when batch `ticket` failed
  std::uint32_t read_index = 0;  // remote_read: which of the batch's reads
  errc read_status = errc::ok;   // remote_read: its answer (`data` holds the value)
  std::string data;
};

/// A write of this connection that is not acknowledged yet: op `offset` of batch `ticket`.
struct pending_write {
  std::uint64_t ticket = 0;
  std::uint64_t key_hash = 0;
  std::uint32_t offset = 0;
};

struct connection {
  int fd = -1;
  std::string in;          // unparsed input (only what did not parse in place)
  std::size_t need = 0;    // size of the incomplete frame at the front of `in`, if known
  std::string out;         // encoded replies not yet sent
  std::size_t out_pos = 0; // bytes of `out` already sent
  std::deque<reply_slot> waiting;
  std::size_t waiting_bytes = 0;            // sum of data sizes in `waiting`
  std::deque<pending_write> pending_writes; // in ticket order; pruned as batches complete
  std::size_t remote_reads = 0;             // remote_read slots in `waiting`
  bool front = false;           // speaks the front codec (HTTP), not the binary protocol
  bool continue_sent = false;   // front: the interim reply for the request in `in` went out
  bool continue_wanted = false; // front: owed once the replies queued ahead are sent
  std::shared_ptr<ip_limiter::bucket> ip_bucket; // -ratelimit-per-ip: this address's bucket
  bool authed = false;
  bool closing = false;     // protocol error or auth failure: flush replies, then close
  bool peer_closed = false; // EOF seen: finish in-flight work, then close
  bool paused = false;      // parsing stopped (a limit was reached); EPOLLIN off
  bool want_write = false;  // EPOLLOUT registered
  bool listed_waiting = false;
  bool listed_dirty = false;
  bool lingering = false;           // error sent, write side shut: discarding input until EOF
  bool dead = false;                // closed; freed at the end of the loop iteration
  std::int64_t last_input_ms = 0;   // when bytes last arrived (stall timeout)
  std::int64_t last_output_ms = 0;  // when the socket last took reply bytes
  std::int64_t request_seen_ms = 0; // front: when a sweep first saw the unfinished request in `in`
  std::int64_t linger_until_ms = 0;
  std::size_t discarded = 0;  // bytes read and dropped while lingering
  std::uint32_t interest = 0; // epoll events currently registered
  std::size_t slot = 0;       // index in the owning thread's connection list
};

} // namespace minivault
