// fit_key_lists (actors/cluster/repair/anti_entropy_steps.hpp) against a real engine: a
// cross-region pull or push takes as many partitions as this node's keys of them fit in
// the bound, always at least one, and the rest are left for the next round.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "actors/cluster/repair/anti_entropy_steps.hpp"
#include "storage/table.hpp"
#include "tests/support/temp_store.hpp"

namespace minivault {
namespace {

using anti_entropy_detail::fit_key_lists;
using key_version = storage::engine::key_version;

class fit_key_lists_test : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(store_.engine);
    std::vector<storage::write_op> ops(30);
    for (std::size_t i = 0; i < ops.size(); ++i)
      names_.push_back("key-" + std::to_string(i));
    for (std::size_t i = 0; i < ops.size(); ++i) {
      ops[i].key = names_[i];
      ops[i].value = "v";
      ops[i].ver = storage::version{(1000 + i) << 16, 1};
      parts_.push_back(storage::partition_of(storage::table::hash_key(ops[i].key)));
    }
    ASSERT_EQ(store_.engine->apply(ops.data(), ops.size()), errc::ok);
    std::sort(parts_.begin(), parts_.end());
    parts_.erase(std::unique(parts_.begin(), parts_.end()), parts_.end());
    ASSERT_GE(parts_.size(), 3u); // 30 keys over 1024 partitions
  }
  /// Packed size of partition p's key list here.
  std::size_t bytes_of(std::uint32_t p) {
    std::vector<key_version> keys;
    store_.engine->partition_keys(p, keys);
    std::size_t n = 0;
    for (const auto& k : keys)
      n += 2 + k.key.size() + 13;
    return n;
  }
  test::temp_store store_{"minivault-fit"};
  std::vector<std::string> names_; // the ops view them
  std::vector<std::uint32_t> parts_;
};

TEST_F(fit_key_lists_test, EverythingFitsUnderALargeBound) {
  auto parts = parts_;
  std::vector<key_version> keys;
  EXPECT_FALSE(fit_key_lists(*store_.engine, parts, 1u << 20, keys));
  EXPECT_EQ(parts, parts_);
  EXPECT_EQ(keys.size(), 30u);
}

TEST_F(fit_key_lists_test, TheFirstPartitionAlwaysGoesAndTheRestWaitPastTheBound) {
  auto parts = parts_;
  std::vector<key_version> keys;
  EXPECT_TRUE(fit_key_lists(*store_.engine, parts, 0, keys));
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0], parts_[0]);
  std::vector<key_version> first;
  store_.engine->partition_keys(parts_[0], first);
  EXPECT_EQ(keys.size(), first.size()) << "only the kept partition's keys";

  parts = parts_;
  keys.clear();
  const std::size_t two = bytes_of(parts_[0]) + bytes_of(parts_[1]);
  EXPECT_TRUE(fit_key_lists(*store_.engine, parts, two, keys));
  EXPECT_EQ(parts, (std::vector<std::uint32_t>{parts_[0], parts_[1]}));
}

} // namespace
} // namespace minivault
