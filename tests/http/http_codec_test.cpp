// The HTTP/1.1 codec: framing (need_more / complete / fatal, exact `consumed`), the
// request fields the I/O threads act on (kind, key, value, auth flags, HEAD, close,
// Expect) and the exact bytes of the replies.
#include "http/codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/json_text.hpp"
#include "protocol/limits.hpp"

namespace minivault::http {
namespace {

using kind = front_request::kind;
using state = front_parse::state;

front_parse parse(std::string_view in, const node_options& o = {}) {
  return codec{}.parse(in.data(), in.size(), o);
}

std::string put(std::string_view target, std::string_view body, std::string_view extra = {}) {
  return "PUT " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::string req(std::string_view method, std::string_view target, std::string_view extra = {}) {
  return std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" +
         std::string(extra) + "\r\n";
}

/// A reply split into its parts; checks the framing of the reply itself.
struct reply {
  std::string status_line;
  std::string headers; // every header line, each ending in CRLF
  std::string body;
};

reply split(const std::string& bytes) {
  reply r;
  std::size_t eol = bytes.find("\r\n");
  std::size_t end = bytes.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos) << bytes;
  if (end == std::string::npos) return r;
  r.status_line = bytes.substr(0, eol);
  r.headers = bytes.substr(eol + 2, end + 2 - (eol + 2));
  r.body = bytes.substr(end + 4);
  return r;
}

std::string error_reply(const front_request& q, errc e, std::string_view detail = {}) {
  std::string out;
  codec{}.append_error(out, q, e, detail);
  return out;
}

/// The reply the I/O thread sends for a refused request or a fatal parse.
std::string refusal_reply(const front_parse& r) {
  return error_reply(r.req, r.req.refusal, r.req.detail);
}

void expect_fatal(std::string_view in, int status, const node_options& o = {}) {
  front_parse r = parse(in, o);
  ASSERT_EQ(r.st, state::fatal) << in;
  EXPECT_EQ(r.req.k, kind::refused);
  EXPECT_EQ(r.req.status, status) << in;
  EXPECT_TRUE(r.req.close);
  reply rep = split(refusal_reply(r));
  EXPECT_EQ(rep.status_line.substr(0, 12), "HTTP/1.1 " + std::to_string(status)) << in;
  EXPECT_NE(rep.headers.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(is_json(rep.body)) << rep.body;
}

// -- framing ----------------------------------------------------------------------------

TEST(http_codec, every_prefix_of_a_bodyless_request_needs_more) {
  const std::string in = req("GET", "/k", "Accept: */*\r\n");
  for (std::size_t n = 0; n < in.size(); ++n) {
    front_parse r = parse(std::string_view(in).substr(0, n));
    ASSERT_EQ(r.st, state::need_more) << n;
    EXPECT_EQ(r.consumed, 0u);
    EXPECT_EQ(r.frame_bytes, 0u) << n; // the head is not known yet
    EXPECT_FALSE(r.expect_continue);
  }
  front_parse r = parse(in);
  ASSERT_EQ(r.st, state::complete);
  EXPECT_EQ(r.consumed, in.size());
  EXPECT_EQ(r.req.k, kind::get);
  EXPECT_EQ(r.req.key, "k");
}

TEST(http_codec, every_prefix_of_a_request_with_a_body_needs_more) {
  const std::string body = R"({"value":{"a":[1,2,3]}})";
  const std::string in = put("/k", body);
  const std::size_t head = in.size() - body.size();
  for (std::size_t n = 0; n < in.size(); ++n) {
    front_parse r = parse(std::string_view(in).substr(0, n));
    ASSERT_EQ(r.st, state::need_more) << n;
    EXPECT_EQ(r.consumed, 0u);
    // Once the head is whole, the size of the whole frame is known.
    EXPECT_EQ(r.frame_bytes, n < head ? 0u : in.size()) << n;
  }
  front_parse r = parse(in);
  ASSERT_EQ(r.st, state::complete);
  EXPECT_EQ(r.consumed, in.size());
  EXPECT_EQ(r.req.k, kind::put);
  EXPECT_EQ(r.req.value, R"({"a":[1,2,3]})");
}

TEST(http_codec, pipelined_requests_parse_one_at_a_time) {
  const std::vector<std::string> reqs = {
      put("/a", R"({"value":1})"),
      req("GET", "/a"),
      req("DELETE", "/a"),
      req("GET", "/a", "Content-Length: 5\r\n") + "hello", // a GET body is framed too
      put("/b", R"({"value":"x"})"),
      req("HEAD", "/health"),
  };
  std::string all;
  for (const auto& r : reqs)
    all += r;
  all += "GET /partial HTTP/1.1\r\n"; // an unfinished fifth request
  const std::vector<kind> kinds = {kind::put, kind::get, kind::del,
                                   kind::get, kind::put, kind::health};
  std::size_t pos = 0;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    front_parse r = parse(std::string_view(all).substr(pos));
    ASSERT_EQ(r.st, state::complete) << i;
    EXPECT_EQ(r.consumed, reqs[i].size()) << i;
    EXPECT_EQ(r.req.k, kinds[i]) << i;
    pos += r.consumed;
  }
  EXPECT_EQ(parse(std::string_view(all).substr(pos)).st, state::need_more);
}

TEST(http_codec, content_length_zero_and_missing_mean_no_body) {
  front_parse zero = parse(put("/k", ""));
  ASSERT_EQ(zero.st, state::complete);
  EXPECT_EQ(zero.req.k, kind::refused); // an empty body is not JSON
  EXPECT_EQ(zero.req.refusal, errc::bad_request);
  EXPECT_EQ(zero.req.status, 0);

  // Without Content-Length a request has no body: what follows is the next request.
  const std::string missing = "PUT /k HTTP/1.1\r\nHost: x\r\n\r\n";
  front_parse r = parse(missing + req("GET", "/k"));
  ASSERT_EQ(r.st, state::complete);
  EXPECT_EQ(r.consumed, missing.size());
  EXPECT_EQ(r.req.k, kind::refused);
  EXPECT_EQ(r.req.refusal, errc::bad_request);
  EXPECT_FALSE(r.req.close);
}

TEST(http_codec, duplicate_content_length) {
  const std::string body = R"({"value":1})";
  front_parse same = parse(put("/k", body, "content-length: 11\r\n"));
  ASSERT_EQ(same.st, state::complete);
  EXPECT_EQ(same.req.k, kind::put);
  EXPECT_EQ(same.req.value, "1");
  // Two parsers that picked different ones would disagree on where the body ends.
  expect_fatal(put("/k", body, "Content-Length: 12\r\n"), 400);
  expect_fatal(put("/k", body, "CONTENT-LENGTH: 0\r\n"), 400);
}

TEST(http_codec, content_length_must_be_digits) {
  for (std::string_view v : {"", "abc", "-1", "+5", "5 5", "0x10", "1.0", "5,5", "٥"}) {
    std::string in = "PUT /k HTTP/1.1\r\nContent-Length: " + std::string(v) + "\r\n\r\n";
    expect_fatal(in, 400);
  }
  // Leading zeros are digits like any other; lengths past 64 bits are simply too large.
  front_parse zeros =
      parse("PUT /k HTTP/1.1\r\nContent-Length: 00000000000000000011\r\n\r\n{\"value\":1}");
  ASSERT_EQ(zeros.st, state::complete);
  EXPECT_EQ(zeros.req.value, "1");
  expect_fatal("PUT /k HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n", 413);
  expect_fatal("PUT /k HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413);
  // Whitespace around the value is not part of it.
  front_parse r = parse("PUT /k HTTP/1.1\r\nContent-Length: \t11 \r\n\r\n{\"value\":1}");
  ASSERT_EQ(r.st, state::complete);
  EXPECT_EQ(r.req.value, "1");
}

TEST(http_codec, a_huge_content_length_is_refused_before_the_body_arrives) {
  node_options o;
  o.value_bytes_max = 1000;
  const std::size_t body_max = o.value_bytes_max + http_body_overhead_bytes;
  // Only the head has arrived: the refusal does not wait for the body.
  expect_fatal("PUT /k HTTP/1.1\r\nContent-Length: " + std::to_string(body_max + 1) + "\r\n\r\n",
               413, o);
  expect_fatal("PUT /k HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n", 413, o);
  expect_fatal("GET /k HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n", 413, o);
  // Exactly at the bound it is read.
  std::string head = "PUT /k HTTP/1.1\r\nContent-Length: " + std::to_string(body_max) + "\r\n\r\n";
  front_parse r = parse(head, o);
  ASSERT_EQ(r.st, state::need_more);
  EXPECT_EQ(r.frame_bytes, head.size() + body_max);
  // The default limit is the value limit plus the envelope.
  const std::size_t default_max = value_bytes_max_default + http_body_overhead_bytes;
  expect_fatal("PUT /k HTTP/1.1\r\nContent-Length: " + std::to_string(default_max + 1) + "\r\n\r\n",
               413);
}

TEST(http_codec, transfer_encoding_is_refused_with_411) {
  expect_fatal("PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411);
  expect_fatal("PUT /k HTTP/1.1\r\ntransfer-encoding: identity\r\n\r\n", 411);
  // Both framings at once: the classic smuggling pair is refused, not resolved.
  expect_fatal("PUT /k HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 411);
  expect_fatal("PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 411);
  expect_fatal("GET /k HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 411);
}

TEST(http_codec, a_head_over_16_kib_is_refused_with_431) {
  const std::string start = "GET /k HTTP/1.1\r\nX-Filler: ";
  // Without the blank line: once more than 16 KiB arrived, it cannot become valid.
  std::string unterminated = start + std::string(http_head_bytes_max - start.size(), 'a');
  ASSERT_EQ(unterminated.size(), http_head_bytes_max);
  EXPECT_EQ(parse(unterminated).st, state::need_more);
  unterminated += 'a';
  expect_fatal(unterminated, 431);
  // With the blank line: a complete head one byte over the limit.
  std::string exact = start + std::string(http_head_bytes_max - start.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), http_head_bytes_max);
  front_parse r = parse(exact);
  ASSERT_EQ(r.st, state::complete);
  EXPECT_EQ(r.consumed, exact.size());
  std::string over = start + std::string(http_head_bytes_max - start.size() - 3, 'a') + "\r\n\r\n";
  expect_fatal(over, 431);
  // A big key in the target counts towards the head too.
  expect_fatal("GET /" + std::string(20000, 'k') + " HTTP/1.1\r\n\r\n", 431);
}

// Found by fuzzing (tests/fuzz/corpus/http_codec/bug-crlf-flood): empty lines before a
// request line were skipped but never counted, so a client sending nothing but CRLFs
// stayed need_more (nothing consumed) and the connection buffered them without limit.
TEST(http_codec, empty_lines_before_a_request_count_towards_the_head_bound) {
  std::string flood;
  for (std::size_t i = 0; i < http_head_bytes_max / 2; ++i)
    flood += "\r\n";
  ASSERT_EQ(flood.size(), http_head_bytes_max);
  EXPECT_EQ(parse(flood).st, state::need_more); // not over the bound yet
  expect_fatal(flood + "\r\n", 431);
  expect_fatal(flood + flood, 431);
  // Half the bound in empty lines leaves half for the head itself.
  const std::string half = flood.substr(0, http_head_bytes_max / 2);
  const std::string start = "GET /k HTTP/1.1\r\nX-Filler: ";
  std::string fits = half + start;
  fits += std::string(http_head_bytes_max - fits.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), http_head_bytes_max);
  front_parse r = parse(fits);
  ASSERT_EQ(r.st, state::complete);
  EXPECT_EQ(r.consumed, fits.size());
  EXPECT_EQ(r.req.key, "k");
  // One byte more: over the bound.
  std::string over = half + start +
                     std::string(http_head_bytes_max - half.size() - start.size() - 3, 'a') +
                     "\r\n\r\n";
  expect_fatal(over, 431);
  // An incomplete head after the empty lines: refused once the whole passes the bound.
  std::string unterminated = half + start;
  unterminated += std::string(http_head_bytes_max - unterminated.size(), 'a');
  EXPECT_EQ(parse(unterminated).st, state::need_more);
  expect_fatal(unterminated + "a", 431);
  // A request's known size counts its empty lines.
  front_parse partial = parse("\r\n\r\nPUT /k HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"val");
  ASSERT_EQ(partial.st, state::need_more);
  EXPECT_EQ(partial.frame_bytes, 4u +
                                     std::string_view("PUT /k HTTP/1.1\r\n"
                                                      "Content-Length: 11\r\n\r\n")
                                         .size() +
                                     11u);
}

TEST(http_codec, malformed_request_lines) {
  for (std::string_view in : {
           "GET /k\r\n\r\n",
           "GET  /k HTTP/1.1\r\n\r\n",
           "GET /k  HTTP/1.1\r\n\r\n",
           "GET /k HTTP/1.1 \r\n\r\n",
           " GET /k HTTP/1.1\r\n\r\n",
           "G(T /k HTTP/1.1\r\n\r\n",
       })
    expect_fatal(in, 400);
  // Empty lines before a request line are skipped (RFC 9112 section 2.2).
  EXPECT_EQ(parse("\r\n\r\n").st, state::need_more);
  front_parse skipped = parse("\r\n\r\nGET /k HTTP/1.1\r\n\r\n");
  ASSERT_EQ(skipped.st, state::complete);
  EXPECT_EQ(skipped.consumed, 4u + std::string_view("GET /k HTTP/1.1\r\n\r\n").size());
  EXPECT_EQ(skipped.req.key, "k");
  expect_fatal("GET /k HTTP/2.0\r\n\r\n", 505);
  expect_fatal("GET /k http/1.1\r\n\r\n", 505);
  expect_fatal("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
}

TEST(http_codec, folded_and_malformed_header_lines_are_fatal) {
  for (std::string_view h : {
           "X-A: 1\r\n continued\r\n",
           "X-A: 1\r\n\tcontinued\r\n",
           "X Y: 1\r\n",
           "Content-Length : 5\r\n",
           ": 1\r\n",
           "NoColon\r\n",
           "X\x01: 1\r\n",
           "X(: 1\r\n",
           "X\"Y: 1\r\n",
       }) {
    expect_fatal(req("GET", "/k", h), 400);
  }
}

// -- bare CR and LF ---------------------------------------------------------------------

TEST(http_codec, bare_lf_line_endings_are_refused_at_once) {
  // Only CRLF ends a line. A bare LF (or CR, or NUL) anywhere in a head is refused as
  // soon as it arrives, complete head or not: no waiting for the request deadline.
  expect_fatal("GET /k HTTP/1.1\nHost: x\n\n", 400);
  expect_fatal("GET /k HTTP/1.1\n", 400);
  expect_fatal("GET /k HTTP/1.1\nContent-Length: 5\r\n\r\n", 400);
  expect_fatal("GET /k HTTP/1.1\rX", 400);
  // A CR at the very end may still be followed by its LF.
  EXPECT_EQ(parse("GET /k HTTP/1.1\r").st, state::need_more);
}

TEST(http_codec, bare_lf_in_a_header_value_is_refused) {
  // Smuggling: were "X: y\nContent-Length: 27" one header X, a front proxy that takes the
  // LF as a line end (RFC 9112 section 2.2 lets it) would see a 27-byte body while the
  // node saw none and served the body as a second request. RFC 9110 section 5.5: a value
  // holding CR, LF or NUL must be refused.
  const std::string smuggled = req("GET", "/smuggled");
  const std::string in =
      "PUT /a HTTP/1.1\r\nHost: x\r\nX: y\nContent-Length: " + std::to_string(smuggled.size()) +
      "\r\n\r\n" + smuggled;
  front_parse r = parse(in);
  EXPECT_EQ(r.st, state::fatal) << "consumed " << r.consumed << " of " << in.size();
  EXPECT_EQ(r.req.status, 400);
  expect_fatal("PUT /a HTTP/1.1\r\nX: y\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

TEST(http_codec, bare_cr_or_nul_in_a_header_value_is_refused) {
  // As above (RFC 9112 section 2.2: a bare CR must be refused or replaced).
  expect_fatal("PUT /a HTTP/1.1\r\nX: y\rContent-Length: 5\r\n\r\nhello", 400);
  expect_fatal(req("GET", "/k", std::string("X: a\0b\r\n", 8)), 400);
}

// -- connection options -----------------------------------------------------------------

TEST(http_codec, http10_closes_unless_keep_alive) {
  auto close_of = [](std::string_view in) {
    front_parse r = parse(in);
    EXPECT_EQ(r.st, state::complete) << in;
    return r.req.close;
  };
  EXPECT_TRUE(close_of("GET /k HTTP/1.0\r\n\r\n"));
  EXPECT_FALSE(close_of("GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_FALSE(close_of("GET /k HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n"));
  EXPECT_TRUE(close_of("GET /k HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"));
  EXPECT_FALSE(close_of("GET /k HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(close_of("GET /k HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"));
}

TEST(http_codec, connection_close_in_any_case_and_token_list) {
  auto close_of = [](std::string_view conn) {
    front_parse r = parse(req("GET", "/k", "Connection: " + std::string(conn) + "\r\n"));
    EXPECT_EQ(r.st, state::complete) << conn;
    return r.req.close;
  };
  EXPECT_TRUE(close_of("close"));
  EXPECT_TRUE(close_of("CLOSE"));
  EXPECT_TRUE(close_of("Close"));
  EXPECT_TRUE(close_of("keep-alive, Close"));
  EXPECT_TRUE(close_of("Upgrade ,\tclose ,x"));
  EXPECT_TRUE(close_of(",close"));
  EXPECT_FALSE(close_of("closed"));
  EXPECT_FALSE(close_of("keep-alive"));
  EXPECT_FALSE(close_of("xclose, close-ish"));
  // Two Connection headers: either may say close.
  front_parse two = parse(req("GET", "/k", "Connection: keep-alive\r\nConnection: close\r\n"));
  EXPECT_TRUE(two.req.close);
  // The reply says so.
  front_parse r = parse(req("GET", "/k", "Connection: close\r\n"));
  std::string out;
  codec{}.append_done(out, r.req);
  EXPECT_NE(out.find("\r\nConnection: close\r\n"), std::string::npos);
}

TEST(http_codec, expect_100_continue_is_flagged_while_the_body_is_missing) {
  const std::string body = R"({"value":1})";
  const std::string in = put("/k", body, "Expect: 100-Continue\r\n");
  const std::size_t head = in.size() - body.size();
  front_parse waiting = parse(std::string_view(in).substr(0, head));
  ASSERT_EQ(waiting.st, state::need_more);
  EXPECT_TRUE(waiting.expect_continue);
  EXPECT_EQ(waiting.frame_bytes, in.size());
  front_parse part = parse(std::string_view(in).substr(0, head + 3));
  EXPECT_TRUE(part.expect_continue);
  front_parse whole = parse(in);
  EXPECT_EQ(whole.st, state::complete);
  EXPECT_EQ(whole.req.k, kind::put);
  // Without the header, or before the head is whole, nothing is flagged.
  auto head_only = [&](std::string_view extra) {
    std::string r = put("/k", body, extra);
    return parse(std::string_view(r).substr(0, r.size() - body.size()));
  };
  EXPECT_TRUE(head_only("expect: 100-continue\r\n").expect_continue);
  EXPECT_FALSE(head_only("").expect_continue);
  EXPECT_FALSE(head_only("Expect: something-else\r\n").expect_continue);
  EXPECT_FALSE(parse(std::string_view(in).substr(0, head - 1)).expect_continue);
  EXPECT_EQ(codec{}.interim_continue(), "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(http_codec, expect_100_continue_is_ignored_on_http10) {
  // RFC 9110 section 10.1.1: a server that receives a 100-continue expectation in an
  // HTTP/1.0 request must ignore it.
  std::string in = "PUT /k HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n";
  front_parse r = parse(in);
  ASSERT_EQ(r.st, state::need_more);
  EXPECT_FALSE(r.expect_continue);
}

// -- methods and targets ----------------------------------------------------------------

TEST(http_codec, methods_map_to_kinds) {
  struct row {
    std::string in;
    kind k;
    bool head;
    std::string key;
  };
  const std::vector<row> rows = {
      {req("GET", "/a%2Fb"), kind::get, false, "a/b"},
      {req("HEAD", "/a"), kind::get, true, "a"},
      {put("/a", R"({"value":1})"), kind::put, false, "a"},
      {"POST /a HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"value\":1}", kind::put, false, "a"},
      {req("DELETE", "/a?x=1"), kind::del, false, "a"},
      {req("GET", "/health"), kind::health, false, ""},
      {req("HEAD", "/health"), kind::health, true, ""},
      {req("GET", "/metrics"), kind::metrics, false, ""},
      {req("GET", "/%68ealth"), kind::get, false, "health"},
      {put("/%6Detrics", R"({"value":1})"), kind::put, false, "metrics"},
  };
  for (const row& r : rows) {
    front_parse p = parse(r.in);
    ASSERT_EQ(p.st, state::complete) << r.in;
    EXPECT_EQ(p.consumed, r.in.size());
    EXPECT_EQ(p.req.k, r.k) << r.in;
    EXPECT_EQ(p.req.head, r.head) << r.in;
    EXPECT_EQ(p.req.key, r.key) << r.in;
    EXPECT_FALSE(p.req.close);
  }
}

TEST(http_codec, other_methods_are_refused_with_405_and_allow) {
  struct row {
    std::string in;
    bool endpoint;
  };
  const std::vector<row> rows = {
      {req("PATCH", "/k"), false},
      {req("OPTIONS", "/k"), false},
      {req("get", "/k"), false}, // methods are case-sensitive
      {req("OPTIONS", "/health"), true},
      {put("/health", R"({"value":1})"), true},
      {req("DELETE", "/metrics"), true},
      {"POST /health HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", true},
  };
  for (const row& r : rows) {
    front_parse p = parse(r.in);
    ASSERT_EQ(p.st, state::complete) << r.in; // the body is consumed: the stream stays in step
    EXPECT_EQ(p.consumed, r.in.size());
    EXPECT_EQ(p.req.k, kind::refused);
    EXPECT_EQ(p.req.status, 405);
    EXPECT_EQ(p.req.endpoint, r.endpoint);
    EXPECT_FALSE(p.req.close);
    reply rep = split(refusal_reply(p));
    EXPECT_EQ(rep.status_line, "HTTP/1.1 405 Method Not Allowed");
    EXPECT_NE(rep.headers.find(r.endpoint ? "Allow: GET, HEAD\r\n"
                                          : "Allow: GET, HEAD, PUT, POST, DELETE\r\n"),
              std::string::npos)
        << rep.headers;
    EXPECT_TRUE(is_json(rep.body));
  }
  EXPECT_EQ(parse(req("PATCH", "/k")).req.intended, kind::get);
  EXPECT_EQ(parse(put("/health", "{}")).req.intended, kind::put);
  EXPECT_EQ(parse(req("DELETE", "/metrics")).req.intended, kind::del);
}

TEST(http_codec, invalid_targets_are_refused_with_400_and_keep_the_connection) {
  for (std::string_view t : {"/", "/?x=1", "/%zz", "/a%2", "*", "http://h/k", "k"}) {
    std::string in = put(t, R"({"value":1})");
    front_parse p = parse(in);
    ASSERT_EQ(p.st, state::complete) << t;
    EXPECT_EQ(p.consumed, in.size());
    EXPECT_EQ(p.req.k, kind::refused) << t;
    EXPECT_EQ(p.req.refusal, errc::bad_request);
    EXPECT_EQ(p.req.status, 0);
    EXPECT_FALSE(p.req.close);
    reply rep = split(refusal_reply(p));
    EXPECT_EQ(rep.status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_TRUE(is_json(rep.body)) << rep.body;
    EXPECT_EQ(p.req.intended, kind::put);
  }
}

// -- bodies -----------------------------------------------------------------------------

TEST(http_codec, bad_bodies_are_refused_with_400_and_json_errors) {
  for (std::string_view body : {
           "",
           "{",
           "[]",
           "42",
           R"({"data":1})",
           R"({"value":1,"value":2})",
           R"({"value":})",
           R"({"value":1,})",
           "{\"value\":\"\xff\"}",
           "{\"value\":nan}",
           R"({'value':1})",
       }) {
    front_parse p = parse(put("/k", body));
    ASSERT_EQ(p.st, state::complete) << body;
    EXPECT_EQ(p.req.k, kind::refused) << body;
    EXPECT_EQ(p.req.refusal, errc::bad_request);
    EXPECT_FALSE(p.req.detail.empty());
    EXPECT_FALSE(p.req.close);
    reply rep = split(refusal_reply(p));
    EXPECT_EQ(rep.status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_TRUE(is_json(rep.body)) << rep.body;
    EXPECT_NE(rep.headers.find("Content-Length: " + std::to_string(rep.body.size()) + "\r\n"),
              std::string::npos);
  }
  front_parse missing = parse(put("/k", R"({"data":1})"));
  EXPECT_EQ(split(refusal_reply(missing)).body,
            R"({"success":false,"error":"body has no \"value\" member"})");
}

TEST(http_codec, a_value_over_the_limit_is_refused_with_413) {
  node_options o;
  o.value_bytes_max = 10;
  front_parse at = parse(put("/k", R"({"value":"12345678"})"), o); // "12345678" is 10 bytes
  ASSERT_EQ(at.st, state::complete);
  EXPECT_EQ(at.req.k, kind::put);
  EXPECT_EQ(at.req.value, R"("12345678")");
  front_parse over = parse(put("/k", R"({"value":"123456789"})"), o);
  ASSERT_EQ(over.st, state::complete);
  EXPECT_EQ(over.req.k, kind::refused);
  EXPECT_EQ(over.req.refusal, errc::too_large);
  EXPECT_FALSE(over.req.close); // the body was read: the stream is in step
  reply rep = split(refusal_reply(over));
  EXPECT_EQ(rep.status_line, "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(rep.body, R"({"success":false,"error":"value larger than 10 bytes"})");
}

TEST(http_codec, the_value_is_the_exact_member_text) {
  const std::string body =
      R"( { "a" : 1 , "value" :  {"z":1,"a":12345678901234567890, "e":"\u00e9"}  } )";
  const std::string in = put("/k", body);
  front_parse p = parse(in);
  ASSERT_EQ(p.st, state::complete);
  ASSERT_EQ(p.req.k, kind::put);
  EXPECT_EQ(p.req.value, R"({"z":1,"a":12345678901234567890, "e":"\u00e9"})");
  // A view into the input.
  EXPECT_GE(p.req.value.data(), in.data());
  EXPECT_LE(p.req.value.data() + p.req.value.size(), in.data() + in.size());
}

// -- auth -------------------------------------------------------------------------------

struct auth_row {
  auth_mode mode;
  std::string in;
  bool needs;
};

TEST(http_codec, needs_auth_per_mode) {
  const std::string body = R"({"value":1})";
  const std::vector<auth_row> rows = {
      {auth_mode::none, req("GET", "/k"), false},
      {auth_mode::none, put("/k", body), false},
      {auth_mode::writes, req("GET", "/k"), false},
      {auth_mode::writes, req("HEAD", "/k"), false},
      {auth_mode::writes, req("GET", "/metrics"), false},
      {auth_mode::writes, put("/k", body), true},
      {auth_mode::writes, req("DELETE", "/k"), true},
      {auth_mode::writes, req("PATCH", "/k"), true},
      {auth_mode::writes, req("GET", "/health"), false},
      {auth_mode::writes, put("/health", body), false},
      {auth_mode::all, req("GET", "/k"), true},
      {auth_mode::all, req("HEAD", "/k"), true},
      {auth_mode::all, req("GET", "/metrics"), true},
      {auth_mode::all, put("/k", body), true},
      {auth_mode::all, req("GET", "/%68ealth"), true}, // the key "health"
      {auth_mode::all, req("GET", "/health"), false},
      {auth_mode::all, req("HEAD", "/health?x"), false},
      {auth_mode::all, req("GET", "/"), true}, // invalid target: auth is judged first
  };
  for (const auth_row& r : rows) {
    node_options o;
    o.auth = r.mode;
    o.auth_key = "s3cret";
    front_parse p = parse(r.in, o);
    ASSERT_EQ(p.st, state::complete) << r.in;
    EXPECT_EQ(p.req.needs_auth, r.needs) << r.in;
    EXPECT_FALSE(p.req.credential_ok) << r.in;
    // Without a key nothing needs auth, whatever the mode.
    o.auth_key.clear();
    EXPECT_FALSE(parse(r.in, o).req.needs_auth) << r.in;
  }
}

TEST(http_codec, credential_ok_only_for_the_right_bearer_key) {
  node_options o;
  o.auth = auth_mode::writes;
  o.auth_key = "s3cret";
  const std::string body = R"({"value":1})";
  auto ok = [&](std::string_view header) {
    front_parse p = parse(put("/k", body, header), o);
    EXPECT_EQ(p.st, state::complete) << header;
    EXPECT_TRUE(p.req.needs_auth);
    return p.req.credential_ok;
  };
  EXPECT_TRUE(ok("Authorization: Bearer s3cret\r\n"));
  EXPECT_TRUE(ok("authorization: bearer s3cret\r\n"));
  EXPECT_TRUE(ok("Authorization:   Bearer s3cret  \r\n"));
  EXPECT_FALSE(ok(""));
  EXPECT_FALSE(ok("Authorization: Bearer s3cre\r\n"));
  EXPECT_FALSE(ok("Authorization: Bearer s3cret2\r\n"));
  EXPECT_FALSE(ok("Authorization: Basic s3cret\r\n"));
  EXPECT_FALSE(ok("Authorization: s3cret\r\n"));
  EXPECT_FALSE(ok("Authorization: Bearer\r\n"));
  EXPECT_FALSE(ok("X-Authorization: Bearer s3cret\r\n"));
  // A read in `writes` mode needs nothing, so nothing is checked.
  front_parse get = parse(req("GET", "/k", "Authorization: Bearer s3cret\r\n"), o);
  EXPECT_FALSE(get.req.needs_auth);
  EXPECT_FALSE(get.req.credential_ok);
}

TEST(http_codec, an_auth_failure_on_a_refused_request_is_a_401) {
  // handle_front answers an unauthenticated request with the request's intended kind and
  // no status override: a request the codec also refused with 405 (PATCH /k, PUT
  // /metrics in `writes` mode) must still get a plain 401 with WWW-Authenticate.
  node_options o;
  o.auth = auth_mode::writes;
  o.auth_key = "s3cret";
  for (const std::string& in : {req("PATCH", "/k"), put("/metrics", "{}")}) {
    front_parse p = parse(in, o);
    ASSERT_EQ(p.st, state::complete);
    ASSERT_TRUE(p.req.needs_auth && !p.req.credential_ok);
    front_request closing = p.req; // what handle_front does
    closing.close = true;
    closing.k = p.req.intended;
    closing.status = 0;
    reply rep = split(error_reply(closing, errc::unauthorized));
    EXPECT_EQ(rep.status_line, "HTTP/1.1 401 Unauthorized") << in;
    EXPECT_NE(rep.headers.find("WWW-Authenticate: Bearer\r\n"), std::string::npos) << in;
    EXPECT_EQ(rep.headers.find("Allow:"), std::string::npos) << in;
  }
}

// -- replies ----------------------------------------------------------------------------

TEST(http_codec, exact_reply_bytes) {
  const codec c;
  front_parse get = parse(req("GET", "/k"));
  std::string out;
  c.append_value(out, get.req, R"({"a":1})");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 "31\r\n\r\n{\"success\":true,\"data\":{\"a\":1}}");
  out.clear();
  c.append_value(out, get.req, "hello"); // not JSON: shown as a string
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 "31\r\n\r\n{\"success\":true,\"data\":\"hello\"}");
  out.clear();
  c.append_value(out, get.req, std::string_view("\xff\x00", 2)); // not UTF-8: base64
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 "50\r\n\r\n{\"success\":true,\"data\":\"/wA=\",\"encoding\":\"base64\"}");

  front_parse del = parse(req("DELETE", "/k", "Connection: close\r\n"));
  out.clear();
  c.append_done(out, del.req);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 "16\r\nConnection: close\r\n\r\n{\"success\":true}");

  out.clear();
  c.append_error(out, get.req, errc::not_found);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: "
                 "37\r\n\r\n{\"success\":false,\"error\":\"not found\"}");

  front_request unauth = get.req;
  unauth.close = true;
  out.clear();
  c.append_error(out, unauth, errc::unauthorized);
  EXPECT_EQ(out, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: "
                 "40\r\nConnection: close\r\nWWW-Authenticate: "
                 "Bearer\r\n\r\n{\"success\":false,\"error\":\"unauthorized\"}");

  front_parse patch = parse(req("PATCH", "/k"));
  EXPECT_EQ(refusal_reply(patch),
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: "
            "57\r\nAllow: GET, HEAD, PUT, POST, DELETE\r\n\r\n{\"success\":false,\"error\":"
            "\"method PATCH not allowed here\"}");

  front_parse metrics = parse(req("GET", "/metrics"));
  out.clear();
  c.append_document(out, metrics.req, "a 1\n");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                 "charset=utf-8\r\nContent-Length: 4\r\n\r\na 1\n");
  front_parse health = parse(req("GET", "/health"));
  out.clear();
  c.append_document(out, health.req, R"({"status":"healthy"})");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 "20\r\n\r\n{\"status\":\"healthy\"}");
}

TEST(http_codec, head_replies_have_the_full_length_and_no_body) {
  const codec c;
  front_parse head = parse(req("HEAD", "/k"));
  ASSERT_TRUE(head.req.head);
  std::string out;
  c.append_value(out, head.req, R"({"a":1})");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 "31\r\n\r\n");
  out.clear();
  c.append_error(out, head.req, errc::not_found);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: "
                 "37\r\n\r\n");
  front_parse hh = parse(req("HEAD", "/health"));
  out.clear();
  c.append_document(out, hh.req, R"({"status":"healthy"})");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 "20\r\n\r\n");
  // Appending keeps what was there: replies of a pipeline go one after another.
  std::string two = "prefix";
  c.append_done(two, parse(req("DELETE", "/k")).req);
  EXPECT_EQ(two.rfind("prefixHTTP/1.1 200 OK\r\n", 0), 0u);
}

TEST(http_codec, every_error_body_is_json) {
  std::vector<front_parse> cases;
  for (std::string_view in :
       {"GET /k HTTP/3\r\n\r\n", "PUT /k HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "GET /k HTTP/1.1\r\n a\r\n\r\n",
        "PUT /k HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"})
    cases.push_back(parse(in));
  cases.push_back(parse(std::string(http_head_bytes_max + 1, 'a')));
  cases.push_back(parse(put("/%zz", "{}")));
  cases.push_back(parse(put("/k", "{\"value\":\"\xc3\x28\"}")));
  cases.push_back(parse(put("/k", std::string(600, '[') + std::string(600, ']'))));
  for (const front_parse& p : cases) {
    ASSERT_EQ(p.req.k, kind::refused);
    reply rep = split(refusal_reply(p));
    EXPECT_TRUE(is_json(rep.body)) << rep.body;
    EXPECT_EQ(rep.body.rfind(R"({"success":false,"error":")", 0), 0u) << rep.body;
    EXPECT_NE(rep.headers.find("Content-Length: " + std::to_string(rep.body.size()) + "\r\n"),
              std::string::npos);
  }
  // Every error code, with and without detail (invalid UTF-8 detail falls back).
  front_parse get = parse(req("GET", "/k"));
  for (int e = 0; e <= static_cast<int>(errc::config_error); ++e) {
    for (std::string_view detail : {"", "why \"quoted\" \\ \n", "\xff\xfe"}) {
      reply rep = split(error_reply(get.req, static_cast<errc>(e), detail));
      EXPECT_TRUE(is_json(rep.body)) << rep.body;
      EXPECT_EQ(rep.status_line.substr(0, 9), "HTTP/1.1 ");
    }
  }
}

TEST(http_codec, status_of_errors) {
  EXPECT_EQ(status_of(errc::not_found), 404);
  EXPECT_EQ(status_of(errc::bad_request), 400);
  EXPECT_EQ(status_of(errc::bad_compression), 400);
  EXPECT_EQ(status_of(errc::unauthorized), 401);
  EXPECT_EQ(status_of(errc::too_large), 413);
  EXPECT_EQ(status_of(errc::rate_limited), 429);
  EXPECT_EQ(status_of(errc::no_quorum), 503);
  EXPECT_EQ(status_of(errc::overloaded), 503);
  EXPECT_EQ(status_of(errc::timeout), 504);
  EXPECT_EQ(status_of(errc::io_error), 500);
  const codec c;
  front_parse get = parse(req("GET", "/k"));
  for (auto [e, line] : std::vector<std::pair<errc, std::string>>{
           {errc::rate_limited, "HTTP/1.1 429 Too Many Requests"},
           {errc::no_quorum, "HTTP/1.1 503 Service Unavailable"},
           {errc::timeout, "HTTP/1.1 504 Gateway Timeout"},
           {errc::io_error, "HTTP/1.1 500 Internal Server Error"}}) {
    std::string out;
    c.append_error(out, get.req, e);
    EXPECT_EQ(split(out).status_line, line);
  }
}

} // namespace
} // namespace minivault::http
