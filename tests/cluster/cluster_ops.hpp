#pragma once
// Helpers of the cluster tests: streams of writes with every reply recorded (and timed),
// the state each key must (or may) read back as, and polling reads until a node holds it.
//
// What a key may read back as, from the ops sent for it (in order, on one connection,
// whose replies come back in that order): the state after its last acknowledged op, or
// after any later op that was sent but not acknowledged. An op answered with an error
// may still have reached a replica (a timeout is decided while replicas may yet apply
// it), so it counts as "maybe applied", like an op whose reply never came. A key with no
// acknowledged op may also be absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/cluster_harness.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/write_ops.hpp"

namespace minivault::test {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// op_kind, op_state, op_record (set_op, del_op) and splitmix: tests/support/write_ops.hpp.

/// A distinct value for (tag, i) of about `bytes` bytes: a readable prefix, then bytes
/// from a generator (binary, not compressible).
inline std::string make_value(const std::string& tag, std::size_t i, std::size_t bytes = 32) {
  std::string v = tag + "#" + std::to_string(i) + ":";
  std::uint64_t seed = std::hash<std::string>{}(tag) ^ (i * 0x100000001B3ull);
  while (v.size() + 8 <= bytes) {
    std::uint64_t r = splitmix(seed);
    v.append(reinterpret_cast<const char*>(&r), 8);
  }
  while (v.size() < bytes)
    v.push_back(static_cast<char>(splitmix(seed) & 0xFF));
  return v;
}

struct stream_stats {
  std::size_t sent = 0, acked = 0, failed = 0;
  std::string first_error;
  clock_type::duration max_latency{};
  bool connection_lost = false;
};

/// Streams ops from `next_op(i)` to 127.0.0.1:port on one connection, `window` requests
/// in flight, appending each to `ops` and recording its reply and latency. Ends after
/// `ops_max` ops, when `stop` is set, or when the connection fails (e.g. the node died).
/// With `auth`, sends AUTH first.
inline stream_stats stream_ops(std::uint16_t port,
                               const std::function<op_record(std::size_t)>& next_op,
                               std::size_t ops_max, std::vector<op_record>& ops,
                               std::size_t window = 8, const std::atomic<bool>* stop = nullptr,
                               std::atomic<std::size_t>* acked_count = nullptr,
                               const std::string& auth = {}) {
  stream_stats res;
  test_client c(port, std::chrono::seconds(15));
  if (!c.connected()) {
    res.first_error = "connect failed";
    res.connection_lost = true;
    return res;
  }
  if (!auth.empty() && !c.auth(auth).ok()) {
    res.first_error = "AUTH failed";
    res.connection_lost = true;
    return res;
  }
  struct flight {
    std::size_t index;
    clock_type::time_point sent;
  };
  std::deque<flight> in_flight;
  std::size_t i = 0;
  while (true) {
    std::string frames;
    const auto now = clock_type::now();
    while (in_flight.size() < window && i < ops_max && !(stop && stop->load())) {
      op_record op = next_op(i++);
      wire::append_request(frames, op.kind == op_kind::set ? wire::opcode::set : wire::opcode::del,
                           op.key, op.value);
      in_flight.push_back({ops.size(), now});
      ops.push_back(std::move(op));
      ++res.sent;
    }
    if (!frames.empty() && !c.send_raw(frames)) {
      res.connection_lost = true;
      break;
    }
    if (in_flight.empty()) break;
    auto r = c.read_reply();
    if (!r.io_ok) {
      res.connection_lost = true;
      break;
    }
    auto& op = ops[in_flight.front().index];
    op.latency = clock_type::now() - in_flight.front().sent;
    in_flight.pop_front();
    res.max_latency = std::max(res.max_latency, op.latency);
    if (r.ok()) {
      op.state = op_state::acked;
      ++res.acked;
      if (acked_count) acked_count->fetch_add(1);
    } else {
      op.state = op_state::failed;
      op.error = printable(r.payload);
      if (res.failed++ == 0) res.first_error = op.key + ": " + op.error;
    }
  }
  return res;
}

/// Streams a fixed list of ops (`ops` is cleared, then refilled with the results).
inline stream_stats write_all(std::uint16_t port, std::vector<op_record>& ops,
                              std::size_t window = 8, const std::string& auth = {}) {
  std::vector<op_record> todo = std::move(ops);
  ops.clear();
  ops.reserve(todo.size());
  return stream_ops(
      port, [&todo](std::size_t i) { return todo[i]; }, todo.size(), ops, window, nullptr, nullptr,
      auth);
}

/// One writer thread per node 0..nodes-1 of `c`, started at once: writer n streams
/// `next_op(n, i)` through node n (stream_ops: up to `ops_max` ops, `window` in flight,
/// until `stop` is set, counting acknowledgements in `acked`) into streams[n], its stats in
/// stats[n]. Read those after join() (the destructor joins too).
class node_writers {
public:
  using op_maker = std::function<op_record(std::size_t node, std::size_t i)>;

