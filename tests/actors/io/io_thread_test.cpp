// The I/O threads and the connections actor in-process, with a scriptable stand-in for
// the storage actor, so that storage failures can be injected: a batch that fails (disk
// full) and a storage actor that dies. And a stand-in for the replication actor: in a
// cluster an I/O thread keeps one batch in flight and fills the next meanwhile.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "actors/durability/storage_actor.hpp"
#include "actors/io/connections_actor.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/temp_store.hpp"
#include "tests/support/test_client.hpp"

namespace minivault::test {
namespace {

using namespace std::chrono_literals;

/// Fails the tickets in `fail`, quits on a batch holding the key "die", applies the rest
/// to the real engine after `delay` (so a test can line up batches behind each other).
struct fake_storage_config {
  storage::engine* engine = nullptr;
  completion_board* board = nullptr;
  std::set<std::uint64_t> fail;
  std::chrono::milliseconds delay{0};
};

storage_actor::behavior_type fake_storage(storage_actor::pointer self, fake_storage_config cfg) {
  return {
      [self, cfg](client_batch& b) {
        std::this_thread::sleep_for(cfg.delay);
        std::vector<storage::write_op> ops;
        (void)unpack_batch(b, ops);
        for (auto& op : ops)
          if (op.key == "die") {
            self->quit(caf::sec::runtime_error);
            return;
          }
        errc r = errc::io_error;
        if (cfg.fail.count(b.ticket) == 0) r = cfg.engine->apply(ops.data(), ops.size());
        cfg.board->post(b.origin, b.ticket, r);
      },
      [](replicate_atom, versioned_writes&) { // not used here
        return caf::result<replica_ack>(replica_ack{});
      },
      [](outbox_atom, const shipper_actor&) {}, // one region: nothing is shipped
      [](flush_atom) {},
      [](tick_atom) {},
      [](compact_atom) {},
      [](stop_atom) { return true; },
  };
}

/// What the stand-in replication actor saw.
struct replication_seen {
  std::atomic<int> batches{0};
  std::atomic<int> writes{0};
  /// Batches that arrived while an earlier one was still being replicated (its outcome
  /// not yet posted).
  std::atomic<int> overlapped{0};
};

/// Applies each client batch to the real engine after `cfg.delay` (a replication round
/// trip), then posts its outcome.
replication_actor::behavior_type fake_replication(replication_actor::pointer self,
                                                  fake_storage_config cfg,
                                                  std::shared_ptr<replication_seen> seen) {
  return {
      [](peer_up_atom, peer_id, caf::strong_actor_ptr) {},
      [](peer_down_atom, peer_id) {},
      [self, cfg, seen](client_batch& b) {
        std::this_thread::sleep_for(cfg.delay);
        if (!self->mailbox().empty()) ++seen->overlapped; // sent before this one was answered
        std::vector<storage::write_op> ops;
        (void)unpack_batch(b, ops);
        ++seen->batches;
        seen->writes += static_cast<int>(ops.size());
        cfg.board->post(b.origin, b.ticket, cfg.engine->apply(ops.data(), ops.size()));
      },
      [](tick_atom) {},
      [](ship_atom, ship_batch&) { return caf::result<replica_ack>(replica_ack{}); },
      [](stop_atom) { return true; },
  };
}

class io_thread_test : public ::testing::Test {
protected:
  void start(fake_storage_config cfg) {
    store_ = std::make_unique<temp_store>("minivault-io");
    ASSERT_TRUE(store_->engine);
    storage::engine* engine = store_->engine.get();
    opts_.bind_address = "127.0.0.1";
    opts_.port = pick_free_port();
    add_minivault_types(cfg_);
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    cfg.engine = engine;
    cfg.board = &board_;
    ctx_.options = &opts_;
    ctx_.engine = engine;
    ctx_.board = &board_;
    ctx_.health_json = [] { return std::string("{}"); };
    ctx_.on_fatal = [this](const std::string&) { fatal_ = true; };
    ctx_.storage = sys_->spawn<caf::detached>(fake_storage, cfg);
    if (replicated_)
      ctx_.replication = sys_->spawn<caf::detached>(fake_replication, cfg, replicated_);
    auto listener = open_listener(opts_.bind_address, opts_.port);
    ASSERT_TRUE(listener) << listener.error().reason();
    conns_ = sys_->spawn<caf::detached>(connections_actor_impl, &ctx_, listener->release(),
                                        std::size_t{1});
  }
  void TearDown() override {
    if (sys_) {
      { // the scoped actor must be gone before the system waits for all actors
        caf::scoped_actor self{*sys_};
        self->request(conns_, 10s, stop_atom_v).receive([](bool) {}, [](caf::error&) {});
      }
      caf::anon_send_exit(ctx_.storage, caf::exit_reason::user_shutdown);
      if (ctx_.replication) caf::anon_send_exit(ctx_.replication, caf::exit_reason::user_shutdown);
      conns_ = nullptr;
      ctx_.storage = nullptr;
      ctx_.replication = nullptr;
      sys_.reset();
    }
    store_.reset();
  }

