// Durable hints (actors/cluster/repair/hint_store.hpp) against a real SQLite file in a temp dir:
// persistence across close/reopen, per-peer insertion order, the chunk byte budget,
// remove() accounting and the total byte bound.
#include "actors/cluster/repair/hint_store.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace minivault {
namespace {

class hint_store_test : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path.empty());
    path_ = tmp_.path + "/hints.db";
  }
  std::unique_ptr<hint_store> open(std::uint64_t bytes_max = 1u << 20) {
    std::string error;
    auto s = hint_store::open(path_, bytes_max, error);
    EXPECT_NE(s, nullptr) << error;
    return s;
  }
  static std::string ops(char c, std::size_t n) { return std::string(n, c); }

  test::temp_dir tmp_{"minivault-hints"};
  std::string path_;
};

std::vector<std::string> ops_of(const std::vector<hint_store::hint>& hs) {
  std::vector<std::string> out;
  for (auto& h : hs)
    out.push_back(h.ops);
  return out;
}

TEST_F(hint_store_test, a_fresh_store_is_empty) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->bytes(), 0u);
  EXPECT_EQ(s->total(), 0u);
  EXPECT_EQ(s->count("peer"), 0u);
  std::vector<hint_store::hint> out;
  EXPECT_EQ(s->oldest("peer", 1u << 20, out), errc::ok);
  EXPECT_TRUE(out.empty());
}

TEST_F(hint_store_test, oldest_returns_each_peers_hints_in_insertion_order) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->add("a", "a1", 1), errc::ok);
  ASSERT_EQ(s->add("b", "b1", 2), errc::ok);
  ASSERT_EQ(s->add("a", "a2", 3), errc::ok);
  ASSERT_EQ(s->add("b", "b2", 4), errc::ok);
  ASSERT_EQ(s->add("a",
                   std::string("a\0"
                               "3",
                               3),
                   5),
            errc::ok); // binary ops survive
  EXPECT_EQ(s->count("a"), 3u);
  EXPECT_EQ(s->count("b"), 2u);
  EXPECT_EQ(s->total(), 5u);
  EXPECT_EQ(s->bytes(), 2u + 2 + 2 + 2 + 3);
  std::vector<hint_store::hint> a, b;
  ASSERT_EQ(s->oldest("a", 1u << 20, a), errc::ok);
  ASSERT_EQ(s->oldest("b", 1u << 20, b), errc::ok);
  EXPECT_EQ(ops_of(a), (std::vector<std::string>{"a1", "a2",
                                                 std::string("a\0"
                                                             "3",
                                                             3)}));
  EXPECT_EQ(ops_of(b), (std::vector<std::string>{"b1", "b2"}));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].count, 1u);
  EXPECT_EQ(a[1].count, 3u);
  EXPECT_EQ(a[2].count, 5u);
  EXPECT_LT(a[0].id, a[1].id);
  EXPECT_LT(a[1].id, a[2].id);
  // oldest() only reads: asking again gives the same.
  std::vector<hint_store::hint> again;
  ASSERT_EQ(s->oldest("a", 1u << 20, again), errc::ok);
  EXPECT_EQ(ops_of(again), ops_of(a));
}

TEST_F(hint_store_test, hints_survive_close_and_reopen) {
  std::vector<std::int64_t> ids;
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    for (int i = 0; i < 10; ++i)
      ASSERT_EQ(s->add(i % 2 ? "odd" : "even", ops('a' + i, 100 + i), i + 1), errc::ok);
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->total(), 10u);
  EXPECT_EQ(s->count("odd"), 5u);
  EXPECT_EQ(s->count("even"), 5u);
  EXPECT_EQ(s->bytes(), 10u * 100 + 45);
  std::vector<hint_store::hint> even;
  ASSERT_EQ(s->oldest("even", 1u << 20, even), errc::ok);
  ASSERT_EQ(even.size(), 5u);
  for (int j = 0; j < 5; ++j) {
    int i = 2 * j;
    EXPECT_EQ(even[j].ops, ops('a' + i, 100 + i));
    EXPECT_EQ(even[j].count, static_cast<std::uint32_t>(i + 1));
  }
  // New hints after the reopen come after the old ones.
  ASSERT_EQ(s->add("even", "new", 1), errc::ok);
  even.clear();
  ASSERT_EQ(s->oldest("even", 1u << 20, even), errc::ok);
  ASSERT_EQ(even.size(), 6u);
  EXPECT_EQ(even.back().ops, "new");
}

TEST_F(hint_store_test, oldest_respects_the_byte_budget_but_returns_at_least_one) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(s->add("p", ops('0' + i, 100), 1), errc::ok);
  std::vector<hint_store::hint> out;
  ASSERT_EQ(s->oldest("p", 1, out), errc::ok);
  ASSERT_EQ(out.size(), 1u) << "a budget below one hint still returns the oldest";
  EXPECT_EQ(out[0].ops, ops('0', 100));
  out.clear();
  ASSERT_EQ(s->oldest("p", 200, out), errc::ok);
  EXPECT_EQ(out.size(), 2u);
  out.clear();
  ASSERT_EQ(s->oldest("p", 250, out), errc::ok);
  // "up to about": it may take the hint that crosses the budget, but no more.
  EXPECT_GE(out.size(), 2u);
  EXPECT_LE(out.size(), 3u);
  for (std::size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(out[i].ops, ops('0' + static_cast<char>(i), 100));
  out.clear();
  ASSERT_EQ(s->oldest("p", 1u << 20, out), errc::ok);
  EXPECT_EQ(out.size(), 5u);
}

