// Checkpoints from another thread (the node's sync actor does this), and compaction's
// shortcut for rows nothing points at, against real SQLite files: racing them with the
// writer must lose nothing, and the WAL must be able to start over.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "storage/engine.hpp"
#include "tests/support/temp_store.hpp"

namespace minivault::test {
namespace {

using storage::engine_options;
using storage::get_status;
using storage::write_op;

engine_options background(fsync_policy fsync) {
  engine_options o;
  o.fsync = fsync;
  o.background_checkpoints = true;
  o.compact_log_bytes_min = 1u << 20; // compaction starts early
  return o;
}

/// Writes `rounds` batches of `per_batch` overwrites over `keys` keys; remembers the last
/// value of each key in `model`.
void overwrite(storage::engine& e, int rounds, int per_batch, int keys, int salt,
               std::map<std::string, std::string>& model) {
  std::vector<std::string> ks(per_batch), vs(per_batch);
  std::vector<write_op> ops(per_batch);
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < per_batch; ++i) {
      ks[i] = "key" + std::to_string((r * per_batch + i) % keys);
      vs[i] = std::string(100 + (r + i) % 300, static_cast<char>('a' + (r + i + salt) % 26)) +
              std::to_string(r);
      ops[i] = write_op{ks[i], vs[i], false, {}};
    }
    ASSERT_EQ(e.apply(ops.data(), ops.size()), errc::ok);
    for (int i = 0; i < per_batch; ++i)
      model[ks[i]] = vs[i];
  }
}

void expect_model(storage::engine& e, const std::map<std::string, std::string>& model) {
  for (const auto& [k, v] : model) {
    std::string got;
    ASSERT_EQ(e.get(k, got), get_status::found) << k;
    ASSERT_EQ(got, v) << k;
  }
}

TEST(Checkpoints, RacingTheWriterAndCompactionLosesNothing) {
  for (auto policy : {fsync_policy::none, fsync_policy::interval}) {
    temp_store s("mv-ckpt", background(policy));
    ASSERT_TRUE(s.engine);
    std::atomic<bool> stop{false};
    std::atomic<int> checkpoints{0};
    std::thread housekeeper([&] {
      for (int i = 0; !stop.load(); ++i) {
        auto pages = s.engine->checkpoint(i % 8 == 7);
        EXPECT_TRUE(pages) << pages.error().reason();
        if (policy == fsync_policy::interval) {
          EXPECT_EQ(s.engine->sync().code(), errc::ok);
        }
        ++checkpoints;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    std::map<std::string, std::string> model;
    // Keys written once stay live in old rows, between rows that die completely.
    overwrite(*s.engine, 1, 200, 200, 0, model);
    for (int round = 0; round < 20; ++round) {
      overwrite(*s.engine, 60, 64, 50 + round, round, model);
      bool more = true;
      for (int steps = 0; more && steps < 50; ++steps) {
        auto step = s.engine->compact_step(256u << 10);
        ASSERT_TRUE(step) << step.error().reason();
        more = *step;
      }
      // Interleave for sure, however slow the machine: at least one more checkpoint
      // (every eighth a restart) per round of writes.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (checkpoints.load() <= round && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    stop = true;
    housekeeper.join();
    EXPECT_GE(checkpoints.load(), 20);
    expect_model(*s.engine, model);
    auto before = s.engine->stats();
    EXPECT_LT(before.log_bytes, 40u << 20) << "compaction kept up with the overwrites";

    // Everything is there again after reopening (replay from database + WAL).
    std::string dir = s.dir;
    s.engine.reset();
    engine_options o = background(policy);
    o.dir = dir;
    auto reopened = storage::engine::open(o);
    ASSERT_TRUE(reopened) << reopened.error().reason();
    s.engine = std::move(reopened).value();
    expect_model(*s.engine, model);
    EXPECT_EQ(s.engine->stats().keys, model.size());
  }
}

TEST(Checkpoints, ARestartCheckpointLetsTheWalStartOver) {
  temp_store s("mv-ckpt", background(fsync_policy::interval));
  ASSERT_TRUE(s.engine);
  std::map<std::string, std::string> model;
  overwrite(*s.engine, 200, 64, 5000, 1, model); // ~3 MB of records
  auto pages = s.engine->checkpoint(false);
  ASSERT_TRUE(pages) << pages.error().reason();
  const std::uint64_t full = *pages;
  EXPECT_GT(full * s.engine->page_bytes(), 2u << 20) << "the writer left the WAL alone";
  pages = s.engine->checkpoint(true);
  ASSERT_TRUE(pages) << pages.error().reason();
  overwrite(*s.engine, 1, 8, 8, 2, model); // the next commit starts the WAL over
  pages = s.engine->checkpoint(false);
  ASSERT_TRUE(pages) << pages.error().reason();
  EXPECT_LT(*pages, full / 10) << "the WAL started over after the restart checkpoint";
  expect_model(*s.engine, model);
}

TEST(Checkpoints, WithoutABackgroundCheckpointerTheWriterCheckpointsItself) {
  engine_options o;
  o.compact_log_bytes_min = 1u << 30; // keep compaction out of it
  temp_store s("mv-ckpt", o);
  ASSERT_TRUE(s.engine);
  std::map<std::string, std::string> model;
  overwrite(*s.engine, 600, 64, 100000, 3, model); // ~10 MB: past 1000 pages
  auto pages = s.engine->checkpoint(false);
  ASSERT_TRUE(pages) << pages.error().reason();
  EXPECT_LT(*pages * s.engine->page_bytes(), 20u << 20);
  expect_model(*s.engine, model);
}

} // namespace
} // namespace minivault::test
