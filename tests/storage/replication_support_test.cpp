// The engine's replication support (storage/engine.hpp): partition digests independent of
// arrival order, read_record, partition_keys, last_hlc and digests across reopen, and the
// tombstone horizon that bounds what compaction may drop.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "storage/engine.hpp"
#include "storage/partition.hpp"
#include "storage/table.hpp"
#include "tests/support/temp_store.hpp"

namespace minivault::storage {
namespace {

using test::temp_store;

struct vwrite {
  std::string key;
  std::string value;
  bool tombstone;
  version ver;
};

write_op op_of(const vwrite& w) {
  write_op op;
  op.key = w.key;
  op.value = w.value;
  op.tombstone = w.tombstone;
  op.ver = w.ver;
  return op;
}

errc apply_one(engine& e, const vwrite& w) {
  auto op = op_of(w);
  return e.apply(&op, 1);
}

errc apply_all(engine& e, const std::vector<vwrite>& ws) {
  std::vector<write_op> ops;
  for (auto& w : ws)
    ops.push_back(op_of(w));
  return e.apply(ops.data(), ops.size());
}

std::vector<std::uint64_t> digests(const engine& e) {
  std::vector<std::uint64_t> d;
  e.partition_digests(d);
  return d;
}

std::uint32_t partition(std::string_view key) {
  return partition_of(table::hash_key(key));
}

constexpr std::uint64_t base_hlc = std::uint64_t{1'700'000'000'000} << 16; // Nov 2023

/// Several versions of many keys from three nodes, tombstones among them.
std::vector<vwrite> history() {
  std::vector<vwrite> out;
  std::mt19937_64 rng(7);
  for (int k = 0; k < 300; ++k) {
    const int versions = 1 + k % 4;
    for (int v = 0; v < versions; ++v) {
      vwrite w;
      w.key = "key-" + std::to_string(k);
      w.tombstone = (k + v) % 5 == 0;
      if (!w.tombstone) w.value = "v" + std::to_string(v) + "-" + std::to_string(rng());
      w.ver = version{base_hlc + static_cast<std::uint64_t>(v) * 1000 + rng() % 100,
                      static_cast<std::uint32_t>(1 + (k + v) % 3)};
      out.push_back(w);
    }
  }
  // Two writes with the same hlc, different nodes (the tie breaks on the node).
  out.push_back({"tie", "from-1", false, version{base_hlc + 5, 1}});
  out.push_back({"tie", "from-2", false, version{base_hlc + 5, 2}});
  return out;
}

/// The winning version per key of `ws`.
std::map<std::string, vwrite> winners(const std::vector<vwrite>& ws) {
  std::map<std::string, vwrite> out;
  for (auto& w : ws) {
    auto it = out.find(w.key);
    if (it == out.end() || it->second.ver < w.ver) out[w.key] = w;
  }
  return out;
}

/// digest[p] must equal the sum of the terms of the keys partition_keys(p) lists.
void expect_digests_match_keys(const engine& e) {
  auto d = digests(e);
  ASSERT_EQ(d.size(), partition_count);
  for (std::uint32_t p = 0; p < partition_count; ++p) {
    std::vector<engine::key_version> keys;
    e.partition_keys(p, keys);
    std::uint64_t sum = 0;
    for (auto& kv : keys)
      sum += digest_term(table::hash_key(kv.key), kv.ver, kv.tombstone);
    ASSERT_EQ(d[p], sum) << "partition " << p;
  }
}

TEST(replication_support, digests_do_not_depend_on_the_order_writes_arrived) {
  temp_store a("mv-digest-a"), b("mv-digest-b"), c("mv-digest-c");
  ASSERT_TRUE(a.engine && b.engine && c.engine);
  auto ws = history();
  ASSERT_EQ(apply_all(*a.engine, ws), errc::ok); // one batch, in order
  auto shuffled = ws;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(99));
  for (auto& w : shuffled) // one batch per write, shuffled
    ASSERT_EQ(apply_one(*b.engine, w), errc::ok);
  auto reversed = ws;
  std::reverse(reversed.begin(), reversed.end());
  for (std::size_t at = 0; at < reversed.size(); at += 37) { // reversed, batches of 37
    std::vector<vwrite> chunk(reversed.begin() + static_cast<std::ptrdiff_t>(at),
                              reversed.begin() +
                                  static_cast<std::ptrdiff_t>(std::min(at + 37, reversed.size())));
    ASSERT_EQ(apply_all(*c.engine, chunk), errc::ok);
  }
  auto da = digests(*a.engine);
  EXPECT_EQ(da, digests(*b.engine));
  EXPECT_EQ(da, digests(*c.engine));
  EXPECT_NE(da, std::vector<std::uint64_t>(partition_count, 0));
  // And they hold the same winners.
  for (auto& [key, w] : winners(ws)) {
    for (engine* e : {a.engine.get(), b.engine.get(), c.engine.get()}) {
      EXPECT_EQ(e->version_of(key), w.ver) << key;
    }
  }
  std::string v;
  ASSERT_EQ(b.engine->get("tie", v), get_status::found);
  EXPECT_EQ(v, "from-2");
  expect_digests_match_keys(*a.engine);
  expect_digests_match_keys(*b.engine);
}

TEST(replication_support, digests_differ_when_a_write_is_missing_or_older) {
  auto ws = history();
  temp_store full("mv-digest-full"), missing("mv-digest-miss"), older("mv-digest-old");
  ASSERT_TRUE(full.engine && missing.engine && older.engine);
  ASSERT_EQ(apply_all(*full.engine, ws), errc::ok);

  // `missing` lacks one key entirely.
  const std::string gone = "key-17";
  std::vector<vwrite> without;
  for (auto& w : ws)
    if (w.key != gone) without.push_back(w);
  ASSERT_EQ(apply_all(*missing.engine, without), errc::ok);
  auto df = digests(*full.engine), dm = digests(*missing.engine);
  for (std::uint32_t p = 0; p < partition_count; ++p) {
    if (p == partition(gone))
      EXPECT_NE(df[p], dm[p]) << "the partition lacking " << gone << " must differ";
    else
      EXPECT_EQ(df[p], dm[p]) << "partition " << p;
  }

  // `older` has every key, but an older version of one (its newest write is missing).
  const std::string stale = "key-3"; // 4 versions
  auto w = winners(ws);
  std::vector<vwrite> lacking_newest;
  for (auto& x : ws)
    if (!(x.key == stale && x.ver == w[stale].ver)) lacking_newest.push_back(x);
  ASSERT_EQ(apply_all(*older.engine, lacking_newest), errc::ok);
  ASSERT_NE(older.engine->version_of(stale).hlc, 0u);
  ASSERT_TRUE(older.engine->version_of(stale) < w[stale].ver);
  auto dold = digests(*older.engine);
  for (std::uint32_t p = 0; p < partition_count; ++p) {
    if (p == partition(stale))
      EXPECT_NE(df[p], dold[p]);
    else
      EXPECT_EQ(df[p], dold[p]) << "partition " << p;
  }
  // Catching up (the newest write arrives) makes them equal.
  ASSERT_EQ(apply_one(*older.engine, w[stale]), errc::ok);
  EXPECT_EQ(digests(*older.engine), df);
}

TEST(replication_support, same_key_different_tombstone_flag_differs) {
  temp_store a("mv-digest-ta"), b("mv-digest-tb");
  ASSERT_TRUE(a.engine && b.engine);
  const version v{base_hlc + 1, 1};
  ASSERT_EQ(apply_one(*a.engine, {"k", "", true, v}), errc::ok);
  ASSERT_EQ(apply_one(*b.engine, {"k", "value", false, v}), errc::ok);
  EXPECT_NE(digests(*a.engine)[partition("k")], digests(*b.engine)[partition("k")]);
}

TEST(replication_support, an_empty_engine_has_zero_digests) {
  temp_store s("mv-digest-empty");
  ASSERT_TRUE(s.engine);
  EXPECT_EQ(digests(*s.engine), std::vector<std::uint64_t>(partition_count, 0));
}

TEST(replication_support, read_record_reports_versions_and_tombstones) {
  temp_store s("mv-read-record");
  ASSERT_TRUE(s.engine);
  auto& e = *s.engine;
  std::string value;
  version ver{99, 99};
  bool tomb = true;
  EXPECT_EQ(e.read_record("nothing", value, ver, tomb), get_status::not_found);

  const version v1{base_hlc + 10, 4};
  ASSERT_EQ(apply_one(e, {"live", "hello", false, v1}), errc::ok);
  ASSERT_EQ(e.read_record("live", value, ver, tomb), get_status::found);
  EXPECT_EQ(value, "hello");
  EXPECT_EQ(ver, v1);
  EXPECT_FALSE(tomb);

  const version v2{base_hlc + 20, 5};
  ASSERT_EQ(apply_one(e, {"live", "", true, v2}), errc::ok);
  value = "stale";
  ASSERT_EQ(e.read_record("live", value, ver, tomb), get_status::found)
      << "a tombstone is a record";
  EXPECT_TRUE(tomb);
  EXPECT_EQ(ver, v2);
  EXPECT_TRUE(value.empty());
  std::string plain;
  EXPECT_EQ(e.get("live", plain), get_status::not_found) << "get() hides tombstones";

  // An older write loses and changes nothing.
  ASSERT_EQ(apply_one(e, {"live", "older", false, version{base_hlc + 15, 9}}), errc::ok);
  ASSERT_EQ(e.read_record("live", value, ver, tomb), get_status::found);
  EXPECT_TRUE(tomb);
  EXPECT_EQ(ver, v2);

  // A local write gets a fresh version from the engine, above what it has seen.
  write_op local;
  local.key = "local";
  local.value = "lv";
  std::vector<version> assigned;
  ASSERT_EQ(e.apply(&local, 1, &assigned), errc::ok);
  ASSERT_EQ(e.read_record("local", value, ver, tomb), get_status::found);
  EXPECT_EQ(value, "lv");
  EXPECT_EQ(ver, assigned.at(0));
  EXPECT_EQ(ver.node, e.node_id());
  EXPECT_FALSE(tomb);
}

TEST(replication_support, read_record_of_a_large_uncached_value) {
  engine_options o;
  o.cache_bytes_max = 1024; // the value is never cached: reads go to SQLite
  temp_store s("mv-read-record-big", o);
  ASSERT_TRUE(s.engine);
  std::string big(200000, 'q');
  big[12345] = 'x';
  const version v{base_hlc + 1, 3};
  ASSERT_EQ(apply_one(*s.engine, {"big", big, false, v}), errc::ok);
  std::string value;
  version ver;
  bool tomb = true;
  ASSERT_EQ(s.engine->read_record("big", value, ver, tomb), get_status::found);
  EXPECT_EQ(value, big);
  EXPECT_EQ(ver, v);
  EXPECT_FALSE(tomb);
}

TEST(replication_support, partition_keys_lists_exactly_the_keys_of_the_partition) {
  temp_store s("mv-partition-keys");
  ASSERT_TRUE(s.engine);
  auto ws = history();
  for (int i = 0; i < 3000; ++i) // enough keys to cover most partitions
    ws.push_back({"more-" + std::to_string(i), "x", i % 7 == 0, version{base_hlc + 50000 + i, 1}});
  ASSERT_EQ(apply_all(*s.engine, ws), errc::ok);
  auto want = winners(ws);
  std::map<std::string, engine::key_version> listed;
  for (std::uint32_t p = 0; p < partition_count; ++p) {
    std::vector<engine::key_version> keys;
    s.engine->partition_keys(p, keys);
    for (auto& kv : keys) {
      ASSERT_EQ(partition(kv.key), p) << kv.key << " listed in the wrong partition";
      ASSERT_TRUE(listed.emplace(kv.key, kv).second) << kv.key << " listed twice";
    }
  }
  ASSERT_EQ(listed.size(), want.size());
  for (auto& [key, w] : want) {
    auto it = listed.find(key);
    ASSERT_NE(it, listed.end()) << key << " not listed";
    EXPECT_EQ(it->second.ver, w.ver) << key;
    EXPECT_EQ(it->second.tombstone, w.tombstone) << key;
  }
  // partition_keys appends.
  std::uint32_t p = partition("key-1");
  std::vector<engine::key_version> twice;
  s.engine->partition_keys(p, twice);
  const auto once = twice.size();
  s.engine->partition_keys(p, twice);
  EXPECT_EQ(twice.size(), 2 * once);
}

TEST(replication_support, last_hlc_and_digests_survive_reopen) {
  temp_store s("mv-reopen");
  ASSERT_TRUE(s.engine);
  auto ws = history();
  // A replicated write from a node whose clock is far ahead.
  const version future{(wall_ms() + 7ull * 24 * 3600 * 1000) << 16, 8};
  ws.push_back({"future", "f", false, future});
  ASSERT_EQ(apply_all(*s.engine, ws), errc::ok);
  write_op local;
  local.key = "local-after";
  local.value = "l";
  std::vector<version> assigned;
  ASSERT_EQ(s.engine->apply(&local, 1, &assigned), errc::ok);
  EXPECT_GT(assigned.at(0).hlc, future.hlc) << "local versions follow what was observed";
  auto before = digests(*s.engine);
  const auto last_before = s.engine->last_hlc();
  EXPECT_GE(last_before, assigned[0].hlc);
  std::uint64_t highest = assigned[0].hlc;
  for (auto& w : ws)
    highest = std::max(highest, w.ver.hlc);

  for (int round = 0; round < 2; ++round) {
    s.engine.reset();
    engine_options o;
    o.dir = s.dir;
    auto reopened = engine::open(o);
    ASSERT_TRUE(reopened) << reopened.error().reason();
    s.engine = std::move(reopened).value();
    EXPECT_GE(s.engine->last_hlc(), highest) << "round " << round;
    EXPECT_EQ(digests(*s.engine), before) << "round " << round;
    expect_digests_match_keys(*s.engine);
    std::string v;
    version ver;
    bool tomb = false;
    ASSERT_EQ(s.engine->read_record("future", v, ver, tomb), get_status::found);
    EXPECT_EQ(ver, future);
  }
  // A local write after the reopen is still above everything on disk.
  assigned.clear();
  local.key = "after-reopen";
  ASSERT_EQ(s.engine->apply(&local, 1, &assigned), errc::ok);
  EXPECT_GT(assigned.at(0).hlc, highest);
}

// -- the tombstone horizon and compaction ---------------------------------------------------
//
// Compaction runs while log_bytes > compact_log_bytes_min and live < ratio * log. With
// a minimum of 0 and a ratio above 1 every step is "needed", and a step with a large
// budget rewrites every row, so each compact_step() call reconsiders every tombstone.

engine_options always_compact() {
  engine_options o;
  o.tombstone_grace_ms = 0;
  o.compact_log_bytes_min = 0;
  o.compact_live_ratio_min = 2.0;
  return o;
}

void compact_once(engine& e) {
  auto step = e.compact_step(64u << 20);
  ASSERT_TRUE(step) << step.error().reason();
}

std::uint64_t tombstones(const engine& e) {
  return e.stats().tombstones;
}

TEST(tombstone_horizon, compaction_keeps_tombstones_not_below_the_horizon) {
  temp_store s("mv-horizon", always_compact());
  ASSERT_TRUE(s.engine);
  auto& e = *s.engine;
  const std::uint64_t t = wall_ms() - 60'000; // one minute ago: past the grace of 0
  const version tomb_ver{t << 16 | 7, 2};
  ASSERT_EQ(apply_one(e, {"live", "v", false, version{t << 16, 2}}), errc::ok);
  ASSERT_EQ(apply_one(e, {"dead", "", true, tomb_ver}), errc::ok);
  ASSERT_EQ(tombstones(e), 1u);

  e.set_tombstone_horizon_ms(t); // the tombstone's physical time is not below it
  compact_once(e);
  compact_once(e);
  EXPECT_EQ(tombstones(e), 1u) << "dropped a tombstone at the horizon";
  std::string v;
  version ver;
  bool tomb = false;
  ASSERT_EQ(e.read_record("dead", v, ver, tomb), get_status::found);
  EXPECT_TRUE(tomb);
  EXPECT_EQ(ver, tomb_ver);

  e.set_tombstone_horizon_ms(t - 1000); // lowering it keeps it too
  compact_once(e);
  EXPECT_EQ(tombstones(e), 1u);

  const auto partition_before = digests(e)[partition("dead")];
  e.set_tombstone_horizon_ms(t + 1); // now below the horizon: may be dropped
  compact_once(e);
  EXPECT_EQ(tombstones(e), 0u) << "grace 0 and below the horizon: compaction should drop it";
  EXPECT_EQ(e.read_record("dead", v, ver, tomb), get_status::not_found);
  EXPECT_NE(digests(e)[partition("dead")], partition_before);
  expect_digests_match_keys(e);
  // The live key is untouched.
  ASSERT_EQ(e.get("live", v), get_status::found);
  EXPECT_EQ(v, "v");
}

TEST(tombstone_horizon, tombstones_newer_than_the_horizon_survive_and_older_ones_go) {
  temp_store s("mv-horizon-mixed", always_compact());
  ASSERT_TRUE(s.engine);
  auto& e = *s.engine;
  const std::uint64_t t = wall_ms() - 600'000;
  std::vector<vwrite> ws;
  for (int i = 0; i < 20; ++i) // tombstones at t, t+1000, ..., t+19000 ms
    ws.push_back({"t" + std::to_string(i), "", true,
                  version{(t + static_cast<std::uint64_t>(i) * 1000) << 16, 1}});
  ASSERT_EQ(apply_all(e, ws), errc::ok);
  e.set_tombstone_horizon_ms(t + 10'000); // t0..t9 below, t10.. not below
  compact_once(e);
  EXPECT_EQ(tombstones(e), 10u);
  for (int i = 0; i < 20; ++i) {
    std::string v;
    version ver;
    bool tomb = false;
    auto st = e.read_record("t" + std::to_string(i), v, ver, tomb);
    if (i < 10)
      EXPECT_EQ(st, get_status::not_found) << i;
    else
      EXPECT_EQ(st, get_status::found) << i;
  }
  expect_digests_match_keys(e);
  // The survivors are still there after a reopen (they were copied, not lost).
  s.engine.reset();
  engine_options o = always_compact();
  o.dir = s.dir;
  auto reopened = engine::open(o);
  ASSERT_TRUE(reopened) << reopened.error().reason();
  s.engine = std::move(reopened).value();
  EXPECT_EQ(tombstones(*s.engine), 10u);
}

TEST(tombstone_horizon, the_grace_period_still_applies_below_the_horizon) {
  auto o = always_compact();
  o.tombstone_grace_ms = 3'600'000; // one hour
  temp_store s("mv-horizon-grace", o);
  ASSERT_TRUE(s.engine);
  auto& e = *s.engine;
  const std::uint64_t t = wall_ms() - 60'000; // within the grace period
  ASSERT_EQ(apply_one(e, {"dead", "", true, version{t << 16, 1}}), errc::ok);
  e.set_tombstone_horizon_ms(~std::uint64_t{0});
  compact_once(e);
  EXPECT_EQ(tombstones(e), 1u);
}

TEST(tombstone_horizon, without_a_horizon_grace_zero_drops_old_tombstones) {
  temp_store s("mv-horizon-none", always_compact());
  ASSERT_TRUE(s.engine);
  auto& e = *s.engine;
  const std::uint64_t t = wall_ms() - 60'000;
  ASSERT_EQ(apply_one(e, {"dead", "", true, version{t << 16, 1}}), errc::ok);
  compact_once(e); // default horizon: no limit
  EXPECT_EQ(tombstones(e), 0u);
}

} // namespace
} // namespace minivault::storage

