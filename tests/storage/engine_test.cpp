// Tests of the storage engine against real SQLite files in a fresh temp dir per test:
// the read/write contract, version resolution, reopen, torn and corrupt log tails (made
// by editing the database with sqlite3 directly), the bounded cache, a full disk,
// compaction, concurrent readers and the fsync policies.
#include "storage/engine.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace minivault::storage {
namespace {

namespace fs = std::filesystem;

// -- helpers ------------------------------------------------------------------------------

/// A fresh directory under /tmp, removed with everything in it on destruction.
class temp_dir {
public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "mv_engine_test.XXXXXX").string();
    char* p = ::mkdtemp(pattern.data());
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
  std::string path_;
};

/// Deterministic bytes (incompressible) for a seed.
std::string random_bytes(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  std::size_t i = 0;
  while (i < n) {
    auto x = rng();
    for (int b = 0; b < 8 && i < n; ++b, ++i)
      out[i] = static_cast<char>((x >> (8 * b)) & 0xFF);
  }
  return out;
}

std::uint64_t seed_of(std::string_view s) {
  return std::hash<std::string_view>{}(s);
}

/// The value the corruption tests store for `key`: derived from the key, 40..300 bytes.
std::string value_for(std::string_view key) {
  auto seed = seed_of(key);
  return std::string(key) + "=" + random_bytes(seed, 40 + seed % 260);
}

std::uint64_t now_hlc() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return static_cast<std::uint64_t>(ms) << 16;
}

write_op put_op(std::string_view k, std::string_view v, version ver = {}) {
  write_op op;
  op.key = k;
  op.value = v;
  op.ver = ver;
  return op;
}

write_op del_op(std::string_view k, version ver = {}) {
  write_op op;
  op.key = k;
  op.tombstone = true;
  op.ver = ver;
  return op;
}

errc put(engine& e, std::string_view k, std::string_view v, version ver = {},
         std::vector<version>* assigned = nullptr) {
  auto op = put_op(k, v, ver);
  return e.apply(&op, 1, assigned);
}

errc del(engine& e, std::string_view k, version ver = {}) {
  auto op = del_op(k, ver);
  return e.apply(&op, 1);
}

/// Local put that returns the version the engine assigned (hlc 0 on failure).
version put_v(engine& e, std::string_view k, std::string_view v) {
  std::vector<version> assigned;
  if (put(e, k, v, {}, &assigned) != errc::ok || assigned.size() != 1) return {};
  return assigned[0];
}

std::optional<std::string> get(engine& e, std::string_view k) {
  std::string out;
  auto st = e.get(k, out);
  if (st == get_status::found) return out;
  EXPECT_EQ(st, get_status::not_found) << "get returned error for key of size " << k.size();
  return std::nullopt;
}

std::string show(const version& v) {
  return "{hlc=" + std::to_string(v.hlc) + ", node=" + std::to_string(v.node) + "}";
}

/// Runs compaction to the end; fails the test if it never settles.
void compact_fully(engine& e) {
  bool more = true;
  int steps = 0;
  while (more) {
    auto step = e.compact_step(1u << 20);
    ASSERT_TRUE(step) << step.error().reason();
    more = *step;
    ASSERT_LT(++steps, 100'000) << "compaction never settles";
  }
}

// -- raw access to the database file (engine closed) --------------------------------------

constexpr std::size_t header_bytes = 23; // crc u32, flags u8, key_len u16, len u32, hlc, node

struct raw_record {
  std::size_t offset = 0;
  std::size_t length = 0;
  std::string key;
};

struct raw_row {
  std::int64_t seq = 0;
  std::string body;
  std::vector<raw_record> records;
};

std::uint32_t load_le(const std::string& b, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + i])) << (8 * i);
  return v;
}

/// Splits a row body into records by their length fields (no checksum check).
bool split_records(const std::string& body, std::vector<raw_record>& out) {
  std::size_t at = 0;
  while (at < body.size()) {
    if (body.size() - at < header_bytes) return false;
    std::size_t key_len = load_le(body, at + 5, 2);
    std::size_t val_len = load_le(body, at + 7, 4);
    std::size_t len = header_bytes + key_len + val_len;
    if (body.size() - at < len) return false;
    out.push_back(raw_record{at, len, body.substr(at + header_bytes, key_len)});
    at += len;
  }
  return true;
}

std::string db_path(const std::string& dir) {
  return dir + "/minivault.db";
}

class raw_db {
public:
  explicit raw_db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "sqlite3_open " << path << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~raw_db() { sqlite3_close(db_); }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  std::vector<raw_row> rows() {
    std::vector<raw_row> out;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT seq, body FROM log ORDER BY seq", -1, &st, nullptr) !=
        SQLITE_OK) {
      ADD_FAILURE() << "prepare: " << sqlite3_errmsg(db_);
      return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      raw_row r;
      r.seq = sqlite3_column_int64(st, 0);
      auto* p = static_cast<const char*>(sqlite3_column_blob(st, 1));
      r.body.assign(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, 1)));
      EXPECT_TRUE(split_records(r.body, r.records))
          << "row " << r.seq << " does not split into records: log format differs from "
          << "[crc32c:u32][flags:u8][key_len:u16][len:u32][hlc:u64][node:u32][key][value]";
      out.push_back(std::move(r));
    }
    sqlite3_finalize(st);
    return out;
  }

  void set_body(std::int64_t seq, const std::string& body) {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "UPDATE log SET body = ?1 WHERE seq = ?2", -1, &st, nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(st, 1, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, seq);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    EXPECT_EQ(sqlite3_changes(db_), 1);
  }

  void exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }

private:
  sqlite3* db_ = nullptr;
};

// -- fixture ------------------------------------------------------------------------------

class engine_test : public ::testing::Test {
protected:
  engine_options options() const {
    engine_options o;
    o.dir = dir_.path();
    return o;
  }

  std::unique_ptr<engine> open(const engine_options& o) {
    auto e = engine::open(o);
    EXPECT_TRUE(e) << "open failed: " << to_string(e.error().code()) << ": " << e.error().reason();
    return e ? std::move(e).value() : nullptr;
  }

  std::unique_ptr<engine> open() { return open(options()); }

  temp_dir dir_;
};

// -- basic reads and writes ---------------------------------------------------------------

TEST_F(engine_test, put_get_overwrite_delete) {
  auto e = open();
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(put(*e, "a", "1"), errc::ok);
  EXPECT_EQ(get(*e, "a"), "1");
  ASSERT_EQ(put(*e, "a", "22"), errc::ok);
  EXPECT_EQ(get(*e, "a"), "22");
  ASSERT_EQ(put(*e, "b", "3"), errc::ok);
  ASSERT_EQ(del(*e, "a"), errc::ok);
  EXPECT_EQ(get(*e, "a"), std::nullopt);
  EXPECT_EQ(get(*e, "b"), "3");
  ASSERT_EQ(put(*e, "a", "back"), errc::ok);
  EXPECT_EQ(get(*e, "a"), "back");
  // value_sink overload
  std::string seen;
  int calls = 0;
  auto sink = [&](std::string_view v) {
    seen.assign(v);
    ++calls;
  };
  EXPECT_EQ(e->get("b", sink), get_status::found);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, "3");
  EXPECT_EQ(e->get("nope", sink), get_status::not_found);
  EXPECT_EQ(calls, 1);
}

TEST_F(engine_test, same_key_twice_in_one_batch_last_op_wins) {
  auto e = open();
  ASSERT_NE(e, nullptr);
  std::vector<write_op> ops{put_op("k", "first"), put_op("k", "second")};
  std::vector<version> assigned;
  ASSERT_EQ(e->apply(ops.data(), ops.size(), &assigned), errc::ok);
  ASSERT_EQ(assigned.size(), 2u);
  EXPECT_LT(assigned[0], assigned[1]);
  EXPECT_EQ(get(*e, "k"), "second");
  ops = {put_op("k", "third"), del_op("k")};
  ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
  EXPECT_EQ(get(*e, "k"), std::nullopt);
  ops = {del_op("k"), put_op("k", "fourth")};
  ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
  EXPECT_EQ(get(*e, "k"), "fourth");
}

