#include "http/codec.hpp"
#include "protocol/auth_rule.hpp"

#include <cstring>

#include "http/json_text.hpp"
#include "http/request_target.hpp"
#include "protocol/limits.hpp"
#include "protocol/utf8.hpp"

namespace minivault::http {

namespace {

using kind = front_request::kind;

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

/// True if the comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    if (ascii_iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

front_parse fatal(int status, errc e, std::string detail) {
  front_parse r;
  r.st = front_parse::state::fatal;
  r.req.k = kind::refused;
  r.req.refusal = e;
  r.req.status = static_cast<std::uint16_t>(status);
  r.req.detail = std::move(detail);
  r.req.close = true;
  return r;
}

void refuse(front_request& req, errc e, std::string detail, int status = 0) {
  req.k = kind::refused;
  req.refusal = e;
  req.status = static_cast<std::uint16_t>(status);
  req.detail = std::move(detail);
}

/// The parsed head of one request.
struct head {
  std::string_view method, target;
  bool http10 = false;
  bool close = false, keep_alive = false, expect_continue = false, chunked = false;
  bool has_length = false;
  std::uint64_t length = 0;
  std::string_view authorization;
};

/// Parses the request line and headers of [p, p + n) (without the final blank line).
/// Returns an empty string on success, else why it was refused (status in `status`).
std::string parse_head(std::string_view text, head& h, int& status) {
  status = 400;
  std::size_t eol = text.find("\r\n");
  std::string_view line = text.substr(0, eol);
  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return "malformed request line";
  h.method = line.substr(0, sp1);
  h.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (h.method.empty() || h.target.empty()) return "malformed request line";
  for (char c : h.method)
    if (!is_token_char(c)) return "malformed method";
  if (version == "HTTP/1.0") {
    h.http10 = true;
  } else if (version != "HTTP/1.1") {
    status = 505;
    return "only HTTP/1.1 and HTTP/1.0 are served";
  }
  while (eol != std::string_view::npos) {
    text.remove_prefix(eol + 2);
    eol = text.find("\r\n");
    line = text.substr(0, eol);
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') return "folded header lines are not accepted";
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return "malformed header line";
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!is_token_char(c)) return "malformed header name";
    std::string_view value = trim(line.substr(colon + 1));
    if (ascii_iequals(name, "content-length")) {
      if (value.empty()) return "bad Content-Length";
      // Any number of digits (leading zeros included); a value past 64 bits saturates,
      // and is then refused as too large like any length over the limit.
      std::uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return "bad Content-Length";
        const auto d = static_cast<std::uint64_t>(c - '0');
        n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
      }
      // Two different lengths would let two parsers disagree on where the body ends.
      if (h.has_length && n != h.length) return "conflicting Content-Length headers";
      h.has_length = true;
      h.length = n;
    } else if (ascii_iequals(name, "transfer-encoding")) {
      h.chunked = true;
    } else if (ascii_iequals(name, "connection")) {
      h.close = h.close || has_token(value, "close");
      h.keep_alive = h.keep_alive || has_token(value, "keep-alive");
    } else if (ascii_iequals(name, "expect")) {
      h.expect_continue = ascii_iequals(value, "100-continue");
    } else if (ascii_iequals(name, "authorization")) {
      h.authorization = value;
    }
  }
  if (h.chunked) {
    status = 411;
    return "chunked request bodies are not supported: send Content-Length";
  }
  return {};
}

const char* reason_of(int status) noexcept {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 411:
    return "Length Required";
  case 413:
    return "Payload Too Large";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Error";
  }
}

/// Appends a whole response: status line, headers, `body` (left out for HEAD).
void append_response(std::string& out, const front_request& req, int status,
                     std::string_view content_type, std::string_view body,
                     std::string_view extra_headers = {}) {
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_of(status);
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += req.close ? "\r\nConnection: close\r\n" : "\r\n";
  out += extra_headers;
  out += "\r\n";
  if (!req.head) out += body;
}