namespace minivault {
namespace {

// Review finding: one group commit can hold a key's replicated ops newest first (a peer's
// DELETE v2, then an older SET v1 from a hint or a pull). If both reached the log, the
// tombstone's row could be compacted away first, leaving the older SET to come back at the
// next replay. Only the newest op of a key in one call may be written.
TEST(replication_support, an_older_op_behind_a_newer_one_in_one_call_never_comes_back) {
  storage::engine_options o;
  o.tombstone_grace_ms = 0;
  o.compact_log_bytes_min = 0; // every step considers every row
  o.compact_live_ratio_min = 2.0;
  test::temp_store s("mv-newest-first", o);
  ASSERT_TRUE(s.engine);
  const std::uint64_t t = storage::wall_ms() - 60000;
  std::string big(300 * 1024, '\0'); // fills its own row
  unsigned r = 12345;
  for (auto& c : big) {
    r = r * 1103515245 + 12345;
    c = static_cast<char>(r >> 16);
  }
  storage::write_op ops[2] = {{"K", "", true, storage::version{(t + 10) << 16, 2}},
                              {"K", big, false, storage::version{t << 16, 1}}};
  std::vector<storage::version> assigned;
  ASSERT_EQ(s.engine->apply(ops, 2, &assigned), errc::ok);
  EXPECT_EQ(assigned[1], ops[0].ver) << "the older op reports the version that won";
  std::string v;
  storage::version ver;
  bool tomb = false;
  ASSERT_EQ(s.engine->read_record("K", v, ver, tomb), storage::get_status::found);
  EXPECT_TRUE(tomb);
  s.engine->set_tombstone_horizon_ms(storage::wall_ms());
  auto step = s.engine->compact_step(1); // a small step: one row at a time
  ASSERT_TRUE(step) << step.error().reason();
  // Reopen: replay must not find a live K.
  const std::string dir = s.dir;
  s.engine.reset();
  o.dir = dir;
  auto reopened = storage::engine::open(o);
  ASSERT_TRUE(reopened) << reopened.error().reason();
  s.engine = std::move(reopened).value();
  std::string g;
  EXPECT_EQ(s.engine->get("K", g), storage::get_status::not_found) << "a deleted key came back";
}

// The newest op of each key wins among a call's replicated ops however they are mixed:
// several keys each written several times out of order, equal versions (the first one
// wins), a local op between them, and ops older than what the index already holds.
TEST(replication_support, each_keys_newest_replicated_op_wins_in_one_mixed_call) {
  test::temp_store s("mv-newest-mixed");
  ASSERT_TRUE(s.engine);
  using storage::version;
  const version old{100, 1};
  storage::write_op before[1] = {{"stale", "held", false, version{500, 1}}};
  ASSERT_EQ(s.engine->apply(before, 1, nullptr), errc::ok);
  storage::write_op ops[] = {
      {"a", "a-200", false, version{200, 1}}, {"b", "b-300-first", false, version{300, 1}},
      {"a", "a-400", false, version{400, 2}}, {"local", "mine", false, version{}},
      {"stale", "older", false, old},         {"b", "b-300-second", false, version{300, 1}},
      {"a", "a-300", false, version{300, 3}}, {"c", "", true, version{250, 1}},
  };
  constexpr std::size_t n = sizeof ops / sizeof ops[0];
  std::vector<version> assigned;
  ASSERT_EQ(s.engine->apply(ops, n, &assigned), errc::ok);
  EXPECT_EQ(assigned[0], (version{400, 2})) << "a: the newest of three wins";
  EXPECT_EQ(assigned[2], (version{400, 2}));
  EXPECT_EQ(assigned[6], (version{400, 2}));
  EXPECT_EQ(assigned[1], (version{300, 1})) << "b: equal versions";
  EXPECT_EQ(assigned[5], (version{300, 1}));
  EXPECT_NE(assigned[3].hlc, 0u) << "the local op is versioned here";
  EXPECT_EQ(assigned[4], (version{500, 1})) << "stale: the stored version wins";
  EXPECT_EQ(assigned[7], (version{250, 1}));
  std::string v;
  ASSERT_EQ(s.engine->get("a", v), storage::get_status::found);
  EXPECT_EQ(v, "a-400");
  ASSERT_EQ(s.engine->get("b", v), storage::get_status::found);
  EXPECT_EQ(v, "b-300-first") << "of equal versions the first op is written";
  ASSERT_EQ(s.engine->get("stale", v), storage::get_status::found);
  EXPECT_EQ(v, "held");
  ASSERT_EQ(s.engine->get("local", v), storage::get_status::found);
  EXPECT_EQ(s.engine->get("c", v), storage::get_status::not_found);
  EXPECT_EQ(s.engine->stats().writes_committed, 1u + 4u) << "before, a, b, local and c";
}

} // namespace
} // namespace minivault