TEST_F(engine_test, missing_keys) {
  auto e = open();
  ASSERT_NE(e, nullptr);
  std::string out = "untouched";
  EXPECT_EQ(e->get("missing", out), get_status::not_found);
  EXPECT_EQ(e->version_of("missing").hlc, 0u);
  EXPECT_EQ(del(*e, "missing"), errc::ok);
  EXPECT_EQ(get(*e, "missing"), std::nullopt);
  EXPECT_EQ(e->stats().keys, 0u);
  e.reset();
  e = open();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(get(*e, "missing"), std::nullopt);
  EXPECT_EQ(e->stats().keys, 0u);
}

/// Every key of `model` (a map of key to value) reads back with exactly its value.
template <class Map> void expect_model(engine& e, const Map& model) {
  for (const auto& [k, v] : model) {
    auto got = get(e, k);
    ASSERT_TRUE(got.has_value()) << "key size " << k.size();
    EXPECT_TRUE(*got == v) << "key size " << k.size() << " value size " << v.size() << " got "
                           << got->size();
  }
}

TEST_F(engine_test, binary_and_extreme_sizes_survive_reopen) {
  std::map<std::string, std::string> model;
  model[std::string("nul\0key", 7)] = std::string("v\0a\0l", 5);
  model[std::string("\xFF\xFE\x00\x01", 4)] = std::string("\xFF\xFF\xFF\x00", 4);
  model["empty-value"] = "";
  model[std::string(65535, 'K')] = "longest key";
  model[random_bytes(7, 65535)] = random_bytes(8, 100);
  model["big-random"] = random_bytes(9, 6u << 20);                       // incompressible
  model["big-text"] = std::string(5u << 20, 'z') + random_bytes(10, 77); // compressible
  model["just-over-compress-min"] = std::string(4097, 'c');
  {
    auto e = open();
    ASSERT_NE(e, nullptr);
    for (auto& [k, v] : model)
      ASSERT_EQ(put(*e, k, v), errc::ok) << "key size " << k.size();
    expect_model(*e, model);
    EXPECT_EQ(e->stats().keys, model.size());
  }
  // Reopen with a tiny cache so values come from SQLite (and through zstd).
  auto o = options();
  o.cache_bytes_max = 1024;
  auto e = open(o);
  ASSERT_NE(e, nullptr);
  for (int round = 0; round < 2; ++round) {
    expect_model(*e, model);
  }
  EXPECT_EQ(e->stats().keys, model.size());
}

TEST_F(engine_test, oversized_key_is_refused_not_truncated) {
  auto e = open();
  ASSERT_NE(e, nullptr);
  std::string key(65536, 'k');
  std::vector<write_op> ops{put_op("companion", "x"), put_op(key, "v")};
  EXPECT_NE(e->apply(ops.data(), ops.size()), errc::ok);
  EXPECT_EQ(get(*e, key), std::nullopt);
  EXPECT_EQ(get(*e, key.substr(0, 65535)), std::nullopt);
  EXPECT_EQ(get(*e, ""), std::nullopt);
  EXPECT_EQ(get(*e, "companion"), std::nullopt) << "failed batch was partially applied";
  // still usable
  EXPECT_EQ(put(*e, "after", "ok"), errc::ok);
  EXPECT_EQ(get(*e, "after"), "ok");
}

TEST_F(engine_test, oversized_value_is_refused_whole_batch) {
  auto o = options();
  o.value_bytes_max = 1u << 20;
  auto e = open(o);
  ASSERT_NE(e, nullptr);
  std::string at_limit(1u << 20, 'a');
  std::string over((1u << 20) + 1, 'b');
  EXPECT_EQ(put(*e, "at-limit", at_limit), errc::ok);
  EXPECT_EQ(get(*e, "at-limit"), at_limit);
  std::vector<write_op> ops{put_op("companion", "x"), put_op("over", over),
                            put_op("at-limit", "changed")};
  EXPECT_EQ(e->apply(ops.data(), ops.size()), errc::too_large);
  EXPECT_EQ(get(*e, "over"), std::nullopt);
  EXPECT_EQ(get(*e, "companion"), std::nullopt) << "failed batch was partially applied";
  EXPECT_EQ(get(*e, "at-limit"), at_limit) << "failed batch was partially applied";
}

// -- versions -----------------------------------------------------------------------------

TEST_F(engine_test, local_versions_strictly_increase_with_own_node) {
  auto e = open();
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->node_id(), 0u);
  version last{};
  for (int i = 0; i < 2000; ++i) {
    std::vector<write_op> ops;
    std::vector<std::string> keys;
    for (int j = 0; j < 5; ++j)
      keys.push_back("k" + std::to_string((i * 5 + j) % 37));
    for (auto& k : keys)
      ops.push_back(put_op(k, "v"));
    std::vector<version> assigned;
    ASSERT_EQ(e->apply(ops.data(), ops.size(), &assigned), errc::ok);
    ASSERT_EQ(assigned.size(), ops.size());
    for (std::size_t j = 0; j < assigned.size(); ++j) {
      ASSERT_EQ(assigned[j].node, e->node_id());
      ASSERT_LT(last, assigned[j]) << "batch " << i << " op " << j;
      ASSERT_GT(assigned[j].hlc, last.hlc);
      last = assigned[j];
      EXPECT_EQ(e->version_of(keys[j]).hlc != 0, true);
    }
    EXPECT_EQ(e->version_of(keys.back()), assigned.back());
  }
  // physical part is close to the wall clock
  auto wall_ms = now_hlc() >> 16;
  EXPECT_LE(last.physical_ms(), wall_ms + 1000);
  EXPECT_GE(last.physical_ms() + 60'000, wall_ms);
}

TEST_F(engine_test, replicated_lower_version_is_skipped_higher_wins) {
  auto e = open();
  ASSERT_NE(e, nullptr);
  auto local = put_v(*e, "k", "local");
  ASSERT_NE(local.hlc, 0u);
  std::uint32_t other = e->node_id() + 1;
  // lower: skipped, apply still ok
  EXPECT_EQ(put(*e, "k", "older", version{local.hlc - 1, other}), errc::ok);
  EXPECT_EQ(get(*e, "k"), "local");
  EXPECT_EQ(e->version_of("k"), local);
  // higher: wins, and keeps the replicated version as is
  version higher{local.hlc + 1, other};
  EXPECT_EQ(put(*e, "k", "newer", higher), errc::ok);
  EXPECT_EQ(get(*e, "k"), "newer");
  EXPECT_EQ(e->version_of("k"), higher);
  // the same version replayed again changes nothing
  EXPECT_EQ(put(*e, "k", "newer", higher), errc::ok);
  EXPECT_EQ(get(*e, "k"), "newer");
  // a replicated write of an unknown key is stored with its version
  version v{local.hlc - 1000, other};
  EXPECT_EQ(put(*e, "fresh", "r", v), errc::ok);
  EXPECT_EQ(get(*e, "fresh"), "r");
  EXPECT_EQ(e->version_of("fresh"), v);
  // mixed batch: one loser, one winner
  std::vector<write_op> ops{put_op("k", "loser", version{local.hlc, other}),
                            put_op("fresh", "winner", version{v.hlc + 1, other})};
  EXPECT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
  EXPECT_EQ(get(*e, "k"), "newer");
  EXPECT_EQ(get(*e, "fresh"), "winner");
  // survives reopen
  e.reset();
  e = open();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(get(*e, "k"), "newer");
  EXPECT_EQ(e->version_of("k"), higher);
  EXPECT_EQ(get(*e, "fresh"), "winner");
}

