// Integration tests of README.md "Guarantees": an acknowledged write survives `kill -9`
// of the node. A writer streams pipelined writes to the real binary and records which
// were acknowledged; the node is SIGKILLed mid-stream and restarted on the same data
// directory; then every key is read back.
//
// What a key may read back as after the crash (per key, ops in the order sent on the one
// connection, whose replies arrive in that order): the state after its last acknowledged
// op, or after any later op that was sent but not acknowledged (those may or may not
// have reached the disk). A key with no acknowledged op may also be absent. An op
// answered with an error counts as not applied.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/node_process.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/write_ops.hpp"

namespace minivault::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t window_requests = 16;    // requests in flight per writer
constexpr std::size_t stream_ops_max = 300000; // bounds every stream in count...
constexpr auto stream_time_max = 10s;          // ...and in time
constexpr auto kill_after = 1500ms;
constexpr std::size_t kill_after_acks_min = 50;

// op_kind, op_state, op_record and splitmix: tests/support/write_ops.hpp.

/// A distinct value for (tag, i): mostly small binary values, now and then a large,
/// compressible one (so values compressed at rest are covered too).
std::string make_value(const std::string& tag, std::size_t i) {
  std::string v = tag + "#" + std::to_string(i) + ":";
  std::uint64_t seed = std::hash<std::string>{}(tag) ^ (i * 0x100000001B3ull);
  if (i % 200 == 199) {
    while (v.size() < 20000)
      v += "compressible payload " + std::to_string(i) + " ";
    return v;
  }
  std::size_t n = 8 + (i * 7919) % 600;
  for (std::size_t k = 0; k < n; ++k)
    v.push_back(static_cast<char>(splitmix(seed) & 0xFF));
  return v;
}

struct stream_result {
  std::size_t sent = 0, acked = 0, failed = 0;
  std::string first_error;
};

/// Streams ops made by `next_op(i)` on one connection with `window_requests` in flight,
/// appending them to `ops` and marking each acknowledged or failed as its reply comes.
/// Ends when the connection fails (the node died), `stop` is set, or a bound is reached.
stream_result stream_ops(std::uint16_t port, const std::function<op_record(std::size_t)>& next_op,
                         std::size_t ops_max, std::vector<op_record>& ops, std::atomic<bool>& stop,
                         std::atomic<std::size_t>& acked_count) {
  stream_result res;
  test_client c(port);
  if (!c.connected()) {
    res.first_error = "connect failed";
    return res;
  }
  std::deque<std::size_t> in_flight; // indices into ops
  auto deadline = clock_type::now() + stream_time_max;
  std::size_t i = 0;
  while (true) {
    std::string frames;
    while (in_flight.size() < window_requests && i < ops_max && !stop.load() &&
           clock_type::now() < deadline) {
      op_record op = next_op(i++);
      wire::append_request(frames, op.kind == op_kind::set ? wire::opcode::set : wire::opcode::del,
                           op.key, op.value);
      in_flight.push_back(ops.size());
      ops.push_back(std::move(op));
      ++res.sent;
    }
    if (!frames.empty() && !c.send_raw(frames)) break;
    if (in_flight.empty()) break;
    auto r = c.read_reply();
    if (!r.io_ok) break;
    auto& op = ops[in_flight.front()];
    in_flight.pop_front();
    if (r.ok()) {
      op.state = op_state::acked;
      ++res.acked;
      acked_count.fetch_add(1);
    } else {
      op.state = op_state::failed;
      if (res.failed++ == 0) res.first_error = op.key + ": " + printable(r.payload);
    }
  }
  return res;
}

/// One key's ops in order, and what it may read back as.
struct key_history {
  std::vector<const op_record*> ops;

  /// Allowed states: nullopt = absent.
  std::vector<std::optional<std::string>> allowed() const {
    std::vector<std::optional<std::string>> out;
    std::ptrdiff_t last_acked = -1;
    std::vector<const op_record*> applied;
    for (const auto* op : ops) {
      if (op->state != op_state::failed) applied.push_back(op);
    }
    for (std::size_t j = 0; j < applied.size(); ++j) {
      if (applied[j]->state == op_state::acked) last_acked = static_cast<std::ptrdiff_t>(j);
    }
    if (last_acked < 0) out.push_back(std::nullopt);
    for (std::size_t j = last_acked < 0 ? 0 : static_cast<std::size_t>(last_acked);
         j < applied.size(); ++j) {
      if (applied[j]->kind == op_kind::set) {
        out.push_back(applied[j]->value);
      } else {
        out.push_back(std::nullopt);
      }
    }
    return out;
  }
};

std::string describe(const std::optional<std::string>& state) {
  return state ? "value \"" + printable(*state, 60) + "\"" : "absent";
}

