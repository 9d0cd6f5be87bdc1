// The in-memory index on its own: probing, growth, reserving, backward-shift erase, entries
// that move when their cached value changes size, CLOCK eviction, readers racing a writer,
// and what a key costs in heap bytes.
#include "storage/table.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace minivault::storage {
namespace {

/// Holds a shard's lock exclusively for a scope, as the writer does.
class exclusive {
public:
  explicit exclusive(shard& s) : s_(s) { s_.lock.lock(); }
  ~exclusive() { s_.lock.unlock(); }
  exclusive(const exclusive&) = delete;
  exclusive& operator=(const exclusive&) = delete;

private:
  shard& s_;
};

std::string key_of(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key:%012zu", i);
  return buf;
}

/// Inserts `key` with a record derived from `i` (and no value).
index_entry* put(table& t, const std::string& key, std::uint64_t i) {
  std::uint64_t h = table::hash_key(key);
  shard& s = t.shard_for(h);
  exclusive g(s);
  index_entry* e = s.find(h, key);
  if (e == nullptr) e = s.insert(h, key);
  e->set_record(version{i + 1, 7}, location{i, static_cast<std::uint32_t>(i % 1000), 40}, false);
  return e;
}

/// The entry of `key` copied out (or nullopt): its record and cached value.
struct seen {
  version ver;
  location loc;
  bool cached = false;
  std::string value;
};
std::optional<seen> look(table& t, const std::string& key) {
  std::uint64_t h = table::hash_key(key);
  shard& s = t.shard_for(h);
  s.lock.lock_shared();
  const index_entry* e = s.find(h, key);
  std::optional<seen> out;
  if (e) out = seen{e->ver(), e->loc(), e->cached(), std::string(e->value())};
  s.lock.unlock_shared();
  return out;
}

void cache(table& t, const std::string& key, std::string_view value) {
  std::uint64_t h = table::hash_key(key);
  shard& s = t.shard_for(h);
  exclusive g(s);
  index_entry* e = s.find(h, key);
  ASSERT_NE(e, nullptr);
  index_entry* moved = t.cache_value(s, h, e, value);
  EXPECT_EQ(moved, s.find(h, key)); // the returned entry is the one the index holds
}

TEST(Table, EveryKeyIsFoundAfterGrowingAndTheLoadStaysBetweenAHalfAndThreeQuarters) {
  table t(1, 1u << 20); // one shard: it grows many times
  constexpr std::size_t n = 50000;
  for (std::size_t i = 0; i < n; ++i)
    put(t, key_of(i), i);
  for (std::size_t i = 0; i < n; ++i) {
    auto got = look(t, key_of(i));
    ASSERT_TRUE(got) << key_of(i);
    EXPECT_EQ(got->ver, (version{i + 1, 7}));
    EXPECT_EQ(got->loc.row, i);
    EXPECT_FALSE(got->cached);
  }
  EXPECT_FALSE(look(t, key_of(n)));
  EXPECT_FALSE(look(t, "key:"));
  shard& s = t.shard_at(0);
  s.lock.lock_shared();
  EXPECT_EQ(s.size(), n);
  EXPECT_LE(s.size() * 4, s.slot_count() * 3);
  EXPECT_GE(s.size() * 2, s.slot_count());
  s.lock.unlock_shared();
}

TEST(Table, ReservedShardsTakeThatManyKeysWithoutGrowingAndKeepWhatTheyHeld) {
  table t(16, 1u << 20);
  constexpr std::size_t before = 3000, n = 100000;
  for (std::size_t i = 0; i < before; ++i)
    put(t, key_of(i), i);
  t.reserve(n); // re-homes the 3000 held
  const std::size_t slots = t.slots_shape().slots;
  EXPECT_GE(slots * 3, n * 4) << "room for n at a load of 3/4";
  EXPECT_LE(slots, n * 2) << "not more than twice the slots n needs at load 1/2";
  for (std::size_t i = 0; i < before; ++i)
    ASSERT_TRUE(look(t, key_of(i))) << key_of(i) << " lost by reserve";
  for (std::size_t i = before; i < n; ++i)
    put(t, key_of(i), i);
  EXPECT_EQ(t.slots_shape().slots, slots) << "a reserved shard grew";
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_TRUE(look(t, key_of(i))) << key_of(i);
  t.reserve(10); // never shrinks
  EXPECT_EQ(t.slots_shape().slots, slots);
}

TEST(Table, EraseKeepsEveryOtherKeyReachable) {
  table t(1, 1u << 20);
  constexpr std::size_t n = 20000;
  for (std::size_t i = 0; i < n; ++i)
    put(t, key_of(i), i);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i)
    order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  std::vector<bool> erased(n, false);
  for (std::size_t k = 0; k < n / 2; ++k) {
    std::string key = key_of(order[k]);
    std::uint64_t h = table::hash_key(key);
    shard& s = t.shard_for(h);
    exclusive g(s);
    index_entry* e = s.find(h, key);
    ASSERT_NE(e, nullptr);
    s.erase(h, e);
    erased[order[k]] = true;
  }
  for (std::size_t i = 0; i < n; ++i)
    EXPECT_EQ(look(t, key_of(i)).has_value(), !erased[i]) << key_of(i);
  // Erased keys can come back.
  for (std::size_t k = 0; k < n / 2; ++k)
    put(t, key_of(order[k]), order[k]);
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_TRUE(look(t, key_of(i))) << key_of(i);
}

