#pragma once
// A client protocol besides the binary one, served by the same I/O threads (the
// HTTP/JSON front-end implements it in http/). The I/O threads own sockets, ordering,
// auth and rate-limit decisions, batching into the storage actor and completions; the
// codec only turns bytes into requests and results into bytes. So the text protocol
// lives in http/, and nothing in actors/ depends on it (main hands the codec over).
//
// Thread-safety: one codec instance serves every I/O thread at once; its methods must be
// const and keep no state between calls (per-request state travels in front_request).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/errc.hpp"
#include "protocol/options.hpp"

namespace minivault {

/// One parsed request.
struct front_request {
  enum class kind : std::uint8_t {
    get,     // read `key`
    put,     // write `value` to `key`
    del,     // delete `key`
    health,  // the health JSON
    metrics, // the metrics text
    refused, // answered at parse time: `refusal` is the error to send
  };
  kind k = kind::refused;
  std::string key;
  std::string_view value;           // put: the bytes to store (a view into the parsed input)
  bool needs_auth = false;          // the auth mode requires a credential for this request
  bool credential_ok = false;       // a credential was sent and it is the node's key
  bool head = false;                // reply without a body (HEAD)
  bool close = false;               // close the connection after the reply (client asked)
  bool quorum = false;              // get: a quorum read (?consistency= a level other than one)
  std::optional<consistency> level; // ?consistency=LEVEL (protocol/README.md §4)
  errc refusal = errc::ok;          // kind::refused: the error
  std::uint16_t status = 0;         // kind::refused: a protocol status overriding the error's
  std::string detail;               // kind::refused: text for the client (may be empty)
  bool endpoint = false;            // the target is an endpoint, not a key (for 405's Allow)
  kind intended = kind::get;        // kind::refused: what the method asked for (for metrics)
};

/// Outcome of parsing the front of a connection's input.
struct front_parse {
  enum class state : std::uint8_t {
    need_more, // incomplete; `frame_bytes` is the full request size when already known
    complete,  // `req` is one request of `consumed` bytes
    fatal,     // unusable input: reply `req` (kind refused) and close the connection
  };
  state st = state::need_more;
  std::size_t consumed = 0;
  std::size_t frame_bytes = 0;
  bool expect_continue = false; // need_more: the client waits for an interim reply
  front_request req;
};

class front_codec {
public:
  virtual ~front_codec() = default;
  /// Parses one request from the front of [data, data + len).
  [[nodiscard]] virtual front_parse parse(const char* data, std::size_t len,
                                          const node_options& opts) const = 0;
  /// The interim reply a client waiting before it sends its body needs (may be empty).
  [[nodiscard]] virtual std::string_view interim_continue() const = 0;
  /// Appends the reply to a GET that found `stored`.
  virtual void append_value(std::string& out, const front_request& req,
                            std::string_view stored) const = 0;
  /// Appends the reply to a successful PUT/DELETE.
  virtual void append_done(std::string& out, const front_request& req) const = 0;
  /// Appends an error reply (`detail` may add to the error's own text).
  virtual void append_error(std::string& out, const front_request& req, errc e,
                            std::string_view detail = {}) const = 0;
  /// Appends a reply carrying a document: the health JSON or the metrics text.
  virtual void append_document(std::string& out, const front_request& req,
                               std::string_view body) const = 0;
};

} // namespace minivault