/// The whole history of a test: every op of every stream, plus, after each verified
/// restart, the state each key was observed in (an acknowledged baseline).
class durability_log {
public:
  std::vector<op_record>& new_stream() { return streams_.emplace_back(); }

  /// Reads every key back (pipelined) and checks it against the allowed states. Returns
  /// the number of keys whose acknowledged state was lost or corrupted.
  std::size_t verify(std::uint16_t port, const std::string& when) {
    std::map<std::string, key_history> keys;
    for (const auto& op : baseline_)
      keys[op.key].ops.push_back(&op);
    for (const auto& stream : streams_) {
      for (const auto& op : stream)
        keys[op.key].ops.push_back(&op);
    }
    test_client c(port);
    EXPECT_TRUE(c.connected());
    std::vector<std::string> names;
    names.reserve(keys.size());
    for (const auto& entry : keys)
      names.push_back(entry.first);
    std::size_t bad = 0;
    std::vector<op_record> observed;
    constexpr std::size_t batch = 256;
    for (std::size_t from = 0; from < names.size(); from += batch) {
      std::size_t to = std::min(names.size(), from + batch);
      std::string frames;
      for (std::size_t k = from; k < to; ++k) {
        wire::append_request(frames, wire::opcode::get, names[k]);
      }
      if (!c.send_raw(frames)) {
        ADD_FAILURE() << when << ": cannot send GETs";
        return names.size();
      }
      for (std::size_t k = from; k < to; ++k) {
        auto r = c.read_reply();
        if (!r.io_ok) {
          ADD_FAILURE() << when << ": no reply to GET " << names[k];
          return names.size();
        }
        std::optional<std::string> got;
        if (r.ok()) {
          got = std::move(r.payload);
        } else if (!r.is_error("not found")) {
          ADD_FAILURE() << when << ": GET " << names[k] << " failed: " << r;
          ++bad;
          continue;
        }
        auto allowed = keys[names[k]].allowed();
        if (std::find(allowed.begin(), allowed.end(), got) == allowed.end()) {
          if (++bad <= 10) {
            std::string options;
            for (const auto& a : allowed)
              options += " | " + describe(a);
            ADD_FAILURE() << when << ": key " << names[k] << " reads back as " << describe(got)
                          << ", allowed:" << options;
          }
        }
        op_record seen;
        seen.key = names[k];
        seen.kind = got ? op_kind::set : op_kind::del;
        if (got) seen.value = std::move(*got);
        seen.state = op_state::acked;
        observed.push_back(std::move(seen));
      }
    }
    // What survived one restart must survive the next: it becomes the new baseline.
    baseline_ = std::move(observed);
    streams_.clear();
    return bad;
  }

private:
  std::vector<op_record> baseline_;
  std::vector<std::vector<op_record>> streams_;
};

struct kill_report {
  stream_result writer;
  bool writer_finished_first = false; // the stream ended before the kill
};

/// Runs `next_op` as a stream against `node` and SIGKILLs the node mid-stream: once
/// `kill_after` has passed and some writes were acknowledged (bounded by 8 s).
kill_report stream_and_kill(node_process& node, std::vector<op_record>& ops,
                            const std::function<op_record(std::size_t)>& next_op) {
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::atomic<std::size_t> acked{0};
  kill_report report;
  std::thread writer([&] {
    report.writer = stream_ops(node.port(), next_op, stream_ops_max, ops, stop, acked);
    done.store(true);
  });
  auto started = clock_type::now();
  auto give_up = started + 8s;
  while (clock_type::now() < give_up && !done.load()) {
    if (clock_type::now() - started >= kill_after && acked.load() >= kill_after_acks_min) break;
    std::this_thread::sleep_for(5ms);
  }
  report.writer_finished_first = done.load();
  node.kill_hard();
  stop.store(true);
  writer.join();
  return report;
}

void print_report(const std::string& what, const kill_report& k, std::size_t bad) {
  std::cout << "[ info ] " << what << ": " << k.writer.acked << " writes acknowledged of "
            << k.writer.sent << " sent (" << k.writer.failed << " error replies) before SIGKILL"
            << (k.writer_finished_first ? " (stream ended before the kill)" : "") << "; " << bad
            << " keys lost or wrong after restart\n";
}

class NodeDurability : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(node_.start()); }
  node_process node_;
  durability_log log_;
};

