// The peers' compact encodings (actors/cluster/repair/cluster_codec.hpp): key/version lists and
// partition digests round-trip, malformed input is refused, max_version.
#include "actors/cluster/repair/cluster_codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/durability/batch_codec.hpp"
#include "protocol/limits.hpp"
#include "storage/partition.hpp"

namespace minivault {
namespace {

using kv = storage::engine::key_version;
using storage::version;

std::vector<kv> sample() {
  return {
      kv{"alpha", version{1, 1}, false},
      kv{"b", version{0x0123456789abcdefULL, 0xfedcba98u}, true},
      kv{std::string("nul\0key", 7), version{(std::uint64_t{1} << 63) | 5, 0}, false},
      kv{"zeta", version{0xffffffffffffffffULL, 0xffffffffu}, true},
  };
}

void expect_decodes_to(std::string_view packed, const std::vector<kv>& want) {
  std::unordered_map<std::string_view, held_version> got;
  ASSERT_TRUE(unpack_key_versions(packed, got));
  ASSERT_EQ(got.size(), want.size());
  for (auto& w : want) {
    auto it = got.find(w.key);
    ASSERT_NE(it, got.end()) << "missing key of " << w.key.size() << " bytes";
    EXPECT_EQ(it->second.ver, w.ver) << w.key.substr(0, 20);
    EXPECT_EQ(it->second.tombstone, w.tombstone) << w.key.substr(0, 20);
    // The keys are views into the packed bytes.
    EXPECT_GE(it->first.data(), packed.data());
    EXPECT_LE(it->first.data() + it->first.size(), packed.data() + packed.size());
  }
}

TEST(cluster_codec, key_versions_round_trip) {
  auto in = sample();
  std::string packed;
  pack_key_versions(in, packed);
  std::size_t want_bytes = 0;
  for (auto& e : in)
    want_bytes += 2 + e.key.size() + 8 + 4 + 1;
  EXPECT_EQ(packed.size(), want_bytes);
  expect_decodes_to(packed, in);
}

TEST(cluster_codec, pack_appends_to_what_is_there) {
  std::string packed;
  auto in = sample();
  pack_key_versions({in[0], in[1]}, packed);
  pack_key_versions({in[2], in[3]}, packed);
  expect_decodes_to(packed, in);
}

TEST(cluster_codec, empty_key_list_round_trips) {
  std::string packed;
  pack_key_versions({}, packed);
  EXPECT_TRUE(packed.empty());
  std::unordered_map<std::string_view, held_version> got;
  EXPECT_TRUE(unpack_key_versions(packed, got));
  EXPECT_TRUE(got.empty());
}

TEST(cluster_codec, longest_keys_round_trip) {
  ASSERT_EQ(key_bytes_max, 65535u);
  std::vector<kv> in{kv{std::string(65535, 'x'), version{42, 7}, false},
                     kv{std::string(65535, 'y'), version{43, 8}, true},
                     kv{"short", version{44, 9}, false}};
  std::string packed;
  pack_key_versions(in, packed);
  EXPECT_EQ(packed.size(), 2 * (2 + 65535 + 13) + (2 + 5 + 13));
  expect_decodes_to(packed, in);
}

TEST(cluster_codec, empty_key_round_trips) {
  std::vector<kv> in{kv{"", version{3, 3}, true}};
  std::string packed;
  pack_key_versions(in, packed);
  expect_decodes_to(packed, in);
}

TEST(cluster_codec, every_truncation_inside_an_entry_is_refused) {
  auto in = sample();
  std::string packed;
  pack_key_versions(in, packed);
  std::vector<std::size_t> boundaries{0};
  for (auto& e : in)
    boundaries.push_back(boundaries.back() + 2 + e.key.size() + 13);
  for (std::size_t n = 0; n < packed.size(); ++n) {
    std::unordered_map<std::string_view, held_version> got;
    bool ok = unpack_key_versions(std::string_view(packed).substr(0, n), got);
    bool boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    EXPECT_EQ(ok, boundary) << "prefix of " << n << " bytes";
  }
}

TEST(cluster_codec, key_length_past_the_end_is_refused) {
  std::string bad;
  bad += '\xff';
  bad += '\xff'; // claims a 65535-byte key
  bad += std::string(100, 'k');
  std::unordered_map<std::string_view, held_version> got;
  EXPECT_FALSE(unpack_key_versions(bad, got));
  EXPECT_FALSE(unpack_key_versions(std::string_view("\x01", 1), got)); // half a length
  // A valid entry followed by one byte of garbage.
  std::string packed;
  pack_key_versions({kv{"k", version{1, 1}, false}}, packed);
  packed += 'g';
  EXPECT_FALSE(unpack_key_versions(packed, got));
}

TEST(cluster_codec, digests_round_trip) {
  std::vector<std::uint64_t> in(storage::partition_count);
  for (std::size_t i = 0; i < in.size(); ++i)
    in[i] = (0x9e3779b97f4a7c15ULL * (i + 1)) ^ (i << 56);
  in[0] = 0;
  in[1] = ~std::uint64_t{0};
  std::string packed;
  pack_digests(in, packed);
  EXPECT_EQ(packed.size(), in.size() * 8);
  // Little-endian on the wire.
  std::string one;
  pack_digests({0x0807060504030201ULL}, one);
  EXPECT_EQ(one, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  std::vector<std::uint64_t> out{123, 456}; // replaced, not appended to
  ASSERT_TRUE(unpack_digests(packed, out));
  EXPECT_EQ(out, in);
}

TEST(cluster_codec, empty_digests_round_trip) {
  std::string packed;
  pack_digests({}, packed);
  EXPECT_TRUE(packed.empty());
  std::vector<std::uint64_t> out{1};
  ASSERT_TRUE(unpack_digests(packed, out));
  EXPECT_TRUE(out.empty());
}

TEST(cluster_codec, digests_of_a_partial_length_are_refused) {
  std::string packed;
  pack_digests({1, 2, 3}, packed);
  for (std::size_t cut = 1; cut < 8; ++cut) {
    std::vector<std::uint64_t> out;
    EXPECT_FALSE(unpack_digests(std::string_view(packed).substr(0, packed.size() - cut), out))
        << "cut " << cut;
  }
}

client_batch mixed_batch() {
  client_batch b;
  pack_versioned_write(b, false, "a", "1", version{100, 1});
  pack_write(b, false, "local", "unversioned");
  pack_versioned_write(b, true, "b", "", version{300, 2});
  pack_versioned_write(b, false, "c", "3", version{300, 1});
  pack_versioned_write(b, false, "d", "4", version{200, 9});
  return b;
}

TEST(cluster_codec, max_version_is_the_highest_of_the_batch) {
  auto b = mixed_batch();
  EXPECT_EQ(max_version(b.ops, b.count), (version{300, 2}));
  // Only the first `count` ops are looked at.
  EXPECT_EQ(max_version(b.ops, 2), (version{100, 1}));
  EXPECT_EQ(max_version(b.ops, 0), version{});
}

TEST(cluster_codec, max_version_of_unversioned_or_malformed_ops_is_zero) {
  client_batch plain;
  pack_write(plain, false, "x", "y");
  pack_write(plain, true, "z", "");
  EXPECT_EQ(max_version(plain.ops, plain.count), version{});
  auto b = mixed_batch();
  EXPECT_EQ(max_version(b.ops, b.count + 1), version{}) << "claims an op that is not there";
  std::string cut = b.ops.substr(0, b.ops.size() - 1);
  EXPECT_EQ(max_version(cut, b.count), version{});
  EXPECT_EQ(max_version("garbage", 1), version{});
}

TEST(cluster_codec, partition_lists_round_trip_and_refuse_what_is_out_of_range) {
  std::string packed;
  pack_partitions({0, 7, storage::partition_count - 1}, packed);
  std::vector<std::uint32_t> out;
  ASSERT_TRUE(unpack_partitions(packed, out));
  EXPECT_EQ(out, (std::vector<std::uint32_t>{0, 7, storage::partition_count - 1}));
  ASSERT_TRUE(unpack_partitions("", out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(unpack_partitions(packed.substr(0, 5), out)) << "not whole u32s";
  std::string beyond;
  pack_partitions({storage::partition_count}, beyond);
  EXPECT_FALSE(unpack_partitions(beyond, out)) << "no such partition";
  std::string too_many;
  pack_partitions(std::vector<std::uint32_t>(storage::partition_count + 1, 1), too_many);
  EXPECT_FALSE(unpack_partitions(too_many, out)) << "more than there are partitions";
}

TEST(cluster_codec, split_by_replica_gives_each_replica_of_a_region_its_writes_but_this_node) {
  // Two regions of two members, two replicas per region: every member holds everything.
  placement pl(
      std::vector<placement::member>{{"a", "east"}, {"b", "east"}, {"c", "west"}, {"d", "west"}},
      2);
  versioned_writes w;
  pack_versioned_write(w, false, "k1", "v1", {(1ULL << 20), 1});
  pack_versioned_write(w, true, "k2", "", {(2ULL << 20), 1});
  std::vector<versioned_writes> out;
  split_by_replica(pl, 1, w, out); // west: placement's region 1 (this node is east)
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].count, 0u);
  EXPECT_EQ(out[1].count, 0u) << "b is not in west";
  for (std::size_t m : {2u, 3u}) {
    EXPECT_EQ(out[m].count, 2u);
    EXPECT_EQ(out[m].ops, w.ops);
  }
  split_by_replica(pl, 0, w, out); // east: b, never this node
  EXPECT_EQ(out[0].count, 0u) << "this node's share stays empty";
  EXPECT_EQ(out[1].ops, w.ops);
  EXPECT_EQ(out[2].count + out[3].count, 0u);
}

} // namespace
} // namespace minivault