  std::unique_ptr<temp_store> store_;
  node_options opts_;
  completion_board board_{1};
  server_context ctx_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  connections_actor conns_;
  std::atomic<bool> fatal_{false};
  /// Set before start(): the I/O thread sends its batches to a stand-in replication actor.
  std::shared_ptr<replication_seen> replicated_;
};

std::string frame(wire::opcode op, std::string_view key, std::string_view value = {}) {
  std::string f;
  wire::append_request(f, op, key, value);
  return f;
}

TEST_F(io_thread_test, a_get_that_read_a_failed_write_reports_the_failure) {
  fake_storage_config cfg;
  cfg.fail = {1};
  cfg.delay = 200ms;
  start(cfg);
  test_client c(opts_.port);
  // Batch 1 (fails): SET k=a. Batch 2 (sent while 1 is in flight): SET j, GET k, SET k=c.
  ASSERT_TRUE(c.send_raw(frame(wire::opcode::set, "k", "a")));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(c.send_raw(frame(wire::opcode::set, "j", "1") + frame(wire::opcode::get, "k") +
                         frame(wire::opcode::set, "k", "c")));
  auto r1 = c.read_reply();
  auto r2 = c.read_reply();
  auto r3 = c.read_reply();
  auto r4 = c.read_reply();
  ASSERT_TRUE(r1.io_ok && r2.io_ok && r3.io_ok && r4.io_ok);
  EXPECT_EQ(r1.status, wire::status_error);
  EXPECT_EQ(r1.payload, "io error");
  EXPECT_EQ(r2.status, wire::status_ok);
  // The GET read "a" from the write that failed. It must neither claim "a" nor show
  // "c", a write sent after it: it reports the failure.
  EXPECT_EQ(r3.status, wire::status_error);
  EXPECT_EQ(r3.payload, "io error");
  EXPECT_EQ(r4.status, wire::status_ok);
  EXPECT_EQ(c.get("k").payload, "c");
}

TEST_F(io_thread_test, failed_batch_errors_only_its_own_writes) {
  fake_storage_config cfg;
  cfg.fail = {1};
  cfg.delay = 100ms;
  start(cfg);
  test_client a(opts_.port);
  EXPECT_EQ(a.set("first", "x").status, wire::status_error); // ticket 1
  EXPECT_EQ(a.set("second", "y").status, wire::status_ok);   // ticket 2
  EXPECT_EQ(a.get("first").payload, "not found");
  EXPECT_EQ(a.get("second").payload, "y");
}

TEST_F(io_thread_test, half_closed_client_with_a_write_in_flight_gets_its_acks_then_eof) {
  fake_storage_config cfg;
  cfg.delay = 150ms;
  start(cfg);
  test_client c(opts_.port);
  // Ticket 1 is in flight when ticket 2's write arrives; then the client half-closes.
  // When ticket 1 completes, ticket 2 is still pending on a half-closed connection.
  ASSERT_TRUE(c.send_raw(frame(wire::opcode::set, "a", "1")));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(c.send_raw(frame(wire::opcode::set, "b", "2")));
  ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
  EXPECT_EQ(c.read_reply().status, wire::status_ok);
  EXPECT_EQ(c.read_reply().status, wire::status_ok);
  EXPECT_TRUE(c.is_closed_by_peer(3s));
  test_client other(opts_.port, 2s); // the I/O thread is still serving
  EXPECT_EQ(other.health().status, wire::status_ok);
}

TEST_F(io_thread_test, storage_actor_death_is_reported_as_fatal) {
  start(fake_storage_config{});
  test_client c(opts_.port, 2s);
  ASSERT_TRUE(c.send_raw(frame(wire::opcode::set, "die", "now")));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!fatal_ && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(fatal_) << "nobody noticed that the storage actor died";
}

TEST_F(io_thread_test, in_a_cluster_one_batch_is_in_flight_and_the_next_fills_meanwhile) {
  replicated_ = std::make_shared<replication_seen>();
  fake_storage_config cfg;
  cfg.delay = 30ms;
  start(cfg);
  constexpr int clients = 8, writes_each = 10;
  std::vector<std::unique_ptr<test_client>> cs;
  for (int c = 0; c < clients; ++c)
    cs.push_back(std::make_unique<test_client>(opts_.port, 5s));
  // Each client pipelines its writes in two halves, the second while the first is in
  // flight somewhere.
  for (int half = 0; half < 2; ++half) {
    for (int c = 0; c < clients; ++c) {
      std::string frames;
      for (int i = half * writes_each / 2; i < (half + 1) * writes_each / 2; ++i)
        frames += frame(wire::opcode::set, "k" + std::to_string(c) + "-" + std::to_string(i),
                        "v" + std::to_string(i));
      ASSERT_TRUE(cs[c]->send_raw(frames));
    }
    std::this_thread::sleep_for(5ms);
  }
  for (int c = 0; c < clients; ++c)
    for (int i = 0; i < writes_each; ++i)
      ASSERT_EQ(cs[c]->read_reply().status, wire::status_ok) << "client " << c << " write " << i;
  EXPECT_EQ(replicated_->overlapped.load(), 0) << "a batch was sent before the last one's outcome";
  EXPECT_EQ(replicated_->writes.load(), clients * writes_each);
  EXPECT_LT(replicated_->batches.load(), clients * 2) << "the writes that arrived meanwhile "
                                                         "were not gathered into one batch";
  for (int c = 0; c < clients; ++c)
    EXPECT_EQ(cs[c]->get("k" + std::to_string(c) + "-9").payload, "v9");
}

} // namespace
} // namespace minivault::test
