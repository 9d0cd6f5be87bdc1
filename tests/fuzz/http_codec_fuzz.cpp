// Fuzz target: the HTTP/1.1 request parser (http::codec::parse), fed a client's byte
// stream the way an I/O thread does (io_thread::consume_front): request after request
// until one is incomplete or fatal, under two node configurations (defaults; and auth
// with a 16-byte value limit, so that 401 and 413 paths are reached by short inputs).
// Each parsed request's reply is built with the codec's own encoders and checked.
//
// Checked for every input, beyond "no crash, no sanitizer report":
// - a complete request lies inside the input; a PUT's value is inside it, is JSON and
//   within the value limit; a key is 1..65535 bytes; a refusal carries its error;
// - prefixes of a complete request are never complete, fatal only when the whole
//   request is refused from its head, and agree on its size once they know it;
// - the head bound holds: need_more without a known size only up to
//   http_head_bytes_max bytes (else the connection would buffer without limit);
// - every reply is one well-formed response: status line, Content-Length equal to the
//   body (no body for HEAD), Connection: close when closing, a JSON body.
// Input: the raw stream (corpus files are real requests). Run with -max_len=20000 (the
// head bound is 16 KiB).
#include <string>

#include "fuzz_input.hpp"
#include "http/codec.hpp"
#include "http/json_text.hpp"
#include "protocol/limits.hpp"

namespace {

using namespace minivault;
using kind = front_request::kind;
using state = front_parse::state;

const http::codec codec;

/// Checks one reply built by the codec: framing, Content-Length, Connection, JSON body.
void check_reply(const std::string& out, const front_request& req) {
  FUZZ_CHECK(out.compare(0, 9, "HTTP/1.1 ") == 0 && out.size() > 13 && out[12] == ' ');
  const std::size_t end = out.find("\r\n\r\n");
  FUZZ_CHECK(end != std::string::npos);
  const std::string head = out.substr(0, end + 2);
  const std::string body = out.substr(end + 4);
  const std::string length_field = "\r\nContent-Length: ";
  const std::size_t at = head.find(length_field);
  FUZZ_CHECK(at != std::string::npos);
  const std::size_t length = std::stoul(head.substr(at + length_field.size()));
  FUZZ_CHECK(req.head ? body.empty() : body.size() == length);
  FUZZ_CHECK(!req.close || head.find("\r\nConnection: close\r\n") != std::string::npos);
  if (!req.head && head.find("Content-Type: application/json") != std::string::npos)
    FUZZ_CHECK(http::is_json(body));
}

/// The reply the I/O thread sends for a request of this kind (values stand in for data).
std::string reply_to(const front_request& req) {
  std::string out;
  switch (req.k) {
  case kind::refused:
    codec.append_error(out, req, req.refusal, req.detail);
    break;
  case kind::get:
    codec.append_value(out, req, req.key); // any bytes: shown as JSON, text or base64
    break;
  case kind::put:
  case kind::del:
    codec.append_done(out, req);
    break;
  case kind::health:
  case kind::metrics:
    codec.append_document(out, req, R"({"status":"ok"})");
    break;
  }
  return out;
}

/// The 401 the I/O thread sends when a credential is missing or wrong.
std::string unauthorized_reply(const front_request& req) {
  front_request closing = req;
  closing.close = true;
  closing.k = req.intended;
  closing.status = 0;
  std::string out;
  codec.append_error(out, closing, errc::unauthorized);
  return out;
}

bool auth_fails(const front_request& req) {
  return req.needs_auth && !req.credential_ok;
}

void check_complete(const char* at, std::size_t len, const front_parse& r,
                    const node_options& opts) {
  FUZZ_CHECK(r.consumed > 0 && r.consumed <= len);
  const front_request& req = r.req;
  if (req.k == kind::put) {
    FUZZ_CHECK(req.value.data() >= at && req.value.data() + req.value.size() <= at + r.consumed);
    FUZZ_CHECK(http::is_json(req.value));
    FUZZ_CHECK(req.value.size() <= opts.value_bytes_max);
  }
  if (req.k == kind::get || req.k == kind::put || req.k == kind::del)
    FUZZ_CHECK(!req.key.empty() && req.key.size() <= key_bytes_max);
  if (req.k == kind::refused) FUZZ_CHECK(req.refusal != errc::ok);
  check_reply(auth_fails(req) ? unauthorized_reply(req) : reply_to(req), req);
}

/// A few prefix lengths of the request at `at` (its final size `frame`): the edges of
/// the head and body, and two more picked by the input's bytes.
void check_prefixes(const char* at, std::size_t frame, const front_parse& full,
                    const node_options& opts) {
  const std::size_t head_end = std::string_view(at, frame).find("\r\n\r\n");
  std::size_t ks[12] = {0, 1, 2, frame / 2, frame - 1};
  std::size_t n = 5;
  if (head_end != std::string_view::npos)
    for (std::size_t d = 0; d < 5; ++d)
      ks[n++] = head_end + d;
  ks[n++] = static_cast<unsigned char>(at[0]) * 131u % frame;
  ks[n++] = static_cast<unsigned char>(at[frame - 1]) * 257u % frame;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = ks[i];
    if (k >= frame) continue;
    front_parse p = codec.parse(at, k, opts);
    FUZZ_CHECK(p.st != state::complete);
    if (p.st == state::fatal) {
      // Refused from its head before the body arrived: the whole request is refused too.
      FUZZ_CHECK(full.req.k == kind::refused || auth_fails(full.req));
      continue;
    }
    FUZZ_CHECK(p.frame_bytes == 0 || p.frame_bytes == frame);
    FUZZ_CHECK(p.frame_bytes != 0 || k <= http::http_head_bytes_max);
  }
}

void run(const char* data, std::size_t size, const node_options& opts) {
  std::size_t pos = 0;
  while (pos < size) {
    const char* at = data + pos;
    const std::size_t len = size - pos;
    front_parse r = codec.parse(at, len, opts);
    if (r.st == state::need_more) {
      FUZZ_CHECK(r.frame_bytes == 0 || r.frame_bytes > len);
      FUZZ_CHECK(r.frame_bytes != 0 || len <= http::http_head_bytes_max);
      FUZZ_CHECK(r.consumed == 0);
      return;
    }
    if (r.st == state::fatal) {
      FUZZ_CHECK(r.req.close);
      if (auth_fails(r.req)) {
        check_reply(unauthorized_reply(r.req), r.req);
      } else {
        FUZZ_CHECK(r.req.k == kind::refused && r.req.refusal != errc::ok);
        check_reply(reply_to(r.req), r.req);
      }
      return;
    }
    FUZZ_CHECK(!r.expect_continue);
    check_complete(at, len, r, opts);
    check_prefixes(at, r.consumed, r, opts);
    pos += r.consumed;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const char* data = reinterpret_cast<const char*>(bytes);
  run(data, size, node_options{});
  node_options strict;
  strict.auth_key = "s3cret";
  strict.auth = size % 2 == 0 ? auth_mode::all : auth_mode::writes;
  strict.value_bytes_max = 16;
  run(data, size, strict);
  return 0;
}