constexpr std::string_view json_type = "application/json";

static_assert(http_head_bytes_max == 16u << 10, "the 431 refusal text says 16 KiB");

} // namespace

int status_of(errc e) noexcept {
  switch (e) {
  case errc::ok:
    return 200;
  case errc::not_found:
    return 404;
  case errc::bad_request:
  case errc::bad_frame:
  case errc::bad_compression:
    return 400;
  case errc::unauthorized:
    return 401;
  case errc::too_large:
    return 413;
  case errc::rate_limited:
    return 429;
  case errc::no_quorum:
  case errc::overloaded:
  case errc::shutting_down:
    return 503;
  case errc::timeout:
    return 504;
  default:
    return 500;
  }
}

namespace {

/// Refuses bytes no request head may contain: NUL, and CR or LF other than as a CRLF
/// pair. Accepting a bare LF as a line end here while a proxy in front does not (or the
/// reverse) would let the two disagree on where a request ends (request smuggling).
std::string_view bad_head_byte(std::string_view in, std::size_t scan) noexcept {
  for (std::size_t i = 0; i < scan; ++i) {
    char c = in[i];
    if (c == '\0') return "NUL byte in the request head";
    if (c == '\n' && (i == 0 || in[i - 1] != '\r')) return "bare LF in the request head";
    if (c == '\r' && i + 1 < in.size() && in[i + 1] != '\n') return "bare CR in the request head";
  }
  return {};
}

/// Routing, method and auth: everything decided from the head alone.
void classify(const head& h, const node_options& opts, front_request& req) {
  req.head = h.method == "HEAD";
  req.intended = h.method == "DELETE"                      ? kind::del
                 : h.method == "PUT" || h.method == "POST" ? kind::put
                                                           : kind::get;
  req.close = h.close || (h.http10 && !h.keep_alive);
  const bool read = h.method == "GET" || h.method == "HEAD";
  const bool write = h.method == "PUT" || h.method == "POST" || h.method == "DELETE";
  parsed_target t = parse_target(h.target);
  req.endpoint = t.kind == target_kind::health || t.kind == target_kind::metrics;
  // Auth is judged before anything else is said about the request (the I/O thread
  // checks it first), so an unauthenticated client learns nothing from validation.
  const access a = t.kind == target_kind::health ? access::open
                   : read                        ? access::read
                                                 : access::write;
  req.needs_auth = needs_credential(opts.auth, !opts.auth_key.empty(), a);
  req.credential_ok = req.needs_auth && bearer_matches(h.authorization, opts.auth_key);
  if (t.kind == target_kind::invalid) {
    refuse(req, errc::bad_request, t.error);
  } else if (!read && !(write && t.kind == target_kind::key)) {
    refuse(req, errc::bad_request, "method " + std::string(h.method) + " not allowed here", 405);
  } else if (t.kind == target_kind::health) {
    req.k = kind::health;
  } else if (t.kind == target_kind::metrics) {
    req.k = kind::metrics;
  } else {
    req.k = read ? kind::get : h.method == "DELETE" ? kind::del : kind::put;
    req.key = std::move(t.key);
    req.quorum = read && t.quorum;
    req.level = t.level;
  }
}

} // namespace

