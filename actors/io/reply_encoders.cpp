// Reply encoders (reply_encoders.hpp).
#include "actors/io/reply_encoders.hpp"

#include "protocol/enum_names.hpp"
#include "protocol/wire.hpp"

namespace minivault {

void binary_encoder::value(std::string& out, const reply_shape&, std::string_view stored) const {
  wire::append_reply(out, wire::status_ok, stored);
}

void binary_encoder::done(std::string& out, const reply_shape&) const {
  wire::append_reply(out, wire::status_ok, {});
}

void binary_encoder::error(std::string& out, const reply_shape&, errc e,
                           std::string_view detail) const {
  wire::append_reply(out, wire::status_error, detail.empty() ? to_string(e) : detail);
}

void binary_encoder::document(std::string& out, const reply_shape&, std::string_view body) const {
  wire::append_reply(out, wire::status_ok, body);
}

front_request front_shape(const reply_shape& s) {
  using fkind = front_request::kind;
  // Indexed by op_kind: get, set, del, health, auth (no HTTP form: a GET), metrics.
  static constexpr fkind kinds[] = {fkind::get,    fkind::put, fkind::del,
                                    fkind::health, fkind::get, fkind::metrics};
  front_request req;
  req.k = enum_name(s.op, kinds, fkind::get);
  req.head = s.head;
  req.close = s.close;
  return req;
}

op_kind op_of(front_request::kind k) noexcept {
  using fkind = front_request::kind;
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

void front_encoder::value(std::string& out, const reply_shape& s, std::string_view stored) const {
  codec_->append_value(out, front_shape(s), stored);
}

void front_encoder::done(std::string& out, const reply_shape& s) const {
  codec_->append_done(out, front_shape(s));
}

void front_encoder::error(std::string& out, const reply_shape& s, errc e,
                          std::string_view detail) const {
  codec_->append_error(out, front_shape(s), e, detail);
}

void front_encoder::document(std::string& out, const reply_shape& s, std::string_view body) const {
  codec_->append_document(out, front_shape(s), body);
}

} // namespace minivault