TEST_F(engine_test, equal_hlc_ties_break_on_node_in_any_order) {
  auto e = open();
  ASSERT_NE(e, nullptr);
  const std::uint64_t h = (1'600'000'000'000ull << 16) | 7;
  // order A: 5, then 3 (loses), then 7 (wins)
  EXPECT_EQ(put(*e, "a", "n5", version{h, 5}), errc::ok);
  EXPECT_EQ(put(*e, "a", "n3", version{h, 3}), errc::ok);
  EXPECT_EQ(get(*e, "a"), "n5");
  EXPECT_EQ(put(*e, "a", "n7", version{h, 7}), errc::ok);
  EXPECT_EQ(get(*e, "a"), "n7");
  // order B: 7, 3, 5 -> the same winner
  EXPECT_EQ(put(*e, "b", "n7", version{h, 7}), errc::ok);
  EXPECT_EQ(put(*e, "b", "n3", version{h, 3}), errc::ok);
  EXPECT_EQ(put(*e, "b", "n5", version{h, 5}), errc::ok);
  EXPECT_EQ(get(*e, "b"), "n7");
  EXPECT_EQ(e->version_of("a"), (version{h, 7}));
  EXPECT_EQ(e->version_of("b"), (version{h, 7}));
  // same within one batch
  std::vector<write_op> ops{put_op("c", "n7", version{h, 7}), put_op("c", "n5", version{h, 5})};
  EXPECT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
  EXPECT_EQ(get(*e, "c"), "n7");
  e.reset();
  e = open();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(get(*e, "a"), "n7");
  EXPECT_EQ(get(*e, "b"), "n7");
  EXPECT_EQ(get(*e, "c"), "n7");
}

TEST_F(engine_test, tombstones_follow_version_order) {
  auto e = open();
  ASSERT_NE(e, nullptr);
  const std::uint64_t h = 1'600'000'000'000ull << 16;
  EXPECT_EQ(put(*e, "k", "v1", version{h, 1}), errc::ok);
  // lower tombstone: ignored
  EXPECT_EQ(del(*e, "k", version{h - 1, 9}), errc::ok);
  EXPECT_EQ(get(*e, "k"), "v1");
  // higher tombstone: deletes, version_of reports it
  EXPECT_EQ(del(*e, "k", version{h + 10, 2}), errc::ok);
  EXPECT_EQ(get(*e, "k"), std::nullopt);
  EXPECT_EQ(e->version_of("k"), (version{h + 10, 2}));
  // a value older than the tombstone does not resurrect
  EXPECT_EQ(put(*e, "k", "stale", version{h + 5, 3}), errc::ok);
  EXPECT_EQ(get(*e, "k"), std::nullopt);
  EXPECT_EQ(e->version_of("k"), (version{h + 10, 2}));
  // a newer value resurrects
  EXPECT_EQ(put(*e, "k", "v2", version{h + 20, 1}), errc::ok);
  EXPECT_EQ(get(*e, "k"), "v2");
  EXPECT_EQ(e->version_of("k"), (version{h + 20, 1}));
  // a replicated tombstone for an unknown key is remembered and blocks older values
  EXPECT_EQ(del(*e, "ghost", version{h + 100, 4}), errc::ok);
  EXPECT_EQ(e->version_of("ghost"), (version{h + 100, 4}));
  EXPECT_EQ(put(*e, "ghost", "boo", version{h + 99, 4}), errc::ok);
  EXPECT_EQ(get(*e, "ghost"), std::nullopt);
  // local delete: tombstone carries a fresh local version
  EXPECT_EQ(put(*e, "local", "x"), errc::ok);
  auto before = e->version_of("local");
  EXPECT_EQ(del(*e, "local"), errc::ok);
  auto tomb = e->version_of("local");
  EXPECT_LT(before, tomb);
  EXPECT_EQ(tomb.node, e->node_id());
  EXPECT_EQ(get(*e, "local"), std::nullopt);
  // everything holds after reopen
  e.reset();
  e = open();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(get(*e, "k"), "v2");
  EXPECT_EQ(e->version_of("k"), (version{h + 20, 1}));
  EXPECT_EQ(get(*e, "ghost"), std::nullopt);
  EXPECT_EQ(e->version_of("ghost"), (version{h + 100, 4}));
  EXPECT_EQ(get(*e, "local"), std::nullopt);
  EXPECT_EQ(e->version_of("local"), tomb);
  EXPECT_EQ(put(*e, "ghost", "boo", version{h + 99, 4}), errc::ok);
  EXPECT_EQ(get(*e, "ghost"), std::nullopt);
}

TEST_F(engine_test, local_write_after_future_replicated_version_still_wins) {
  auto e = open();
  ASSERT_NE(e, nullptr);
  // a peer whose clock runs an hour ahead
  version future{now_hlc() + (3'600'000ull << 16), e->node_id() + 1};
  ASSERT_EQ(put(*e, "k", "from-future", future), errc::ok);
  auto mine = put_v(*e, "k", "local");
  EXPECT_LT(future, mine) << "local " << show(mine) << " vs replicated " << show(future);
  EXPECT_EQ(get(*e, "k"), "local");
  // and the clock replays the future version after reopen
  e.reset();
  e = open();
  ASSERT_NE(e, nullptr);
  version future2{now_hlc() + (7'200'000ull << 16), e->node_id() + 1};
  ASSERT_EQ(put(*e, "k2", "from-future", future2), errc::ok);
  e.reset();
  e = open();
  ASSERT_NE(e, nullptr);
  auto mine2 = put_v(*e, "k2", "local");
  EXPECT_LT(future2, mine2) << "after reopen the clock must be past every stored version";
  EXPECT_EQ(get(*e, "k2"), "local");
}

// -- reopen -------------------------------------------------------------------------------

TEST_F(engine_test, everything_survives_reopen) {
  std::map<std::string, std::optional<std::string>> model;
  std::map<std::string, version> versions;
  std::uint32_t node = 0;
  {
    auto e = open();
    ASSERT_NE(e, nullptr);
    node = e->node_id();
    ASSERT_NE(node, 0u);
    std::mt19937_64 rng(42);
    for (int b = 0; b < 200; ++b) {
      std::vector<std::string> keys, vals;
      std::vector<write_op> ops;
      std::vector<bool> tomb;
      for (int j = 0; j < 10; ++j) {
        keys.push_back("key-" + std::to_string(rng() % 300));
        vals.push_back("val-" + std::to_string(b) + "-" + std::to_string(j) +
                       random_bytes(rng(), rng() % 200));
        tomb.push_back(rng() % 5 == 0);
      }
      for (int j = 0; j < 10; ++j)
        ops.push_back(tomb[j] ? del_op(keys[j]) : put_op(keys[j], vals[j]));
      std::vector<version> assigned;
      ASSERT_EQ(e->apply(ops.data(), ops.size(), &assigned), errc::ok);
      for (int j = 0; j < 10; ++j) {
        model[keys[j]] = tomb[j] ? std::nullopt : std::optional<std::string>(vals[j]);
        versions[keys[j]] = assigned[j];
      }
    }
    for (auto& [k, v] : model)
      EXPECT_EQ(get(*e, k), v) << k;
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto o = options();
    if (reopen == 1) o.cache_bytes_max = 4096;
    auto e = open(o);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->node_id(), node);
    EXPECT_EQ(e->stats().node_id, node);
    EXPECT_EQ(e->stats().corrupt_records_cut, 0u);
    std::uint64_t live = 0, dead = 0;
    for (auto& [k, v] : model) {
      EXPECT_EQ(get(*e, k), v) << k;
      EXPECT_EQ(e->version_of(k), versions[k]) << k;
      (v ? live : dead) += 1;
    }
    EXPECT_EQ(e->stats().keys, live);
    EXPECT_EQ(e->stats().tombstones, dead);
    // new local versions stay above everything replayed
    version max_v{};
    for (auto& [k, v] : versions)
      max_v = std::max(max_v, v);
    auto fresh = put_v(*e, "after-reopen-" + std::to_string(reopen), "x");
    EXPECT_LT(max_v, fresh);
    model["after-reopen-" + std::to_string(reopen)] = "x";
    versions["after-reopen-" + std::to_string(reopen)] = fresh;
  }
}