front_parse codec::parse(const char* data, std::size_t len, const node_options& opts) const {
  // Empty lines before a request line are ignored (RFC 9112 section 2.2), but they count
  // towards the head bound: nothing is consumed before a whole request, so uncounted
  // they would be buffered without limit (a client sending only CRLFs).
  std::size_t skip = 0;
  while (len - skip >= 2 && data[skip] == '\r' && data[skip + 1] == '\n')
    skip += 2;
  std::string_view in(data + skip, len - skip);
  const std::size_t room = http_head_bytes_max - std::min(skip, http_head_bytes_max);
  std::size_t end = in.find("\r\n\r\n");
  std::size_t scan = std::min(end == std::string_view::npos ? in.size() : end + 4, room);
  if (std::string_view bad = bad_head_byte(in, scan); !bad.empty())
    return fatal(400, errc::bad_request, std::string(bad));
  if (end == std::string_view::npos) {
    if (len > http_head_bytes_max)
      return fatal(431, errc::too_large, "request head larger than 16 KiB");
    return {}; // need more, size unknown
  }
  if (end + 4 > room) return fatal(431, errc::too_large, "request head larger than 16 KiB");
  head h;
  int status = 400;
  if (std::string err = parse_head(in.substr(0, end + 2), h, status); !err.empty())
    return fatal(status, errc::bad_request, std::move(err));
  const std::size_t body_max = opts.value_bytes_max + http_body_overhead_bytes;
  if (h.length > body_max) return fatal(413, errc::too_large, "body larger than the value limit");
  const std::size_t frame = skip + end + 4 + static_cast<std::size_t>(h.length);
  front_parse r;
  front_request& req = r.req;
  classify(h, opts, req);
  if (len < frame) {
    // A request refused from its head is refused before its body is read: no interim
    // reply invites the upload, and the connection closes (the body is never parsed).
    if ((req.needs_auth && !req.credential_ok) || req.k == kind::refused) {
      r.st = front_parse::state::fatal;
      req.close = true;
      return r;
    }
    r.frame_bytes = frame;
    r.expect_continue = h.expect_continue && !h.http10; // 1.0 clients never wait for it
    return r;
  }
  r.st = front_parse::state::complete;
  r.consumed = frame;
  if (req.k == kind::put) {
    value_member v = extract_value(in.substr(end + 4, static_cast<std::size_t>(h.length)));
    if (v.error != body_error::none) {
      refuse(req, errc::bad_request, std::move(v.message));
    } else if (v.text.size() > opts.value_bytes_max) {
      refuse(req, errc::too_large,
             "value larger than " + std::to_string(opts.value_bytes_max) + " bytes");
    } else {
      req.value = v.text;
    }
  }
  return r;
}

std::string_view codec::interim_continue() const {
  return "HTTP/1.1 100 Continue\r\n\r\n";
}

void codec::append_value(std::string& out, const front_request& req,
                         std::string_view stored) const {
  // The body's size goes in the head, so it is built first (on this thread's scratch).
  thread_local std::string body;
  body.assign(R"({"success":true,"data":)");
  if (http::append_value(body, stored) == value_encoding::base64) body += R"(,"encoding":"base64")";
  body += '}';
  append_response(out, req, 200, json_type, body);
  if (body.capacity() > (1u << 20)) std::string().swap(body); // no large value pinned
}

void codec::append_done(std::string& out, const front_request& req) const {
  append_response(out, req, 200, json_type, R"({"success":true})");
}

void codec::append_error(std::string& out, const front_request& req, errc e,
                         std::string_view detail) const {
  int status = req.k == kind::refused && req.status != 0 ? req.status : status_of(e);
  std::string body = R"({"success":false,"error":)";
  std::string_view text = detail.empty() ? to_string(e) : detail;
  if (valid_utf8(text))
    append_json_string(body, text);
  else
    append_json_string(body, to_string(e));
  body += '}';
  std::string_view extra;
  if (status == 401)
    extra = "WWW-Authenticate: Bearer\r\n";
  else if (status == 405)
    extra = req.endpoint ? "Allow: GET, HEAD\r\n" : "Allow: GET, HEAD, PUT, POST, DELETE\r\n";
  append_response(out, req, status, json_type, body, extra);
}

void codec::append_document(std::string& out, const front_request& req,
                            std::string_view body) const {
  append_response(out, req, 200,
                  req.k == kind::metrics ? "text/plain; version=0.0.4; charset=utf-8" : json_type,
                  body);
}

} // namespace minivault::http
