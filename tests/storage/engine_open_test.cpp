// Opening a store that holds many keys: the index is sized from the entry count the
// commits keep in the meta table, so replaying the log re-homes no shard, and a missing
// or damaged count costs only speed (the index grows as before), never the data.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/engine.hpp"
#include "tests/support/temp_dir.hpp"

namespace minivault::storage {
namespace {

constexpr std::size_t keys_written = 40000;
constexpr std::size_t shard_count = 256; // the engine's table

std::string key_of(std::size_t i) {
  return "open-key-" + std::to_string(i);
}

/// Runs `sql` on the closed store's database; the first column of the first row, if any.
std::optional<std::string> sql(const std::string& dir, const std::string& statement) {
  sqlite3* db = nullptr;
  std::optional<std::string> out;
  if (sqlite3_open((dir + "/minivault.db").c_str(), &db) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open the database: " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, statement.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << statement << ": " << sqlite3_errmsg(db);
  } else {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      ADD_FAILURE() << statement << ": " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class engine_open_test : public ::testing::Test {
protected:
  std::unique_ptr<engine> open() {
    engine_options o;
    o.dir = dir_.path;
    auto e = engine::open(o);
    EXPECT_TRUE(e) << "open failed: " << e.error().reason();
    return e ? std::move(e).value() : nullptr;
  }

  /// Writes keys_written keys in commits of 500, then closes the store.
  void fill() {
    auto e = open();
    ASSERT_TRUE(e);
    std::vector<std::string> keys;
    std::vector<write_op> ops;
    for (std::size_t i = 0; i < keys_written; i += 500) {
      keys.clear();
      ops.clear();
      for (std::size_t k = i; k < i + 500; ++k)
        keys.push_back(key_of(k));
      for (const auto& k : keys)
        ops.push_back(write_op{k, k, false, {}});
      ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
    }
  }

  /// Every key written holds its value.
  static void expect_all(engine& e) {
    std::string v;
    for (std::size_t i = 0; i < keys_written; ++i) {
      ASSERT_EQ(e.get(key_of(i), v), get_status::found) << key_of(i);
      ASSERT_EQ(v, key_of(i));
    }
  }

  test::temp_dir dir_{"mv-engine-open"};
};

TEST_F(engine_open_test, CommitsKeepTheEntryCountWithinAnEighth) {
  fill();
  auto stored = sql(dir_.path, "SELECT value FROM meta WHERE key = 'index_entries'");
  ASSERT_TRUE(stored) << "no entry count in the meta table";
  const std::uint64_t n = std::stoull(*stored);
  EXPECT_GE(n * 9 / 8 + 1024, keys_written) << "stored " << n;
  EXPECT_LE(n, keys_written) << "an upper bound of the entries after a commit, no more";
}

TEST_F(engine_open_test, ReplayReHomesNoShardWhenTheCountIsStored) {
  fill();
  auto e = open();
  ASSERT_TRUE(e);
  auto st = e->stats();
  EXPECT_EQ(st.keys, keys_written);
  // Each shard is sized once, before the replay, and never grows during it.
  EXPECT_LE(st.index_rehashes, shard_count);
  EXPECT_GE(st.index_slots * 3, keys_written * 4) << "load at most 3/4";
  EXPECT_LE(st.index_slots * 2, keys_written * 4) << "load at least 1/2";
  expect_all(*e);
}

TEST_F(engine_open_test, WithoutTheCountTheIndexGrowsAsItReplays) {
  fill();
  sql(dir_.path, "DELETE FROM meta WHERE key = 'index_entries'");
  auto e = open();
  ASSERT_TRUE(e);
  auto st = e->stats();
  EXPECT_GT(st.index_rehashes, shard_count) << "every shard grew several times";
  expect_all(*e);
}

TEST_F(engine_open_test, ADamagedCountIsIgnoredOrCappedNeverFatal) {
  fill();
  const auto files_bytes = [&] {
    std::error_code ec;
    std::uintmax_t wal = std::filesystem::file_size(dir_.path + "/minivault.db-wal", ec);
    return std::filesystem::file_size(dir_.path + "/minivault.db") + (ec ? 0 : wal);
  };
  for (const char* damaged : {"many", "-5", "12x", "", "99999999999999999999", "9999999999999"}) {
    SCOPED_TRACE(std::string("stored count '") + damaged + "'");
    sql(dir_.path,
        std::string("UPDATE meta SET value = '") + damaged + "' WHERE key = 'index_entries'");
    auto e = open();
    ASSERT_TRUE(e);
    auto st = e->stats();
    EXPECT_EQ(st.keys, keys_written);
    // Capped at one entry per record header the files could hold (23 bytes).
    EXPECT_LE(st.index_slots * 8, files_bytes()) << "slots reserved beyond what the log holds";
    expect_all(*e);
  }
}

} // namespace
} // namespace minivault::storage
