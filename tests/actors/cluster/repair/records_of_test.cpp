// records_of (anti_entropy_actor.hpp): a peer's batched read answered from a real engine.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actors/cluster/repair/anti_entropy_actor.hpp"
#include "actors/durability/batch_codec.hpp"
#include "tests/support/temp_store.hpp"

namespace minivault {
namespace {

struct asked {
  std::string packed;
  std::uint32_t count = 0;
  explicit asked(const std::vector<std::string>& keys) {
    for (const auto& k : keys)
      pack_read(packed, count, k);
  }
};

/// The ops of a reply, decoded: (key, "none" | value | "tombstone").
std::vector<std::pair<std::string, std::string>> ops_of(const read_reply& r) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  packed_op op;
  for (std::uint32_t i = 0; i < r.count; ++i) {
    EXPECT_TRUE(decode_packed_op(r.ops, pos, op)) << "op " << i;
    out.emplace_back(std::string(op.key), op.read  ? "none"
                                          : op.del ? "tombstone"
                                                   : std::string(op.value));
    if (!op.read) {
      EXPECT_NE(op.ver.hlc, 0u) << "a record carries its version";
    }
  }
  EXPECT_EQ(pos, r.ops.size());
  return out;
}

TEST(RecordsOf, AnswersEveryKeyInOrderRecordOrNone) {
  test::temp_store s("records-of");
  ASSERT_TRUE(s.engine);
  std::vector<storage::write_op> w = {
      {"a", "alpha", false, {}}, {"b", "", true, {}}, {"c", "gamma", false, {}}};
  ASSERT_EQ(s.engine->apply(w.data(), w.size()), errc::ok);
  asked q({"c", "missing", "a", "b", "a"});
  auto r = records_of(*s.engine, q.count, q.packed);
  ASSERT_TRUE(r) << r.error().reason();
  EXPECT_EQ(ops_of(*r), (std::vector<std::pair<std::string, std::string>>{{"c", "gamma"},
                                                                          {"missing", "none"},
                                                                          {"a", "alpha"},
                                                                          {"b", "tombstone"},
                                                                          {"a", "alpha"}}));
}

TEST(RecordsOf, StopsAfterTheKeyThatFillsTheByteBound) {
  test::temp_store s("records-of-big");
  ASSERT_TRUE(s.engine);
  const std::string big(read_reply_bytes_soft_max / 2 + 1, 'x');
  std::vector<storage::write_op> w = {
      {"big0", big, false, {}}, {"big1", big, false, {}}, {"big2", big, false, {}}};
  ASSERT_EQ(s.engine->apply(w.data(), w.size()), errc::ok);
  asked q({"small", "big0", "big1", "big2"});
  auto r = records_of(*s.engine, q.count, q.packed);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->count, 3u) << "none, big0, then big1 passes the bound";
  auto ops = ops_of(*r);
  EXPECT_EQ(ops[2].first, "big1");
  asked rest({"big2"});
  auto r2 = records_of(*s.engine, rest.count, rest.packed);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->count, 1u) << "one record always fits";
}

TEST(RecordsOf, MalformedOrTooManyKeysAreBadRequest) {
  test::temp_store s("records-of-bad");
  ASSERT_TRUE(s.engine);
  asked q({"a", "b"});
  auto r = records_of(*s.engine, 3, q.packed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::bad_request);
  auto truncated = records_of(*s.engine, 2, q.packed.substr(0, q.packed.size() - 1));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code(), errc::bad_request);
  client_batch writes; // not reads
  pack_write(writes, false, "a", "v");
  auto not_reads = records_of(*s.engine, writes.count, writes.ops);
  ASSERT_FALSE(not_reads);
  EXPECT_EQ(not_reads.error().code(), errc::bad_request);
  auto too_many = records_of(*s.engine, static_cast<std::uint32_t>(read_keys_max + 1), q.packed);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code(), errc::bad_request);
}

} // namespace
} // namespace minivault
