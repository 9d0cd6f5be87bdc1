// The outbox (actors/cluster/geo/outbox.hpp) against a real SQLite file in a temp dir:
// newest write per key, leaders' queue before followers' aged entries, shipped() by
// version (and by another replica's word), unshipped() back in the queue, the row bound,
// and everything surviving a close and reopen.
#include "actors/cluster/geo/outbox.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace minivault {
namespace {

storage::version v(std::uint64_t hlc) {
  return storage::version{hlc, 7};
}

class outbox_test : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_FALSE(tmp_.path.empty()); }
  /// Regions: 0 (this one, unused), 1 "west", 2 "south"; partition 0 led here.
  std::unique_ptr<outbox> open(std::size_t rows_max = 1000,
                               std::vector<std::string> regions = {"", "west", "south"}) {
    auto o = outbox::open(tmp_.path + "/outbox.db", std::move(regions), rows_max);
    EXPECT_TRUE(o) << o.error().reason();
    if (!o) return nullptr;
    std::vector<bool> leading(8, false);
    leading[0] = true;
    (*o)->set_leading(leading);
    return std::move(*o);
  }
  static std::vector<std::string> keys(const std::vector<outbox::entry>& es) {
    std::vector<std::string> out;
    for (const auto& e : es)
      out.push_back(e.key);
    return out;
  }
  test::temp_dir tmp_{"minivault-outbox"};
};

TEST_F(outbox_test, KeepsTheNewestWriteOfAKeyForEveryOtherRegion) {
  auto o = open();
  std::vector<outbox::overflow> dropped;
  ASSERT_EQ(o->add({{"a", 0, v(10), 5}, {"b", 0, v(11), 5}}, 1000, dropped), errc::ok);
  ASSERT_EQ(o->add({{"a", 0, v(20), 7}, {"b", 0, v(5), 9}}, 2000, dropped), errc::ok);
  EXPECT_TRUE(dropped.empty());
  for (std::size_t r : {1u, 2u}) {
    EXPECT_EQ(o->rows(r), 2u);
    EXPECT_EQ(o->bytes(r), 12u); // a's newer write (7) and b's first (5)
    EXPECT_EQ(o->oldest_ms(r), 1000u);
  }
  std::vector<outbox::entry> batch;
  o->take(1, 10, 1 << 20, 0, batch);
  ASSERT_EQ(keys(batch), (std::vector<std::string>{"b", "a"})); // a was queued anew
  EXPECT_EQ(batch[1].ver, v(20));
  EXPECT_EQ(o->rows(2), 2u); // regions are independent
}

TEST_F(outbox_test, LeadersEntriesGoAtOnceFollowersOnlyOnceOldEnough) {
  auto o = open();
  std::vector<outbox::overflow> dropped;
  ASSERT_EQ(o->add({{"mine", 0, v(1), 1}, {"theirs", 3, v(2), 1}}, 1000, dropped), errc::ok);
  std::vector<outbox::entry> batch;
  o->take(1, 10, 1 << 20, 999, batch);
  EXPECT_EQ(keys(batch), (std::vector<std::string>{"mine"})); // "theirs" is not old enough
  batch.clear();
  o->take(1, 10, 1 << 20, 1000, batch);
  EXPECT_EQ(keys(batch), (std::vector<std::string>{"theirs"}));
  batch.clear();
  o->take(1, 10, 1 << 20, 5000, batch);
  EXPECT_TRUE(batch.empty()); // both are in flight
}

TEST_F(outbox_test, ShippedRemovesEntriesAtOrBelowTheShippedVersion) {
  auto o = open();
  std::vector<outbox::overflow> dropped;
  ASSERT_EQ(o->add({{"a", 0, v(10), 1}, {"b", 0, v(10), 1}}, 1000, dropped), errc::ok);
  std::vector<outbox::entry> batch;
  o->take(1, 10, 1 << 20, 0, batch);
  // A newer write of b arrives while the batch is in flight: it must ship too.
  ASSERT_EQ(o->add({{"b", 0, v(30), 1}}, 1100, dropped), errc::ok);
  ASSERT_EQ(o->shipped(1, {{"a", v(10)}, {"b", v(10)}}), errc::ok);
  EXPECT_EQ(o->rows(1), 1u);
  batch.clear();
  o->take(1, 10, 1 << 20, 0, batch);
  ASSERT_EQ(keys(batch), (std::vector<std::string>{"b"}));
  EXPECT_EQ(batch[0].ver, v(30));
  // Another replica's word counts the same, also for entries not taken here.
  ASSERT_EQ(o->add({{"c", 3, v(40), 1}}, 1200, dropped), errc::ok);
  ASSERT_EQ(o->shipped(1, {{"c", v(40)}}), errc::ok);
  EXPECT_EQ(o->rows(1), 1u); // b, in flight
  // And a write that arrives after its shipment is known is not queued again.
  ASSERT_EQ(o->add({{"c", 3, v(40), 1}}, 1300, dropped), errc::ok);
  EXPECT_EQ(o->rows(1), 1u);
}

