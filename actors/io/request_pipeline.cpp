// The request pipeline's shared part (request_pipeline.hpp): admission, reads with
// read-your-writes, writes into the batch, batches in flight and their completions.
#include "actors/io/request_pipeline.hpp"

#include <algorithm>
#include <chrono>

#include "protocol/assert.hpp"
#include "protocol/limits.hpp"
#include "storage/table.hpp"

namespace minivault {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {

/// The level of request `r`: its own, else its connection's, else the node's `fallback`.
consistency level_of(const connection& c, const client_request& r, consistency fallback) {
  return r.level ? *r.level : c.level ? *c.level : fallback;
}

} // namespace

request_pipeline::request_pipeline(std::uint32_t index, server_context& ctx,
                                   connection_events& loop, front_metrics& binary,
                                   front_metrics& http)
    : index_(index), ctx_(ctx), loop_(loop), front_encoder_(ctx.front), binary_metrics_(binary),
      http_metrics_(http), tokens_(ctx.tokens) {
  if (ctx.replication) {
    in_flight_max_ = cluster_batches_in_flight_max;
    eager_ops_ = cluster_batch_eager_ops;
    eager_bytes_ = cluster_batch_eager_bytes;
  }
}

const reply_encoder& request_pipeline::encoder(const connection& c) const noexcept {
  if (c.front) return front_encoder_;
  return binary_encoder_;
}

front_tally& request_pipeline::tally(const connection& c) noexcept {
  return c.front ? http_tally_ : binary_tally_;
}

front_metrics& request_pipeline::metrics(const connection& c) noexcept {
  return c.front ? http_metrics_ : binary_metrics_;
}

void request_pipeline::end_round(std::uint64_t round_us) noexcept {
  binary_tally_.publish(binary_metrics_, round_us);
  http_tally_.publish(http_metrics_, round_us);
}

// -- input ------------------------------------------------------------------------------

void request_pipeline::process_input(connection& c, const char* data, std::size_t len) {
  // Requests are parsed straight from the receive buffer; only an incomplete tail (or
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

void request_pipeline::parse_buffered(connection& c) {
  // Until the request at the front is complete there is nothing to parse: skipping keeps
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

std::size_t request_pipeline::consume(connection& c, const char* data, std::size_t len) {
  return c.front ? consume_front(c, data, len) : consume_binary(c, data, len);
}

bool request_pipeline::must_pause(const connection& c) const {
  return c.replies.full() || remote_reads_ >= thread_remote_reads_max ||
         (batch_.ops.size() >= batch_bytes_max && !can_send_batch());
}

bool request_pipeline::ready_to_parse(connection& c) {
  if (batch_.ops.size() >= batch_bytes_max) send_batch(false);
  if (!must_pause(c)) return true;
  loop_.pause(c);
  return false;
}

// -- handling ---------------------------------------------------------------------------

void request_pipeline::handle(connection& c, const client_request& r) {
  front_tally& t = tally(c);
  const op_kind op = r.shape.op;
  if (!r.authorized) {
    t.count(op, op_result::unauthorized);
    ++t.auth_failures;
    if (!c.front) protocol_errors_.fetch_add(1, std::memory_order_relaxed);
    reply_shape closing = r.shape;
    closing.close = true; // each wrong guess costs a new TCP handshake
    reply_error(c, closing, errc::unauthorized);
    close_after_replies(c);
    return;
  }
  // A request is read whole before it is judged, so a throttled or refused one is
  // answered in place and the stream stays in step.
  if (r.metered && !admit(c)) {
    t.count(op, op_result::rate_limited);
    ++t.rate_limited;
    reply_error(c, r.shape, errc::rate_limited);
  } else if (r.refusal != errc::ok) {
    t.count(op, op_result::bad_request);
    if (r.refusal_reply.empty())
      reply_error(c, r.shape, r.refusal);
    else
      reply(c, std::string(r.refusal_reply));
  } else if (op == op_kind::get) {
    read(c, r);
  } else if (op == op_kind::set || op == op_kind::del) {
    write(c, r);
  } else {
    document(c, r);
  }
  if (r.shape.close) close_after_replies(c);
}

bool request_pipeline::admit(const connection& c) noexcept {
  // The client address's bucket first (-ratelimit-per-ip), then the node's (-ratelimit).
  if (c.ip_bucket && !ctx_.ip_limits->try_acquire(*c.ip_bucket, round_start_us_)) return false;
  return tokens_.try_acquire();
}

bool request_pipeline::served_remotely(std::string_view key, bool quorum) const {
  const placement* pl = ctx_.place;
  if (pl == nullptr) return false; // a single node: every read is local
  if (quorum) return true;
  return !pl->everyone_holds_everything() &&
         !pl->holds(self_member, storage::partition_of(storage::table::hash_key(key)));
}

op_result request_pipeline::append_stored(std::string& out, const reply_encoder& enc,
                                          const reply_shape& s, std::string_view key) {
  auto render = [&](std::string_view v) { enc.value(out, s, v); };
  switch (ctx_.engine->get(key, storage::value_sink(render))) {
  case storage::get_status::found:
    return op_result::ok;
  case storage::get_status::not_found:
    enc.error(out, s, errc::not_found);
    return op_result::not_found;
  case storage::get_status::error:
    break;
  }
  enc.error(out, s, errc::io_error);
  return op_result::error;
}

void request_pipeline::read(connection& c, const client_request& r) {
  const reply_encoder& enc = encoder(c);
  reply_slot s;
  s.shape = r.shape;
  packed_op op;
  if (!c.replies.nothing_waiting() && find_pending(c, r.key, op, s.ticket)) {
    // Behind this connection's own pending write of the key: that write is the answer,
    // released once it is durable (or answered with its failure).
    s.k = reply_slot::kind::read_own_write;
    if (op.del)
      enc.error(s.data, s.shape, errc::not_found); // a pending delete
    else
      enc.value(s.data, s.shape, op.value);
    tally(c).count(op_kind::get, op.del ? op_result::not_found : op_result::ok);
    queue(c, std::move(s));
    return;
  }
  if (served_remotely(r.key, r.quorum)) {
    queue_remote_read(c, r); // counted when answered
    return;
  }
  if (c.replies.nothing_waiting()) {
    tally(c).count(op_kind::get, append_stored(c.replies.out(), enc, s.shape, r.key));
    loop_.mark_dirty(c);
    return;
  }
  // Behind pending writes of other keys: answered as of this point, released in order.
  s.k = reply_slot::kind::ready;
  tally(c).count(op_kind::get, append_stored(s.data, enc, s.shape, r.key));
  queue(c, std::move(s));
}

void request_pipeline::queue_remote_read(connection& c, const client_request& r) {
  reply_slot s;
  s.k = reply_slot::kind::remote_read;
  s.shape = r.shape;
  s.ticket = next_ticket_;
  s.read_index = batch_reads_++;
  s.start_us = round_start_us_;
  pack_read(batch_, r.key, r.quorum, level_of(c, r, ctx_.options->read_consistency));
  ++remote_reads_;
  queue(c, std::move(s));
}

void request_pipeline::write(connection& c, const client_request& r) {
  const bool del = r.shape.op == op_kind::del;
  c.replies.add_pending(pending_write{next_ticket_, std::hash<std::string_view>{}(r.key),
                                      static_cast<std::uint32_t>(batch_.ops.size())});
  pack_write(batch_, del, r.key, del ? std::string_view{} : r.value,
             level_of(c, r, ctx_.options->write_consistency));
  reply_slot ack;
  ack.k = reply_slot::kind::write_ack;
  ack.shape = r.shape;
  ack.start_us = round_start_us_;
  ack.ticket = next_ticket_;
  queue(c, std::move(ack));
}

void request_pipeline::document(connection& c, const client_request& r) {
  const bool health = r.shape.op == op_kind::health;
  std::string out;
  encoder(c).document(out, r.shape,
                      health              ? ctx_.health_json()
                      : ctx_.metrics_text ? ctx_.metrics_text()
                                          : std::string());
  tally(c).count(r.shape.op, op_result::ok);
  reply(c, std::move(out));
}

// -- replies ----------------------------------------------------------------------------

void request_pipeline::reply(connection& c, std::string&& bytes) {
  const bool direct = c.replies.nothing_waiting();
  c.replies.reply(std::move(bytes));
  if (direct) loop_.mark_dirty(c); // else it queued behind replies that wait
}

void request_pipeline::reply_error(connection& c, const reply_shape& s, errc e,
                                   std::string_view detail) {
  std::string out;
  encoder(c).error(out, s, e, detail);
  reply(c, std::move(out));
}

void request_pipeline::queue(connection& c, reply_slot&& s) {
  c.replies.push(std::move(s));
  if (!c.listed_waiting) {
    c.listed_waiting = true;
    waiting_.push_back(&c);
  }
}

void request_pipeline::close_after_replies(connection& c) {
  c.closing = true;
  c.in.clear();
  loop_.stop_reading(c);
  loop_.mark_dirty(c);
}

void request_pipeline::refuse(connection& c, std::string_view why) {
  // The reply goes out before the client's request is read: HTTP 403, or a binary
  // error frame.
  if (c.front) {
    front_request req;
    req.k = front_request::kind::refused;
    req.status = 403;
    req.close = true;
    std::string out;
    ctx_.front->append_error(out, req, errc::unauthorized, why);
    reply(c, std::move(out));
  } else {
    protocol_errors_.fetch_add(1, std::memory_order_relaxed);
    reply_error(c, reply_shape{}, errc::unauthorized, why);
  }
  close_after_replies(c);
}

void request_pipeline::forget(connection& c) {
  remote_reads_ -= c.replies.drop_remote_reads(); // its slots are never drained
  if (c.listed_waiting)
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), &c), waiting_.end());
  c.listed_waiting = false;
}

