// The load generator's codecs: RESP bytes exactly as Redis expects them, every reply
// kind, partial input, and malformed input; the minivault codec maps not-found to miss.
#include "bench/load/codec.hpp"

#include <gtest/gtest.h>

#include "protocol/wire.hpp"

namespace minivault::bench {
namespace {

using st = decoded_reply::state;

TEST(RespCodec, EncodesCommandsAsBulkStringArrays) {
  std::string out;
  encode_set(wire_protocol::resp, out, "key:1", std::string("v\r\n\0", 4));
  const char want[] = "*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$4\r\nv\r\n\0\r\n";
  EXPECT_EQ(out, std::string(want, sizeof(want) - 1));
  out.clear();
  encode_get(wire_protocol::resp, out, "k");
  EXPECT_EQ(out, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  out.clear();
  encode_auth(wire_protocol::resp, out, "pw");
  EXPECT_EQ(out, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n");
}

decoded_reply resp(std::string_view s, std::size_t max = 1 << 20) {
  return decode_reply(wire_protocol::resp, s.data(), s.size(), max);
}

TEST(RespCodec, DecodesEveryReplyKind) {
  auto ok = resp("+OK\r\nrest");
  EXPECT_EQ(ok.st, st::complete);
  EXPECT_EQ(ok.consumed, 5u);
  EXPECT_EQ(ok.kind, reply_kind::ok);
  auto err = resp("-ERR wrong\r\n");
  EXPECT_EQ(err.kind, reply_kind::error);
  EXPECT_EQ(err.payload, "ERR wrong");
  auto nil = resp("$-1\r\n");
  EXPECT_EQ(nil.kind, reply_kind::miss);
  EXPECT_EQ(nil.consumed, 5u);
  auto bulk = resp(std::string_view("$5\r\na\r\nbc\r\n+OK\r\n"));
  EXPECT_EQ(bulk.st, st::complete);
  EXPECT_EQ(bulk.payload, "a\r\nbc");
  EXPECT_EQ(bulk.consumed, 11u);
  EXPECT_EQ(resp(":42\r\n").kind, reply_kind::ok);
}

TEST(RespCodec, PartialRepliesNeedMoreAndGarbageIsInvalid) {
  const std::string full = "$5\r\nhello\r\n";
  for (std::size_t n = 0; n < full.size(); ++n)
    EXPECT_EQ(resp(full.substr(0, n)).st, st::need_more) << n;
  EXPECT_EQ(resp("?what\r\n").st, st::invalid);
  EXPECT_EQ(resp("$x1\r\n").st, st::invalid);
  EXPECT_EQ(resp("$99\r\n", 10).st, st::invalid) << "over the payload limit";
  EXPECT_EQ(resp("+OK\rX").st, st::invalid);
  EXPECT_EQ(resp("$" + std::string(100, '9')).st, st::invalid) << "endless length line";
  EXPECT_EQ(resp("+" + std::string(70000, 'x')).st, st::invalid) << "endless status line";
  EXPECT_EQ(resp("$2\r\nabXY").st, st::invalid) << "bulk without its CRLF trailer";
}

TEST(MinivaultCodec, NotFoundIsAMissOtherErrorsAreErrors) {
  std::string r;
  wire::append_reply(r, wire::status_error, "not found");
  EXPECT_EQ(decode_reply(wire_protocol::minivault, r.data(), r.size(), 100).kind, reply_kind::miss);
  r.clear();
  wire::append_reply(r, wire::status_error, "overloaded");
  auto e = decode_reply(wire_protocol::minivault, r.data(), r.size(), 100);
  EXPECT_EQ(e.kind, reply_kind::error);
  EXPECT_EQ(e.payload, "overloaded");
  r.clear();
  wire::append_reply(r, wire::status_ok, "v");
  EXPECT_EQ(decode_reply(wire_protocol::minivault, r.data(), r.size() - 1, 100).st, st::need_more);
  std::string out;
  encode_set(wire_protocol::minivault, out, "k", "v");
  auto req = wire::parse_request(out.data(), out.size(), 100);
  EXPECT_EQ(req.state, wire::parse_state::complete);
  EXPECT_EQ(req.req.value, "v");
}

} // namespace
} // namespace minivault::bench
