// I/O thread, request side: framing, the handlers of each opcode, reply ordering and the
// completion of durable writes.
#include <sys/epoll.h>

#include <algorithm>

#include "actors/io/io_thread.hpp"
#include "actors/durability/storage_actor.hpp"
#include "storage/table.hpp"
#include "protocol/assert.hpp"
#include "protocol/compression.hpp"
#include "protocol/limits.hpp"
#include "protocol/security.hpp"

namespace minivault {

// -- framing ----------------------------------------------------------------------------

bool io_thread::must_pause(const connection& c) const {
  return c.waiting.size() >= conn_pending_replies_max || c.remote_reads >= conn_remote_reads_max ||
         remote_reads_ >= thread_remote_reads_max ||
         c.waiting_bytes + (c.out.size() - c.out_pos) >= conn_out_bytes_soft_max ||
         (batch_.ops.size() >= batch_bytes_max && !can_send_batch());
}

bool io_thread::ready_to_parse(connection& c) {
  if (batch_.ops.size() >= batch_bytes_max) send_batch();
  if (!must_pause(c)) return true;
  c.paused = true;
  paused_.push_back(&c);
  set_interest(c, false, c.want_write);
  return false;
}

void io_thread::process_input(connection& c, const char* data, std::size_t len) {
  // Frames are parsed straight from the receive buffer; only an incomplete tail (or
  // input left while paused) is copied into the connection's own buffer.
  if (!c.in.empty()) {
    c.in.append(data, len);
    parse_buffered(c);
    return;
  }
  std::size_t used = consume(c, data, len);
  if (used < len && !c.closing && !c.dead) {
    c.in.reserve(std::max(c.need, len - used));
    c.in.assign(data + used, len - used);
  }
}

void io_thread::parse_buffered(connection& c) {
  // Until the frame at the front is complete there is nothing to parse: skipping keeps
  // a large value arriving in many pieces linear, not quadratic.
  if (c.in.empty() || c.in.size() < c.need) return;
  std::string buf;
  buf.swap(c.in);
  std::size_t used = consume(c, buf.data(), buf.size());
  if (used < buf.size() && !c.closing && !c.dead) {
    buf.erase(0, used);
    c.in.swap(buf);
  }
}

void io_thread::prefetch_gets(const char* data, std::size_t len, std::size_t value_max) {
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

std::size_t io_thread::consume(connection& c, const char* data, std::size_t len) {
  if (c.front) return consume_front(c, data, len);
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
      tally_.count(first == static_cast<std::uint8_t>(wire::opcode::set)   ? op_kind::set
                   : first == static_cast<std::uint8_t>(wire::opcode::del) ? op_kind::del
                                                                           : op_kind::get,
                   op_result::bad_request);
      fail_and_close(c, r.error);
      return len;
    }
    pos += r.consumed;
    if (!handle(c, r.req)) return len;
  }
  return pos;
}

// -- handlers ---------------------------------------------------------------------------

bool io_thread::allowed(connection& c, wire::opcode op) {
  const node_options& o = *ctx_.options;
  if (o.auth == auth_mode::none || o.auth_key.empty() || c.authed) return true;
  switch (op) {
  case wire::opcode::health:
  case wire::opcode::auth:
    return true;
  case wire::opcode::get:
  case wire::opcode::qget:
    return o.auth != auth_mode::all;
  case wire::opcode::set:
  case wire::opcode::del:
    return false;
  }
  return false;
}

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
    break;
  }
  return op_kind::auth;
}

/// Ops that cost a rate-limit token: data ops only, so HEALTH and AUTH keep working on
/// a node at its limit.
bool costs_token(wire::opcode op) noexcept {
  return op == wire::opcode::get || op == wire::opcode::qget || op == wire::opcode::set ||
         op == wire::opcode::del;
}

} // namespace

bool io_thread::admit(const connection& c) noexcept {
  if (c.ip_bucket && !ctx_.ip_limits->try_acquire(*c.ip_bucket, round_start_us_)) return false;
  return tokens_.try_acquire();
}

void io_thread::tally(wire::opcode op, op_result r) noexcept {
  tally_.count(kind_of(op), r);
}

