#pragma once
// Writes as the integration tests stream them to real nodes: one SET or DELETE each, and
// what became of it (sent, acknowledged, or answered with an error). Shared by the
// durability tests (tests/actors/node/node_durability_test.cpp) and the cluster tests
// (tests/cluster/cluster_ops.hpp); each decides what a failed op may have left behind.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace minivault::test {

enum class op_kind : std::uint8_t { set, del };
enum class op_state : std::uint8_t { sent, acked, failed };

struct op_record {
  op_kind kind = op_kind::set;
  std::string key;
  std::string value; // set only
  op_state state = op_state::sent;
  std::string error;                             // the error reply, if any
  std::chrono::steady_clock::duration latency{}; // send to reply (when measured)
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

/// splitmix64: the next value of the generator whose state is `x`.
inline std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

} // namespace minivault::test