TEST_F(engine_test, explicit_node_id_is_used) {
  auto o = options();
  o.node_id = 4242;
  {
    auto e = open(o);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->node_id(), 4242u);
    EXPECT_EQ(put_v(*e, "k", "v").node, 4242u);
  }
  auto e = open(); // node_id 0: load what the directory remembers
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->node_id(), 4242u);
  EXPECT_EQ(get(*e, "k"), "v");
}

TEST_F(engine_test, generated_node_ids_differ_between_directories) {
  temp_dir other;
  auto a = open();
  auto o = options();
  o.dir = other.path();
  auto b = open(o);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->node_id(), 0u);
  EXPECT_NE(b->node_id(), 0u);
  EXPECT_NE(a->node_id(), b->node_id()) << "two fresh stores generated the same node id";
}

TEST_F(engine_test, creates_missing_directory) {
  auto o = options();
  o.dir = dir_.path() + "/nested/deeper";
  auto e = open(o);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(put(*e, "k", "v"), errc::ok);
  EXPECT_TRUE(fs::exists(db_path(o.dir)));
}

// -- torn and corrupt tails ---------------------------------------------------------------

enum class damage {
  flip_last,
  truncate_mid_last,
  truncate_mid_header,
  garbage_tail,
  flip_first_row_middle
};

class corrupt_tail_test : public engine_test {
protected:
  /// Writes unique keys in several batches, damages the log as `kind` says, and checks
  /// the reopen contract. Every key is written once, so the keys lost are exactly the
  /// keys of the cut records.
  void run(damage kind) {
    std::vector<std::string> keys;
    std::uint32_t node = 0;
    {
      auto e = open();
      ASSERT_NE(e, nullptr);
      node = e->node_id();
      for (int b = 0; b < 8; ++b) {
        std::vector<std::string> batch_keys;
        for (int j = 0; j < 12; ++j)
          batch_keys.push_back("b" + std::to_string(b) + "-k" + std::to_string(j));
        std::vector<std::string> vals;
        for (auto& k : batch_keys)
          vals.push_back(value_for(k));
        std::vector<write_op> ops;
        for (std::size_t j = 0; j < batch_keys.size(); ++j)
          ops.push_back(put_op(batch_keys[j], vals[j]));
        ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
        keys.insert(keys.end(), batch_keys.begin(), batch_keys.end());
      }
    }
    std::set<std::string> lost;
    {
      raw_db db(db_path(dir_.path()));
      auto rows = db.rows();
      ASSERT_FALSE(rows.empty());
      std::size_t records = 0;
      for (auto& r : rows)
        records += r.records.size();
      ASSERT_EQ(records, keys.size()) << "expected one record per write in the log table";
      auto& row = kind == damage::flip_first_row_middle ? rows.front() : rows.back();
      ASSERT_FALSE(row.records.empty());
      std::size_t cut_at = row.records.size() - 1; // index of the first record lost
      std::string body = row.body;
      const auto& last = row.records.back();
      switch (kind) {
      case damage::flip_last:
        body[last.offset + last.length - 1] ^= 0x5A;
        break;
      case damage::truncate_mid_last:
        body.resize(last.offset + header_bytes + (last.length - header_bytes) / 2);
        break;
      case damage::truncate_mid_header:
        body.resize(last.offset + 10);
        break;
      case damage::garbage_tail:
        body += random_bytes(1234, 37);
        cut_at = row.records.size();
        break;
      case damage::flip_first_row_middle: {
        cut_at = row.records.size() / 2;
        const auto& r = row.records[cut_at];
        body[r.offset + header_bytes] ^= 0x01; // first key byte
        break;
      }
      }
      for (std::size_t i = cut_at; i < row.records.size(); ++i)
        lost.insert(row.records[i].key);
      if (kind == damage::truncate_mid_last || kind == damage::truncate_mid_header) {
        // exercise the SQL path the brief describes as well
        db.exec("UPDATE log SET body = substr(body, 1, " + std::to_string(body.size()) +
                ") WHERE seq = " + std::to_string(row.seq));
      } else {
        db.set_body(row.seq, body);
      }
    }
    std::uint64_t first_cut = 0;
    {
      auto e = open();
      ASSERT_NE(e, nullptr) << "open must not fail because of a damaged tail";
      EXPECT_EQ(e->node_id(), node);
      auto st = e->stats();
      first_cut = st.corrupt_records_cut;
      EXPECT_GT(first_cut, 0u);
      EXPECT_EQ(st.keys, keys.size() - lost.size());
      expect_contents(*e, keys, lost);
      // keeps accepting writes
      for (int j = 0; j < 20; ++j) {
        std::string k = "new-" + std::to_string(j);
        ASSERT_EQ(put(*e, k, value_for(k)), errc::ok);
        EXPECT_EQ(get(*e, k), value_for(k));
      }
    }
    for (int j = 0; j < 20; ++j)
      keys.push_back("new-" + std::to_string(j));
    for (int again = 0; again < 2; ++again) {
      auto e = open();
      ASSERT_NE(e, nullptr);
      auto cut = e->stats().corrupt_records_cut;
      EXPECT_TRUE(cut == 0 || cut == first_cut) << "reopen #" << again + 2 << " cut " << cut
                                                << " records (first reopen: " << first_cut << ")";
      expect_contents(*e, keys, lost);
      EXPECT_EQ(e->stats().keys, keys.size() - lost.size());
    }
  }

  void expect_contents(engine& e, const std::vector<std::string>& keys,
                       const std::set<std::string>& lost) {
    for (auto& k : keys) {
      if (lost.count(k)) {
        EXPECT_EQ(get(e, k), std::nullopt) << "cut record " << k << " still readable";
      } else {
        auto got = get(e, k);
        EXPECT_TRUE(got.has_value()) << "intact record " << k << " lost";
        if (got) {
          EXPECT_TRUE(*got == value_for(k)) << "wrong value for " << k;
        }
      }
    }
  }
};

TEST_F(corrupt_tail_test, flipped_byte_in_last_record) {
  run(damage::flip_last);
}
TEST_F(corrupt_tail_test, truncated_in_middle_of_last_record) {
  run(damage::truncate_mid_last);
}
TEST_F(corrupt_tail_test, truncated_in_middle_of_last_header) {
  run(damage::truncate_mid_header);
}
TEST_F(corrupt_tail_test, garbage_appended_to_last_row) {
  run(damage::garbage_tail);
}
TEST_F(corrupt_tail_test, flipped_byte_in_first_row_cuts_only_that_row) {
  run(damage::flip_first_row_middle);
}

TEST_F(engine_test, replay_resolves_duplicate_records_by_version_not_log_order) {
  // A compaction interrupted between writing the copies and deleting the old rows leaves
  // records twice; replicated writes can arrive out of order. Simulate the worst case: the
  // oldest row (all of it dead) copied to the head of the log.
  const int n = 50;
  auto key = [](int i) { return "dup-" + std::to_string(i); };
  auto val = [&](int i, int round) { return key(i) + "@" + std::to_string(round); };
  std::map<std::string, version> versions;
  {
    auto e = open();
    ASSERT_NE(e, nullptr);
    for (int r = 0; r < 3; ++r) {
      std::vector<std::string> keys, vals;
      for (int i = 0; i < n; ++i) {
        keys.push_back(key(i));
        vals.push_back(val(i, r));
      }
      std::vector<write_op> ops;
      for (int i = 0; i < n; ++i)
        ops.push_back(put_op(keys[i], vals[i]));
      ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
    }
    for (int i = 0; i < n; ++i)
      versions[key(i)] = e->version_of(key(i));
  }
  {
    raw_db db(db_path(dir_.path()));
    auto rows = db.rows();
    ASSERT_GE(rows.size(), 2u) << "expected one row per batch at least";
    db.exec("INSERT INTO log(seq, body) SELECT (SELECT max(seq) + 1 FROM log), body FROM log "
            "WHERE seq = (SELECT min(seq) FROM log)");
  }
  auto o = options();
  o.compact_log_bytes_min = 1024;
  {
    auto e = open(o);
    ASSERT_NE(e, nullptr);
    auto st = e->stats();
    EXPECT_EQ(st.corrupt_records_cut, 0u);
    EXPECT_EQ(st.keys, static_cast<std::uint64_t>(n));
    EXPECT_LE(st.live_bytes, st.log_bytes);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(get(*e, key(i)), val(i, 2)) << "an older copy at the log head won";
      EXPECT_EQ(e->version_of(key(i)), versions[key(i)]);
    }
    std::vector<std::string> keys, vals;
    for (int i = 0; i < n; i += 2) {
      keys.push_back(key(i));
      vals.push_back(val(i, 3));
    }
    std::vector<write_op> ops;
    for (std::size_t j = 0; j < keys.size(); ++j)
      ops.push_back(put_op(keys[j], vals[j]));
    ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
    compact_fully(*e);
    for (int i = 0; i < n; ++i)
      EXPECT_EQ(get(*e, key(i)), val(i, i % 2 ? 2 : 3));
  }
  auto e = open(o);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->stats().keys, static_cast<std::uint64_t>(n));
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(get(*e, key(i)), val(i, i % 2 ? 2 : 3));
}

