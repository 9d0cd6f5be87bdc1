// The storage actor on CAF's test coordinator: no threads, no sleeps. Messages are
// delivered only when the test says so, which makes group commit observable.
#include "actors/durability/storage_actor.hpp"

#include <gtest/gtest.h>

#include "tests/support/caf_test_system.hpp"
#include "tests/support/temp_store.hpp"

#include <cstdlib>
#include <filesystem>

using namespace minivault;

namespace {

client_batch batch(std::uint32_t origin, std::uint64_t ticket,
                   std::vector<std::pair<std::string, std::string>> sets) {
  client_batch b;
  b.origin = origin;
  b.ticket = ticket;
  for (auto& [k, v] : sets)
    pack_write(b, false, k, v);
  return b;
}

struct storage_actor_test : ::testing::Test {
  test::temp_store store{"minivault-sa"};
  storage::engine* engine = store.engine.get();
  completion_board board{2};
  group_commit writer{*engine, board, nullptr};
  test::caf_test_system caf_sys;
  caf::scheduler::test_coordinator* sched = caf_sys.sched;
  caf::actor_system* sys = caf_sys.sys.get();
  storage_actor actor;

  void SetUp() override {
    ASSERT_TRUE(engine);
    ASSERT_NE(sched, nullptr);
    actor = sys->spawn(storage_actor_impl, engine, &writer, &board, fsync_policy::none,
                       std::chrono::milliseconds(100));
    sched->run();
  }
  void TearDown() override { caf_sys.stop(actor); }
  std::vector<completion> take(std::uint32_t lane) {
    std::vector<completion> out;
    board.take(lane, out);
    return out;
  }
};

} // namespace

TEST_F(storage_actor_test, batches_queued_before_the_flush_share_one_commit) {
  caf::anon_send(actor, batch(0, 1, {{"a", "1"}}));
  caf::anon_send(actor, batch(1, 1, {{"b", "2"}, {"c", "3"}}));
  caf::anon_send(actor, batch(0, 2, {{"a", "4"}}));
  EXPECT_EQ(engine->stats().commits, 0u); // nothing delivered yet
  sched->run();
  EXPECT_EQ(engine->stats().commits, 1u);
  EXPECT_EQ(engine->stats().writes_committed, 4u);
  auto lane0 = take(0);
  ASSERT_EQ(lane0.size(), 2u);
  EXPECT_EQ(lane0[0].ticket, 1u);
  EXPECT_EQ(lane0[1].ticket, 2u);
  EXPECT_EQ(lane0[0].result, errc::ok);
  auto lane1 = take(1);
  ASSERT_EQ(lane1.size(), 1u);
  EXPECT_EQ(lane1[0].ticket, 1u);
  std::string v;
  ASSERT_EQ(engine->get("a", v), storage::get_status::found);
  EXPECT_EQ(v, "4"); // the later batch wins within the group
}

TEST_F(storage_actor_test, batches_after_a_flush_get_their_own_commit) {
  caf::anon_send(actor, batch(0, 1, {{"a", "1"}}));
  sched->run();
  caf::anon_send(actor, batch(0, 2, {{"a", "2"}}));
  sched->run();
  EXPECT_EQ(engine->stats().commits, 2u);
  EXPECT_EQ(take(0).size(), 2u);
}

TEST_F(storage_actor_test, completion_is_posted_only_after_commit) {
  caf::anon_send(actor, batch(0, 1, {{"k", "v"}}));
  sched->run_once(); // the batch is queued; the flush message is not handled yet
  EXPECT_TRUE(take(0).empty());
  std::string v;
  EXPECT_EQ(engine->get("k", v), storage::get_status::not_found);
  sched->run();
  EXPECT_EQ(take(0).size(), 1u);
  EXPECT_EQ(engine->get("k", v), storage::get_status::found);
}