TEST_F(NodeDurability, AcknowledgedSetsSurviveSigkill) {
  auto& ops = log_.new_stream();
  auto k = stream_and_kill(node_, ops, [](std::size_t i) {
    return set_op("dur/" + std::to_string(i), make_value("dur", i));
  });
  ASSERT_GT(k.writer.acked, 0u) << "no write was acknowledged: " << k.writer.first_error;
  EXPECT_EQ(k.writer.failed, 0u) << "first error reply: " << k.writer.first_error;
  ASSERT_TRUE(node_.restart()) << "restart after SIGKILL";
  auto bad = log_.verify(node_.port(), "after SIGKILL");
  print_report("sets", k, bad);
  EXPECT_EQ(bad, 0u) << "acknowledged writes lost (of " << k.writer.acked << " acknowledged)";
}

TEST_F(NodeDurability, AcknowledgedDeletesStayDeleted) {
  constexpr std::size_t pre_keys = 3000;
  {
    auto& pre = log_.new_stream();
    std::atomic<bool> never{false};
    std::atomic<std::size_t> acked{0};
    auto res = stream_ops(
        node_.port(),
        [](std::size_t i) { return set_op("pre/" + std::to_string(i), make_value("pre", i)); },
        pre_keys, pre, never, acked);
    ASSERT_EQ(res.acked, pre_keys) << res.first_error;
  }
  auto& ops = log_.new_stream();
  auto k = stream_and_kill(node_, ops, [](std::size_t i) {
    std::size_t j = i / 3;
    switch (i % 3) {
    case 0:
      return del_op("pre/" + std::to_string(j % pre_keys));
    case 1:
      return set_op("del/" + std::to_string(j), make_value("del", j));
    default:
      return del_op("del/" + std::to_string(j >= 2 ? j - 2 : j));
    }
  });
  std::size_t acked_deletes = 0;
  for (const auto& op : ops) {
    acked_deletes += op.kind == op_kind::del && op.state == op_state::acked;
  }
  ASSERT_GT(acked_deletes, 0u) << "no DELETE was acknowledged: " << k.writer.first_error;
  EXPECT_EQ(k.writer.failed, 0u) << "first error reply: " << k.writer.first_error;
  ASSERT_TRUE(node_.restart()) << "restart after SIGKILL";
  auto bad = log_.verify(node_.port(), "after SIGKILL");
  print_report("deletes (" + std::to_string(acked_deletes) + " acknowledged DELETEs)", k, bad);
  EXPECT_EQ(bad, 0u);
}

TEST_F(NodeDurability, LastAcknowledgedOverwriteWins) {
  auto& ops = log_.new_stream();
  auto k = stream_and_kill(node_, ops, [](std::size_t i) {
    return set_op("ow/" + std::to_string(i % 64), make_value("ow", i));
  });
  ASSERT_GT(k.writer.acked, 64u) << k.writer.first_error;
  EXPECT_EQ(k.writer.failed, 0u) << "first error reply: " << k.writer.first_error;
  ASSERT_TRUE(node_.restart()) << "restart after SIGKILL";
  auto bad = log_.verify(node_.port(), "after SIGKILL");
  print_report("overwrites of 64 keys", k, bad);
  EXPECT_EQ(bad, 0u);
}

TEST_F(NodeDurability, TwoKillsInARowKeepBothRounds) {
  auto& round1 = log_.new_stream();
  auto k1 = stream_and_kill(node_, round1, [](std::size_t i) {
    return set_op("r1/" + std::to_string(i), make_value("r1", i));
  });
  ASSERT_GT(k1.writer.acked, 0u) << k1.writer.first_error;
  std::size_t round1_keys = k1.writer.sent;
  ASSERT_TRUE(node_.restart()) << "first restart after SIGKILL";
  auto bad1 = log_.verify(node_.port(), "after the first SIGKILL");
  print_report("round 1", k1, bad1);
  EXPECT_EQ(bad1, 0u);

  // Round 2: new keys, overwrites and deletes of round-1 keys.
  auto& round2 = log_.new_stream();
  auto k2 = stream_and_kill(node_, round2, [round1_keys](std::size_t i) {
    std::string old_key = "r1/" + std::to_string((i * 7919) % round1_keys);
    switch (i % 4) {
    case 1:
      return set_op(old_key, make_value("r2-over", i));
    case 3:
      return del_op(old_key);
    default:
      return set_op("r2/" + std::to_string(i), make_value("r2", i));
    }
  });
  ASSERT_GT(k2.writer.acked, 0u) << k2.writer.first_error;
  EXPECT_EQ(k1.writer.failed + k2.writer.failed, 0u)
      << k1.writer.first_error << " / " << k2.writer.first_error;
  ASSERT_TRUE(node_.restart()) << "second restart after SIGKILL";
  auto bad2 = log_.verify(node_.port(), "after the second SIGKILL");
  print_report("round 2", k2, bad2);
  EXPECT_EQ(bad2, 0u);
}

} // namespace
} // namespace minivault::test
