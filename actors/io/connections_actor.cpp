// Message flow:
//   spawn      --> start io_threads on the listener
//   stats_atom --> sum of the threads' counters
//   stop_atom  --> each thread stops accepting/reading, finishes in-flight writes
//                  (bounded), closes its connections; joined; reply true; quit
#include "actors/io/connections_actor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace minivault {

void connections_state::stop_all() {
  for (auto& t : threads)
    t->request_stop();
  for (auto& t : threads)
    t->join();
  threads.clear();
  listen_fd.reset();
  front_listen_fd.reset();
}

result<unique_fd> open_listener(const std::string& bind_address, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, bind_address.c_str(), &addr.sin_addr) != 1)
    return status(errc::config_error,
                  "invalid bind address '" + bind_address + "' (expected IPv4, e.g. 0.0.0.0)");
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return status(errc::io_error, std::string("socket: ") + std::strerror(errno));
  // SO_REUSEADDR lets a restarted node bind while old connections sit in TIME_WAIT.
  // (No SO_REUSEPORT: a second node on the same port must fail, not share it.)
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd.get(), 1024) != 0)
    return status(errc::io_error, "cannot listen on " + bind_address + ":" + std::to_string(port) +
                                      ": " + std::strerror(errno));
  return fd;
}

connections_actor::behavior_type
connections_actor_impl(connections_actor::stateful_pointer<connections_state> self,
                       server_context* ctx, int listen_fd, std::size_t io_threads) {
  auto& st = self->state;
  st.listen_fd.reset(listen_fd);
  st.front_listen_fd.reset(ctx->front_listen_fd);
  std::vector<io_thread*> peers;
  for (std::size_t i = 0; i < io_threads; ++i) {
    st.threads.push_back(
        std::make_unique<io_thread>(static_cast<std::uint32_t>(i), *ctx, listen_fd));
    peers.push_back(st.threads.back().get());
  }
  for (auto& t : st.threads)
    t->start(peers);
  // Without the storage actor no write can ever be acknowledged again: fail fast
  // rather than leave clients waiting on writes that will never complete.
  self->monitor(ctx->storage);
  if (ctx->replication) self->monitor(ctx->replication);
  self->set_down_handler([ctx](const caf::down_msg& msg) {
    if (ctx->on_fatal)
      ctx->on_fatal(std::string(msg.source == ctx->storage.address() ? "the storage actor"
                                                                     : "the replication actor") +
                    " terminated (" + caf::to_string(msg.reason) + ")");
  });
  return {
      [self](stats_atom) {
        connection_stats sum;
        for (auto& t : self->state.threads) {
          auto s = t->stats();
          sum.open += s.open;
          sum.accepted += s.accepted;
          sum.requests += s.requests;
          sum.protocol_errors += s.protocol_errors;
          sum.refused += s.refused;
        }
        return sum;
      },
      [self](stop_atom) {
        self->state.stop_all();
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
