// The packed batch with versions (actors/durability/batch_codec.hpp): pack_versioned_write,
// decode_packed_op and unpack_batch round-trip, mix with unversioned ops, and refuse
// truncated, garbage, unknown-flag and zero-version input.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "actors/durability/batch_codec.hpp"

namespace minivault {
namespace {

using storage::version;

struct want_op {
  bool del;
  std::string key;
  std::string value;
  version ver;
};

client_batch pack_all(const std::vector<want_op>& ops) {
  client_batch b;
  for (auto& o : ops) {
    if (o.ver.hlc == 0)
      pack_write(b, o.del, o.key, o.value);
    else
      pack_versioned_write(b, o.del, o.key, o.value, o.ver);
  }
  return b;
}

std::vector<want_op> mixed() {
  return {
      {false, "k1", "v1", version{(std::uint64_t{0x18f3a2b4c5d} << 16) | 3, 7}},
      {false, "plain", "local write", version{}},
      {true, "gone", "", version{0xfedcba9876543210ULL, 0xffffffffu}},
      {true, "plain-del", "", version{}},
      {false, std::string("bin\0ary", 7), std::string("\0\xff\x01", 3), version{1, 0}},
      {false, "empty-value", "", version{0x100000000ULL, 2}}, // hlc needs its high half
  };
}

TEST(versioned_batch, versioned_and_plain_ops_round_trip_through_unpack_batch) {
  auto want = mixed();
  auto b = pack_all(want);
  EXPECT_EQ(b.count, want.size());
  std::vector<storage::write_op> ops;
  ASSERT_TRUE(unpack_batch(b, ops));
  ASSERT_EQ(ops.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(ops[i].key, want[i].key);
    EXPECT_EQ(ops[i].tombstone, want[i].del);
    if (!want[i].del) {
      EXPECT_EQ(ops[i].value, want[i].value);
    }
    EXPECT_EQ(ops[i].ver, want[i].ver);
  }
}

TEST(versioned_batch, decode_packed_op_walks_the_batch_op_by_op) {
  auto want = mixed();
  auto b = pack_all(want);
  std::size_t pos = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    packed_op op;
    std::size_t before = pos;
    ASSERT_TRUE(decode_packed_op(b.ops, pos, op));
    std::size_t header = 7 + (want[i].ver.hlc ? 12 : 0);
    EXPECT_EQ(pos - before, header + op.key.size() + op.value.size());
    EXPECT_EQ(op.del, want[i].del);
    EXPECT_EQ(op.key, want[i].key);
    if (!want[i].del) {
      EXPECT_EQ(op.value, want[i].value);
    }
    EXPECT_EQ(op.ver, want[i].ver);
    // Views into the batch's bytes.
    EXPECT_GE(op.key.data(), b.ops.data());
    EXPECT_LE(op.key.data() + op.key.size(), b.ops.data() + b.ops.size());
  }
  EXPECT_EQ(pos, b.ops.size());
  packed_op op;
  EXPECT_FALSE(decode_packed_op(b.ops, pos, op)) << "nothing left";
  std::size_t past = b.ops.size() + 5;
  EXPECT_FALSE(decode_packed_op(b.ops, past, op)) << "offset past the end";
}

TEST(versioned_batch, a_versioned_delete_carries_no_value) {
  client_batch b;
  pack_versioned_write(b, true, "k", "ignored value", version{9, 9});
  packed_op op;
  std::size_t pos = 0;
  ASSERT_TRUE(decode_packed_op(b.ops, pos, op));
  EXPECT_TRUE(op.del);
  EXPECT_TRUE(op.value.empty());
  EXPECT_EQ(b.ops.size(), 7u + 12u + 1u);
}

TEST(versioned_batch, every_truncation_is_refused) {
  auto b = pack_all(mixed());
  for (std::size_t n = 0; n < b.ops.size(); ++n) {
    client_batch cut = b;
    cut.ops.resize(n);
    std::vector<storage::write_op> ops;
    EXPECT_FALSE(unpack_batch(cut, ops)) << "prefix of " << n << " bytes";
  }
}

TEST(versioned_batch, count_must_match_the_bytes) {
  auto b = pack_all(mixed());
  std::vector<storage::write_op> ops;
  client_batch more = b;
  ++more.count;
  EXPECT_FALSE(unpack_batch(more, ops));
  client_batch fewer = b;
  --fewer.count; // the last op's bytes are left over
  ops.clear();
  EXPECT_FALSE(unpack_batch(fewer, ops));
  client_batch trailing = b;
  trailing.ops.push_back('\0');
  ops.clear();
  EXPECT_FALSE(unpack_batch(trailing, ops));
}

TEST(versioned_batch, consistency_levels_travel_with_client_ops_only) {
  for (std::uint8_t l = 0; l <= static_cast<std::uint8_t>(consistency::all); ++l) {
    const auto level = static_cast<consistency>(l);
    client_batch b;
    pack_write(b, true, "w", "", level);
    pack_read(b, "q", true, level);
    pack_read(b, "plain", false, level); // a plain read has no level: packed as one
    std::size_t pos = 0;
    packed_op op;
    ASSERT_TRUE(decode_packed_op(b.ops, pos, op));
    EXPECT_EQ(op.level, level);
    EXPECT_TRUE(op.del);
    ASSERT_TRUE(decode_packed_op(b.ops, pos, op));
    EXPECT_EQ(op.level, level);
    EXPECT_TRUE(op.quorum);
    ASSERT_TRUE(decode_packed_op(b.ops, pos, op));
    EXPECT_EQ(op.level, consistency::one);
    EXPECT_EQ(pos, b.ops.size());
  }
}

TEST(versioned_batch, unknown_flag_bits_are_refused) {
  // Known: bit0 delete, bit1 versioned, bit2 read, bit3 quorum (read only), bits 4-6 the
  // level (0..5, only on an unversioned write or a quorum read); bit 7 never.
  const std::uint8_t levels_6_and_7[] = {0x60, 0x70};
  std::vector<std::pair<bool, std::uint8_t>> cases; // (versioned, bits to set)
  for (int bit = 4; bit < 8; ++bit)
    cases.emplace_back(true, static_cast<std::uint8_t>(1u << bit)); // no level when versioned
  cases.emplace_back(false, 0x80);
  for (auto bits : levels_6_and_7)
    cases.emplace_back(false, bits);
  for (auto [versioned, bits] : cases) {
    SCOPED_TRACE(int{bits});
    {
      client_batch b;
      if (versioned)
        pack_versioned_write(b, false, "k", "v", version{5, 1});
      else
        pack_write(b, false, "k", "v", consistency::one);
      b.ops[0] = static_cast<char>(static_cast<unsigned char>(b.ops[0]) | bits);
      std::vector<storage::write_op> ops;
      EXPECT_FALSE(unpack_batch(b, ops));
      packed_op op;
      std::size_t pos = 0;
      EXPECT_FALSE(decode_packed_op(b.ops, pos, op));
      EXPECT_EQ(pos, 0u) << "a refused op must not advance the offset";
    }
  }
  // The unknown bit on a later op refuses the whole batch.
  auto b = pack_all(mixed());
  std::size_t pos = 0;
  packed_op op;
  ASSERT_TRUE(decode_packed_op(b.ops, pos, op));
  b.ops[pos] = static_cast<char>(static_cast<unsigned char>(b.ops[pos]) | 0x80);
  std::vector<storage::write_op> ops;
  EXPECT_FALSE(unpack_batch(b, ops));
}

TEST(versioned_batch, read_flags_combine_only_as_documented) {
  auto decodes = [](std::uint8_t flags, bool versioned) {
    client_batch b;
    if (versioned)
      pack_versioned_write(b, false, "k", "", version{5, 1});
    else
      pack_write(b, false, "k", "");
    b.ops[0] = static_cast<char>(flags | (versioned ? 2 : 0));
    packed_op op;
    std::size_t pos = 0;
    return decode_packed_op(b.ops, pos, op);
  };
  EXPECT_TRUE(decodes(4, false));      // read
  EXPECT_TRUE(decodes(4 | 8, false));  // quorum read
  EXPECT_FALSE(decodes(8, false));     // quorum without read
  EXPECT_FALSE(decodes(8 | 1, false)); // quorum delete
  EXPECT_FALSE(decodes(4 | 1, false)); // read + delete
  EXPECT_FALSE(decodes(4, true));      // read + versioned
  EXPECT_FALSE(decodes(4 | 8, true));
}

TEST(versioned_batch, reads_round_trip_but_never_reach_the_storage_actor) {
  client_batch b;
  pack_read(b, "r1", false);
  pack_read(b, "r2", true);
  pack_write(b, false, "w", "x");
  ASSERT_EQ(b.count, 3u);
  std::size_t pos = 0;
  packed_op op;
  ASSERT_TRUE(decode_packed_op(b.ops, pos, op));
  EXPECT_TRUE(op.read);
  EXPECT_FALSE(op.quorum);
  EXPECT_FALSE(op.del);
  EXPECT_EQ(op.key, "r1");
  EXPECT_TRUE(op.value.empty());
  EXPECT_EQ(op.ver, version{});
  ASSERT_TRUE(decode_packed_op(b.ops, pos, op));
  EXPECT_TRUE(op.read);
  EXPECT_TRUE(op.quorum);
  EXPECT_EQ(op.key, "r2");
  ASSERT_TRUE(decode_packed_op(b.ops, pos, op));
  EXPECT_FALSE(op.read) << "fields of the previous op must not leak into the next";
  EXPECT_FALSE(op.quorum);
  EXPECT_EQ(op.key, "w");
  EXPECT_EQ(pos, b.ops.size());
  std::vector<storage::write_op> ops;
  EXPECT_FALSE(unpack_batch(b, ops)) << "a read in a storage batch is malformed";
}

TEST(versioned_batch, a_versioned_op_with_hlc_zero_is_refused) {
  client_batch b;
  pack_versioned_write(b, false, "k", "v", version{0, 42});
  ASSERT_EQ(b.count, 1u);
  std::vector<storage::write_op> ops;
  EXPECT_FALSE(unpack_batch(b, ops));
  packed_op op;
  std::size_t pos = 0;
  EXPECT_FALSE(decode_packed_op(b.ops, pos, op));
  // Also in the middle of an otherwise good batch.
  client_batch mixed_bad;
  pack_versioned_write(mixed_bad, false, "a", "1", version{10, 1});
  pack_versioned_write(mixed_bad, true, "b", "", version{0, 1});
  pack_write(mixed_bad, false, "c", "3");
  ops.clear();
  EXPECT_FALSE(unpack_batch(mixed_bad, ops));
}

TEST(versioned_batch, random_garbage_never_crashes_and_is_mostly_refused) {
  std::mt19937_64 rng(12345);
  std::size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    client_batch b;
    b.count = 1 + static_cast<std::uint32_t>(rng() % 4);
    std::size_t n = rng() % 64;
    for (std::size_t i = 0; i < n; ++i)
      b.ops.push_back(static_cast<char>(rng()));
    std::vector<storage::write_op> ops;
    if (unpack_batch(b, ops)) {
      ++accepted;
      // Whatever was accepted must be internally consistent.
      ASSERT_EQ(ops.size(), b.count);
      for (auto& op : ops) {
        ASSERT_GE(op.key.data(), b.ops.data());
        ASSERT_LE(op.key.data() + op.key.size(), b.ops.data() + b.ops.size());
        ASSERT_LE(op.value.data() + op.value.size(), b.ops.data() + b.ops.size());
      }
    }
  }
  EXPECT_LT(accepted, 200u);
}

TEST(versioned_batch, a_corrupted_length_is_refused) {
  client_batch b;
  pack_versioned_write(b, false, "key", "value", version{77, 1});
  // key_len is at bytes 1..2, value_len at 3..6 (little-endian).
  client_batch long_key = b;
  long_key.ops[1] = static_cast<char>(0xff);
  std::vector<storage::write_op> ops;
  EXPECT_FALSE(unpack_batch(long_key, ops));
  client_batch long_value = b;
  long_value.ops[6] = static_cast<char>(0x80); // value_len ~ 2^31
  ops.clear();
  EXPECT_FALSE(unpack_batch(long_value, ops));
  client_batch huge = b;
  for (int i = 3; i < 7; ++i)
    huge.ops[i] = static_cast<char>(0xff); // value_len 2^32-1: must not overflow a check
  ops.clear();
  EXPECT_FALSE(unpack_batch(huge, ops));
}

} // namespace
} // namespace minivault
