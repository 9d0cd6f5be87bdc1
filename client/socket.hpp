#pragma once
// socket: the one TCP stream a client holds, with every blocking step bounded by a
// deadline. Internal to the client library (and reused by the CLI and load generator for
// connecting); the public API is client.hpp.
//
// Contract:
// - All sockets are close-on-exec, TCP_NODELAY, and non-blocking; waits use poll(2) with
//   the remaining time to the caller's deadline, so no call blocks past it.
// - Functions return an io_status and never throw; `detail` names the failing step and
//   errno text for error messages.
// - One thread per object.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/unique_fd.hpp"

namespace minivault::client {

using clock_type = std::chrono::steady_clock;

enum class io_status : std::uint8_t {
  ok,
  closed,  // the peer closed (EOF or reset)
  timeout, // the deadline passed
  failed,  // any other error (resolve, connect refused, ...)
};

struct io_result {
  io_status status = io_status::ok;
  std::string detail; // empty when ok
};

/// Which addresses of a host name connect_tcp tries.
enum class ip_family : std::uint8_t {
  any, // IPv4 and IPv6, in getaddrinfo's order
  v4,  // IPv4 only (a node's own listeners are IPv4)
};

/// Connects to host:port (first address of `family` that accepts), bounded by
/// `deadline` (except name resolution: getaddrinfo has no timeout of its own). On success `fd_out`
/// owns a non-blocking, TCP_NODELAY socket.
[[nodiscard]] io_result connect_tcp(const std::string& host, std::uint16_t port,
                                    clock_type::time_point deadline, int& fd_out,
                                    ip_family family = ip_family::any);

class socket_stream {
public:
  socket_stream() = default;
  /// Takes ownership of `fd` (closed on destruction, close(), or move-assignment over it).
  explicit socket_stream(int fd) noexcept : fd_(fd) {}

  [[nodiscard]] bool is_open() const noexcept { return fd_.valid(); }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  void close() noexcept { fd_.reset(); }
  /// Gives up ownership: returns the descriptor (or -1) without closing it.
  [[nodiscard]] int release() noexcept { return fd_.release(); }

  /// True when the peer has already closed (or reset) this idle connection: readable
  /// with EOF or an error pending. Costs one poll with zero timeout. Bytes that are
  /// waiting unasked-for also count as unusable (the stream would be out of step).
  [[nodiscard]] bool peer_gone() const noexcept;

  /// Writes all of `out`, waiting for space until `deadline`. Reads nothing: use
  /// send_while_reading when the peer may answer before everything is sent.
  [[nodiscard]] io_result send_all(std::string_view out, clock_type::time_point deadline);

  /// Sends `out` while reading into `in` whenever the peer has bytes for us, until every
  /// byte is sent. Used for pipelined batches, where the peer may stop reading until we
  /// drain its replies: writing alone could deadlock both sides.
  [[nodiscard]] io_result send_while_reading(std::string_view out, std::string& in,
                                             clock_type::time_point deadline);

  /// Appends at least one received byte to `in`, waiting until `deadline`.
  [[nodiscard]] io_result recv_some(std::string& in, clock_type::time_point deadline);

private:
  /// Sends all of `out`; with `in`, also reads what arrives meanwhile into it.
  io_result send_loop(std::string_view out, std::string* in, clock_type::time_point deadline);

  unique_fd fd_;
};

} // namespace minivault::client
