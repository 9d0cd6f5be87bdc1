#pragma once
// A minivault node: the storage engine, the actor system and the actors, assembled in
// dependency order and torn down in reverse. main() only parses options, starts a node
// and waits for a signal.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "actors/completion_board.hpp"
#include "actors/metrics.hpp"
#include "actors/rate_limiter.hpp"
#include "actors/server_context.hpp"
#include "actors/write_gateway.hpp"
#include "protocol/actors.hpp"
#include "protocol/options.hpp"
#include "storage/engine.hpp"

namespace minivault {

class node {
public:
  /// Opens the store, spawns the actors and starts serving. Returns nullptr with
  /// `error` set when the node cannot start (bad data dir, port in use, ...).
  [[nodiscard]] static std::unique_ptr<node> start(const node_options& opts, std::string& error);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Stops in reverse order: connections (drain in-flight writes, bounded), then the
  /// storage actor (commit what is queued), then the engine. Idempotent.
  void stop();

  [[nodiscard]] std::uint16_t port() const noexcept { return opts_.port; }
  /// True once a fatal error was reported (the process should exit non-zero).
  [[nodiscard]] bool failed() const noexcept { return failed_.load(); }
  [[nodiscard]] const std::string& node_id() const noexcept { return node_id_; }

  // -- the interface for other client front-ends (the HTTP server) ----------------------
  // Every call is thread-safe and may block the calling thread (never an actor's).

  [[nodiscard]] const node_options& options() const noexcept { return opts_; }
  /// Reads the committed value of `key` into `sink` (called once, only when found).
  [[nodiscard]] storage::get_status get(std::string_view key, storage::value_sink sink) const;
  /// Writes or deletes `key` and waits until it is durable (at most the request timeout):
  /// ok, io_error, timeout (outcome unknown) or shutting_down.
  [[nodiscard]] errc write(bool del, std::string_view key, std::string_view value);
  /// Takes one rate-limit token; false when the node is over -ratelimit.
  [[nodiscard]] bool admit() noexcept { return tokens_.take(1) == 1; }
  /// The health JSON of SPEC §2.
  [[nodiscard]] std::string health_json() const;
  /// Every metric, in the Prometheus text format.
  [[nodiscard]] std::string metrics_text() const;
  /// The HTTP front-end's counters.
  [[nodiscard]] front_metrics& http_metrics() noexcept { return metrics_->http; }

private:
  explicit node(const node_options& opts);

  node_options opts_;
  std::string node_id_;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<storage::engine> engine_;
  std::unique_ptr<completion_board> board_;
  server_context ctx_;
  std::unique_ptr<node_metrics> metrics_;
  token_pool tokens_;
  std::unique_ptr<write_gateway> gateway_;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  storage_actor storage_;
  sync_actor sync_;
  rate_limiter_actor rate_limiter_;
  connections_actor connections_;
  bool stopped_ = false;
  std::atomic<bool> failed_{false};
};

} // namespace minivault
