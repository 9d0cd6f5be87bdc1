#pragma once
// The connections actor owns the client listener and the I/O threads: it starts them
// when spawned, sums their counters on request, and on stop_atom drains and joins them.
// Spawn it detached: stopping joins threads.
#include <memory>
#include <vector>

#include "actors/io/io_thread.hpp"
#include "actors/io/server_context.hpp"
#include "protocol/actors.hpp"
#include "protocol/status.hpp"
#include "protocol/unique_fd.hpp"

namespace minivault {

struct connections_state {
  static inline const char* name = "minivault.connections";
  unique_fd listen_fd;
  unique_fd front_listen_fd; // the front protocol's (HTTP) listener, if any
  std::vector<std::unique_ptr<io_thread>> threads;
  void stop_all();
  ~connections_state() { stop_all(); }
};

/// Takes ownership of `listen_fd` (a bound, listening, non-blocking socket) and of
/// `ctx->front_listen_fd` (the HTTP listener, if any) and starts `io_threads` I/O
/// threads serving both.
connections_actor::behavior_type
connections_actor_impl(connections_actor::stateful_pointer<connections_state> self,
                       server_context* ctx, int listen_fd, std::size_t io_threads);

/// Opens a client listener on `bind_address:port` (non-blocking). Errors: config_error
/// (not an IPv4 address), io_error (e.g. the port is in use), with the reason.
[[nodiscard]] result<unique_fd> open_listener(const std::string& bind_address, std::uint16_t port);

} // namespace minivault
