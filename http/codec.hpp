#pragma once
// HTTP/1.1 + JSON as a front_codec (protocol/README.md §3): the node's I/O threads serve it on the
// -http port next to the binary protocol, on the same event loops.
//
// What it accepts:
// - HTTP/1.1 and HTTP/1.0 requests with a `Content-Length` body (or none). A
//   `Transfer-Encoding` (chunked) body is refused with 411 and the connection closes.
// - `Expect: 100-continue` gets its interim reply; keep-alive by default on 1.1,
//   `Connection: close` (and 1.0 without keep-alive) closes after the reply; pipelined
//   requests are answered in order.
// - Request heads up to http_head_bytes_max (else 431 and close); bodies up to the value
//   limit plus http_body_overhead_bytes, refused from the `Content-Length` before they
//   are read (413 and close).
// Routing and auth rules: http/request_target.hpp. Values: http/json_text.hpp.
#include "protocol/front_codec.hpp"
#include "protocol/limits.hpp"

namespace minivault::http {

/// The largest request head (request line plus headers), defined in protocol/limits.hpp.
using ::minivault::http_head_bytes_max;

class codec final : public front_codec {
public:
  [[nodiscard]] front_parse parse(const char* data, std::size_t len,
                                  const node_options& opts) const override;
  [[nodiscard]] std::string_view interim_continue() const override;
  void append_value(std::string& out, const front_request& req,
                    std::string_view stored) const override;
  void append_done(std::string& out, const front_request& req) const override;
  void append_error(std::string& out, const front_request& req, errc e,
                    std::string_view detail = {}) const override;
  void append_document(std::string& out, const front_request& req,
                       std::string_view body) const override;
};

/// The HTTP status an error maps to (front_request::status overrides it).
[[nodiscard]] int status_of(errc e) noexcept;

} // namespace minivault::http
