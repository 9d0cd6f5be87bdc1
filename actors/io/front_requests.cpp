// I/O thread, front-protocol side (HTTP/JSON through a front_codec): the same order of
// checks as the binary protocol (auth, then the rate limit), the same reply ordering,
// pending-write reads and write batches; only the bytes differ, and the codec owns them.
#include "actors/io/io_thread.hpp"

#include "protocol/limits.hpp"

namespace minivault {

namespace {

using fkind = front_request::kind;

op_kind op_of(fkind k) noexcept {
  switch (k) {
  case fkind::put:
    return op_kind::set;
  case fkind::del:
    return op_kind::del;
  case fkind::health:
    return op_kind::health;
  case fkind::metrics:
    return op_kind::metrics;
  case fkind::get:
  case fkind::refused:
    break;
  }
  return op_kind::get;
}

} // namespace

void io_thread::tally_front(fkind k, op_result r) noexcept {
  http_tally_.count(op_of(k), r);
}

std::size_t io_thread::consume_front(connection& c, const char* data, std::size_t len) {
  const front_codec& codec = *ctx_.front;
  std::size_t pos = 0;
  c.need = 0;
  while (pos < len && !c.closing && !c.dead) {
    if (!ready_to_parse(c)) break;
    front_parse r = codec.parse(data + pos, len - pos, *ctx_.options);
    if (r.st == front_parse::state::need_more) {
      c.need = r.frame_bytes;
      // A client that waits for "100 Continue" gets it once, and only when nothing is
      // queued ahead of it (an interim reply must not overtake earlier replies).
      if (r.expect_continue && !c.continue_sent) {
        if (c.waiting.empty()) {
          c.out.append(codec.interim_continue());
          c.continue_sent = true;
          mark_dirty(c);
        } else {
          c.continue_wanted = true; // drain() sends it once the replies ahead are out
        }
      }
      break;
    }
    if (r.st == front_parse::state::fatal) {
      protocol_errors_.fetch_add(1, std::memory_order_relaxed);
      if (r.req.needs_auth && !r.req.credential_ok) {
        handle_front(c, r.req); // a 401 (refused before its body was read)
      } else {
        tally_front(r.req.intended, op_result::bad_request);
        front_error(c, r.req, r.req.refusal, r.req.detail);
      }
      close_after_replies(c);
      return len;
    }
    pos += r.consumed;
    c.continue_sent = c.continue_wanted = false;
    c.request_seen_ms = 0; // the request deadline starts again with the next one
    requests_.fetch_add(1, std::memory_order_relaxed);
    handle_front(c, r.req);
  }
  return pos;
}

void io_thread::handle_front(connection& c, const front_request& req) {
  const fkind counted = req.k == fkind::refused ? req.intended : req.k;
  if (req.needs_auth && !req.credential_ok) {
    tally_front(counted, op_result::unauthorized);
    ++http_tally_.auth_failures;
    front_request closing = req;
    closing.close = true;     // each wrong guess costs a new TCP handshake
    closing.k = req.intended; // a 401, whatever else was wrong with the request
    closing.status = 0;
    front_error(c, closing, errc::unauthorized);
    close_after_replies(c);
    return;
  }
  const bool data_op = req.k == fkind::get || req.k == fkind::put || req.k == fkind::del;
  if (req.k == fkind::refused) {
    tally_front(counted, op_result::bad_request);
    front_error(c, req, req.refusal, req.detail);
  } else if (data_op && !admit(c)) {
    tally_front(req.k, op_result::rate_limited);
    ++http_tally_.rate_limited;
    front_error(c, req, errc::rate_limited);
  } else {
    switch (req.k) {
    case fkind::get:
      front_get(c, req);
      break;
    case fkind::put:
    case fkind::del:
      front_write(c, req);
      break;
    case fkind::health:
    case fkind::metrics: {
      std::string out;
      ctx_.front->append_document(out, req,
                                  req.k == fkind::health ? ctx_.health_json()
                                  : ctx_.metrics_text    ? ctx_.metrics_text()
                                                         : std::string());
      tally_front(req.k, op_result::ok);
      front_reply(c, std::move(out));
      break;
    }
    case fkind::refused:
      break;
    }
  }
  if (req.close) close_after_replies(c);
}

void io_thread::front_get(connection& c, const front_request& req) {
  const front_codec& codec = *ctx_.front;
  reply_slot s;
  s.head = req.head;
  s.close = req.close;
  const bool remote = served_remotely(req.key, req.quorum);
  std::string& out = c.waiting.empty() && !remote ? c.out : s.data;
  packed_op op;
  if (!c.waiting.empty() && find_pending(c, req.key, op, s.ticket)) {
    // Behind this connection's own pending write of the key: answer from it, released
    // once that write is durable (or answered with its failure).
    s.k = reply_slot::kind::read_own_write;
    if (op.del)
      codec.append_error(out, req, errc::not_found);
    else
      codec.append_value(out, req, op.value);
    tally_front(req.k, op.del ? op_result::not_found : op_result::ok);
    queue(c, std::move(s));
    return;
  }
  if (remote) {
    queue_remote_read(c, req.key, req.quorum, req.head, req.close); // counted when answered
    return;
  }
  auto render = [&](std::string_view v) { codec.append_value(out, req, v); };
  op_result r = op_result::ok;
  switch (ctx_.engine->get(req.key, storage::value_sink(render))) {
  case storage::get_status::found:
    break;
  case storage::get_status::not_found:
    codec.append_error(out, req, errc::not_found);
    r = op_result::not_found;
    break;
  case storage::get_status::error:
    codec.append_error(out, req, errc::io_error);
    r = op_result::error;
    break;
  }
  tally_front(req.k, r);
  if (&out == &c.out) {
    mark_dirty(c);
  } else {
    s.k = reply_slot::kind::ready;
    queue(c, std::move(s));
  }
}

void io_thread::front_write(connection& c, const front_request& req) {
  const bool del = req.k == fkind::del;
  c.pending_writes.push_back(pending_write{next_ticket_, std::hash<std::string_view>{}(req.key),
                                           static_cast<std::uint32_t>(batch_.ops.size())});
  pack_write(batch_, del, req.key, del ? std::string_view{} : req.value);
  reply_slot ack;
  ack.k = reply_slot::kind::write_ack;
  ack.del = del;
  ack.head = req.head;
  ack.close = req.close;
  ack.start_us = round_start_us_;
  ack.ticket = next_ticket_;
  queue(c, std::move(ack));
}

void io_thread::front_reply(connection& c, std::string&& bytes) {
  if (c.waiting.empty()) {
    c.out.append(bytes);
    mark_dirty(c);
    return;
  }
  reply_slot s;
  s.data = std::move(bytes);
  queue(c, std::move(s));
}

void io_thread::front_error(connection& c, const front_request& req, errc e,
                            std::string_view detail) {
  std::string out;
  ctx_.front->append_error(out, req, e, detail);
  front_reply(c, std::move(out));
}

void io_thread::close_after_replies(connection& c) {
  c.closing = true;
  c.in.clear();
  set_interest(c, false, c.want_write);
  mark_dirty(c);
}

} // namespace minivault
