#pragma once
// The closed-loop load driver of minivault-bench: N connections spread over T threads,
// each keeping P requests in flight; every reply immediately makes room for a new
// request on the same connection. Latency is measured per request, from the send call
// that carried it to the read that completed it.
//
// Contract:
// - Connections are opened (and authenticated) before any load; a failure there is
//   returned as an error string and nothing runs.
// - Warm-up time is run but not counted; the measured window is `duration_s`.
// - A connection the server closes, or a reply that cannot be parsed, stops the run
//   with an error (a closed-loop figure from a broken stream would be meaningless).
//   Error replies are counted and the first one's text kept; GET misses are counted
//   apart from errors.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/load/codec.hpp"
#include "bench/load/histogram.hpp"

namespace minivault::bench {

struct workload {
  wire_protocol protocol = wire_protocol::minivault;
  std::string host = "127.0.0.1";
  std::uint16_t port = 3000;
  std::string auth; // non-empty: AUTH on every connection first
  std::size_t connections = 50;
  std::size_t pipeline = 1; // requests in flight per connection
  std::size_t threads = 1;
  std::size_t keys = 10000;
  std::size_t value_bytes = 100;
  double read_fraction = 0.0; // 0 = only SET, 1 = only GET
  double zipf_theta = 0.0;    // 0 = uniform keys; 0 < theta < 1 = Zipf-skewed (e.g. 0.99)
  double duration_s = 5.0;
  double warmup_s = 1.0;
  std::uint64_t seed = 1;
};

struct run_stats {
  double seconds = 0;     // the measured window
  std::uint64_t ops = 0;  // replies received in the window
  std::uint64_t sets = 0; // of which SET
  std::uint64_t misses = 0;
  std::uint64_t errors = 0;
  std::string first_error; // text of the first error reply
  latency_histogram latency;
};

/// The key of index `i`: "key:" + 12 digits (the format redis-benchmark uses).
[[nodiscard]] std::string key_name(std::size_t i);

/// SETs every key once (pipelined over a few connections). Empty on success.
[[nodiscard]] std::string prefill(const workload& w);

/// Runs the closed loop; empty on success, else why the run failed.
[[nodiscard]] std::string run_load(const workload& w, run_stats& out);

} // namespace minivault::bench