TEST_F(outbox_test, UnshippedEntriesWaitAgainUnlessReplaced) {
  auto o = open();
  std::vector<outbox::overflow> dropped;
  ASSERT_EQ(o->add({{"a", 0, v(1), 1}, {"b", 0, v(2), 1}}, 1000, dropped), errc::ok);
  std::vector<outbox::entry> batch;
  o->take(1, 10, 1 << 20, 0, batch);
  ASSERT_EQ(o->add({{"b", 0, v(9), 1}}, 1100, dropped), errc::ok); // replaces b in flight
  o->unshipped(1, batch);
  std::vector<outbox::entry> again;
  o->take(1, 10, 1 << 20, 0, again);
  ASSERT_EQ(keys(again), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(again[1].ver, v(9));
}

TEST_F(outbox_test, TakeStopsAtTheRowAndByteBudgets) {
  auto o = open();
  std::vector<outbox::overflow> dropped;
  std::vector<outbox::write> ws;
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i)
    names.push_back("k" + std::to_string(i));
  for (const auto& n : names)
    ws.push_back({n, 0, v(1), 100});
  ASSERT_EQ(o->add(ws, 1000, dropped), errc::ok);
  std::vector<outbox::entry> batch;
  o->take(1, 3, 1 << 20, 0, batch);
  EXPECT_EQ(batch.size(), 3u);
  batch.clear();
  o->take(1, 100, 250, 0, batch); // stops once 250 bytes are reached
  EXPECT_EQ(batch.size(), 3u);
}

TEST_F(outbox_test, WithABacklogAQuarterOfEachBatchIsTheNewestWrites) {
  auto o = open();
  std::vector<outbox::overflow> dropped;
  std::vector<std::string> names;
  for (int i = 0; i < 20; ++i)
    names.push_back("k" + std::to_string(i));
  std::vector<outbox::write> ws;
  for (const auto& n : names)
    ws.push_back({n, 0, v(1), 1});
  ASSERT_EQ(o->add(ws, 1000, dropped), errc::ok);
  std::vector<outbox::entry> batch;
  o->take(1, 8, 1 << 20, 0, batch);
  // The 20 were queued in one group, in no particular key order: compare queue order.
  ASSERT_EQ(batch.size(), 8u);
  std::vector<std::uint64_t> seqs;
  for (const auto& e : batch)
    seqs.push_back(e.seq);
  EXPECT_GT(seqs[0], seqs[1]) << "two (a quarter) newest first";
  EXPECT_GT(seqs[1], seqs[7]) << "then the oldest";
  for (std::size_t i = 2; i + 1 < seqs.size(); ++i)
    EXPECT_LT(seqs[i], seqs[i + 1]) << "the oldest in order";
  batch.clear();
  o->take(1, 100, 1 << 20, 0, batch); // no backlog beyond one batch now: oldest first
  ASSERT_EQ(batch.size(), 12u);
  EXPECT_LT(batch[0].seq, batch[11].seq);
}

TEST_F(outbox_test, PastTheRowBoundWritesAreReportedWithTheirPartitionNotKept) {
  auto o = open(3, {"", "west"});
  std::vector<outbox::overflow> dropped;
  ASSERT_EQ(o->add({{"a", 0, v(1), 1}, {"b", 0, v(1), 1}, {"c", 0, v(1), 1}}, 1, dropped),
            errc::ok);
  ASSERT_EQ(o->add({{"d", 7, v(1), 1}, {"a", 0, v(2), 1}}, 2, dropped), errc::ok);
  ASSERT_EQ(dropped.size(), 1u); // d; a's newer write replaces its entry
  EXPECT_EQ(dropped[0].region, 1u);
  EXPECT_EQ(dropped[0].partition, 7u);
  EXPECT_EQ(o->rows(1), 3u);
}

TEST_F(outbox_test, EntriesSurviveAReopenAndDroppedRegionsAreForgotten) {
  {
    auto o = open();
    std::vector<outbox::overflow> dropped;
    ASSERT_EQ(o->add({{"a", 0, v(1), 4}, {"b", 5, v(2), 4}, {"c", 0, v(3), 4}}, 1000, dropped),
              errc::ok);
    ASSERT_EQ(o->shipped(1, {{"c", v(3)}}), errc::ok);
  }
  {
    auto o = open(1000, {"", "west"}); // south is no longer a region
    EXPECT_EQ(o->rows(1), 2u);
    EXPECT_EQ(o->bytes(1), 8u);
    std::vector<outbox::entry> batch;
    o->take(1, 10, 1 << 20, 1000, batch);
    EXPECT_EQ(keys(batch), (std::vector<std::string>{"a", "b"}));
  }
  auto o = open();
  EXPECT_EQ(o->rows(1), 2u);
  EXPECT_EQ(o->rows(2), 0u); // its rows were deleted when it was dropped
}

TEST_F(outbox_test, AnUnwritableFileIsAnErrorNamingIt) {
  auto o = outbox::open(tmp_.path + "/missing/dir/outbox.db", {"", "west"}, 10);
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code(), errc::io_error);
  EXPECT_NE(o.error().reason().find("outbox.db"), std::string::npos);
}

} // namespace
} // namespace minivault
