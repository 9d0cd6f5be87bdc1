// The per-connection reply queue (reply_queue.hpp): ordering, completion, bounds.
#include "actors/io/reply_queue.hpp"

#include <algorithm>
#include <utility>

#include "protocol/assert.hpp"

namespace minivault {

void reply_queue::reply(std::string&& bytes) {
  if (waiting_.empty()) {
    out_.append(bytes);
    return;
  }
  reply_slot s;
  s.data = std::move(bytes);
  push(std::move(s));
}

void reply_queue::push(reply_slot&& s) {
  waiting_bytes_ += s.data.size();
  if (s.k == reply_slot::kind::remote_read) ++remote_reads_;
  waiting_.push_back(std::move(s));
}

void reply_queue::fail(std::uint64_t ticket, errc e, std::string_view detail) {
  for (reply_slot& s : waiting_) {
    if (s.k == reply_slot::kind::ready || s.ticket != ticket) continue;
    if (s.k == reply_slot::kind::remote_read)
      s.read_status = e; // answered (and counted) as a failed read
    else
      s.result = e;
    s.detail = detail;
  }
}

void reply_queue::deliver_reads(std::uint64_t ticket, std::vector<read_result>& reads) {
  if (remote_reads_ == 0) return;
  for (reply_slot& s : waiting_) {
    if (s.k != reply_slot::kind::remote_read || s.ticket != ticket) continue;
    KV_ASSERT(s.read_index < reads.size());
    read_result& r = reads[s.read_index];
    s.read_status = r.status;
    s.data = std::move(r.value);
    s.detail = std::move(r.detail);
    waiting_bytes_ += s.data.size();
  }
}

bool reply_queue::drain(std::uint64_t completed_ticket, const reply_encoder& enc, front_metrics& m,
                        std::int64_t now_us) {
  bool wrote = false;
  while (!waiting_.empty() && out_.size() - out_pos_ < limits_.out_bytes_soft_max) {
    reply_slot& s = waiting_.front();
    if (s.k != reply_slot::kind::ready && s.ticket > completed_ticket) break;
    append_answer(s, enc, m, now_us);
    waiting_bytes_ -= s.data.size();
    waiting_.pop_front();
    wrote = true;
  }
  while (!pending_.empty() && pending_.front().ticket <= completed_ticket)
    pending_.pop_front(); // now in the table
  return wrote;
}

void reply_queue::append_answer(reply_slot& s, const reply_encoder& enc, front_metrics& m,
                                std::int64_t now_us) {
  const auto latency_us =
      static_cast<std::uint64_t>(std::max<std::int64_t>(now_us - s.start_us, 0));
  switch (s.k) {
  case reply_slot::kind::write_ack:
    m.count(s.shape.op, s.result == errc::ok ? op_result::ok : op_result::error);
    m.observe(s.shape.op, latency_us);
    if (s.result == errc::ok)
      enc.done(out_, s.shape);
    else
      enc.error(out_, s.shape, s.result, s.detail); // its batch failed
    return;
  case reply_slot::kind::remote_read: {
    --remote_reads_;
    const errc st = s.read_status;
    m.count(op_kind::get, st == errc::ok          ? op_result::ok
                          : st == errc::not_found ? op_result::not_found
                                                  : op_result::error);
    m.observe(op_kind::get, latency_us);
    if (st == errc::ok)
      enc.value(out_, s.shape, s.data);
    else
      enc.error(out_, s.shape, st, s.detail);
    return;
  }
  case reply_slot::kind::read_own_write:
  case reply_slot::kind::ready:
    if (s.result != errc::ok)
      enc.error(out_, s.shape, s.result, s.detail); // it read a write whose batch failed
    else
      out_.append(s.data);
    return;
  }
}

void reply_queue::reset_sent() {
  out_.clear();
  out_pos_ = 0;
  if (out_.capacity() > (4u << 20)) std::string().swap(out_);
}

bool reply_queue::full() const noexcept {
  return waiting_.size() >= limits_.replies_max || remote_reads_ >= limits_.remote_reads_max ||
         waiting_bytes_ + (out_.size() - out_pos_) >= limits_.out_bytes_soft_max;
}

std::size_t reply_queue::drop_remote_reads() noexcept {
  return std::exchange(remote_reads_, 0);
}

} // namespace minivault
