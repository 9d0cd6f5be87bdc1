#pragma once
// The two reply encoders of the I/O threads: binary frames (protocol/README.md §1) and the
// front protocol through its codec (HTTP/JSON, http/). Both are stateless and const.
#include "actors/io/reply_queue.hpp"
#include "protocol/front_codec.hpp"

namespace minivault {

/// Binary protocol replies: `[status][len:u32][payload]`; an error's payload is its text.
class binary_encoder final : public reply_encoder {
public:
  void value(std::string& out, const reply_shape& s, std::string_view stored) const override;
  void done(std::string& out, const reply_shape& s) const override;
  void error(std::string& out, const reply_shape& s, errc e,
             std::string_view detail = {}) const override;
  void document(std::string& out, const reply_shape& s, std::string_view body) const override;
};

/// Front protocol replies, rendered by `codec` (which must outlive the encoder; null on a
/// node without the front protocol, which then has no front connection to encode for).
class front_encoder final : public reply_encoder {
public:
  explicit front_encoder(const front_codec* codec) : codec_(codec) {}
  void value(std::string& out, const reply_shape& s, std::string_view stored) const override;
  void done(std::string& out, const reply_shape& s) const override;
  void error(std::string& out, const reply_shape& s, errc e,
             std::string_view detail = {}) const override;
  void document(std::string& out, const reply_shape& s, std::string_view body) const override;

private:
  const front_codec* codec_;
};

/// The front request kind a reply shape stands for (what the codec needs: HEAD, close,
/// and the kind for a document's content type).
[[nodiscard]] front_request front_shape(const reply_shape& s);
/// The op a front request counts as in metrics.
[[nodiscard]] op_kind op_of(front_request::kind k) noexcept;

} // namespace minivault