TEST(Table, CachedValuesLiveInTheEntryAndMoveItOnlyWhenTheirSizeChanges) {
  table t(4, 1u << 20);
  std::string key = key_of(1);
  put(t, key, 1);
  std::uint64_t h = table::hash_key(key);
  shard& s = t.shard_for(h);
  std::string v100(100, 'a');
  cache(t, key, v100);
  EXPECT_EQ(t.cache_items(), 1u);
  EXPECT_EQ(t.cache_bytes(), 100u);
  s.lock.lock_shared();
  const index_entry* before = s.find(h, key);
  s.lock.unlock_shared();

  cache(t, key, std::string(100, 'b')); // same size: in place
  s.lock.lock_shared();
  EXPECT_EQ(s.find(h, key), before);
  s.lock.unlock_shared();
  EXPECT_EQ(look(t, key)->value, std::string(100, 'b'));

  cache(t, key, std::string(5000, 'c')); // larger: the entry moves, its record does not change
  auto got = look(t, key);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value, std::string(5000, 'c'));
  EXPECT_EQ(got->ver, (version{2, 7}));
  EXPECT_EQ(got->loc.row, 1u);
  EXPECT_EQ(t.cache_bytes(), 5000u);

  {
    exclusive g(s);
    index_entry* e = s.find(h, key);
    index_entry* dropped = t.drop_value(s, h, e);
    EXPECT_EQ(dropped, s.find(h, key));
    EXPECT_FALSE(dropped->cached());
    EXPECT_TRUE(dropped->value().empty());
    EXPECT_EQ(dropped->key(), key);
  }
  EXPECT_EQ(t.cache_items(), 0u);
  EXPECT_EQ(t.cache_bytes(), 0u);
  EXPECT_EQ(look(t, key)->loc.row, 1u);

  // A value over the per-value cap (1/8 of the budget) is not cached, and drops the old one.
  cache(t, key, "small");
  cache(t, key, std::string((1u << 20) / 8 + 1, 'x'));
  EXPECT_FALSE(look(t, key)->cached);
  EXPECT_EQ(t.cache_bytes(), 0u);
}

TEST(Table, EvictionDropsUnreferencedValuesFirstAndKeepsEveryRecord) {
  table t(2, 100u * 1000);
  constexpr std::size_t n = 1000;
  for (std::size_t i = 0; i < n; ++i) {
    put(t, key_of(i), i);
    cache(t, key_of(i), std::string(100, static_cast<char>('a' + i % 26)));
  }
  EXPECT_EQ(t.cache_bytes(), 100u * n);
  // Clear every CLOCK bit with one eviction pass that evicts nothing... then read a few.
  t.evict_to(100u * n - 1); // evicts one value after clearing bits
  std::vector<std::size_t> hot = {3, 300, 600, 900};
  for (std::size_t i : hot) {
    std::uint64_t h = table::hash_key(key_of(i));
    shard& s = t.shard_for(h);
    s.lock.lock_shared();
    if (index_entry* e = s.find(h, key_of(i))) e->touch();
    s.lock.unlock_shared();
  }
  t.evict_to(20000);
  EXPECT_LE(t.cache_bytes(), 20000u);
  EXPECT_EQ(t.cache_items() * 100, t.cache_bytes());
  std::size_t cached = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto got = look(t, key_of(i));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->loc.row, i);
    if (got->cached) {
      ++cached;
      EXPECT_EQ(got->value, std::string(100, static_cast<char>('a' + i % 26)));
    }
  }
  EXPECT_EQ(cached, t.cache_items());
  for (std::size_t i : hot)
    EXPECT_TRUE(look(t, key_of(i))->cached) << "referenced value evicted: " << i;
}

TEST(Table, ReadersNeverSeeATornValueWhileTheWriterResizesEntries) {
  table t(2, 64u << 20);
  constexpr std::size_t keys = 64;
  for (std::size_t i = 0; i < keys; ++i) {
    put(t, key_of(i), i);
    cache(t, key_of(i), "a");
  }
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bad{0}, reads{0};
  auto reader = [&] {
    while (!stop.load()) {
      for (std::size_t i = 0; i < keys; ++i) {
        auto got = look(t, key_of(i));
        // Every value the writer stores is one letter repeated (letter - 'a' + 1) * 7 times.
        if (!got || got->value.empty() ||
            got->value.size() != static_cast<std::size_t>(got->value[0] - 'a' + 1) * 7 - 6 ||
            got->value.find_first_not_of(got->value[0]) != std::string::npos)
          bad.fetch_add(1);
        reads.fetch_add(1);
      }
    }
  };
  std::thread r1(reader), r2(reader);
  for (int round = 0; round < 2000; ++round) {
    for (std::size_t i = 0; i < keys; ++i) {
      char c = static_cast<char>('a' + (round + i) % 26);
      cache(t, key_of(i), std::string(static_cast<std::size_t>(c - 'a' + 1) * 7 - 6, c));
    }
  }
  stop = true;
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
}

TEST(Table, AKeyCostsItsBytesItsValueAndUnder64BytesMore) {
  // The footprint bench's shape: 16-byte keys, 100-byte values, all cached.
  malloc_trim(0);
  auto heap = [] { return mallinfo2().uordblks; };
  std::size_t before = heap();
  constexpr std::size_t n = 200000;
  {
    table t(256, 1u << 30);
    std::string value(100, 'v');
    for (std::size_t i = 0; i < n; ++i) {
      std::string key = key_of(i);
      std::uint64_t h = table::hash_key(key);
      shard& s = t.shard_for(h);
      exclusive g(s);
      index_entry* e = s.insert(h, key, value.size());
      e->set_record(version{i + 1, 1}, location{i, 0, 140}, false);
      t.cache_value(s, h, e, value);
    }
    std::size_t per_key = (heap() - before) / n;
    RecordProperty("heap_bytes_per_key", static_cast<int>(per_key));
    EXPECT_LE(per_key, 16u + 100u + 64u) << "heap bytes per key";
  }
}

} // namespace
} // namespace minivault::storage
