// The writer role of one node (actors/durability/group_commit.hpp) on a real engine: who
// commits, which lanes are woken, what a waiting batch becomes, and per-lane order with
// two submitting threads and a third taking the role as the storage actor does.
#include "actors/durability/group_commit.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <thread>

#include "actors/durability/batch_codec.hpp"
#include "tests/support/temp_store.hpp"

using namespace minivault;

namespace {

write_batch batch(std::uint32_t lane, std::uint64_t ticket,
                  std::vector<std::pair<std::string, std::string>> sets) {
  client_batch b;
  for (auto& [k, v] : sets)
    pack_write(b, false, k, v);
  return write_batch{lane, ticket, b.count, std::move(b.ops), false, false};
}

/// true when the lane's eventfd would wake its thread now.
bool woken(const completion_board& board, std::uint32_t lane) {
  pollfd p{board.event_fd(lane), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

struct group_commit_test : ::testing::Test {
  test::temp_store store{"minivault-gc"};
  completion_board board{2};
  std::unique_ptr<group_commit> writer;

  void SetUp() override {
    ASSERT_TRUE(store.engine);
    writer = std::make_unique<group_commit>(*store.engine, board, nullptr);
  }
  std::vector<completion> take(std::uint32_t lane) {
    std::vector<completion> out;
    board.take(lane, out);
    return out;
  }
  std::string get(const std::string& key) {
    std::string v;
    return store.engine->get(key, v) == storage::get_status::found ? v : "<missing>";
  }
};

} // namespace

TEST_F(group_commit_test, a_batch_finding_the_role_free_is_committed_by_its_own_thread) {
  ASSERT_TRUE(writer->submit(batch(0, 1, {{"a", "1"}, {"b", "2"}}), true));
  EXPECT_EQ(get("a"), "1");
  EXPECT_EQ(get("b"), "2");
  EXPECT_EQ(store.engine->stats().commits, 1u);
  EXPECT_FALSE(woken(board, 0)) << "its own lane is answered without a wake-up";
  auto done = take(0);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].ticket, 1u);
  EXPECT_EQ(done[0].result, errc::ok);
  EXPECT_EQ(writer->groups_by_io(), 1u);
}

TEST_F(group_commit_test, batches_submitted_while_the_role_is_held_wait_and_share_one_commit) {
  writer->acquire(); // as the storage actor does
  EXPECT_FALSE(writer->submit(batch(0, 1, {{"a", "1"}}), true));
  EXPECT_FALSE(writer->submit(batch(1, 1, {{"b", "2"}}), true));
  EXPECT_FALSE(writer->submit(batch(0, 2, {{"a", "3"}}), true));
  EXPECT_EQ(get("a"), "<missing>") << "nothing is visible before its commit";
  EXPECT_TRUE(take(0).empty());
  const auto commits = store.engine->stats().commits;
  writer->release();
  EXPECT_EQ(store.engine->stats().commits, commits + 1) << "one group for all three";
  EXPECT_EQ(get("a"), "3");
  EXPECT_EQ(get("b"), "2");
  EXPECT_TRUE(woken(board, 0));
  EXPECT_TRUE(woken(board, 1));
  auto lane0 = take(0);
  ASSERT_EQ(lane0.size(), 2u);
  EXPECT_EQ(lane0[0].ticket, 1u);
  EXPECT_EQ(lane0[1].ticket, 2u);
  EXPECT_EQ(take(1).size(), 1u);
  EXPECT_EQ(writer->groups_by_writer(), 1u);
  // Free again: the next batch is committed in place.
  EXPECT_TRUE(writer->submit(batch(1, 2, {{"c", "4"}}), true));
  EXPECT_EQ(get("c"), "4");
}

TEST_F(group_commit_test, a_batch_handed_on_wakes_the_storage_actor_once) {
  int wakes = 0;
  writer->set_wake_writer([&] { ++wakes; });
  EXPECT_FALSE(writer->submit(batch(0, 1, {{"a", "1"}}), false));
  EXPECT_FALSE(writer->submit(batch(0, 2, {{"b", "2"}}), false));
  EXPECT_EQ(wakes, 1) << "one wake-up is already on its way";
  EXPECT_EQ(get("a"), "<missing>");
  // A batch committed in place takes what waits first: lane order holds.
  EXPECT_TRUE(writer->submit(batch(0, 3, {{"c", "3"}}), true));
  auto lane0 = take(0);
  ASSERT_EQ(lane0.size(), 3u);
  for (std::uint64_t t = 1; t <= 3; ++t)
    EXPECT_EQ(lane0[t - 1].ticket, t);
  // The storage actor's turn (its wake-up arrives late) finds nothing left.
  writer->acquire();
  writer->release();
  EXPECT_EQ(writer->groups_by_writer(), 0u);
  EXPECT_FALSE(writer->submit(batch(0, 4, {{"d", "4"}}), false));
  EXPECT_EQ(wakes, 2);
  writer->acquire();
  writer->release();
  EXPECT_EQ(get("d"), "4");
  EXPECT_EQ(take(0).size(), 1u);
}