TEST_F(hint_store_test, oldest_with_a_zero_budget_still_returns_one) {
  // Contract: "up to about `bytes_max` (at least one if any)".
  auto s = open();
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->add("p", "x", 1), errc::ok);
  std::vector<hint_store::hint> out;
  ASSERT_EQ(s->oldest("p", 0, out), errc::ok);
  EXPECT_EQ(out.size(), 1u);
}

TEST_F(hint_store_test, oldest_returns_one_hint_larger_than_the_budget) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->add("p", ops('x', 5000), 1), errc::ok);
  ASSERT_EQ(s->add("p", ops('y', 10), 1), errc::ok);
  std::vector<hint_store::hint> out;
  ASSERT_EQ(s->oldest("p", 100, out), errc::ok);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ops.size(), 5000u);
}

TEST_F(hint_store_test, remove_updates_counts_and_bytes_and_persists) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(s->add("a", ops('a', 10), 1), errc::ok);
    ASSERT_EQ(s->add("a", ops('b', 20), 1), errc::ok);
    ASSERT_EQ(s->add("b", ops('c', 30), 1), errc::ok);
    std::vector<hint_store::hint> a;
    ASSERT_EQ(s->oldest("a", 1u << 20, a), errc::ok);
    ASSERT_EQ(a.size(), 2u);
    ASSERT_EQ(s->remove({a[0].id}), errc::ok);
    EXPECT_EQ(s->count("a"), 1u);
    EXPECT_EQ(s->count("b"), 1u);
    EXPECT_EQ(s->total(), 2u);
    EXPECT_EQ(s->bytes(), 50u);
    std::vector<hint_store::hint> rest;
    ASSERT_EQ(s->oldest("a", 1u << 20, rest), errc::ok);
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].ops, ops('b', 20));
    // Unknown and repeated ids are harmless and change nothing.
    ASSERT_EQ(s->remove({a[0].id, 999999}), errc::ok);
    EXPECT_EQ(s->total(), 2u);
    EXPECT_EQ(s->bytes(), 50u);
    ASSERT_EQ(s->remove({}), errc::ok);
    ASSERT_EQ(s->remove({rest[0].id}), errc::ok);
    EXPECT_EQ(s->count("a"), 0u);
    EXPECT_EQ(s->bytes(), 30u);
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->count("a"), 0u);
  EXPECT_EQ(s->count("b"), 1u);
  EXPECT_EQ(s->total(), 1u);
  EXPECT_EQ(s->bytes(), 30u);
}

TEST_F(hint_store_test, the_byte_bound_refuses_with_overloaded) {
  auto s = open(1000);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->add("p", ops('a', 600), 1), errc::ok);
  EXPECT_EQ(s->add("p", ops('b', 500), 1), errc::overloaded);
  EXPECT_EQ(s->add("q", ops('b', 500), 1), errc::overloaded) << "the bound is for all peers";
  EXPECT_EQ(s->total(), 1u);
  EXPECT_EQ(s->bytes(), 600u);
  ASSERT_EQ(s->add("p", ops('c', 400), 1), errc::ok) << "exactly at the bound is allowed";
  EXPECT_EQ(s->add("q", "x", 1), errc::overloaded);
  EXPECT_EQ(s->count("q"), 0u);
  // Removing makes room again.
  std::vector<hint_store::hint> out;
  ASSERT_EQ(s->oldest("p", 1, out), errc::ok);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(s->remove({out[0].id}), errc::ok);
  EXPECT_EQ(s->bytes(), 400u);
  EXPECT_EQ(s->add("q", ops('d', 600), 1), errc::ok);
  // A refused hint was not stored, and the bound holds after a reopen too.
  s.reset();
  auto again = open(1000);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->total(), 2u);
  EXPECT_EQ(again->bytes(), 1000u);
  EXPECT_EQ(again->add("p", "y", 1), errc::overloaded);
}

TEST_F(hint_store_test, a_single_hint_over_the_whole_bound_is_refused) {
  auto s = open(100);
  ASSERT_NE(s, nullptr);
  errc rc = s->add("p", ops('z', 101), 1);
  EXPECT_TRUE(rc == errc::overloaded || rc == errc::too_large) << to_string(rc);
  EXPECT_EQ(s->total(), 0u);
  EXPECT_EQ(s->bytes(), 0u);
}

TEST_F(hint_store_test, an_unopenable_path_fails_with_an_error) {
  std::string error;
  auto s = hint_store::open(tmp_.path + "/no/such/dir/hints.db", 1000, error);
  EXPECT_EQ(s, nullptr);
  EXPECT_FALSE(error.empty());
}

} // namespace
} // namespace minivault
