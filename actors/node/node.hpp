#pragma once
// A minivault node: the storage engine, the actor system and the actors, assembled in
// dependency order and torn down in reverse. main() only parses options, starts a node
// and waits for a signal.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "actors/admission/rate_limiter.hpp"
#include "actors/cluster/cluster.hpp"
#include "actors/io/completion_board.hpp"
#include "actors/io/server_context.hpp"
#include "actors/telemetry/metrics.hpp"
#include "actors/telemetry/metrics_registry.hpp"
#include "protocol/actors.hpp"
#include "protocol/options.hpp"
#include "protocol/status.hpp"
#include "protocol/unique_fd.hpp"
#include "storage/engine.hpp"

namespace minivault {

class node {
public:
  /// Opens the store, spawns the actors and starts serving. With `opts.http_port` set,
  /// `http` (which must outlive the node) is served on that port by the same I/O
  /// threads. Fails with the reason when the node cannot start: config_error (bad
  /// options), io_error (port in use, data dir unusable), or the store's own error.
  [[nodiscard]] static result<std::unique_ptr<node>> start(const node_options& opts,
                                                           const front_codec* http = nullptr);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Stops in reverse order: connections (drain in-flight writes, bounded), the cluster
  /// actors, the storage actor (commit what is queued), the sync actor, the rate limiter;
  /// the engine closes when the node is destroyed. Idempotent.
  void stop();

  [[nodiscard]] std::uint16_t port() const noexcept { return opts_.port; }
  /// True once a fatal error was reported (the process should exit non-zero).
  [[nodiscard]] bool failed() const noexcept { return failed_.load(); }
  [[nodiscard]] const std::string& node_id() const noexcept { return node_id_; }

private:
  explicit node(const node_options& opts);
  /// The health JSON of protocol/README.md §5.1 (thread-safe).
  [[nodiscard]] std::string health_json() const;
  /// Every metric in the Prometheus text format (thread-safe).
  [[nodiscard]] std::string metrics_text() const;
  /// Has each component register its metric families, then seals the registry (once
  /// the counters exist, before anything can scrape).
  [[nodiscard]] status register_metrics();
  // The steps of start(), in order.
  [[nodiscard]] status open_store();
  [[nodiscard]] status configure_cluster();
  void spawn_core(std::size_t threads, bool clustered);
  [[nodiscard]] status start_cluster();
  void serve(unique_fd listener, unique_fd front_listener, std::size_t threads);

  node_options opts_;
  std::string node_id_;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<storage::engine> engine_;
  std::unique_ptr<completion_board> board_;
  std::unique_ptr<group_commit> writer_; // the engine's writer role (outlives the actors)
  server_context ctx_;
  std::unique_ptr<node_metrics> metrics_;
  metrics_registry metrics_registry_;
  token_pool tokens_;
  ip_limiter ip_limits_;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  storage_actor storage_;
  sync_actor sync_;
  rate_limiter_actor rate_limiter_;
  std::unique_ptr<cluster> cluster_; // only with peers
  connections_actor connections_;
  bool stopped_ = false;
  std::atomic<bool> failed_{false};
};

} // namespace minivault
