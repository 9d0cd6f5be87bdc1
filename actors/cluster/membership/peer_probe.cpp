#include "actors/cluster/membership/peer_probe.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "protocol/wire.hpp"

namespace minivault {

namespace {

using clock_type = std::chrono::steady_clock;

int remaining_ms(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool wait_for(int fd, short events, clock_type::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    return rc > 0;
  }
}

int connect_by_deadline(const peer_address& a, clock_type::time_point deadline,
                        std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(a.host.c_str(), std::to_string(a.port).c_str(), &hints, &res);
      rc != 0) {
    error = std::string("cannot resolve ") + a.host + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
    error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  if (fd < 0) return -1;
  int so_error = 0;
  socklen_t len = sizeof(so_error);
  if (!wait_for(fd, POLLOUT, deadline) ||
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
    error = so_error ? std::strerror(so_error) : "connect timed out";
    ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace

bool probe_peer(const peer_address& address, std::chrono::milliseconds timeout, peer_identity& out,
                std::string& error) {
  const auto deadline = clock_type::now() + timeout;
  int fd = connect_by_deadline(address, deadline, error);
  if (fd < 0) return false;
  std::string request;
  wire::append_request(request, wire::opcode::health, {});
  bool ok = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size());
  std::string in;
  std::size_t want = wire::reply_header_bytes;
  char buf[4096];
  while (ok && in.size() < want) {
    if (!wait_for(fd, POLLIN, deadline)) {
      error = "no HEALTH answer in time";
      ok = false;
      break;
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      error = "connection closed before the HEALTH answer";
      ok = false;
      break;
    }
    in.append(buf, static_cast<std::size_t>(n));
    if (in.size() >= wire::reply_header_bytes) {
      std::uint32_t len = 0;
      std::memcpy(&len, in.data() + 1, sizeof(len));
      if (len > (1u << 20)) {
        error = "HEALTH answer too large";
        ok = false;
        break;
      }
      want = wire::reply_header_bytes + len;
    }
  }
  ::close(fd);
  if (!ok) return false;
  if (static_cast<std::uint8_t>(in[0]) != wire::status_ok) {
    error = "HEALTH refused";
    return false;
  }
  auto j = nlohmann::json::parse(in.begin() + wire::reply_header_bytes, in.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("node_id") || !j["node_id"].is_string() ||
      !j.contains("cluster_port") || !j["cluster_port"].is_number_unsigned()) {
    error = "not a clustered minivault node (no cluster_port in its health)";
    return false;
  }
  const auto cluster_port = j["cluster_port"].get<std::uint64_t>();
  if (cluster_port == 0 || cluster_port > 65535) {
    error = "its health names no valid cluster_port";
    return false;
  }
  // The cluster port must answer too: the middleman's connect blocks (for every peer)
  // on an address that silently drops packets.
  int cluster_fd = connect_by_deadline(
      peer_address{address.host, static_cast<std::uint16_t>(cluster_port)}, deadline, error);
  if (cluster_fd < 0) {
    error = "cluster port " + std::to_string(cluster_port) + ": " + error;
    return false;
  }
  ::close(cluster_fd);
  out.node_id = j["node_id"].get<std::string>();
  out.region = j.value("region", std::string());
  out.cluster_port = static_cast<std::uint16_t>(cluster_port);
  return true;
}

} // namespace minivault
