#include "bench/load/codec.hpp"

#include <cstring>

#include "protocol/errc.hpp"
#include "protocol/wire.hpp"

namespace minivault::bench {

namespace {

void append_bulk(std::string& out, std::string_view s) {
  out += '$';
  out += std::to_string(s.size());
  out += "\r\n";
  out.append(s.data(), s.size());
  out += "\r\n";
}

void append_command(std::string& out, std::initializer_list<std::string_view> parts) {
  out += '*';
  out += std::to_string(parts.size());
  out += "\r\n";
  for (auto p : parts)
    append_bulk(out, p);
}

/// Longest simple-string, error or integer line accepted before its CRLF arrives.
constexpr std::size_t line_bytes_max = 64u << 10;

/// Position of the "\r\n" ending the line that starts at `data`, or npos.
std::size_t line_end(const char* data, std::size_t len) noexcept {
  const void* cr = std::memchr(data, '\r', len);
  if (cr == nullptr) return std::string_view::npos;
  std::size_t i = static_cast<std::size_t>(static_cast<const char*>(cr) - data);
  if (i + 1 >= len) return std::string_view::npos; // '\n' not here yet
  return i;
}

decoded_reply decode_resp(const char* data, std::size_t len, std::size_t payload_bytes_max) {
  using st = decoded_reply::state;
  decoded_reply r;
  if (len < 3) return r;
  std::size_t eol = line_end(data + 1, len - 1);
  if (eol == std::string_view::npos) {
    // A length line is never this long; a status or error line not much longer.
    if ((len > 64 && data[0] == '$') || len > line_bytes_max) r.st = st::invalid;
    return r;
  }
  std::string_view line(data + 1, eol);
  std::size_t after_line = 1 + eol + 2;
  if (data[1 + eol + 1] != '\n') {
    r.st = st::invalid;
    return r;
  }
  switch (data[0]) {
  case '+':
  case ':':
    r = {st::complete, after_line, reply_kind::ok, line};
    return r;
  case '-':
    r = {st::complete, after_line, reply_kind::error, line};
    return r;
  case '$': {
    if (line == "-1") return {st::complete, after_line, reply_kind::miss, {}};
    if (line.empty() || line.size() > 12) return {st::invalid, 0, reply_kind::error, {}};
    std::size_t n = 0;
    for (char c : line) {
      if (c < '0' || c > '9') return {st::invalid, 0, reply_kind::error, {}};
      n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    if (n > payload_bytes_max) return {st::invalid, 0, reply_kind::error, {}};
    if (len < after_line + n + 2) return r;
    if (data[after_line + n] != '\r' || data[after_line + n + 1] != '\n')
      return {st::invalid, 0, reply_kind::error, {}};
    return {st::complete, after_line + n + 2, reply_kind::ok,
            std::string_view(data + after_line, n)};
  }
  default:
    return {st::invalid, 0, reply_kind::error, {}};
  }
}

} // namespace

void encode_get(wire_protocol p, std::string& out, std::string_view key) {
  if (p == wire_protocol::minivault) return wire::append_request(out, wire::opcode::get, key);
  append_command(out, {"GET", key});
}

void encode_set(wire_protocol p, std::string& out, std::string_view key, std::string_view value) {
  if (p == wire_protocol::minivault)
    return wire::append_request(out, wire::opcode::set, key, value);
  append_command(out, {"SET", key, value});
}

void encode_auth(wire_protocol p, std::string& out, std::string_view secret) {
  if (p == wire_protocol::minivault) return wire::append_request(out, wire::opcode::auth, secret);
  append_command(out, {"AUTH", secret});
}

decoded_reply decode_reply(wire_protocol p, const char* data, std::size_t len,
                           std::size_t payload_bytes_max) noexcept {
  using st = decoded_reply::state;
  if (p == wire_protocol::resp) return decode_resp(data, len, payload_bytes_max);
  auto r = wire::parse_reply(data, len, payload_bytes_max);
  if (r.state == wire::parse_state::need_more) return {};
  if (r.state == wire::parse_state::invalid) return {st::invalid, 0, reply_kind::error, {}};
  reply_kind k = reply_kind::ok;
  if (r.rep.status != wire::status_ok)
    k = r.rep.payload == to_string(errc::not_found) ? reply_kind::miss : reply_kind::error;
  return {st::complete, r.consumed, k, r.rep.payload};
}

} // namespace minivault::bench