  node_writers(cluster_harness& c, std::size_t nodes, op_maker next_op, std::size_t ops_max,
               std::size_t window, const std::atomic<bool>* stop = nullptr,
               std::atomic<std::size_t>* acked = nullptr)
      : streams(nodes), stats(nodes), next_op_(std::move(next_op)) {
    for (std::size_t n = 0; n < nodes; ++n)
      threads_.emplace_back([this, port = c.port(n), n, ops_max, window, stop, acked] {
        stats[n] = stream_ops(
            port, [this, n](std::size_t i) { return next_op_(n, i); }, ops_max, streams[n], window,
            stop, acked);
        finished_.fetch_add(1);
      });
  }
  node_writers(const node_writers&) = delete;
  node_writers& operator=(const node_writers&) = delete;
  ~node_writers() { join(); }

  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  /// How many writers have finished their stream.
  [[nodiscard]] std::size_t finished() const { return finished_.load(); }

  std::vector<std::vector<op_record>> streams;
  std::vector<stream_stats> stats;

private:
  op_maker next_op_;
  std::atomic<std::size_t> finished_{0};
  std::vector<std::thread> threads_;
};

/// Streams `a` through `port_a` and `b` through `port_b` at the same time (write_all, one
/// thread each); the two streams' stats.
inline std::pair<stream_stats, stream_stats> write_both(std::uint16_t port_a,
                                                        std::vector<op_record>& a,
                                                        std::uint16_t port_b,
                                                        std::vector<op_record>& b) {
  stream_stats sa, sb;
  std::thread ta([&] { sa = write_all(port_a, a); });
  std::thread tb([&] { sb = write_all(port_b, b); });
  ta.join();
  tb.join();
  return {sa, sb};
}

/// SETs of "<prefix>0".."<prefix><n-1>", key i to make_value(tag, i).
inline std::vector<op_record> numbered_sets(const std::string& prefix, std::size_t n,
                                            const std::string& tag) {
  std::vector<op_record> ops;
  ops.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    ops.push_back(set_op(prefix + std::to_string(i), make_value(tag, i)));
  return ops;
}

inline std::vector<std::string> keys_of(const std::map<std::string, key_state>& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m)
    out.push_back(k);
  return out;
}

/// Every `every`-th key of `m` (in key order): e.g. keys to quorum-read, whose read
/// repair would otherwise hide whether the rest catches up by itself.
inline std::map<std::string, key_state> every_nth(const std::map<std::string, key_state>& m,
                                                  std::size_t every) {
  std::map<std::string, key_state> out;
  std::size_t i = 0;
  for (const auto& [k, v] : m)
    if (i++ % every == 0) out.emplace(k, v);
  return out;
}

inline std::string describe(const key_state& s) {
  return s ? "value \"" + printable(*s, 50) + "\"" : "absent";
}

