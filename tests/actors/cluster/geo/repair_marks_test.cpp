// Repair marks (actors/cluster/geo/repair_marks.hpp) against a real SQLite file in a temp
// dir: mark, clear only after a comparison that began after the latest mark, survive a
// reopen, forget regions no longer configured, refuse this node's region.
#include "actors/cluster/geo/repair_marks.hpp"
#include "storage/partition.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace minivault {
namespace {

using parts = std::vector<std::uint32_t>;

class repair_marks_test : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_FALSE(tmp_.path.empty()); }
  std::unique_ptr<repair_marks> open(std::vector<std::string> regions = {"", "west", "south"}) {
    auto m = repair_marks::open(tmp_.path + "/repair_marks.db", std::move(regions));
    EXPECT_TRUE(m) << m.error().reason();
    return m ? std::move(*m) : nullptr;
  }
  test::temp_dir tmp_{"minivault-marks"};
};

TEST_F(repair_marks_test, MarksArePerRegionAndClearedOnlyByALaterComparison) {
  auto m = open();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->mark(1, {3, 9, 3}, 1000), errc::ok);
  ASSERT_EQ(m->mark(2, {4}, 1000), errc::ok);
  EXPECT_EQ(m->marked(1), (parts{3, 9}));
  EXPECT_EQ(m->count(1), 2u);
  EXPECT_EQ(m->marked(2), (parts{4}));

  ASSERT_EQ(m->mark(1, {9}, 2000), errc::ok); // a later overflow in 9
  ASSERT_EQ(m->clear(1, {3, 9}, 1500), errc::ok);
  EXPECT_EQ(m->marked(1), (parts{9})) << "a comparison begun before 9's last mark proves nothing";
  ASSERT_EQ(m->clear(1, {9}, 2000), errc::ok);
  EXPECT_TRUE(m->marked(1).empty());
  EXPECT_EQ(m->count(1), 0u);
  EXPECT_EQ(m->marked(2), (parts{4})) << "another region's marks stay";
}

TEST_F(repair_marks_test, ThisRegionAndPartitionsOutOfRangeAreRefused) {
  auto m = open();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mark(0, {1}, 10), errc::bad_request);
  EXPECT_EQ(m->mark(3, {1}, 10), errc::bad_request);
  ASSERT_EQ(m->mark(1, {storage::partition_count, 2}, 10), errc::ok);
  EXPECT_EQ(m->marked(1), (parts{2}));
  EXPECT_EQ(m->count(0), 0u);
}

TEST_F(repair_marks_test, MarksSurviveAReopenAndDroppedRegionsAreForgotten) {
  {
    auto m = open();
    ASSERT_TRUE(m);
    ASSERT_EQ(m->mark(1, {5, 6}, 1000), errc::ok);
    ASSERT_EQ(m->mark(2, {7}, 1000), errc::ok);
    ASSERT_EQ(m->clear(1, {6}, 1000), errc::ok);
  }
  {
    auto m = open();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->marked(1), (parts{5}));
    EXPECT_EQ(m->marked(2), (parts{7}));
    // Any comparison after the restart began after the marks were made.
    ASSERT_EQ(m->clear(2, {7}, 2), errc::ok);
    EXPECT_TRUE(m->marked(2).empty());
  }
  {
    auto m = open({"", "west"}); // south is no longer configured
    ASSERT_TRUE(m);
    EXPECT_EQ(m->marked(1), (parts{5}));
  }
  auto m = open();
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->marked(2).empty()) << "south's rows were deleted when it was dropped";
  EXPECT_EQ(m->marked(1), (parts{5}));
}

TEST_F(repair_marks_test, AnUnwritableFileIsAnErrorNamingIt) {
  auto m = repair_marks::open(tmp_.path + "/missing/dir/repair_marks.db", {"", "west"});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), errc::io_error);
  EXPECT_NE(m.error().reason().find("repair_marks.db"), std::string::npos);
}

} // namespace
} // namespace minivault