bool io_thread::handle(connection& c, const wire::request& req) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (!allowed(c, req.op)) {
    tally(req.op, op_result::unauthorized);
    ++tally_.auth_failures;
    fail_and_close(c, errc::unauthorized);
    return false;
  }
  // The frame was read whole, so a throttled request is answered in place and the
  // stream stays in step.
  if (costs_token(req.op) && !admit(c)) {
    tally(req.op, op_result::rate_limited);
    ++tally_.rate_limited;
    reply_error(c, errc::rate_limited);
    return true;
  }
  switch (req.op) {
  case wire::opcode::get:
  case wire::opcode::qget:
    if (req.key.empty()) {
      tally(req.op, op_result::bad_request);
      reply_error(c, errc::bad_request);
    } else {
      handle_get(c, req.key, req.op == wire::opcode::qget);
    }
    break;
  case wire::opcode::set:
  case wire::opcode::del:
    if (req.key.empty()) {
      tally(req.op, op_result::bad_request);
      reply_error(c, errc::bad_request);
    } else {
      handle_write(c, req);
    }
    break;
  case wire::opcode::health:
    tally(req.op, op_result::ok);
    reply(c, wire::status_ok, ctx_.health_json());
    break;
  case wire::opcode::auth:
    handle_auth(c, req.key);
    break;
  }
  return !c.closing;
}

op_result io_thread::append_get_reply(std::string& out, std::string_view key) {
  auto to_reply = [&out](std::string_view v) { wire::append_reply(out, wire::status_ok, v); };
  switch (ctx_.engine->get(key, storage::value_sink(to_reply))) {
  case storage::get_status::found:
    return op_result::ok;
  case storage::get_status::not_found:
    wire::append_error(out, errc::not_found);
    return op_result::not_found;
  case storage::get_status::error:
    break;
  }
  wire::append_error(out, errc::io_error);
  return op_result::error;
}

bool io_thread::served_remotely(std::string_view key, bool quorum) const {
  const placement* pl = ctx_.place;
  if (pl == nullptr) return false; // a single node: every read is local
  if (quorum) return true;
  return !pl->everyone_holds_everything() &&
         !pl->holds(0, storage::partition_of(storage::table::hash_key(key)));
}

void io_thread::queue_remote_read(connection& c, std::string_view key, bool quorum, bool head,
                                  bool close) {
  reply_slot s;
  s.k = reply_slot::kind::remote_read;
  s.ticket = next_ticket_;
  s.read_index = batch_reads_++;
  s.head = head;
  s.close = close;
  s.start_us = round_start_us_;
  pack_read(batch_, key, quorum);
  ++c.remote_reads;
  ++remote_reads_;
  queue(c, std::move(s));
}

void io_thread::handle_get(connection& c, std::string_view key, bool quorum) {
  if (served_remotely(key, quorum)) {
    packed_op op;
    std::uint64_t ticket = 0;
    if (!c.waiting.empty() && find_pending(c, key, op, ticket)) {
      // Behind this connection's own pending write of the key: that write is the answer.
      reply_slot s;
      s.k = reply_slot::kind::read_own_write;
      s.ticket = ticket;
      if (op.del)
        wire::append_error(s.data, errc::not_found);
      else
        wire::append_reply(s.data, wire::status_ok, op.value);
      tally(wire::opcode::get, op.del ? op_result::not_found : op_result::ok);
      queue(c, std::move(s));
      return;
    }
    queue_remote_read(c, key, quorum, false, false); // counted when answered
    return;
  }
  if (c.waiting.empty()) {
    tally(wire::opcode::get, append_get_reply(c.out, key));
    mark_dirty(c);
    return;
  }
  // Behind pending writes: answer as of this point of the stream, release in order.
  reply_slot s;
  packed_op op;
  if (find_pending(c, key, op, s.ticket)) {
    s.k = reply_slot::kind::read_own_write;
    if (op.del)
      wire::append_error(s.data, errc::not_found); // a pending delete
    else
      wire::append_reply(s.data, wire::status_ok, op.value);
    tally(wire::opcode::get, op.del ? op_result::not_found : op_result::ok);
  } else {
    s.k = reply_slot::kind::ready;
    tally(wire::opcode::get, append_get_reply(s.data, key));
  }
  queue(c, std::move(s));
}

void io_thread::queue(connection& c, reply_slot&& s) {
  c.waiting_bytes += s.data.size();
  c.waiting.push_back(std::move(s));
  if (!c.listed_waiting) {
    c.listed_waiting = true;
    waiting_.push_back(&c);
  }
}

const std::string* io_thread::batch_ops(std::uint64_t ticket) const {
  if (ticket == next_ticket_) return &batch_.ops;
  for (const auto& r : retained_)
    if (r.ticket == ticket) return &r.ops;
  return nullptr;
}

