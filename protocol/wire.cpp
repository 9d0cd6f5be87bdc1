#include "protocol/wire.hpp"

namespace minivault::wire {

namespace {

bool known_opcode(std::uint8_t op) noexcept {
  switch (static_cast<opcode>(op)) {
  case opcode::get:
  case opcode::set:
  case opcode::del:
  case opcode::health:
  case opcode::auth:
  case opcode::qget:
  case opcode::consistency:
    return true;
  }
  return false;
}

parse_result invalid(errc e) noexcept {
  parse_result r;
  r.state = parse_state::invalid;
  r.error = e;
  return r;
}

} // namespace

parse_result parse_request(const char* data, std::size_t len,
                           std::size_t value_bytes_max) noexcept {
  parse_result r;
  if (len < 1) return r;
  auto op = static_cast<std::uint8_t>(data[0]);
  // An unknown opcode is refused at once: nothing after it can be framed.
  if (!known_opcode(op)) return invalid(errc::bad_frame);
  if (len < request_header_bytes) return r;
  std::size_t keylen = load_u16(data + 1);
  std::size_t pos = request_header_bytes + keylen;
  r.req.op = static_cast<opcode>(op);
  if (r.req.op != opcode::set) {
    r.frame_bytes = pos;
    if (len < pos) return r;
    r.req.key = std::string_view(data + request_header_bytes, keylen);
    r.state = parse_state::complete;
    r.consumed = pos;
    return r;
  }
  if (len < pos + set_value_header_bytes) return r;
  std::size_t vallen = load_u32(data + pos);
  auto flag = static_cast<std::uint8_t>(data[pos + 4]);
  // The claimed size is checked before a single value byte is buffered.
  if (vallen > value_bytes_max) return invalid(errc::too_large);
  if (flag > 1) return invalid(errc::bad_frame);
  std::size_t total = pos + set_value_header_bytes + vallen;
  r.frame_bytes = total;
  if (len < total) return r;
  r.req.key = std::string_view(data + request_header_bytes, keylen);
  r.req.value = std::string_view(data + pos + set_value_header_bytes, vallen);
  r.req.compressed = flag == 1;
  r.state = parse_state::complete;
  r.consumed = total;
  return r;
}

void append_reply(std::string& out, std::uint8_t status, std::string_view payload) {
  char hdr[reply_header_bytes];
  hdr[0] = static_cast<char>(status);
  store_u32(hdr + 1, static_cast<std::uint32_t>(payload.size()));
  out.append(hdr, sizeof(hdr));
  out.append(payload.data(), payload.size());
}

void append_error(std::string& out, errc e) {
  append_reply(out, status_error, to_string(e));
}

void append_request(std::string& out, opcode op, std::string_view key, std::string_view value,
                    bool compressed) {
  char hdr[request_header_bytes];
  hdr[0] = static_cast<char>(op);
  store_u16(hdr + 1, static_cast<std::uint16_t>(key.size()));
  out.append(hdr, sizeof(hdr));
  out.append(key.data(), key.size());
  if (op == opcode::set) {
    char vh[set_value_header_bytes];
    store_u32(vh, static_cast<std::uint32_t>(value.size()));
    vh[4] = compressed ? 1 : 0;
    out.append(vh, sizeof(vh));
    out.append(value.data(), value.size());
  }
}

reply_result parse_reply(const char* data, std::size_t len,
                         std::size_t payload_bytes_max) noexcept {
  reply_result r;
  if (len < reply_header_bytes) return r;
  std::size_t plen = load_u32(data + 1);
  if (plen > payload_bytes_max) {
    r.state = parse_state::invalid;
    r.error = errc::too_large;
    return r;
  }
  if (len < reply_header_bytes + plen) return r;
  r.rep.status = static_cast<std::uint8_t>(data[0]);
  r.rep.payload = std::string_view(data + reply_header_bytes, plen);
  r.state = parse_state::complete;
  r.consumed = reply_header_bytes + plen;
  return r;
}

} // namespace minivault::wire
