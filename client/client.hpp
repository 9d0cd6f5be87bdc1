#pragma once
// minivault C++ client: one connection to one node over the binary protocol
// (protocol/README.md §1).
//
//   minivault::client::options o;        // defaults: 127.0.0.1:3000
//   o.port = 3001;
//   minivault::client::client c(o);
//   if (auto r = c.set("user:1", "alice"); !r.ok()) std::cerr << r.message() << "\n";
//   auto got = c.get("user:1");          // got.ok(), got.value == "alice"
//   minivault::client::batch b;          // pipelining: send N, read N in order
//   b.set("a", "1").get("a").del("b");
//   auto results = c.execute(b);
//
// Contract:
// - Results are values, never exceptions. Each call says exactly one of: ok, not_found
//   (GET of a missing key), error_reply (the node answered 0xFF with a reason), or a
//   transport failure (io_error, timeout, protocol_error) in which case the node may or
//   may not have applied a SET/DELETE that was sent (the outcome is unknown).
// - Connecting is lazy: the first call connects (bounded by `connect_timeout`) and, when
//   `auth_key` is set, authenticates before anything else is sent. A connection that
//   fails or that the node closed is dropped; the next call reconnects (and
//   re-authenticates). A connection found closed *before* a request is sent (the node
//   restarted while we were idle) is replaced transparently, since nothing was lost.
//   GET and HEALTH, which change nothing, are retried once on a fresh connection when
//   the connection broke (io_error; not after a timeout or an unparseable reply); SET and
//   DELETE never are (their outcome is reported as unknown).
// - After an error reply the node follows with a close (unauthorized, bad frame, too
//   large, any failed AUTH), the client drops the connection itself; later requests of
//   the same batch report io_error, and the next call reconnects.
// - Every call, a retry included, is bounded by `connect_timeout + io_timeout` from its
//   start to its last reply byte (name resolution excepted: getaddrinfo cannot be
//   bounded; use numeric addresses where that matters).
// - A key over 65535 bytes (or a value over 512 MiB) is refused as invalid_request
//   before anything is sent; a batch holding one is refused whole.
// - Values at least `compress_min_bytes` long (0 = never) are sent as zstd frames when
//   that makes them smaller; the node stores and returns the original bytes.
// - Not thread-safe: one thread per client object. Open one client per thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/socket.hpp"
#include "protocol/limits.hpp"
#include "protocol/wire.hpp"

namespace minivault::client {

enum class status : std::uint8_t {
  ok,
  not_found,       // GET of a key that does not exist (or was deleted)
  error_reply,     // the node refused the request; `value` holds its reason
  io_error,        // could not connect, or the connection broke
  timeout,         // no (complete) reply within the timeout
  protocol_error,  // the node's reply could not be parsed
  invalid_request, // refused before sending: a key over 65535 bytes, a value too large
};

[[nodiscard]] std::string_view to_string(status s) noexcept;

struct result {
  status code = status::io_error;
  /// GET: the value; HEALTH: the JSON text; error_reply: the node's reason; transport
  /// failures: what went wrong (for messages). Empty otherwise.
  std::string value;

  [[nodiscard]] bool ok() const noexcept { return code == status::ok; }
  [[nodiscard]] bool not_found() const noexcept { return code == status::not_found; }
  /// True for io_error, timeout and protocol_error: the request's outcome is unknown.
  [[nodiscard]] bool transport_failed() const noexcept {
    return code == status::io_error || code == status::timeout || code == status::protocol_error;
  }
  /// One line for humans: "ok", "not found", "error: <reason>", "io error: <detail>".
  [[nodiscard]] std::string message() const;
};

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = binary_port_default;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds io_timeout{10000};
  std::string auth_key; // non-empty: AUTH after every connect
  /// Non-empty: a consistency level (protocol/README.md §4) sent as CONSISTENCY after
  /// every connect; SET, DEL and get_quorum are then acknowledged at that level.
  std::string consistency;
  std::size_t compress_min_bytes = 0; // 0 = never compress
  int compress_level = 3;
  /// Replies larger than this are refused as protocol_error without being buffered.
  std::size_t reply_bytes_max = value_bytes_max_ceiling;
  ip_family family = ip_family::any; // v4: connect over IPv4 only
};

/// An ordered list of requests sent in one go (pipelining). Building a batch does no
/// I/O; `client::execute` sends it and returns one result per request, in order.
class batch {
public:
  batch& get(std::string_view key);
  batch& set(std::string_view key, std::string_view value);
  batch& del(std::string_view key);
  batch& health();

  [[nodiscard]] std::size_t size() const noexcept { return ops_.size(); }
  [[nodiscard]] bool empty() const noexcept { return ops_.empty(); }
  void clear() noexcept;

private:
  friend class client;
  struct op {
    wire::opcode code;
    std::string key;
    std::string value;
  };
  std::vector<op> ops_;
};

class client {
public:
  explicit client(options opts);

  client(const client&) = delete;
  client& operator=(const client&) = delete;
  client(client&&) noexcept = default;
  client& operator=(client&&) noexcept = default;

  /// Connects (and authenticates) now rather than on the first call. ok when a usable
  /// connection is open afterwards.
  result connect();
  /// Drops the connection; the next call reconnects.
  void close() noexcept;
  [[nodiscard]] bool connected() const noexcept { return sock_.is_open(); }

  result get(std::string_view key);
  /// A quorum read (cluster): the newest version among a read quorum of the key's
  /// replicas (opcode 0x07). A single node answers it like get().
  result get_quorum(std::string_view key);
  result set(std::string_view key, std::string_view value);
  result del(std::string_view key);
  result health();
  /// Opens a fresh connection authenticated with `key`; on success `key` replaces the
  /// configured one for future reconnects, on failure the old key stays (and the node
  /// has closed the connection).
  result auth(std::string_view key);

  /// Sends every request of `b` back to back and reads the replies in order; returns
  /// exactly b.size() results. After a transport failure the remaining results carry
  /// that failure. Nothing is retried, since a batch may hold writes.
  std::vector<result> execute(const batch& b);

  [[nodiscard]] const options& config() const noexcept { return opts_; }

private:
  /// Ensures a usable, authenticated connection; not ok if that failed.
  result ensure_connected(clock_type::time_point deadline);
  /// Appends the frame for one request, compressing a SET value when configured.
  void append_frame(std::string& out, wire::opcode code, std::string_view key,
                    std::string_view value) const;
  /// Sends `frames` and reads `count` replies into `out` (appending).
  void exchange(const std::string& frames, std::size_t count, const wire::opcode* ops,
                clock_type::time_point deadline, std::vector<result>& out);
  /// One request, retried once on a new connection when `idempotent`.
  result call(wire::opcode code, std::string_view key, std::string_view value, bool idempotent);
  result call_once(wire::opcode code, std::string_view key, std::string_view value,
                   clock_type::time_point deadline);

  options opts_;
  socket_stream sock_;
  std::string out_; // frames being sent (reused)
  std::string in_;  // bytes received, not yet parsed
};

} // namespace minivault::client