// -- batches ----------------------------------------------------------------------------

bool request_pipeline::can_send_batch() const noexcept {
  return in_flight_ == 0 || (in_flight_ < in_flight_max_ &&
                             in_flight_bytes_ + batch_.ops.size() <= batch_in_flight_bytes_max);
}

void request_pipeline::send_batch_if_eager() {
  if (batch_.count >= eager_ops_ || batch_.ops.size() >= eager_bytes_) send_batch(false);
}

void request_pipeline::send_batch(bool round_over) {
  if (batch_.count == 0 || !can_send_batch()) return;
  batch_.origin = index_;
  batch_.ticket = next_ticket_++;
  in_flight_bytes_ += batch_.ops.size();
  retained_.push_back(retained_batch{batch_.ticket, batch_.ops});
  ++in_flight_;
  batch_reads_ = 0;
  client_batch b = std::move(batch_);
  batch_ = client_batch{};
  if (ctx_.replication) {
    caf::anon_send(ctx_.replication, std::move(b)); // a cluster: quorum writes
  } else if (ctx_.writer) {
    // One node: at the end of a round, commit it here when the writer role is free, and
    // answer at once.
    if (ctx_.writer->submit({b.origin, b.ticket, b.count, std::move(b.ops), false, false},
                            round_over))
      on_completions(false);
  } else {
    caf::anon_send(ctx_.storage, std::move(b));
  }
}