bool io_thread::find_pending(const connection& c, std::string_view key, packed_op& op,
                             std::uint64_t& ticket) const {
  std::uint64_t h = std::hash<std::string_view>{}(key);
  for (auto it = c.pending_writes.rbegin(); it != c.pending_writes.rend(); ++it) {
    if (it->key_hash != h) continue;
    const std::string* ops = batch_ops(it->ticket);
    std::size_t offset = it->offset;
    KV_ASSERT(ops != nullptr); // retained until its batch completes
    bool whole = decode_packed_op(*ops, offset, op);
    KV_ASSERT(whole);
    if (op.key != key) continue;
    ticket = it->ticket;
    return true;
  }
  return false;
}

void io_thread::handle_write(connection& c, const wire::request& req) {
  std::string_view value = req.value;
  bool del = req.op == wire::opcode::del;
  if (!del && req.compressed) {
    // The frame was read whole, so a bad value is answered and the stream stays in step.
    if (errc e = zstd_decompress_bounded(req.value, ctx_.options->value_bytes_max, plain_);
        e != errc::ok) {
      std::string().swap(plain_);
      tally(req.op, op_result::bad_request);
      reply_error(c, e);
      return;
    }
    value = plain_;
  }
  c.pending_writes.push_back(pending_write{next_ticket_, std::hash<std::string_view>{}(req.key),
                                           static_cast<std::uint32_t>(batch_.ops.size())});
  pack_write(batch_, del, req.key, del ? std::string_view{} : value);
  // A large decompression buffer is not kept around (a refused bomb would pin it too).
  if (plain_.capacity() > (1u << 20)) std::string().swap(plain_);
  reply_slot ack;
  ack.k = reply_slot::kind::write_ack;
  ack.del = del;
  ack.start_us = round_start_us_;
  ack.ticket = next_ticket_;
  queue(c, std::move(ack));
}

void io_thread::handle_auth(connection& c, std::string_view key) {
  const std::string& secret = ctx_.options->auth_key;
  if (secret.empty() || constant_time_equal(key, secret)) {
    c.authed = true;
    tally(wire::opcode::auth, op_result::ok);
    reply(c, wire::status_ok, {});
    return;
  }
  tally(wire::opcode::auth, op_result::unauthorized);
  ++tally_.auth_failures;
  // A wrong key ends the connection: each guess costs a new TCP handshake.
  fail_and_close(c, errc::unauthorized);
}

void io_thread::reply(connection& c, std::uint8_t status, std::string_view payload) {
  if (c.waiting.empty()) {
    wire::append_reply(c.out, status, payload);
    mark_dirty(c);
    return;
  }
  reply_slot s;
  wire::append_reply(s.data, status, payload);
  queue(c, std::move(s));
}

void io_thread::reply_error(connection& c, errc e) {
  reply(c, wire::status_error, to_string(e));
}

void io_thread::fail_and_close(connection& c, errc e) {
  protocol_errors_.fetch_add(1, std::memory_order_relaxed);
  reply_error(c, e);
  c.closing = true;
  c.in.clear();
  set_interest(c, false, c.want_write);
  mark_dirty(c);
}

// -- completions ------------------------------------------------------------------------

void io_thread::on_completions() {
  completions_.clear();
  ctx_.board->take(index_, completions_);
  for (completion& done : completions_) {
    KV_ASSERT(in_flight_ > 0 && done.ticket > completed_ticket_);
    --in_flight_;
    completed_ticket_ = done.ticket;
    // Failed batches (rare) mark every slot that depends on them; read results go only
    // to connections with remote reads waiting (at most conn_remote_reads_max each).
    if (done.result != errc::ok || !done.reads.empty())
      for (connection* c : waiting_) {
        if (done.result == errc::ok && c->remote_reads == 0) continue;
        for (reply_slot& s : c->waiting) {
          if (s.k == reply_slot::kind::ready || s.ticket != done.ticket) continue;
          if (done.result != errc::ok && s.k == reply_slot::kind::remote_read) {
            s.read_status = done.result; // answered (and counted) as a failed read
          } else if (done.result != errc::ok) {
            s.result = done.result;
          } else if (s.k == reply_slot::kind::remote_read) {
            KV_ASSERT(s.read_index < done.reads.size());
            read_result& r = done.reads[s.read_index];
            s.read_status = r.status;
            s.data = std::move(r.value);
            c->waiting_bytes += s.data.size();
          }
        }
      }
    while (!retained_.empty() && retained_.front().ticket <= done.ticket) {
      in_flight_bytes_ -= retained_.front().ops.size();
      retained_.pop_front();
    }
  }
  for (std::size_t i = 0; i < waiting_.size(); ++i)
    drain(*waiting_[i]);
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                [](connection* c) {
                                  if (!c->waiting.empty()) return false;
                                  c->listed_waiting = false;
                                  return true;
                                }),
                 waiting_.end());
  send_batch();
  if (!paused_.empty()) resume_paused();
}

