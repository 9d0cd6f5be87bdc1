// The request pipeline, binary side (protocol/README.md §1): frames to client_requests.
// The session's AUTH and the decompression of compressed values happen here; the rest
// is the shared pipeline (request_pipeline.cpp).
#include "actors/io/request_pipeline.hpp"

#include "protocol/auth_rule.hpp"
#include "protocol/compression.hpp"
#include "protocol/limits.hpp"
#include "protocol/security.hpp"

namespace minivault {

namespace {

op_kind kind_of(wire::opcode op) noexcept {
  switch (op) {
  case wire::opcode::get:
  case wire::opcode::qget:
    return op_kind::get;
  case wire::opcode::set:
    return op_kind::set;
  case wire::opcode::del:
    return op_kind::del;
  case wire::opcode::health:
    return op_kind::health;
  case wire::opcode::auth:
  case wire::opcode::consistency:
    break;
  }
  return op_kind::auth;
}

access access_of(op_kind k) noexcept {
  switch (k) {
  case op_kind::get:
    return access::read;
  case op_kind::set:
  case op_kind::del:
    return access::write;
  default:
    return access::open;
  }
}

} // namespace

void request_pipeline::prefetch_gets(const char* data, std::size_t len, std::size_t value_max) {
  constexpr std::size_t keys_max = storage::engine::prefetch_keys_max;
  std::string_view keys[keys_max];
  std::size_t n = 0;
  for (std::size_t pos = 0; n < keys_max && pos < len;) {
    auto r = wire::parse_request(data + pos, len - pos, value_max);
    if (r.state != wire::parse_state::complete) break;
    if (r.req.op == wire::opcode::get && !r.req.key.empty()) keys[n++] = r.req.key;
    pos += r.consumed;
  }
  if (n >= 2) ctx_.engine->prefetch(keys, n); // a single lookup gains nothing
}

std::size_t request_pipeline::consume_binary(connection& c, const char* data, std::size_t len) {
  std::size_t pos = 0;
  const std::size_t value_max = ctx_.options->value_bytes_max;
  c.need = 0;
  // Pipelined GETs: start their index lookups' memory loads together (measured: the
  // lookups were a fifth of the I/O thread at 16 in flight, mostly cache misses).
  if (len >= 2 * wire::request_header_bytes) prefetch_gets(data, len, value_max);
  while (pos < len && !c.closing && !c.dead) {
    if (!ready_to_parse(c)) break;
    auto r = wire::parse_request(data + pos, len - pos, value_max);
    if (r.state == wire::parse_state::need_more) {
      c.need = r.frame_bytes;
      break;
    }
    if (r.state == wire::parse_state::invalid) {
      // Counted under the op its first byte names (a SET with a claimed length over the
      // limit is a refused SET); unknown opcodes count as GETs.
      const auto first = static_cast<std::uint8_t>(data[pos]);
      binary_tally_.count(first == static_cast<std::uint8_t>(wire::opcode::set)   ? op_kind::set
                          : first == static_cast<std::uint8_t>(wire::opcode::del) ? op_kind::del
                                                                                  : op_kind::get,
                          op_result::bad_request);
      protocol_errors_.fetch_add(1, std::memory_order_relaxed);
      reply_error(c, reply_shape{}, r.error);
      close_after_replies(c);
      return len;
    }
    pos += r.consumed;
    if (!handle_binary(c, r.req)) return len;
  }
  return pos;
}

bool request_pipeline::handle_binary(connection& c, const wire::request& req) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (req.op == wire::opcode::auth) {
    handle_auth(c, req.key);
    return !c.closing;
  }
  if (req.op == wire::opcode::consistency) {
    handle_consistency(c, req.key);
    return true;
  }
  const node_options& o = *ctx_.options;
  client_request r;
  r.shape.op = kind_of(req.op);
  r.key = req.key;
  r.quorum = req.op == wire::opcode::qget;
  r.authorized = c.authed || !needs_credential(o.auth, !o.auth_key.empty(), access_of(r.shape.op));
  r.metered = r.shape.op != op_kind::health; // data ops: HEALTH works on a node at its limit
  if (r.shape.op != op_kind::health && req.key.empty()) r.refusal = errc::bad_request;
  if (r.shape.op == op_kind::set && req.compressed && r.authorized && r.refusal == errc::ok) {
    // The frame was read whole, so a bad value is answered and the stream stays in step.
    if (errc e = zstd_decompress_bounded(req.value, o.value_bytes_max, plain_); e != errc::ok) {
      std::string().swap(plain_);
      r.refusal = e;
    }
  }
  r.value = req.compressed ? std::string_view(plain_) : req.value;
  handle(c, r);
  // A large decompression buffer is not kept around (a refused bomb would pin it too).
  if (plain_.capacity() > (1u << 20)) std::string().swap(plain_);
  return !c.closing;
}

void request_pipeline::handle_consistency(connection& c, std::string_view name) {
  std::string out;
  if (auto level = parse_consistency(name)) {
    c.level = level;
    wire::append_reply(out, wire::status_ok);
  } else {
    wire::append_reply(out, wire::status_error,
                       "bad request: unknown consistency level (" + consistency_choices() + ")");
  }
  reply(c, std::move(out));
}

void request_pipeline::handle_auth(connection& c, std::string_view key) {
  const std::string& secret = ctx_.options->auth_key;
  if (secret.empty() || constant_time_equal(key, secret)) {
    c.authed = true;
    binary_tally_.count(op_kind::auth, op_result::ok);
    std::string ok;
    binary_encoder_.done(ok, reply_shape{op_kind::auth});
    reply(c, std::move(ok));
    return;
  }
  // A wrong key ends the connection: each guess costs a new TCP handshake.
  client_request r;
  r.shape.op = op_kind::auth;
  r.authorized = false;
  handle(c, r);
}

} // namespace minivault