const std::string* request_pipeline::batch_ops(std::uint64_t ticket) const {
  if (ticket == next_ticket_) return &batch_.ops;
  for (const auto& r : retained_)
    if (r.ticket == ticket) return &r.ops;
  return nullptr;
}

bool request_pipeline::find_pending(const connection& c, std::string_view key, packed_op& op,
                                    std::uint64_t& ticket) const {
  const auto& pending = c.replies.pending();
  std::uint64_t h = std::hash<std::string_view>{}(key);
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
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

void request_pipeline::on_completions(bool woken) {
  completions_.clear();
  ctx_.board->take(index_, completions_, woken);
  for (completion& done : completions_) {
    KV_ASSERT(in_flight_ > 0 && done.ticket > completed_ticket_);
    --in_flight_;
    completed_ticket_ = done.ticket;
    // Failed batches (rare) mark every reply that depends on them; read results go only
    // to connections with remote reads waiting (at most conn_remote_reads_max each).
    if (done.result != errc::ok)
      for (connection* c : waiting_)
        c->replies.fail(done.ticket, done.result, done.detail);
    else if (!done.reads.empty())
      for (connection* c : waiting_)
        c->replies.deliver_reads(done.ticket, done.reads);
    while (!retained_.empty() && retained_.front().ticket <= done.ticket) {
      in_flight_bytes_ -= retained_.front().ops.size();
      retained_.pop_front();
    }
  }
  for (std::size_t i = 0; i < waiting_.size(); ++i)
    drain(*waiting_[i]);
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                [](connection* c) {
                                  if (!c->replies.nothing_waiting()) return false;
                                  c->listed_waiting = false;
                                  return true;
                                }),
                 waiting_.end());
  send_batch(false);
}

void request_pipeline::drain(connection& c) {
  const std::size_t remote_before = c.replies.remote_reads();
  bool wrote = c.replies.drain(completed_ticket_, encoder(c), metrics(c), now_us());
  remote_reads_ -= remote_before - c.replies.remote_reads();
  if (c.continue_wanted && c.replies.nothing_waiting()) {
    c.replies.out().append(ctx_.front->interim_continue()); // its turn has come
    c.continue_wanted = false;
    c.continue_sent = true;
    wrote = true;
  }
  // A half-closed connection is flushed (and so closed) once nothing waits any more;
  // re-marking it while a write is still pending would spin the loop forever.
  if (wrote || (c.peer_closed && c.replies.nothing_waiting())) loop_.mark_dirty(c);
}

} // namespace minivault