void io_thread::drain(connection& c) {
  bool wrote = false;
  std::int64_t now = 0; // read once, only if a write completes here
  while (!c.waiting.empty() && c.out.size() - c.out_pos < conn_out_bytes_soft_max) {
    reply_slot& s = c.waiting.front();
    if (s.k != reply_slot::kind::ready && s.ticket > completed_ticket_) break;
    if (s.k == reply_slot::kind::write_ack) {
      if (now == 0) now = now_us();
      op_kind k = s.del ? op_kind::del : op_kind::set;
      front_metrics& m = c.front ? *http_metrics_ : *metrics_;
      m.count(k, s.result == errc::ok ? op_result::ok : op_result::error);
      m.observe(k, static_cast<std::uint64_t>(std::max<std::int64_t>(now - s.start_us, 0)));
    }
    if (s.k == reply_slot::kind::remote_read) {
      --c.remote_reads;
      --remote_reads_;
    }
    if (s.k == reply_slot::kind::remote_read && s.result == errc::ok) {
      append_remote_read(c, s);
    } else if (c.front && (s.result != errc::ok || s.k == reply_slot::kind::write_ack)) {
      front_request shape; // what the encoder needs of the request: HEAD, close
      shape.k = s.del ? front_request::kind::del : front_request::kind::put;
      shape.head = s.head;
      shape.close = s.close;
      if (s.result != errc::ok)
        ctx_.front->append_error(c.out, shape, s.result);
      else
        ctx_.front->append_done(c.out, shape);
    } else if (s.result != errc::ok) {
      wire::append_error(c.out, s.result); // its batch failed
    } else if (s.k == reply_slot::kind::write_ack) {
      wire::append_reply(c.out, wire::status_ok, {});
    } else {
      c.out.append(s.data);
    }
    c.waiting_bytes -= s.data.size();
    c.waiting.pop_front();
    wrote = true;
  }
  if (c.continue_wanted && c.waiting.empty()) {
    c.out.append(ctx_.front->interim_continue()); // its turn has come
    c.continue_wanted = false;
    c.continue_sent = true;
    wrote = true;
  }
  while (!c.pending_writes.empty() && c.pending_writes.front().ticket <= completed_ticket_)
    c.pending_writes.pop_front(); // now in the table
  // A half-closed connection is flushed (and so closed) once nothing waits any more;
  // re-marking it while a write is still pending would spin end_iteration() forever.
  if (wrote || (c.peer_closed && c.waiting.empty())) mark_dirty(c);
}

void io_thread::append_remote_read(connection& c, const reply_slot& s) {
  const errc st = s.read_status;
  front_metrics& m = c.front ? *http_metrics_ : *metrics_;
  m.count(op_kind::get, st == errc::ok          ? op_result::ok
                        : st == errc::not_found ? op_result::not_found
                                                : op_result::error);
  m.observe(op_kind::get, static_cast<std::uint64_t>(std::max<std::int64_t>(now_us() - s.start_us, 0)));
  if (c.front) {
    front_request shape; // what the encoder needs of the request: HEAD, close
    shape.k = front_request::kind::get;
    shape.head = s.head;
    shape.close = s.close;
    if (st == errc::ok)
      ctx_.front->append_value(c.out, shape, s.data);
    else
      ctx_.front->append_error(c.out, shape, st);
  } else if (st == errc::ok) {
    wire::append_reply(c.out, wire::status_ok, s.data);
  } else {
    wire::append_error(c.out, st);
  }
}

void io_thread::resume_paused() {
  if (draining_) return;
  std::vector<connection*> list = paused_; // resume() edits paused_
  for (connection* c : list)
    resume(*c);
}

bool io_thread::resume(connection& c) {
  // resume() owns membership of paused_: it takes `c` out before parsing, and a parse
  // that hits a limit again puts it back (consume() pushes it).
  if (c.dead || !c.paused) return true;
  if (draining_ || must_pause(c)) return false;
  c.paused = false;
  remove_from(paused_, c);
  c.last_input_ms = now_ms(); // the stall clock runs only while the node reads
  bool read = !c.closing && !c.peer_closed;
  set_interest(c, read, c.want_write);
  parse_buffered(c);
  return true;
}

void io_thread::remove_from(std::vector<connection*>& list, connection& c) {
  list.erase(std::remove(list.begin(), list.end(), &c), list.end());
}

} // namespace minivault
