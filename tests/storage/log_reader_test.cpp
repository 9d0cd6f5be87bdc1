// The replay's log reader on a real SQLite log: every row comes out once, in seq order,
// decoded and hashed, whatever the queue depth; a damaged row comes out cut at its first
// bad record; a reader dropped in the middle of a scan stops and joins.
#include "storage/log_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace minivault::storage {
namespace {

constexpr std::size_t rows_written = 300, records_per_row = 20;

std::string key_of(std::size_t row, std::size_t i) {
  return "r" + std::to_string(row) + "-k" + std::to_string(i);
}

/// A log of rows_written rows (seq 1, 3, 5, ...: gaps as compaction leaves them), each of
/// records_per_row records; the row with seq `damaged_seq` has one byte of its 4th record
/// flipped.
class log_reader_test : public ::testing::Test {
protected:
  static constexpr std::uint64_t damaged_seq = 101;

  void SetUp() override {
    auto opened = sqlite_log::open(sqlite_settings{dir_.path + "/log.db"});
    ASSERT_TRUE(opened) << opened.error().reason();
    log_ = std::move(opened).value();
    status st = log_->transaction([&] {
      status s;
      for (std::size_t row = 0; s && row < rows_written; ++row) {
        std::string body;
        std::size_t fourth = 0;
        for (std::size_t i = 0; i < records_per_row; ++i) {
          if (i == 3) fourth = body.size();
          encode_record(body, key_of(row, i), "value-" + key_of(row, i), version{row + 1, 9}, 0);
        }
        if (seq_of(row) == damaged_seq) body[fourth + 30] ^= 0x5a;
        s = log_->insert_row(seq_of(row), body);
      }
      return s;
    });
    ASSERT_TRUE(st) << st.reason();
  }

  static std::uint64_t seq_of(std::size_t row) { return 2 * row + 1; }

  /// Reads the whole log with a queue of `depth`; checks every row; returns the seqs.
  std::vector<std::uint64_t> read_all(std::size_t depth) {
    std::vector<std::uint64_t> seqs;
    log_reader reader(*log_, depth);
    while (scanned_row* r = reader.next()) {
      const std::size_t row = seqs.size();
      seqs.push_back(r->seq);
      const std::size_t expect = r->seq == damaged_seq ? 3 : records_per_row;
      EXPECT_EQ(r->corrupt, r->seq == damaged_seq) << "row " << r->seq;
      EXPECT_EQ(r->recs.size(), expect) << "row " << r->seq;
      EXPECT_EQ(r->hashes.size(), r->recs.size());
      std::size_t offset = 0;
      for (std::size_t i = 0; i < r->recs.size(); ++i) {
        const auto& [rec, loc] = r->recs[i];
        EXPECT_EQ(rec.key, key_of(row, i));
        EXPECT_EQ(rec.stored, "value-" + key_of(row, i));
        EXPECT_EQ(r->hashes[i], table::hash_key(rec.key));
        EXPECT_EQ(loc.row, r->seq);
        EXPECT_EQ(loc.offset, offset);
        offset += loc.length;
      }
      EXPECT_EQ(r->good, offset) << "row " << r->seq;
      EXPECT_EQ(r->good == r->body.size(), r->seq != damaged_seq) << "row " << r->seq;
      reader.recycle(r);
    }
    status st = reader.finish();
    EXPECT_TRUE(st) << st.reason();
    return seqs;
  }

  test::temp_dir dir_{"mv-log-reader"};
  std::unique_ptr<sqlite_log> log_;
};

TEST_F(log_reader_test, EveryRowOnceInSeqOrderDecodedAndHashedAtAnyDepth) {
  ASSERT_TRUE(log_);
  std::vector<std::uint64_t> want;
  for (std::size_t row = 0; row < rows_written; ++row)
    want.push_back(seq_of(row));
  for (std::size_t depth : {1, 2, 4, 64}) {
    SCOPED_TRACE("depth " + std::to_string(depth));
    EXPECT_EQ(read_all(depth), want);
  }
}

TEST_F(log_reader_test, AReaderDroppedMidScanStopsAndTheLogIsUsableAgain) {
  ASSERT_TRUE(log_);
  for (std::size_t taken : {0, 1, 5}) {
    log_reader reader(*log_, 2);
    for (std::size_t i = 0; i < taken; ++i) {
      scanned_row* r = reader.next();
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(r->seq, seq_of(i));
      if (i + 1 < taken) reader.recycle(r); // the last one is never given back
    }
  } // each destructor must return: the thread is waiting for a free row
  EXPECT_EQ(read_all(4).size(), rows_written) << "the log is readable after the stops";
}

TEST_F(log_reader_test, AnEmptyLogEndsAtOnce) {
  auto opened = sqlite_log::open(sqlite_settings{dir_.path + "/empty.db"});
  ASSERT_TRUE(opened) << opened.error().reason();
  log_reader reader(**opened);
  EXPECT_EQ(reader.next(), nullptr);
  EXPECT_TRUE(reader.finish());
}

} // namespace
} // namespace minivault::storage