TEST_F(group_commit_test, an_actor_commits_versioned_writes_in_place_only_when_the_role_is_free) {
  write_batch w = batch(0, 0, {{"v", "1"}});
  w.versioned = true;
  writer->acquire();
  EXPECT_FALSE(writer->try_commit(w).has_value()) << "never waits for the role";
  EXPECT_EQ(w.count, 1u) << "left untouched, for the storage actor";
  EXPECT_FALSE(writer->submit(batch(1, 1, {{"c", "2"}}), true)); // a client batch waits
  writer->release();
  auto done = writer->try_commit(w);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->result, errc::ok);
  EXPECT_EQ(done->newer_hlc, 0u);
  EXPECT_EQ(get("v"), "1");
  EXPECT_FALSE(w.ops.empty()) << "the ops come back (shipping needs them)";
  EXPECT_EQ(take(1).size(), 1u);
}

TEST_F(group_commit_test, a_malformed_batch_fails_alone_and_its_neighbours_commit) {
  writer->acquire();
  write_batch bad = batch(0, 1, {{"x", "1"}});
  bad.count = 2; // claims an op it does not carry
  EXPECT_FALSE(writer->submit(std::move(bad), true));
  EXPECT_FALSE(writer->submit(batch(1, 1, {{"y", "2"}}), true));
  writer->release();
  auto lane0 = take(0);
  auto lane1 = take(1);
  ASSERT_EQ(lane0.size(), 1u);
  ASSERT_EQ(lane1.size(), 1u);
  EXPECT_EQ(lane0[0].result, errc::bad_request);
  EXPECT_EQ(lane1[0].result, errc::ok);
  EXPECT_EQ(get("x"), "<missing>");
  EXPECT_EQ(get("y"), "2");
}

TEST_F(group_commit_test, storage_actor_commits_its_own_group_with_outcomes_in_order) {
  std::vector<write_batch> own;
  own.push_back(batch(0, 0, {{"v1", "a"}}));
  own.back().versioned = true; // its outcome goes to its requester, not to a lane
  own.push_back(batch(1, 7, {{"v2", "b"}}));
  std::vector<std::pair<std::size_t, errc>> seen;
  writer->acquire();
  writer->commit(own, [&](std::size_t i, errc e, std::uint64_t) { seen.emplace_back(i, e); });
  writer->release();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(std::size_t{0}, errc::ok));
  EXPECT_EQ(seen[1], std::make_pair(std::size_t{1}, errc::ok));
  EXPECT_TRUE(take(0).empty()) << "commit() posts nothing itself";
  EXPECT_EQ(get("v1"), "a");
  EXPECT_EQ(get("v2"), "b");
}

// Two "I/O threads" submit with a bounded number in flight, as request_pipeline does, and
// a third takes the role now and then (the storage actor's compaction turns) and when an
// I/O thread hands it batches. Every batch is answered once, in ticket order per lane, and
// every write is readable afterwards.
TEST_F(group_commit_test, concurrent_lanes_get_every_outcome_in_ticket_order) {
  constexpr std::uint64_t per_lane = 3000;
  constexpr std::uint64_t in_flight_max = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> wake_requests{0};
  writer->set_wake_writer([&] { wake_requests.fetch_add(1); });
  std::thread storage_thread([&] {
    while (!stop.load()) {
      writer->acquire();
      writer->release(); // commits whatever an I/O thread left waiting
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::atomic<int> order_errors{0};
  auto lane_thread = [&](std::uint32_t lane) {
    std::uint64_t next = 1, answered = 0;
    std::vector<completion> done;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (answered < per_lane) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "lane " << lane << ": batch " << answered + 1 << " never answered";
        return;
      }
      if (next <= per_lane && next - 1 - answered < in_flight_max) {
        std::string key = "k" + std::to_string(lane) + "-" + std::to_string(next);
        // Every third batch is handed on, as mid-round batches are.
        (void)writer->submit(batch(lane, next, {{key, std::to_string(next)}}), next % 3 != 0);
        ++next;
      }
      done.clear();
      board.take(lane, done, false);
      for (const auto& c : done) {
        if (c.ticket != answered + 1 || c.result != errc::ok) order_errors.fetch_add(1);
        answered = c.ticket;
      }
      if (done.empty()) std::this_thread::yield();
    }
  };
  std::thread a(lane_thread, 0), b(lane_thread, 1);
  a.join();
  b.join();
  stop = true;
  storage_thread.join();
  EXPECT_EQ(order_errors.load(), 0);
  for (std::uint32_t lane = 0; lane < 2; ++lane)
    for (std::uint64_t t = 1; t <= per_lane; t += 97)
      EXPECT_EQ(get("k" + std::to_string(lane) + "-" + std::to_string(t)), std::to_string(t));
  EXPECT_EQ(store.engine->stats().writes_committed, 2 * per_lane);
  EXPECT_GT(writer->groups_by_io(), 0u);
  EXPECT_GT(writer->groups_by_writer(), 0u);
}
