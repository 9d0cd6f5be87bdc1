// The shipped form of writes (actors/cluster/geo/ship_codec.hpp): round trips, what
// compression does to repetitive values, and malformed input refused with its error.
#include "actors/cluster/geo/ship_codec.hpp"

#include <gtest/gtest.h>

#include <string>

#include "actors/durability/batch_codec.hpp"
#include "protocol/compression.hpp"

namespace minivault {
namespace {

versioned_writes sample(std::size_t n, const std::string& value) {
  versioned_writes w;
  for (std::size_t i = 0; i < n; ++i)
    pack_versioned_write(w, i % 5 == 0, "key-" + std::to_string(i), value,
                         storage::version{1000 + i, 3});
  return w;
}

TEST(ship_codec, RoundTripsTheWritesAndNeverShipsThemAgain) {
  versioned_writes w = sample(50, "value");
  w.ship = true;
  versioned_writes back;
  ASSERT_EQ(unpack_ship_batch(pack_ship_batch(w), back), errc::ok);
  EXPECT_EQ(back.count, w.count);
  EXPECT_EQ(back.ops, w.ops);
  EXPECT_FALSE(back.ship);
}

TEST(ship_codec, JsonLikeValuesShrink) {
  const std::string doc = R"({"user":"alice","cart":[{"sku":"A-1","qty":2}],"total":12.5})";
  versioned_writes w = sample(100, doc);
  EXPECT_LT(pack_ship_batch(w).packed.size() * 3, w.ops.size());
}

TEST(ship_codec, MalformedBatchesAreRefused) {
  versioned_writes back;
  EXPECT_EQ(unpack_ship_batch(ship_batch{1, "not zstd"}, back), errc::bad_compression);
  ship_batch b = pack_ship_batch(sample(3, "v"));
  b.count = 4; // more ops claimed than packed
  EXPECT_EQ(unpack_ship_batch(b, back), errc::bad_request);
  b.count = 2; // fewer: bytes left over
  EXPECT_EQ(unpack_ship_batch(b, back), errc::bad_request);
  b.packed.resize(b.packed.size() / 2);
  b.count = 3;
  EXPECT_EQ(unpack_ship_batch(b, back), errc::bad_compression);
  client_batch unversioned; // writes without versions have no place in a shipment
  pack_write(unversioned, false, "k", "v");
  EXPECT_EQ(unpack_ship_batch(ship_batch{1, zstd_compress(unversioned.ops)}, back),
            errc::bad_request);
  const std::string bomb(ship_batch_raw_max + 1, 'x');
  EXPECT_EQ(unpack_ship_batch(ship_batch{1, zstd_compress(bomb)}, back), errc::too_large);
}

} // namespace
} // namespace minivault
