// The sync actor on CAF's test coordinator: its timer ticks only when the test fires it,
// so "a tick checkpoints the WAL, and keeps re-arming itself" is observable without
// sleeping. What a checkpoint does to the WAL is covered in storage_checkpoint_test.
#include "actors/durability/sync_actor.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/caf_test_system.hpp"
#include "tests/support/temp_store.hpp"

using namespace minivault;

namespace {

storage::engine_options background_options() {
  storage::engine_options o;
  o.fsync = fsync_policy::interval;
  o.background_checkpoints = true;
  return o;
}

struct sync_actor_test : ::testing::Test {
  test::temp_store store{"minivault-sync", background_options()};
  storage::engine* engine = store.engine.get();
  test::caf_test_system caf_sys;
  caf::scheduler::test_coordinator* sched = caf_sys.sched;
  caf::actor_system* sys = caf_sys.sys.get();
  sync_actor actor;

  void SetUp() override {
    ASSERT_TRUE(engine);
    ASSERT_NE(sched, nullptr);
    actor =
        sys->spawn(sync_actor_impl, engine, fsync_policy::interval, std::chrono::milliseconds(100));
    sched->run();
  }
  void TearDown() override { caf_sys.stop(actor); }

  /// Writes `n` 1 KiB values; returns nothing, fails the test on error.
  void write(int n, int salt) {
    std::vector<std::string> keys(n), values(n);
    std::vector<storage::write_op> ops(n);
    for (int i = 0; i < n; ++i) {
      keys[i] = "k" + std::to_string(i);
      values[i] = std::string(1024, static_cast<char>('a' + (i + salt) % 26));
      ops[i] = storage::write_op{keys[i], values[i], false, {}};
    }
    ASSERT_EQ(engine->apply(ops.data(), ops.size()), errc::ok);
  }

  /// Pages in the WAL since it last started over (this call checkpoints passively too).
  std::uint64_t wal_pages() {
    auto pages = engine->checkpoint(false);
    EXPECT_TRUE(pages) << pages.error().reason();
    return pages ? *pages : 0;
  }
};

} // namespace

TEST_F(sync_actor_test, without_a_tick_the_writer_never_checkpoints) {
  write(2000, 0); // ~2 MB: far below the writer's 1 GiB safety net
  write(10, 1);
  EXPECT_GT(wal_pages() * engine->page_bytes(), 2u << 20) << "the WAL only grew";
}

TEST_F(sync_actor_test, a_tick_checkpoints_so_the_next_write_starts_the_wal_over) {
  write(2000, 0);
  ASSERT_TRUE(sched->trigger_timeout()) << "the actor armed its timer at spawn";
  sched->run();
  write(10, 1); // the WAL was fully copied: this write starts it from the beginning
  EXPECT_LT(wal_pages() * engine->page_bytes(), 256u << 10);

  // The tick re-armed itself: the next one checkpoints again.
  write(2000, 2);
  ASSERT_TRUE(sched->trigger_timeout());
  sched->run();
  write(10, 3);
  EXPECT_LT(wal_pages() * engine->page_bytes(), 256u << 10);
  std::string v;
  ASSERT_EQ(engine->get("k1999", v), storage::get_status::found);
  EXPECT_EQ(v, std::string(1024, static_cast<char>('a' + (1999 + 2) % 26)));
}