inline long long ms(clock_type::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

/// How many ops of `ops` were acknowledged / failed, and the first failure.
inline std::string summarize_failures(const std::vector<op_record>& ops,
                                      std::size_t max_shown = 5) {
  std::ostringstream out;
  std::size_t shown = 0;
  for (const auto& op : ops) {
    if (op.state == op_state::acked) continue;
    if (shown++ >= max_shown) break;
    out << "\n  " << (op.kind == op_kind::set ? "SET " : "DELETE ") << printable(op.key, 60) << ": "
        << (op.state == op_state::failed ? "error \"" + op.error + "\"" : "no reply") << " after "
        << ms(op.latency) << " ms";
  }
  return out.str();
}

/// Applies the acknowledged ops of `ops` in order onto `expected` (for streams in which
/// every op must be acknowledged).
inline void apply_acked(const std::vector<op_record>& ops,
                        std::map<std::string, key_state>& expected) {
  for (const auto& op : ops) {
    if (op.state != op_state::acked) continue;
    if (op.kind == op_kind::set)
      expected[op.key] = op.value;
    else
      expected[op.key] = std::nullopt;
  }
}

/// Writes `ops` through `port` (write_all, which refills `ops` with the results) and
/// applies the acknowledged ones onto `expected`. Fails, listing the first failures,
/// unless every op was acknowledged.
inline ::testing::AssertionResult write_acked(std::uint16_t port, std::vector<op_record>& ops,
                                              std::map<std::string, key_state>& expected) {
  const auto s = write_all(port, ops);
  apply_acked(ops, expected);
  if (s.acked == ops.size()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << s.acked << " of " << ops.size() << " ops acknowledged through port " << port << ": "
         << s.first_error << summarize_failures(ops);
}
/// The same when the test keeps no expected state.
inline ::testing::AssertionResult write_acked(std::uint16_t port, std::vector<op_record>& ops) {
  std::map<std::string, key_state> ignored;
  return write_acked(port, ops, ignored);
}

/// Per key, the states it may read back as (see the top of this file).
inline std::map<std::string, std::vector<key_state>>
allowed_states(const std::vector<const std::vector<op_record>*>& streams) {
  std::map<std::string, std::vector<const op_record*>> by_key;
  for (const auto* s : streams)
    for (const auto& op : *s)
      by_key[op.key].push_back(&op);
  std::map<std::string, std::vector<key_state>> out;
  for (auto& [key, history] : by_key) {
    std::ptrdiff_t last_acked = -1;
    for (std::size_t j = 0; j < history.size(); ++j)
      if (history[j]->state == op_state::acked) last_acked = static_cast<std::ptrdiff_t>(j);
    auto& allowed = out[key];
    if (last_acked < 0) allowed.push_back(std::nullopt);
    for (std::size_t j = last_acked < 0 ? 0 : static_cast<std::size_t>(last_acked);
         j < history.size(); ++j) {
      if (history[j]->kind == op_kind::set)
        allowed.push_back(history[j]->value);
      else
        allowed.push_back(std::nullopt);
    }
  }
  return out;
}

/// Polls node `port` until every key reads back as one of its allowed states (only
/// the keys still wrong are re-read, then one full pass confirms). The failure lists up
/// to 10 keys still wrong, with what they read as.
inline ::testing::AssertionResult
wait_node_holds(std::uint16_t port, const std::map<std::string, std::vector<key_state>>& allowed,
                std::chrono::milliseconds timeout, const std::string& what,
                const std::string& auth = {}, clock_type::duration* took = nullptr) {
  const auto start = clock_type::now();
  std::vector<std::string> pending;
  for (const auto& [k, v] : allowed)
    pending.push_back(k);
  std::map<std::string, key_state> got;
  std::string error;
  bool full_pass = false;
  while (true) {
    got.clear();
    error.clear();
    std::vector<std::string> still;
    if (read_keys(port, pending, got, error, auth)) {
      for (const auto& k : pending) {
        const auto& options = allowed.at(k);
        if (std::find(options.begin(), options.end(), got[k]) == options.end()) still.push_back(k);
      }
      if (still.empty()) {
        if (full_pass) {
          if (took) *took = clock_type::now() - start;
          return ::testing::AssertionSuccess();
        }
        full_pass = true; // every key matched once: confirm with a full pass
        pending.clear();
        for (const auto& [k, v] : allowed)
          pending.push_back(k);
        continue;
      }
      full_pass = false;
      pending = std::move(still);
    }
    if (clock_type::now() - start >= timeout) break;
    std::this_thread::sleep_for(20ms);
  }
  auto r = ::testing::AssertionFailure();
  r << what << ": after "
    << std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count()
    << " ms, " << pending.size() << " of " << allowed.size() << " keys on port " << port
    << " are not in an allowed state";
  if (!error.empty()) r << " (last read error: " << error << ")";
  std::size_t shown = 0;
  for (const auto& k : pending) {
    if (++shown > 10) break;
    r << "\n  key " << printable(k, 60) << " reads "
      << (got.count(k) ? describe(got[k]) : std::string("(unread)")) << ", allowed:";
    for (const auto& a : allowed.at(k))
      r << " | " << describe(a);
  }
  return r;
}

/// The same for exact expected states.
inline ::testing::AssertionResult
wait_node_holds(std::uint16_t port, const std::map<std::string, key_state>& expected,
                std::chrono::milliseconds timeout, const std::string& what,
                const std::string& auth = {}, clock_type::duration* took = nullptr) {
  std::map<std::string, std::vector<key_state>> allowed;
  for (const auto& [k, v] : expected)
    allowed[k] = {v};
  return wait_node_holds(port, allowed, timeout, what, auth, took);
}

/// One pass (no polling): every key of `expected` reads back as expected on node `port`,
/// with GETs, or QGETs (quorum reads) with `quorum`.
inline ::testing::AssertionResult node_holds_now(std::uint16_t port,
                                                 const std::map<std::string, key_state>& expected,
                                                 const std::string& what, bool quorum) {
  std::map<std::string, key_state> got;
  std::string error;
  if (!read_keys(port, keys_of(expected), got, error, {}, quorum))
    return ::testing::AssertionFailure() << what << ": " << error;
  std::size_t bad = 0;
  auto r = ::testing::AssertionFailure();
  for (const auto& [k, v] : expected) {
    if (got[k] == v) continue;
    if (++bad <= 10)
      r << "\n  key " << printable(k, 60) << " reads " << describe(got[k]) << ", expected "
        << describe(v);
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return r << "\n"
           << what << ": " << bad << " of " << expected.size() << " keys wrong on port " << port;
}

/// Reads `names` from every node of `c` into `seen` (one map per node); whether every
/// read succeeded and all nodes agree on every key. On a failed read, `error` says why.
inline bool nodes_agree(cluster_harness& c, const std::vector<std::string>& names,
                        std::vector<std::map<std::string, key_state>>& seen, std::string& error) {
  seen.resize(c.size());
  for (std::size_t n = 0; n < c.size(); ++n) {
    seen[n].clear();
    if (!read_keys(c.port(n), names, seen[n], error)) return false;
  }
  for (std::size_t n = 1; n < c.size(); ++n)
    if (seen[n] != seen[0]) return false;
  return true;
}

/// One failure per key of `names` on which the nodes' reads `seen` differ (up to 10),
/// with what each node read.
inline void report_disagreement(const std::vector<std::string>& names,
                                std::vector<std::map<std::string, key_state>>& seen) {
  std::size_t shown = 0;
  for (const auto& k : names) {
    bool same = true;
    for (std::size_t n = 1; n < seen.size(); ++n)
      same = same && seen[n][k] == seen[0][k];
    if (same) continue;
    if (++shown > 10) break;
    std::ostringstream line;
    line << k << ":";
    for (std::size_t n = 0; n < seen.size(); ++n)
      line << (n == 0 ? " " : ", ") << "node " << n << " " << describe(seen[n][k]);
    ADD_FAILURE() << line.str();
  }
}

} // namespace minivault::test
