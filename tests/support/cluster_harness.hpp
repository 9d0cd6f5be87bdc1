#pragma once
// cluster_harness: N real `minivault` processes forming one cluster on 127.0.0.1, for
// integration tests of replication, handoff, anti-entropy and membership.
//
// Contract:
// - Every port (client, cluster, and HTTP when asked for) is picked up front with
//   pick_free_port and all are distinct, so each node can be told its peers before any
//   of them starts. Nodes listen on 127.0.0.1 only (-bind).
// - Node i runs `minivault -port P_i -data DIR_i -bind 127.0.0.1 -public-url 127.0.0.1:P_i
//   -cluster-port C_i -cluster-nodes <every other member> [-http H_i] <common args>
//   <node i's args>`. Each node is a node_process: it owns its data directory and only its
//   own PID is ever signalled; the destructor stops every node still running.
// - `extra_members` lists client ports of members the harness does not start (e.g. an
//   impostor a test runs itself); they are added to every node's -cluster-nodes.
// - Readiness is polled, never slept: a node is ready once its HEALTH lists every peer
//   with "state":"up".
// - Not thread-safe: one thread owns the harness; other threads may use the ports.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/node_process.hpp"

namespace minivault::test {

/// `n` distinct ports that were free on 127.0.0.1 a moment ago (empty on failure).
[[nodiscard]] std::vector<std::uint16_t> pick_free_ports(std::size_t n);

/// A node's HEALTH, parsed.
struct health_view {
  bool ok = false; // a reply arrived and parsed as the health JSON
  std::string raw; // the reply (or what went wrong)
  std::string status, node_id;
  struct peer {
    std::string address, state, node_id;
  };
  std::vector<peer> peers;

  [[nodiscard]] const peer* find(const std::string& address) const;
  /// Every listed peer is "up" (and at least one is listed).
  [[nodiscard]] bool all_peers_up() const;
};

/// HEALTH over the binary protocol on 127.0.0.1:port.
[[nodiscard]] health_view
fetch_health(std::uint16_t port, std::chrono::milliseconds io_timeout = std::chrono::seconds(2));

/// Polls `pred` every 10 ms until it holds or `timeout` passes; true if it held.
bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

/// One key as read from a node: nullopt = "not found".
using key_state = std::optional<std::string>;

/// Reads `keys` from 127.0.0.1:port (pipelined GETs, or QGETs with `quorum`). Returns
/// false (with `error` set) when a reply is missing or is an error other than "not found".
bool read_keys(std::uint16_t port, const std::vector<std::string>& keys,
               std::map<std::string, key_state>& out, std::string& error,
               const std::string& auth = {}, bool quorum = false);

struct cluster_config {
  std::size_t nodes = 3;
  bool http = false;                                         // give every node an -http port
  std::vector<std::string> common_args;                      // for every node
  std::map<std::size_t, std::vector<std::string>> node_args; // for node i only
  std::vector<std::uint16_t> extra_members; // client ports of members not started here
};

class cluster_harness {
public:
  explicit cluster_harness(cluster_config config = {});
  ~cluster_harness();

  cluster_harness(const cluster_harness&) = delete;
  cluster_harness& operator=(const cluster_harness&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }
  [[nodiscard]] node_process& node(std::size_t i) { return *nodes_.at(i); }
  [[nodiscard]] std::uint16_t port(std::size_t i) const { return ports_.at(i); }
  [[nodiscard]] std::uint16_t cluster_port(std::size_t i) const { return cluster_ports_.at(i); }
  [[nodiscard]] std::uint16_t http_port(std::size_t i) const { return http_ports_.at(i); }
  /// "127.0.0.1:<client port>": the node's member name and its address in peers' health.
  [[nodiscard]] std::string address(std::size_t i) const;
  /// The arguments node i is started with (after -port and -data).
  [[nodiscard]] const std::vector<std::string>& args(std::size_t i) const { return args_.at(i); }
  /// False when the ports could not be picked (the constructor cannot fail a test).
  [[nodiscard]] bool ports_ok() const noexcept { return ports_ok_; }

  /// Starts every node (each until its client port accepts), then waits until every
  /// node shows every peer up.
  [[nodiscard]] ::testing::AssertionResult
  start_all(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  /// Waits until node i's HEALTH satisfies `pred`; the failure names `what` and shows
  /// the last health seen.
  [[nodiscard]] ::testing::AssertionResult
  wait_health(std::size_t i, const std::function<bool(const health_view&)>& pred,
              const std::string& what, std::chrono::milliseconds timeout);

  /// Node i shows every configured peer "up" and status "healthy".
  [[nodiscard]] ::testing::AssertionResult
  wait_all_peers_up(std::size_t i, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  /// Every running node shows every peer up.
  [[nodiscard]] ::testing::AssertionResult
  wait_cluster_up(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  /// Node i shows the peer at `address(j)` in `state` (e.g. "up", or "not up" for any
  /// other state when `negate`).
  [[nodiscard]] ::testing::AssertionResult
  wait_peer_state(std::size_t i, std::size_t j, const std::string& state, bool negate = false,
                  std::chrono::milliseconds timeout = std::chrono::seconds(15));

private:
  std::vector<std::uint16_t> ports_, cluster_ports_, http_ports_;
  std::vector<std::vector<std::string>> args_;
  std::vector<std::unique_ptr<node_process>> nodes_;
  bool ports_ok_ = false;
};

} // namespace minivault::test
