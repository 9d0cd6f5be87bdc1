#include "protocol/wire.hpp"

#include <gtest/gtest.h>

#include <string>

#include "protocol/compression.hpp"
#include "protocol/security.hpp"

using namespace minivault;
using namespace minivault::wire;

namespace {

constexpr std::size_t limit = 1 << 20;

std::string frame(opcode op, std::string_view key, std::string_view value = {},
                  bool compressed = false) {
  std::string out;
  append_request(out, op, key, value, compressed);
  return out;
}

} // namespace

TEST(wire, set_frame_is_byte_exact) {
  auto f = frame(opcode::set, "ab", "xyz");
  std::string expected("\x02\x02\x00"
                       "ab"
                       "\x03\x00\x00\x00"
                       "\x00"
                       "xyz",
                       3 + 2 + 5 + 3);
  EXPECT_EQ(f, expected);
}

TEST(wire, get_delete_health_auth_frames_are_byte_exact) {
  EXPECT_EQ(frame(opcode::get, "k"), std::string("\x01\x01\x00k", 4));
  EXPECT_EQ(frame(opcode::del, "k"), std::string("\x03\x01\x00k", 4));
  EXPECT_EQ(frame(opcode::health, ""), std::string("\x05\x00\x00", 3));
  EXPECT_EQ(frame(opcode::auth, "pw"), std::string("\x06\x02\x00pw", 5));
}

TEST(wire, parses_every_op) {
  for (auto op : {opcode::get, opcode::del, opcode::health, opcode::auth}) {
    auto f = frame(op, "key");
    auto r = parse_request(f.data(), f.size(), limit);
    ASSERT_EQ(r.state, parse_state::complete);
    EXPECT_EQ(r.req.op, op);
    EXPECT_EQ(r.req.key, "key");
    EXPECT_EQ(r.consumed, f.size());
  }
  auto f = frame(opcode::set, "key", std::string("v\0\xff", 3), true);
  auto r = parse_request(f.data(), f.size(), limit);
  ASSERT_EQ(r.state, parse_state::complete);
  EXPECT_EQ(r.req.value, std::string_view("v\0\xff", 3));
  EXPECT_TRUE(r.req.compressed);
}

TEST(wire, every_proper_prefix_needs_more) {
  auto f = frame(opcode::set, "somekey", "somevalue");
  for (std::size_t n = 0; n < f.size(); ++n) {
    auto r = parse_request(f.data(), n, limit);
    EXPECT_EQ(r.state, parse_state::need_more) << "prefix " << n;
  }
}

TEST(wire, frame_size_known_once_header_is_in) {
  auto f = frame(opcode::set, "k", std::string(1000, 'x'));
  auto r = parse_request(f.data(), 12, limit);
  ASSERT_EQ(r.state, parse_state::need_more);
  EXPECT_EQ(r.frame_bytes, f.size());
}

TEST(wire, pipelined_frames_parse_one_at_a_time) {
  auto f = frame(opcode::set, "a", "1") + frame(opcode::get, "a") + frame(opcode::del, "a");
  std::size_t pos = 0;
  std::vector<opcode> ops;
  while (pos < f.size()) {
    auto r = parse_request(f.data() + pos, f.size() - pos, limit);
    ASSERT_EQ(r.state, parse_state::complete);
    ops.push_back(r.req.op);
    pos += r.consumed;
  }
  EXPECT_EQ(ops, (std::vector<opcode>{opcode::set, opcode::get, opcode::del}));
}

TEST(wire, qget_is_framed_like_get) {
  std::string frame;
  append_request(frame, opcode::qget, "user:1");
  EXPECT_EQ(frame, std::string("\x07\x06\x00user:1", 9));
  auto r = parse_request(frame.data(), frame.size(), limit);
  ASSERT_EQ(r.state, parse_state::complete);
  EXPECT_EQ(r.req.op, opcode::qget);
  EXPECT_EQ(r.req.key, "user:1");
  EXPECT_EQ(r.consumed, frame.size());
}

TEST(wire, unknown_opcode_is_invalid_at_once) {
  for (int op : {0x00, 0x04, 0x09, 0x7f, 0xff}) { // 0x07 is QGET, 0x08 CONSISTENCY
    char b = static_cast<char>(op);
    auto r = parse_request(&b, 1, limit);
    EXPECT_EQ(r.state, parse_state::invalid) << op;
    EXPECT_EQ(r.error, errc::bad_frame);
  }
}