// -- kill -9 ------------------------------------------------------------------------------

/// Child process: writes batches forever, reporting each acknowledged batch on `ack_fd`.
[[noreturn]] void write_until_killed(const engine_options& o, int round, int ack_fd) {
  auto opened = engine::open(o);
  if (!opened) ::_exit(3);
  auto e = std::move(opened).value();
  for (std::uint32_t b = 0;; ++b) {
    std::vector<std::string> keys, vals;
    for (int j = 0; j < 8; ++j) {
      keys.push_back("kill-" + std::to_string(round) + "-" + std::to_string(b) + "-" +
                     std::to_string(j));
      vals.push_back(value_for(keys.back()));
    }
    keys.push_back("kill-counter");
    vals.push_back(std::to_string(round) + ":" + std::to_string(b));
    std::vector<write_op> ops;
    for (std::size_t j = 0; j < keys.size(); ++j)
      ops.push_back(put_op(keys[j], vals[j]));
    if (e->apply(ops.data(), ops.size()) != errc::ok) ::_exit(4);
    if (::write(ack_fd, &b, sizeof b) != sizeof b) ::_exit(5);
  }
}

class kill_test : public engine_test, public ::testing::WithParamInterface<fsync_policy> {};

TEST_P(kill_test, acknowledged_writes_survive_sigkill) {
  auto o = options();
  o.fsync = GetParam();
  o.compress_bytes_min = 0;
  auto batch_key = [](int round, std::uint32_t b, int j) {
    return "kill-" + std::to_string(round) + "-" + std::to_string(b) + "-" + std::to_string(j);
  };
  std::vector<std::int64_t> last_acked;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      write_until_killed(o, round, fds[1]);
    }
    ::close(fds[1]);
    std::int64_t acked = -1;
    std::uint32_t b = 0;
    const std::int64_t kill_after = 50 + 40 * round;
    while (acked < kill_after && ::read(fds[0], &b, sizeof b) == sizeof b)
      acked = b;
    ::kill(pid, SIGKILL);
    while (::read(fds[0], &b, sizeof b) == sizeof b)
      acked = b; // acks already in the pipe
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "writer child ended on its own, status " << status << " after " << acked << " acks";
    ASSERT_GE(acked, kill_after);
    last_acked.push_back(acked);

    auto e = open(o);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->stats().corrupt_records_cut, 0u);
    for (int r = 0; r <= round; ++r) {
      for (std::uint32_t bb = 0; bb <= static_cast<std::uint32_t>(last_acked[r]); ++bb) {
        for (int j = 0; j < 8; ++j) {
          auto k = batch_key(r, bb, j);
          auto got = get(*e, k);
          ASSERT_TRUE(got.has_value()) << "acknowledged " << k << " lost by kill -9";
          ASSERT_TRUE(*got == value_for(k)) << k;
        }
      }
      // the batch in flight at the kill: all or nothing; later ones never started
      auto next = static_cast<std::uint32_t>(last_acked[r] + 1);
      int present = 0;
      for (int j = 0; j < 8; ++j)
        present += get(*e, batch_key(r, next, j)).has_value();
      EXPECT_TRUE(present == 0 || present == 8) << "batch " << next << " half applied";
      for (int j = 0; j < 8; ++j)
        EXPECT_EQ(get(*e, batch_key(r, next + 1, j)), std::nullopt);
      if (r == round) {
        auto counter = get(*e, "kill-counter");
        ASSERT_TRUE(counter.has_value());
        auto expect_a = std::to_string(round) + ":" + std::to_string(last_acked[r]);
        auto expect_b = std::to_string(round) + ":" + std::to_string(next);
        EXPECT_TRUE(*counter == expect_a || (present == 8 && *counter == expect_b))
            << "counter " << *counter << " after " << last_acked[r] << " acks";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(policies, kill_test,
                         ::testing::Values(fsync_policy::none, fsync_policy::always),
                         [](const ::testing::TestParamInfo<fsync_policy>& info) {
                           return std::string(info.param == fsync_policy::none ? "none" : "always");
                         });

TEST_F(engine_test, unreadable_database_file_fails_open_cleanly) {
  {
    std::FILE* f = std::fopen(db_path(dir_.path()).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string junk = random_bytes(99, 8192);
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto e = engine::open(options());
  EXPECT_FALSE(e);
  EXPECT_NE(e.error().code(), errc::ok);
  EXPECT_FALSE(e.error().reason().empty());
}

// -- cache --------------------------------------------------------------------------------

TEST_F(engine_test, cache_stays_bounded_and_misses_read_sqlite) {
  auto o = options();
  o.cache_bytes_max = 64u << 10;
  const std::size_t value_bytes = 4096;
  const int n = (10u << 20) / value_bytes; // 10 MiB of distinct values
  auto key = [](int i) { return "cache-" + std::to_string(i); };
  auto e = open(o);
  ASSERT_NE(e, nullptr);
  for (int i = 0; i < n; i += 64) {
    std::vector<std::string> vals;
    std::vector<std::string> keys;
    for (int j = i; j < i + 64 && j < n; ++j) {
      keys.push_back(key(j));
      vals.push_back(random_bytes(j, value_bytes));
    }
    std::vector<write_op> ops;
    for (std::size_t j = 0; j < keys.size(); ++j)
      ops.push_back(put_op(keys[j], vals[j]));
    ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
    ASSERT_LE(e->stats().cache_bytes, o.cache_bytes_max + value_bytes) << "after batch " << i;
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < n; ++i) {
      auto got = get(*e, key(i));
      ASSERT_TRUE(got.has_value()) << key(i);
      ASSERT_TRUE(*got == random_bytes(i, value_bytes)) << key(i);
    }
    auto st = e->stats();
    EXPECT_LE(st.cache_bytes, o.cache_bytes_max + value_bytes);
    EXPECT_GT(st.cache_misses, 0u);
    EXPECT_EQ(st.keys, static_cast<std::uint64_t>(n));
  }
  // a hot key read repeatedly is served from the cache
  auto before = e->stats();
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(get(*e, key(0)).has_value());
  auto after = e->stats();
  EXPECT_GE(after.cache_hits, before.cache_hits + 90);
  EXPECT_GT(after.cache_items, 0u);
}

// -- full disk ----------------------------------------------------------------------------

TEST_F(engine_test, full_disk_fails_whole_batch_and_keeps_acknowledged_data) {
  auto o = options();
  o.db_pages_max = 200;
  o.page_bytes = 4096;
  std::map<std::string, std::string> acked;
  std::vector<std::string> failed_keys;
  std::string overwritten_key;
  {
    auto e = open(o);
    ASSERT_NE(e, nullptr);
    bool full = false;
    for (int b = 0; b < 10'000 && !full; ++b) {
      std::vector<std::string> keys, vals;
      for (int j = 0; j < 16; ++j) {
        keys.push_back("fd-" + std::to_string(b) + "-" + std::to_string(j));
        vals.push_back(random_bytes(b * 100 + j, 1024));
      }
      // each batch also overwrites a key of the first batch
      if (b > 0) {
        keys.push_back("fd-0-0");
        vals.push_back("overwritten-by-" + std::to_string(b));
      }
      std::vector<write_op> ops;
      for (std::size_t j = 0; j < keys.size(); ++j)
        ops.push_back(put_op(keys[j], vals[j]));
      auto rc = e->apply(ops.data(), ops.size());
      if (rc == errc::ok) {
        for (std::size_t j = 0; j < keys.size(); ++j)
          acked[keys[j]] = vals[j];
      } else {
        EXPECT_EQ(rc, errc::io_error);
        ASSERT_GT(b, 0) << "the very first batch failed: limit too small for the test";
        full = true;
        failed_keys.assign(keys.begin(), keys.end() - 1);
      }
    }
    ASSERT_TRUE(full) << "db_pages_max = 200 never made apply fail";
    expect_model(*e, acked);
    for (auto& k : failed_keys)
      EXPECT_EQ(get(*e, k), std::nullopt) << k;
    EXPECT_EQ(e->stats().keys, acked.size());
    // a retry still fails cleanly (or succeeds); either way nothing is half-applied
    std::vector<write_op> ops;
    std::string big = random_bytes(5, 64u << 10);
    ops.push_back(put_op("retry-a", big));
    ops.push_back(put_op("retry-b", big));
    auto rc = e->apply(ops.data(), ops.size());
    if (rc == errc::ok) {
      acked["retry-a"] = big;
      acked["retry-b"] = big;
    } else {
      EXPECT_EQ(get(*e, "retry-a"), std::nullopt);
      EXPECT_EQ(get(*e, "retry-b"), std::nullopt);
    }
  }
  auto e = open(); // no limit
  ASSERT_NE(e, nullptr);
  expect_model(*e, acked);
  for (auto& k : failed_keys)
    EXPECT_EQ(get(*e, k), std::nullopt) << k;
  for (int j = 0; j < 100; ++j) {
    std::string k = "after-" + std::to_string(j);
    ASSERT_EQ(put(*e, k, random_bytes(j, 4096)), errc::ok);
  }
  for (int j = 0; j < 100; ++j)
    EXPECT_EQ(get(*e, "after-" + std::to_string(j)), random_bytes(j, 4096));
}

// -- compaction ---------------------------------------------------------------------------

void expect_compacted(const engine_stats& st, const engine_options& o) {
  EXPECT_LE(st.live_bytes, st.log_bytes);
  if (st.log_bytes > o.compact_log_bytes_min) {
    EXPECT_GE(static_cast<double>(st.live_bytes),
              o.compact_live_ratio_min * static_cast<double>(st.log_bytes))
        << "compaction stopped early: live " << st.live_bytes << " of " << st.log_bytes;
  }
}

class compaction_test : public engine_test {
protected:
  engine_options copts() const {
    auto o = options();
    o.compact_log_bytes_min = 256u << 10;
    return o;
  }
  static std::string key(int i) { return "ck-" + std::to_string(i); }
  static std::string value(int i, int round) {
    return "r" + std::to_string(round) + ":" + random_bytes(i * 1000 + round, 1000);
  }
  /// Overwrites keys [0, n) with round `round` (skipping those `skip` says).
  template <class Skip> void write_round(engine& e, int n, int round, Skip skip) {
    std::vector<std::string> keys, vals;
    for (int i = 0; i < n; ++i) {
      if (skip(i)) continue;
      keys.push_back(key(i));
      vals.push_back(value(i, round));
    }
    for (std::size_t at = 0; at < keys.size(); at += 250) {
      std::vector<write_op> ops;
      for (std::size_t j = at; j < keys.size() && j < at + 250; ++j)
        ops.push_back(put_op(keys[j], vals[j]));
      ASSERT_EQ(e.apply(ops.data(), ops.size()), errc::ok);
    }
  }

  /// Eight rounds of writes to keys 0..n-1, then one batch deleting those `deleted`
  /// selects. Returns the deleted keys (empty if the delete batch failed).
  template <class Pred> std::vector<std::string> fill_then_delete(engine& e, int n, Pred deleted) {
    for (int r = 0; r < 8; ++r)
      write_round(e, n, r, [](int) { return false; });
    std::vector<std::string> keys;
    for (int i = 0; i < n; ++i)
      if (deleted(i)) keys.push_back(key(i));
    std::vector<write_op> ops;
    for (auto& k : keys)
      ops.push_back(del_op(k));
    errc rc = e.apply(ops.data(), ops.size());
    EXPECT_EQ(rc, errc::ok);
    return rc == errc::ok ? keys : std::vector<std::string>{};
  }
};

TEST_F(compaction_test, overwrites_shrink_the_log) {
  const int n = 1000, rounds = 20;
  auto o = copts();
  engine_stats after{};
  {
    auto e = open(o);
    ASSERT_NE(e, nullptr);
    for (int r = 0; r < rounds; ++r)
      write_round(*e, n, r, [](int) { return false; });
    auto before = e->stats();
    EXPECT_GT(before.log_bytes, static_cast<std::uint64_t>(rounds - 1) * n * 1000);
    EXPECT_LT(before.live_bytes, before.log_bytes / 10);
    compact_fully(*e);
    after = e->stats();
    EXPECT_LT(after.log_bytes, before.log_bytes / 4)
        << "log " << before.log_bytes << " -> " << after.log_bytes;
    EXPECT_LT(after.log_rows, before.log_rows);
    expect_compacted(after, o);
    EXPECT_EQ(after.keys, static_cast<std::uint64_t>(n));
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(get(*e, key(i)), value(i, rounds - 1)) << key(i);
    // more writes after compaction work and win
    write_round(*e, n, rounds, [](int i) { return i % 2 == 0; });
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto o2 = o;
    o2.cache_bytes_max = 16u << 10;
    auto e = open(o2);
    ASSERT_NE(e, nullptr);
    auto st = e->stats();
    EXPECT_EQ(st.corrupt_records_cut, 0u);
    EXPECT_EQ(st.keys, static_cast<std::uint64_t>(n));
    EXPECT_LE(st.live_bytes, st.log_bytes);
    EXPECT_LT(st.log_bytes, after.log_bytes + (2u << 20));
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(get(*e, key(i)), value(i, i % 2 ? rounds : rounds - 1)) << key(i);
    compact_fully(*e);
    expect_compacted(e->stats(), o2);
  }
}

TEST_F(compaction_test, deletes_survive_compaction_and_reopen) {
  const int n = 1000;
  auto o = copts(); // default tombstone grace: tombstones must be kept
  auto deleted = [](int i) { return i % 3 == 0; };
  std::map<std::string, version> tomb_versions;
  {
    auto e = open(o);
    ASSERT_NE(e, nullptr);
    std::vector<std::string> keys = fill_then_delete(*e, n, deleted);
    ASSERT_FALSE(keys.empty());
    for (auto& k : keys)
      tomb_versions[k] = e->version_of(k);
    for (int r = 8; r < 16; ++r)
      write_round(*e, n, r, deleted);
    compact_fully(*e);
    auto st = e->stats();
    expect_compacted(st, o);
    EXPECT_EQ(st.tombstones, keys.size()) << "tombstones dropped within their grace period";
    for (int i = 0; i < n; ++i) {
      if (deleted(i)) {
        EXPECT_EQ(get(*e, key(i)), std::nullopt) << key(i);
        EXPECT_EQ(e->version_of(key(i)), tomb_versions[key(i)]) << key(i);
      } else {
        EXPECT_EQ(get(*e, key(i)), value(i, 15)) << key(i);
      }
    }
  }
  auto e = open(o);
  ASSERT_NE(e, nullptr);
  for (int i = 0; i < n; ++i) {
    if (deleted(i)) {
      EXPECT_EQ(get(*e, key(i)), std::nullopt) << key(i) << " came back after reopen";
      EXPECT_EQ(e->version_of(key(i)), tomb_versions[key(i)]) << key(i);
    } else {
      EXPECT_EQ(get(*e, key(i)), value(i, 15)) << key(i);
    }
  }
  EXPECT_EQ(e->stats().tombstones, tomb_versions.size());
}

TEST_F(compaction_test, zero_grace_drops_tombstones_without_resurrection) {
  const int n = 1000;
  auto o = copts();
  o.tombstone_grace_ms = 0;
  auto deleted = [](int i) { return i % 2 == 1; };
  std::size_t deleted_count = 0;
  {
    auto e = open(o);
    ASSERT_NE(e, nullptr);
    std::vector<std::string> keys = fill_then_delete(*e, n, deleted);
    ASSERT_FALSE(keys.empty());
    deleted_count = keys.size();
    for (int r = 8; r < 20; ++r)
      write_round(*e, n, r, deleted);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    compact_fully(*e);
    auto st = e->stats();
    expect_compacted(st, o);
    EXPECT_LT(st.tombstones, deleted_count) << "grace 0 should let compaction drop tombstones";
    EXPECT_EQ(st.keys, static_cast<std::uint64_t>(n) - deleted_count);
    for (int i = 0; i < n; ++i)
      EXPECT_EQ(get(*e, key(i)), deleted(i) ? std::nullopt : std::optional(value(i, 19))) << key(i);
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto e = open(o);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->stats().keys, static_cast<std::uint64_t>(n) - deleted_count);
    for (int i = 0; i < n; ++i)
      EXPECT_EQ(get(*e, key(i)), deleted(i) ? std::nullopt : std::optional(value(i, 19)))
          << key(i) << (deleted(i) ? " resurrected" : " lost");
    compact_fully(*e);
  }
}

TEST_F(compaction_test, small_log_is_left_alone) {
  auto o = copts();
  auto e = open(o);
  ASSERT_NE(e, nullptr);
  for (int r = 0; r < 3; ++r)
    write_round(*e, 50, r, [](int) { return false; }); // ~150 KiB
  auto before = e->stats();
  auto more = e->compact_step(1u << 20);
  ASSERT_TRUE(more) << more.error().reason();
  EXPECT_FALSE(*more);
  auto after = e->stats();
  EXPECT_EQ(after.keys, 50u);
  EXPECT_LE(after.log_bytes, before.log_bytes);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(get(*e, key(i)), value(i, 2));
}

// -- concurrency --------------------------------------------------------------------------

TEST_F(engine_test, readers_never_see_unwritten_or_older_values) {
  auto o = options();
  o.cache_bytes_max = 8u << 10; // most reads miss and go to SQLite
  o.compact_log_bytes_min = 64u << 10;
  auto e = open(o);
  ASSERT_NE(e, nullptr);
  const int keys_n = 40;
  auto key = [](int i) { return "cc-" + std::to_string(i); };
  auto value = [&](int i, std::uint64_t counter) {
    return key(i) + "#" + std::to_string(counter) + "#" + std::string(150 + i, 'p');
  };
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> reads{0}, errors{0};
  std::mutex msg_mutex;
  std::string first_error;
  auto fail = [&](std::string m) {
    errors.fetch_add(1);
    std::lock_guard<std::mutex> g(msg_mutex);
    if (first_error.empty()) first_error = std::move(m);
  };
  auto reader = [&](unsigned seed) {
    std::vector<std::int64_t> last(keys_n, -1);
    std::mt19937 rng(seed);
    std::string out;
    while (!done.load()) {
      int i = static_cast<int>(rng() % keys_n);
      auto st = e->get(key(i), out);
      reads.fetch_add(1, std::memory_order_relaxed);
      if (st == get_status::error) {
        fail("get error for " + key(i));
        continue;
      }
      if (st == get_status::not_found) {
        if (last[i] >= 0) fail(key(i) + " vanished after counter " + std::to_string(last[i]));
        continue;
      }
      auto prefix = key(i) + "#";
      auto hash2 = out.find('#', prefix.size());
      if (out.compare(0, prefix.size(), prefix) != 0 || hash2 == std::string::npos) {
        fail("foreign value for " + key(i) + ": " + out.substr(0, 40));
        continue;
      }
      std::int64_t counter = std::stoll(out.substr(prefix.size(), hash2 - prefix.size()));
      if (out != value(i, static_cast<std::uint64_t>(counter))) {
        fail("mangled value for " + key(i));
        continue;
      }
      if (counter < last[i])
        fail(key(i) + " went back from " + std::to_string(last[i]) + " to " +
             std::to_string(counter));
      last[i] = counter;
    }
  };
  // seed every key once so "vanished" is meaningful
  std::uint64_t counter = 0;
  std::vector<std::uint64_t> latest(keys_n);
  {
    std::vector<std::string> keys, vals; // own the bytes the write_op views point at
    for (int i = 0; i < keys_n; ++i) {
      keys.push_back(key(i));
      vals.push_back(value(i, latest[i] = counter++));
    }
    std::vector<write_op> ops;
    for (int i = 0; i < keys_n; ++i)
      ops.push_back(put_op(keys[i], vals[i]));
    ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
  }
  std::thread r1(reader, 1), r2(reader, 2);
  struct stop_readers { // joins the readers even when an ASSERT below returns early
    stop_readers(std::atomic<bool>& d, std::thread& x, std::thread& y) : done(d), a(x), b(y) {}
    stop_readers(const stop_readers&) = delete;
    ~stop_readers() {
      done = true;
      a.join();
      b.join();
    }
    std::atomic<bool>& done;
    std::thread& a;
    std::thread& b;
  };
  std::optional<stop_readers> guard;
  guard.emplace(done, r1, r2);
  std::mt19937 rng(3);
  for (int b = 0; b < 3000; ++b) {
    std::vector<int> idx;
    std::vector<std::string> keys, vals;
    for (int j = 0; j < 8; ++j) {
      int i = static_cast<int>(rng() % keys_n);
      idx.push_back(i);
      keys.push_back(key(i));
      vals.push_back(value(i, latest[i] = counter++));
    }
    std::vector<write_op> ops;
    for (int j = 0; j < 8; ++j)
      ops.push_back(put_op(keys[j], vals[j]));
    ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
    if (b % 100 == 99) {
      auto step = e->compact_step(256u << 10);
      EXPECT_TRUE(step) << step.error().reason();
    }
  }
  guard.reset();
  EXPECT_EQ(errors.load(), 0u) << first_error;
  EXPECT_GT(reads.load(), 1000u);
  for (int i = 0; i < keys_n; ++i)
    EXPECT_EQ(get(*e, key(i)), value(i, latest[i]));
}

// -- stats --------------------------------------------------------------------------------

TEST_F(engine_test, stats_count_keys_tombstones_and_writes) {
  auto e = open();
  ASSERT_NE(e, nullptr);
  auto st0 = e->stats();
  EXPECT_EQ(st0.keys, 0u);
  EXPECT_EQ(st0.tombstones, 0u);
  EXPECT_EQ(st0.writes_committed, 0u);
  EXPECT_EQ(st0.corrupt_records_cut, 0u);
  EXPECT_EQ(st0.node_id, e->node_id());
  std::vector<std::string> keys;
  for (int i = 0; i < 10; ++i)
    keys.push_back("s" + std::to_string(i));
  std::vector<std::string> vals;
  for (auto& k : keys)
    vals.push_back("value-" + k);
  std::vector<write_op> ops;
  for (std::size_t i = 0; i < keys.size(); ++i)
    ops.push_back(put_op(keys[i], vals[i]));
  ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
  ops = {del_op("s0"), del_op("s1"), del_op("s2")};
  ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
  auto st = e->stats();
  EXPECT_EQ(st.keys, 7u);
  EXPECT_EQ(st.tombstones, 3u);
  EXPECT_EQ(st.writes_committed, 13u);
  EXPECT_GE(st.commits, 2u);
  EXPECT_GT(st.storage_bytes, 0u);
  EXPECT_GT(st.log_bytes, 0u);
  EXPECT_GE(st.log_rows, 1u);
  EXPECT_LE(st.live_bytes, st.log_bytes);
  EXPECT_GT(st.live_bytes, 0u);
  // overwrite: same count; resurrect: tombstone becomes a key
  ASSERT_EQ(put(*e, "s5", "again"), errc::ok);
  ASSERT_EQ(put(*e, "s0", "back"), errc::ok);
  st = e->stats();
  EXPECT_EQ(st.keys, 8u);
  EXPECT_EQ(st.tombstones, 2u);
  EXPECT_EQ(st.writes_committed, 15u);
  e.reset();
  e = open();
  ASSERT_NE(e, nullptr);
  st = e->stats();
  EXPECT_EQ(st.keys, 8u);
  EXPECT_EQ(st.tombstones, 2u);
  EXPECT_GT(st.storage_bytes, 0u);
  EXPECT_GT(st.log_bytes, 0u);
}

// -- fsync policies -----------------------------------------------------------------------

class fsync_test : public engine_test, public ::testing::WithParamInterface<fsync_policy> {};

TEST_P(fsync_test, data_survives_sync_and_reopen) {
  auto o = options();
  o.fsync = GetParam();
  {
    auto e = open(o);
    ASSERT_NE(e, nullptr);
    for (int b = 0; b < 20; ++b) {
      std::vector<std::string> keys, vals;
      for (int j = 0; j < 10; ++j) {
        keys.push_back("f" + std::to_string(b * 10 + j));
        vals.push_back(random_bytes(b * 10 + j, 500));
      }
      std::vector<write_op> ops;
      for (int j = 0; j < 10; ++j)
        ops.push_back(put_op(keys[j], vals[j]));
      ASSERT_EQ(e->apply(ops.data(), ops.size()), errc::ok);
    }
    ASSERT_EQ(del(*e, "f0"), errc::ok);
    EXPECT_EQ(e->sync().code(), errc::ok);
    EXPECT_EQ(e->sync().code(), errc::ok);
  }
  auto e = open(o);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(get(*e, "f0"), std::nullopt);
  for (int i = 1; i < 200; ++i)
    EXPECT_EQ(get(*e, "f" + std::to_string(i)), random_bytes(i, 500)) << i;
  EXPECT_EQ(e->stats().keys, 199u);
}

INSTANTIATE_TEST_SUITE_P(policies, fsync_test,
                         ::testing::Values(fsync_policy::none, fsync_policy::interval,
                                           fsync_policy::always),
                         [](const ::testing::TestParamInfo<fsync_policy>& info) {
                           switch (info.param) {
                           case fsync_policy::none:
                             return std::string("none");
                           case fsync_policy::interval:
                             return std::string("interval");
                           case fsync_policy::always:
                             return std::string("always");
                           }
                           return std::string("unknown");
                         });

// -- cache accounting ---------------------------------------------------------------------

TEST_F(engine_test, cache_budget_counts_memory_held_after_shrinking_overwrites) {
  auto o = options();
  o.cache_bytes_max = 64u << 20;
  o.compress_bytes_min = 0;
  auto e = open(o);
  std::string big(1u << 20, 'b');
  for (int i = 0; i < 40; ++i)
    ASSERT_EQ(put(*e, "k" + std::to_string(i), big), errc::ok);
  EXPECT_GE(e->stats().cache_bytes, 40u << 20);
  auto held = [] {
    struct mallinfo2 mi = ::mallinfo2();
    return mi.uordblks + mi.hblkhd; // heap + mmapped bytes in use
  };
  std::size_t before = held();
  if (before == 0) GTEST_SKIP() << "malloc statistics unavailable (sanitizer allocator)";
  // Overwriting with tiny values must give the large buffers back: the budget bounds
  // memory held, not the length of what is stored now.
  for (int i = 0; i < 40; ++i)
    ASSERT_EQ(put(*e, "k" + std::to_string(i), "x"), errc::ok);
  EXPECT_LT(e->stats().cache_bytes, 64u << 10);
  EXPECT_GT(before - std::min(before, held()), 30u << 20) << "the 1 MiB buffers were kept";
  EXPECT_EQ(e->stats().cache_items, 40u);
  EXPECT_EQ(get(*e, "k7"), "x");
}

// -- limits changed between runs --------------------------------------------------------

TEST_F(engine_test, lowering_the_value_limit_keeps_stored_values_readable) {
  std::string text;
  while (text.size() < 120000)
    text += "abc";
  {
    auto e = open();
    ASSERT_EQ(put(*e, "big", text), errc::ok); // compressed at rest
  }
  auto o = options();
  o.value_bytes_max = 1000; // applies to new writes only
  o.cache_bytes_max = 1024; // force reads through SQLite and zstd
  auto e = open(o);
  EXPECT_EQ(get(*e, "big"), text);
  EXPECT_EQ(put(*e, "new", std::string(1001, 'x')), errc::too_large);
}

TEST_F(engine_test, failed_commits_are_counted) {
  auto o = options();
  o.db_pages_max = 40;
  auto e = open(o);
  ASSERT_NE(e, nullptr);
  errc last = errc::ok;
  for (int i = 0; i < 200 && last == errc::ok; ++i)
    last = put(*e, "k" + std::to_string(i), random_bytes(static_cast<std::uint64_t>(i), 64u << 10));
  ASSERT_EQ(last, errc::io_error);
  EXPECT_EQ(e->stats().commit_failures, 1u);
}

// -- foreign databases ----------------------------------------------------------------------

TEST_F(engine_test, a_foreign_sqlite_database_is_refused_and_left_untouched) {
  std::string path = options().dir + "/minivault.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE invoices(id INTEGER, total REAL)", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto e = engine::open(options());
  EXPECT_FALSE(e);
  EXPECT_EQ(e.error().code(), errc::config_error);
  const std::string msg = e.error().reason();
  EXPECT_NE(msg.find("invoices"), std::string::npos) << msg;
  // Not converted to WAL, no minivault tables added.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = 'log'", -1, &st,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 0);
  sqlite3_finalize(st);
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "delete");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// -- exclusive data directory -------------------------------------------------------------

TEST_F(engine_test, a_second_engine_on_the_same_directory_is_refused) {
  auto first = open();
  ASSERT_NE(first, nullptr);
  auto second = engine::open(options());
  EXPECT_FALSE(second);
  EXPECT_EQ(second.error().code(), errc::io_error);
  const std::string msg = second.error().reason();
  EXPECT_NE(msg.find("in use"), std::string::npos) << msg;
  ASSERT_EQ(put(*first, "k", "v"), errc::ok); // the holder is unaffected
  first.reset();
  auto again = open(); // released on close
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(get(*again, "k"), "v");
}

// -- compression at rest --------------------------------------------------------------------

TEST_F(engine_test, large_compressible_values_are_stored_compressed_and_read_back) {
  std::string text;
  for (int i = 0; text.size() < (1u << 20); ++i)
    text += "line " + std::to_string(i % 100) + " of a log\n";
  {
    auto e = open();
    ASSERT_EQ(put(*e, "doc", text), errc::ok);
    auto st = e->stats();
    EXPECT_LT(st.log_bytes, text.size() / 4) << "a 1 MiB compressible value should shrink at rest";
  }
  auto o = options();
  o.cache_bytes_max = 4096; // too small to cache it: every read decompresses from SQLite
  auto e = open(o);
  EXPECT_EQ(get(*e, "doc"), text);
  EXPECT_EQ(get(*e, "doc"), text);
  EXPECT_EQ(e->stats().cache_items, 0u);
  EXPECT_GE(e->stats().cache_misses, 2u);
}

TEST_F(engine_test, compression_can_be_disabled) {
  std::string text(1u << 20, 'a');
  auto o = options();
  o.compress_bytes_min = 0;
  auto e = open(o);
  ASSERT_EQ(put(*e, "flat", text), errc::ok);
  EXPECT_GT(e->stats().log_bytes, text.size());
  EXPECT_EQ(get(*e, "flat"), text);
}

} // namespace
} // namespace minivault::storage
