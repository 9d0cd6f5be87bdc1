#pragma once
// One client connection, owned by exactly one I/O thread and only ever touched by it: the
// socket's state (event loop, io_thread.cpp), what is parsed of its input (request
// pipeline), and its replies in order (reply_queue.hpp, which holds the ordering and
// read-your-writes contract).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "actors/admission/ip_limiter.hpp"
#include "actors/io/reply_queue.hpp"
#include "protocol/consistency.hpp"
#include "protocol/unique_fd.hpp"

namespace minivault {

struct connection {
  unique_fd fd;                 // closed when the connection is freed or closed
  std::string in;               // unparsed input (only what did not parse in place)
  std::size_t need = 0;         // size of the incomplete frame at the front of `in`, if known
  reply_queue replies;          // encoded replies, in request order
  bool front = false;           // speaks the front codec (HTTP), not the binary protocol
  bool continue_sent = false;   // front: the interim reply for the request in `in` went out
  bool continue_wanted = false; // front: owed once the replies queued ahead are sent
  std::shared_ptr<ip_limiter::bucket> ip_bucket; // -ratelimit-per-ip: this address's bucket
  bool authed = false;
  /// binary CONSISTENCY (0x08): the level of this connection's later writes and QGETs.
  std::optional<consistency> level;
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
