#pragma once
// One client connection of the binary protocol, owned by exactly one I/O thread and only
// ever touched by it.
//
// Reply order: a reply goes straight to `out` while nothing is waiting. Once a write is
// waiting for its batch to become durable, every later reply of this connection queues
// in `waiting` behind it; a GET queued there is evaluated only when it reaches the front,
// so a client always reads its own acknowledged writes.
#include <cstdint>
#include <deque>
#include <string>

namespace minivault {

struct reply_slot {
  enum class kind : std::uint8_t { write_ack, deferred_get, ready };
  kind k = kind::ready;
  std::uint64_t ticket = 0; // write_ack: the batch that carries the write
  std::string data;         // deferred_get: the key; ready: the encoded reply
};

struct connection {
  int fd = -1;
  std::string in;          // unparsed input (only what did not parse in place)
  std::size_t need = 0;    // size of the incomplete frame at the front of `in`, if known
  std::string out;         // encoded replies not yet sent
  std::size_t out_pos = 0; // bytes of `out` already sent
  std::deque<reply_slot> waiting;
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
