#pragma once
// test_client: a deliberately simple, blocking client of the binary protocol
// (protocol/README.md §1) for integration tests. Framing comes from protocol/wire.hpp;
// this class adds a socket.
//
// Contract:
// - Connects to 127.0.0.1:port in the constructor; `connected()` says whether it worked.
// - Every receive is bounded by SO_RCVTIMEO (default 10 s) and every send by SO_SNDTIMEO,
//   so a silent or stuck server fails a test instead of hanging it.
// - A failed read or write yields a reply with `io_ok == false`; nothing throws.
// - Sockets are close-on-exec, so a node started later never inherits one.
// - One thread per object.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "protocol/wire.hpp"

namespace minivault::test {

/// One reply as read from the socket.
struct reply {
  bool io_ok = false;      // false: the reply could not be read (closed, timeout, bad frame)
  std::uint8_t status = 0; // wire::status_ok or wire::status_error
  std::string payload;

  [[nodiscard]] bool ok() const noexcept { return io_ok && status == wire::status_ok; }
  [[nodiscard]] bool is_error(std::string_view reason) const noexcept {
    return io_ok && status == wire::status_error && payload == reason;
  }
  /// An error reply whose text starts with `reason` (some add a detail after it, such as
  /// "no quorum: region west has 0 of 3 replicas up, 2 needed").
  [[nodiscard]] bool is_error_like(std::string_view reason) const noexcept {
    return io_ok && status == wire::status_error && payload.substr(0, reason.size()) == reason;
  }
};

/// Prints status and a printable, truncated rendering of the payload (for gtest messages).
std::ostream& operator<<(std::ostream& out, const reply& r);

/// Renders bytes printable: non-printable bytes as \xNN, truncated after `max_bytes`.
[[nodiscard]] std::string printable(std::string_view bytes, std::size_t max_bytes = 200);

/// zstd-compresses `data` into one frame. With `record_content_size == false` the frame
/// header does not state the decompressed size (as a streaming compressor writes it).
[[nodiscard]] std::string zstd_compress(std::string_view data, int level = 3,
                                        bool record_content_size = true);

class test_client {
public:
  explicit test_client(std::uint16_t port,
                       std::chrono::milliseconds io_timeout = std::chrono::seconds(10));
  ~test_client();

  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;

  [[nodiscard]] bool connected() const noexcept { return fd_ >= 0; }
  [[nodiscard]] int fd() const noexcept { return fd_; }

  // One request, one reply.
  reply get(std::string_view key);
  reply set(std::string_view key, std::string_view value, bool compressed = false);
  reply del(std::string_view key);
  reply health(std::string_view key = {});
  reply auth(std::string_view key);

  /// Writes all of `bytes` (one send loop). False if the socket refused them.
  bool send_raw(std::string_view bytes);
  /// Reads the next reply (after send_raw / pipelining).
  reply read_reply();
  /// Reads exactly `n` raw bytes, bypassing reply parsing (for exact framing checks).
  /// Returns fewer bytes if the peer closed or the read timed out.
  std::string read_exact(std::size_t n);

  /// Waits up to `timeout` for the server to close the connection: true once recv sees
  /// EOF or ECONNRESET. Bytes that arrive meanwhile are kept for read_reply().
  bool is_closed_by_peer(std::chrono::milliseconds timeout);

  /// Closes the socket. With `reset`, SO_LINGER 0 makes the close send an RST.
  void close(bool reset = false);

private:
  bool fill(); // one recv into in_; false on EOF, error or timeout

  int fd_ = -1;
  bool peer_closed_ = false;
  std::string in_; // received, not yet consumed
  std::size_t in_pos_ = 0;
};

} // namespace minivault::test