TEST_F(storage_actor_test, malformed_batch_fails_the_group_and_applies_nothing) {
  auto bad = batch(0, 1, {{"x", "1"}});
  bad.count = 2; // claims an op that is not there
  caf::anon_send(actor, std::move(bad));
  sched->run();
  auto lane0 = take(0);
  ASSERT_EQ(lane0.size(), 1u);
  EXPECT_EQ(lane0[0].result, errc::bad_request);
  std::string v;
  EXPECT_EQ(engine->get("x", v), storage::get_status::not_found);
}

TEST_F(storage_actor_test, a_failed_batch_is_reported_to_the_operator) {
  auto bad = batch(0, 1, {{"x", "1"}});
  bad.count = 2;
  testing::internal::CaptureStderr();
  caf::anon_send(actor, std::move(bad)); // alone in its group: no retry path
  sched->run();
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("write batch failed: bad request"), std::string::npos) << log;
  auto lane0 = take(0);
  ASSERT_EQ(lane0.size(), 1u);
  EXPECT_EQ(lane0[0].result, errc::bad_request);
}

TEST_F(storage_actor_test, a_bad_batch_does_not_fail_its_neighbours_in_the_group) {
  auto bad = batch(1, 1, {{"bad", "1"}});
  bad.count = 2;
  caf::anon_send(actor, batch(0, 1, {{"good1", "1"}}));
  caf::anon_send(actor, std::move(bad));
  caf::anon_send(actor, batch(0, 2, {{"good2", "2"}}));
  sched->run();
  auto lane0 = take(0);
  ASSERT_EQ(lane0.size(), 2u);
  EXPECT_EQ(lane0[0].result, errc::ok);
  EXPECT_EQ(lane0[1].result, errc::ok);
  auto lane1 = take(1);
  ASSERT_EQ(lane1.size(), 1u);
  EXPECT_EQ(lane1[0].result, errc::bad_request);
  std::string v;
  EXPECT_EQ(engine->get("good1", v), storage::get_status::found);
  EXPECT_EQ(engine->get("good2", v), storage::get_status::found);
  EXPECT_EQ(engine->get("bad", v), storage::get_status::not_found);
}

TEST_F(storage_actor_test, deletes_are_applied) {
  caf::anon_send(actor, batch(0, 1, {{"d", "1"}}));
  sched->run();
  client_batch del;
  del.origin = 0;
  del.ticket = 2;
  pack_write(del, true, "d", "");
  caf::anon_send(actor, std::move(del));
  sched->run();
  std::string v;
  EXPECT_EQ(engine->get("d", v), storage::get_status::not_found);
  EXPECT_EQ(engine->stats().tombstones, 1u);
}

TEST_F(storage_actor_test, stop_commits_what_is_queued_and_replies) {
  caf::anon_send(actor, batch(0, 1, {{"late", "1"}}));
  bool replied = false;
  auto client = sys->spawn([&](caf::event_based_actor* self) {
    self->request(actor, std::chrono::seconds(1), stop_atom_v)
        .then([&](bool ok) { replied = ok; }, [](caf::error&) {});
  });
  sched->run_once(); // the batch: queued
  sched->run();      // stop (ahead of the flush), reply, flush dropped with the actor
  EXPECT_TRUE(replied);
  std::string v;
  EXPECT_EQ(engine->get("late", v), storage::get_status::found);
  EXPECT_EQ(take(0).size(), 1u);
}

