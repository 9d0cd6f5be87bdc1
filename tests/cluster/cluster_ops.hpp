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
#include <vector>

#include "tests/support/cluster_harness.hpp"
#include "tests/support/test_client.hpp"

namespace minivault::test {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

enum class op_kind : std::uint8_t { set, del };
enum class op_state : std::uint8_t { sent, acked, failed };

struct op_record {
  op_kind kind = op_kind::set;
  std::string key;
  std::string value; // set only
  op_state state = op_state::sent;
  std::string error;                // the error reply, if any
  clock_type::duration latency{};   // send to reply
};

inline op_record set_op(std::string key, std::string value) {
  op_record op;
  op.kind = op_kind::set;
  op.key = std::move(key);
  op.value = std::move(value);
  return op;
}
inline op_record del_op(std::string key) {
  op_record op;
  op.kind = op_kind::del;
  op.key = std::move(key);
  return op;
}

inline std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

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
inline stream_stats stream_ops(std::uint16_t port, const std::function<op_record(std::size_t)>& next_op,
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

/// Applies the acknowledged ops of `ops` in order onto `expected` (for streams in which
/// every op must be acknowledged).
inline void apply_acked(const std::vector<op_record>& ops, std::map<std::string, key_state>& expected) {
  for (const auto& op : ops) {
    if (op.state != op_state::acked) continue;
    if (op.kind == op_kind::set)
      expected[op.key] = op.value;
    else
      expected[op.key] = std::nullopt;
  }
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
        if (std::find(options.begin(), options.end(), got[k]) == options.end())
          still.push_back(k);
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
inline ::testing::AssertionResult wait_node_holds(std::uint16_t port,
                                                  const std::map<std::string, key_state>& expected,
                                                  std::chrono::milliseconds timeout,
                                                  const std::string& what,
                                                  const std::string& auth = {},
                                                  clock_type::duration* took = nullptr) {
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
  return r << "\n" << what << ": " << bad << " of " << expected.size() << " keys wrong on port "
           << port;
}

inline long long ms(clock_type::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

/// How many ops of `ops` were acknowledged / failed, and the first failure.
inline std::string summarize_failures(const std::vector<op_record>& ops, std::size_t max_shown = 5) {
  std::ostringstream out;
  std::size_t shown = 0;
  for (const auto& op : ops) {
    if (op.state == op_state::acked) continue;
    if (shown++ >= max_shown) break;
    out << "\n  " << (op.kind == op_kind::set ? "SET " : "DELETE ") << printable(op.key, 60)
        << ": " << (op.state == op_state::failed ? "error \"" + op.error + "\"" : "no reply")
        << " after " << ms(op.latency) << " ms";
  }
  return out.str();
}

} // namespace minivault::test
