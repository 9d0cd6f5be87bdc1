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
// Its reply is released in order, i.e. after the write it read became durable.
#include <cstdint>
#include <deque>
#include <string>

namespace minivault {

struct reply_slot {
  enum class kind : std::uint8_t {
    write_ack,      // answered when batch `ticket` completes
    ready,          // `data` is the encoded reply
    read_own_write, // `data` as read from the pending write in batch `ticket`; should
                    // that batch fail, `key` is read again from the table instead
  };
  kind k = kind::ready;
  std::uint64_t ticket = 0;
  std::string data;
  std::string key;
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
  std::deque<pending_write> pending_writes; // in ticket order; pruned as batches complete
  bool authed = false;
  bool closing = false;     // protocol error or auth failure: flush replies, then close
  bool peer_closed = false; // EOF seen: finish in-flight work, then close
  bool paused = false;      // parsing stopped (a limit was reached); EPOLLIN off
  bool want_write = false;  // EPOLLOUT registered
  bool listed_waiting = false;
  bool listed_dirty = false;
  bool dead = false;        // closed; freed at the end of the loop iteration
  std::uint32_t interest = 0; // epoll events currently registered
  std::size_t slot = 0;       // index in the owning thread's connection list
};

} // namespace minivault