TEST(wire, claimed_value_over_limit_is_refused_from_header_alone) {
  std::string f("\x02\x01\x00k\xff\xff\xff\xff\x00", 9); // claims 4 GiB - 1
  auto r = parse_request(f.data(), f.size(), limit);
  EXPECT_EQ(r.state, parse_state::invalid);
  EXPECT_EQ(r.error, errc::too_large);
  auto at_limit = frame(opcode::set, "k", std::string(limit, 'x'));
  EXPECT_EQ(parse_request(at_limit.data(), at_limit.size(), limit).state, parse_state::complete);
}

TEST(wire, compressed_flag_other_than_0_or_1_is_invalid) {
  auto f = frame(opcode::set, "k", "v");
  f[3 + 1 + 4] = 7;
  auto r = parse_request(f.data(), f.size(), limit);
  EXPECT_EQ(r.state, parse_state::invalid);
  EXPECT_EQ(r.error, errc::bad_frame);
}

TEST(wire, max_key_length_round_trips) {
  std::string key(65535, 'k');
  auto f = frame(opcode::get, key);
  auto r = parse_request(f.data(), f.size(), limit);
  ASSERT_EQ(r.state, parse_state::complete);
  EXPECT_EQ(r.req.key.size(), 65535u);
}

TEST(wire, replies_encode_and_parse) {
  std::string out;
  append_reply(out, status_ok, "value");
  append_error(out, errc::not_found);
  auto a = parse_reply(out.data(), out.size(), limit);
  ASSERT_EQ(a.state, parse_state::complete);
  EXPECT_EQ(a.rep.status, status_ok);
  EXPECT_EQ(a.rep.payload, "value");
  auto b = parse_reply(out.data() + a.consumed, out.size() - a.consumed, limit);
  ASSERT_EQ(b.state, parse_state::complete);
  EXPECT_EQ(b.rep.status, status_error);
  EXPECT_EQ(b.rep.payload, "not found");
  EXPECT_EQ(parse_reply(out.data(), 4, limit).state, parse_state::need_more);
  EXPECT_EQ(parse_reply(out.data(), out.size(), 2).state, parse_state::invalid);
}

TEST(compression, round_trip) {
  std::string v(100000, 'a');
  for (std::size_t i = 0; i < v.size(); i += 7)
    v[i] = static_cast<char>(i);
  auto z = zstd_compress(v);
  ASSERT_LT(z.size(), v.size());
  std::string out;
  ASSERT_EQ(zstd_decompress_bounded(z, v.size(), out), errc::ok);
  EXPECT_EQ(out, v);
}

TEST(compression, bomb_is_refused_without_inflating_it) {
  std::string zeros(80u << 20, '\0');
  auto z = zstd_compress(zeros, 3);
  ASSERT_LT(z.size(), 64u << 10);
  std::string out;
  EXPECT_EQ(zstd_decompress_bounded(z, 1u << 20, out), errc::too_large);
  EXPECT_LE(out.capacity(), (1u << 20) + 64);
}

TEST(compression, garbage_and_truncation_are_bad_compression) {
  std::string out;
  EXPECT_EQ(zstd_decompress_bounded("definitely not zstd", 1 << 20, out), errc::bad_compression);
  EXPECT_EQ(zstd_decompress_bounded("", 1 << 20, out), errc::bad_compression);
  auto z = zstd_compress(std::string(5000, 'q'));
  EXPECT_EQ(zstd_decompress_bounded(std::string_view(z).substr(0, z.size() - 3), 1 << 20, out),
            errc::bad_compression);
}

TEST(compression, exact_limit_is_accepted) {
  std::string v(4096, 'z');
  std::string out;
  EXPECT_EQ(zstd_decompress_bounded(zstd_compress(v), 4096, out), errc::ok);
  EXPECT_EQ(zstd_decompress_bounded(zstd_compress(v), 4095, out), errc::too_large);
}

TEST(security, constant_time_equal) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secreT", "secret"));
  EXPECT_FALSE(constant_time_equal("secret1", "secret"));
  EXPECT_FALSE(constant_time_equal("secre", "secret"));
  EXPECT_FALSE(constant_time_equal("", "secret"));
}