// The answer to a replicated batch names the newer version this replica kept instead of
// one of its ops (the coordinator then sends it again with a higher version), and 0 when
// every op took effect or was already there.
TEST_F(storage_actor_test, a_replicated_batch_answers_the_newer_version_it_kept) {
  const storage::version base{storage::wall_ms() << 16, 7};
  auto replicate = [&](const versioned_writes& b) {
    std::pair<errc, std::uint64_t> got{errc::timeout, 0};
    auto client = sys->spawn([&](caf::event_based_actor* self) {
      self->request(actor, std::chrono::seconds(1), replicate_atom_v, b)
          .then(
              [&](const replica_ack& ack) {
                got = {ack.outcome, ack.newer_hlc};
              },
              [](caf::error&) {});
    });
    sched->run();
    return got;
  };
  versioned_writes newest;
  pack_versioned_write(newest, false, "k", "newest", storage::version{base.hlc + 10, 7});
  EXPECT_EQ(replicate(newest), (std::pair<errc, std::uint64_t>{errc::ok, 0}));
  EXPECT_EQ(replicate(newest), (std::pair<errc, std::uint64_t>{errc::ok, 0})) << "a duplicate";
  versioned_writes older;
  pack_versioned_write(older, false, "other", "x", storage::version{base.hlc + 1, 8});
  pack_versioned_write(older, false, "k", "older", storage::version{base.hlc + 2, 8});
  EXPECT_EQ(replicate(older), (std::pair<errc, std::uint64_t>{errc::ok, base.hlc + 10}));
  versioned_writes twice; // a client that wrote one key twice: the batch's own later op wins
  pack_versioned_write(twice, false, "t", "first", storage::version{base.hlc + 20, 7});
  pack_versioned_write(twice, false, "t", "second", storage::version{base.hlc + 21, 7});
  EXPECT_EQ(replicate(twice), (std::pair<errc, std::uint64_t>{errc::ok, 0}));
  std::string v;
  ASSERT_EQ(engine->get("k", v), storage::get_status::found);
  EXPECT_EQ(v, "newest");
  ASSERT_EQ(engine->get("other", v), storage::get_status::found) << "the rest was applied";
}

// Review finding: a replicated batch holding one value this node cannot store (over its
// -value-max-bytes) failed whole, and hints and pulls resent it forever. Now the rest of
// the batch is applied, the op it cannot store is dropped, and the requester hears ok.
TEST_F(storage_actor_test, a_replicated_batch_is_applied_without_the_ops_this_node_cannot_store) {
  const storage::version base{storage::wall_ms() << 16, 7};
  versioned_writes b;
  pack_versioned_write(b, false, "fits", "v", base);
  pack_versioned_write(b, false, "too-big", std::string(engine->value_bytes_max() + 1, 'x'),
                       storage::version{base.hlc + 1, 7});
  pack_versioned_write(b, true, "gone", {}, storage::version{base.hlc + 2, 7});
  errc rc = errc::timeout; // until the answer comes
  auto client = sys->spawn([&](caf::event_based_actor* self) {
    self->request(actor, std::chrono::seconds(1), replicate_atom_v, b)
        .then([&](const replica_ack& ack) { rc = ack.outcome; }, [](caf::error&) {});
  });
  sched->run();
  EXPECT_EQ(rc, errc::ok);
  std::string v;
  EXPECT_EQ(engine->get("fits", v), storage::get_status::found);
  EXPECT_EQ(engine->get("too-big", v), storage::get_status::not_found);
  EXPECT_EQ(engine->version_of("gone").hlc, base.hlc + 2) << "the tombstone was applied";
}

TEST_F(storage_actor_test, tick_rearms_and_runs_compaction_checks) {
  EXPECT_GE(sched->trigger_timeouts(), 1u);
  sched->run();
  EXPECT_GE(sched->trigger_timeouts(), 1u); // re-armed
  sched->run();
}

TEST(unpack_batch, rejects_truncated_packing) {
  client_batch b;
  pack_write(b, false, "key", "value");
  std::vector<storage::write_op> ops;
  EXPECT_TRUE(unpack_batch(b, ops));
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].key, "key");
  EXPECT_EQ(ops[0].value, "value");
  b.ops.pop_back();
  ops.clear();
  EXPECT_FALSE(unpack_batch(b, ops));
  b.ops += "xx"; // trailing bytes
  ops.clear();
  EXPECT_FALSE(unpack_batch(b, ops));
}
