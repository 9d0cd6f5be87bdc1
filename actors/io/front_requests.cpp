// The request pipeline, front side (HTTP/JSON through a front_codec, protocol/README.md §3):
// parsed front_requests to client_requests. The codec judged auth and validity at parse
// time; "100 Continue" and refusals that need the whole request (405's Allow header, a
// status of its own) are rendered here; the rest is the shared pipeline.
#include "actors/io/request_pipeline.hpp"

namespace minivault {

namespace {

using fkind = front_request::kind;

/// The pipeline's view of a parsed front request (`refusal_reply` is filled by the caller).
client_request to_client_request(const front_request& req) {
  const fkind counted = req.k == fkind::refused ? req.intended : req.k;
  client_request r;
  r.shape.op = op_of(counted);
  r.shape.head = req.head;
  r.shape.close = req.close;
  r.key = req.key;
  r.value = req.value;
  r.quorum = req.quorum;
  r.level = req.level;
  r.authorized = !req.needs_auth || req.credential_ok;
  r.metered = req.k == fkind::get || req.k == fkind::put || req.k == fkind::del;
  r.refusal = req.k == fkind::refused ? req.refusal : errc::ok;
  return r;
}

} // namespace

std::size_t request_pipeline::consume_front(connection& c, const char* data, std::size_t len) {
  const front_codec& codec = *ctx_.front;
  std::size_t pos = 0;
  c.need = 0;
  while (pos < len && !c.closing && !c.dead) {
    if (!ready_to_parse(c)) break;
    front_parse p = codec.parse(data + pos, len - pos, *ctx_.options);
    if (p.st == front_parse::state::need_more) {
      c.need = p.frame_bytes;
      if (p.expect_continue && !c.continue_sent) offer_continue(c);
      break;
    }
    if (p.st == front_parse::state::fatal) protocol_errors_.fetch_add(1, std::memory_order_relaxed);
    client_request r = to_client_request(p.req);
    if (r.refusal != errc::ok && r.authorized)
      codec.append_error(r.refusal_reply, p.req, r.refusal, p.req.detail);
    if (p.st == front_parse::state::fatal) {
      r.shape.close = true; // unusable input: nothing after it can be parsed
      handle(c, r);
      return len;
    }
    pos += p.consumed;
    c.continue_sent = c.continue_wanted = false;
    c.request_seen_ms = 0; // the request deadline starts again with the next one
    requests_.fetch_add(1, std::memory_order_relaxed);
    handle(c, r);
  }
  return pos;
}

void request_pipeline::offer_continue(connection& c) {
  // A client that waits for "100 Continue" gets it once, and only when nothing is
  // queued ahead of it (an interim reply must not overtake earlier replies).
  if (c.replies.nothing_waiting()) {
    c.replies.out().append(ctx_.front->interim_continue());
    c.continue_sent = true;
    loop_.mark_dirty(c);
  } else {
    c.continue_wanted = true; // drain() sends it once the replies ahead are out
  }
}

} // namespace minivault
