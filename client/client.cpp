#include "client/client.hpp"

#include <utility>

#include "protocol/compression.hpp"
#include "protocol/enum_names.hpp"

namespace minivault::client {

namespace {

result transport_failure(const io_result& io) {
  status s = io.status == io_status::timeout ? status::timeout : status::io_error;
  return {s, io.detail};
}

/// Maps one reply frame to a result; `op` decides what an error means.
result from_reply(wire::opcode op, const wire::reply& rep) {
  if (rep.status == wire::status_ok) {
    if (op == wire::opcode::get || op == wire::opcode::qget || op == wire::opcode::health)
      return {status::ok, std::string(rep.payload)};
    return {status::ok, {}};
  }
  if ((op == wire::opcode::get || op == wire::opcode::qget) &&
      rep.payload == to_string(errc::not_found))
    return {status::not_found, {}};
  return {status::error_reply, std::string(rep.payload)};
}

/// Error replies after which the node closes the connection (protocol/README.md §1.3): an
/// unparseable or oversized frame, a missing or wrong AUTH. The client drops the
/// connection at once rather than racing the node's close with its next request.
bool node_closes_after(wire::opcode op, const result& r) {
  if (r.code != status::error_reply) return false;
  return op == wire::opcode::auth || r.value == to_string(errc::unauthorized) ||
         r.value == to_string(errc::bad_frame);
}

/// After `too large` the node closes only when it could not skip the frame (a claimed
/// length over its limit), not when a compressed value inflated past it: the replies
/// that follow are read as usual, and the connection is dropped afterwards.
bool node_may_close_after(const result& r) {
  return r.code == status::error_reply && r.value == to_string(errc::too_large);
}

/// Frames the wire cannot express are refused before anything is sent: a key over
/// 65535 bytes would wrap its u16 length and the rest of the key would be read by the
/// node as further requests.
const char* unsendable(wire::opcode code, std::string_view key, std::string_view value) {
  if (key.size() > key_bytes_max) return "key longer than 65535 bytes";
  if (code == wire::opcode::set && value.size() > value_bytes_max_ceiling)
    return "value larger than any node accepts";
  return nullptr;
}

} // namespace

std::string_view to_string(status s) noexcept {
  static constexpr std::string_view names[] = {
      "ok", "not found", "error", "io error", "timeout", "protocol error", "invalid request"};
  return enum_name(s, names, std::string_view("unknown"));
}

std::string result::message() const {
  std::string out(to_string(code));
  if ((code != status::ok && code != status::not_found) && !value.empty()) {
    out += ": ";
    out += value;
  }
  return out;
}

// -- batch --------------------------------------------------------------------------------

batch& batch::get(std::string_view key) {
  ops_.push_back({wire::opcode::get, std::string(key), {}});
  return *this;
}

batch& batch::set(std::string_view key, std::string_view value) {
  ops_.push_back({wire::opcode::set, std::string(key), std::string(value)});
  return *this;
}

batch& batch::del(std::string_view key) {
  ops_.push_back({wire::opcode::del, std::string(key), {}});
  return *this;
}

batch& batch::health() {
  ops_.push_back({wire::opcode::health, {}, {}});
  return *this;
}

void batch::clear() noexcept {
  ops_.clear();
}

// -- client -------------------------------------------------------------------------------

client::client(options opts) : opts_(std::move(opts)) {}

void client::close() noexcept {
  sock_.close();
  in_.clear();
}

result client::connect() {
  return ensure_connected(clock_type::now() + opts_.connect_timeout + opts_.io_timeout);
}

result client::ensure_connected(clock_type::time_point deadline) {
  // Bytes nobody asked for (in our buffer or the socket's) mean the stream is out of step.
  if (sock_.is_open() && in_.empty() && !sock_.peer_gone()) return {status::ok, {}};
  close();
  int fd = -1;
  auto connect_deadline = std::min(deadline, clock_type::now() + opts_.connect_timeout);
  io_result io = connect_tcp(opts_.host, opts_.port, connect_deadline, fd, opts_.family);
  if (io.status != io_status::ok) return transport_failure(io);
  sock_ = socket_stream(fd);
  // The session requests, pipelined: AUTH, then CONSISTENCY.
  std::string frames;
  std::vector<wire::opcode> ops;
  for (auto [op, arg] : {std::pair{wire::opcode::auth, &opts_.auth_key},
                         std::pair{wire::opcode::consistency, &opts_.consistency}}) {
    if (arg->empty()) continue;
    wire::append_request(frames, op, *arg);
    ops.push_back(op);
  }
  if (ops.empty()) return {status::ok, {}};
  std::vector<result> out;
  exchange(frames, ops.size(), ops.data(), deadline, out);
  for (auto& r : out) {
    if (!r.ok()) {
      close();
      return std::move(r);
    }
  }
  return {status::ok, {}};
}

void client::append_frame(std::string& out, wire::opcode code, std::string_view key,
                          std::string_view value) const {
  if (code == wire::opcode::set && opts_.compress_min_bytes > 0 &&
      value.size() >= opts_.compress_min_bytes) {
    std::string packed = zstd_compress(value, opts_.compress_level);
    if (!packed.empty() && packed.size() < value.size()) {
      wire::append_request(out, code, key, packed, true);
      return;
    }
  }
  wire::append_request(out, code, key, value, false);
}

void client::exchange(const std::string& frames, std::size_t count, const wire::opcode* ops,
                      clock_type::time_point deadline, std::vector<result>& out) {
  std::size_t first = out.size();
  auto fail_rest = [&](result failure) {
    close();
    while (out.size() < first + count)
      out.push_back(failure);
  };
  // A send that fails (the node closed mid-batch) still leaves the replies it sent
  // before closing in `in_`: they are parsed, and only the rest report the failure.
  io_result io = sock_.send_while_reading(frames, in_, deadline);
  std::size_t pos = 0;
  bool drop_after = false;
  while (out.size() < first + count) {
    auto r = wire::parse_reply(in_.data() + pos, in_.size() - pos, opts_.reply_bytes_max);
    if (r.state == wire::parse_state::complete) {
      wire::opcode op = ops[out.size() - first];
      out.push_back(from_reply(op, r.rep));
      pos += r.consumed;
      if (node_closes_after(op, out.back())) {
        // Nothing after this reply will be answered on this connection.
        return fail_rest(
            {status::io_error, "connection closed by the server after: " + out.back().value});
      }
      drop_after = drop_after || node_may_close_after(out.back());
      continue;
    }
    if (r.state == wire::parse_state::invalid)
      return fail_rest({status::protocol_error,
                        "unparseable reply (" + std::string(minivault::to_string(r.error)) + ")"});
    if (io.status != io_status::ok) return fail_rest(transport_failure(io));
    io = sock_.recv_some(in_, deadline);
    if (io.status != io_status::ok) return fail_rest(transport_failure(io));
  }
  in_.erase(0, pos);
  if (drop_after) close();
}

result client::call_once(wire::opcode code, std::string_view key, std::string_view value,
                         clock_type::time_point deadline) {
  result conn = ensure_connected(deadline);
  if (!conn.ok()) return conn;
  out_.clear();
  append_frame(out_, code, key, value);
  std::vector<result> out;
  out.reserve(1);
  exchange(out_, 1, &code, deadline, out);
  return std::move(out[0]);
}

result client::call(wire::opcode code, std::string_view key, std::string_view value,
                    bool idempotent) {
  if (const char* why = unsendable(code, key, value)) return {status::invalid_request, why};
  // One deadline for the whole call, a retry included.
  auto deadline = clock_type::now() + opts_.connect_timeout + opts_.io_timeout;
  result r = call_once(code, key, value, deadline);
  if (idempotent && r.code == status::io_error && clock_type::now() < deadline)
    r = call_once(code, key, value, deadline);
  return r;
}

result client::get(std::string_view key) {
  return call(wire::opcode::get, key, {}, true);
}

result client::get_quorum(std::string_view key) {
  return call(wire::opcode::qget, key, {}, true);
}

result client::set(std::string_view key, std::string_view value) {
  return call(wire::opcode::set, key, value, false);
}

result client::del(std::string_view key) {
  return call(wire::opcode::del, key, {}, false);
}

result client::health() {
  return call(wire::opcode::health, {}, {}, true);
}

result client::auth(std::string_view key) {
  if (const char* why = unsendable(wire::opcode::auth, key, {}))
    return {status::invalid_request, why};
  // A fresh connection authenticated with the new key (the stored one may be wrong).
  std::string previous = std::exchange(opts_.auth_key, std::string(key));
  close();
  result r = ensure_connected(clock_type::now() + opts_.connect_timeout + opts_.io_timeout);
  if (!r.ok()) opts_.auth_key = std::move(previous);
  return r;
}

std::vector<result> client::execute(const batch& b) {
  std::vector<result> out;
  out.reserve(b.size());
  if (b.empty()) return out;
  for (const auto& o : b.ops_) {
    if (const char* why = unsendable(o.code, o.key, o.value)) {
      out.assign(b.size(), result{status::invalid_request, std::string("batch refused: ") + why});
      return out;
    }
  }
  auto deadline = clock_type::now() + opts_.connect_timeout + opts_.io_timeout;
  result conn = ensure_connected(deadline);
  if (!conn.ok()) {
    out.assign(b.size(), conn);
    return out;
  }
  out_.clear();
  std::vector<wire::opcode> ops;
  ops.reserve(b.size());
  for (const auto& o : b.ops_) {
    append_frame(out_, o.code, o.key, o.value);
    ops.push_back(o.code);
  }
  exchange(out_, ops.size(), ops.data(), deadline, out);
  return out;
}

} // namespace minivault::client
