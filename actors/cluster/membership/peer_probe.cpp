#include "actors/cluster/membership/peer_probe.hpp"

#include <nlohmann/json.hpp>

#include "client/client.hpp"
#include "protocol/unique_fd.hpp"

namespace minivault {

result<peer_identity> probe_peer(const peer_address& address, std::chrono::milliseconds timeout) {
  const auto deadline = client::clock_type::now() + timeout;
  client::options o;
  o.host = address.host;
  o.port = address.port;
  // One budget for connecting and the answer: the client's deadline is now + timeout.
  o.connect_timeout = timeout;
  o.io_timeout = std::chrono::milliseconds(0);
  o.reply_bytes_max = probe_health_bytes_max;
  o.family = client::ip_family::v4;
  client::client c(o);
  // execute(), not health(): one attempt (health() retries once on a broken connection).
  client::batch b;
  b.health();
  const client::result r = std::move(c.execute(b).front());
  switch (r.code) {
  case client::status::ok:
    break;
  case client::status::error_reply:
    return status(errc::bad_frame, "HEALTH refused: " + r.value);
  case client::status::protocol_error:
    return status(errc::bad_frame, "HEALTH answer: " + r.value);
  default: // io_error, timeout: could not connect, or no complete answer
    return status(r.code == client::status::timeout ? errc::timeout : errc::io_error, r.value);
  }

  auto j = nlohmann::json::parse(r.value, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("node_id") || !j["node_id"].is_string() ||
      !j.contains("cluster_port") || !j["cluster_port"].is_number_unsigned())
    return status(errc::config_error,
                  "not a clustered minivault node (no cluster_port in its health)");
  const auto cluster_port = j["cluster_port"].get<std::uint64_t>();
  if (cluster_port == 0 || cluster_port > 65535)
    return status(errc::config_error, "its health names no valid cluster_port");

  // The cluster port must answer too: the middleman's connect blocks (for every peer)
  // on an address that silently drops packets. Only reachability matters: closed at once.
  int fd = -1;
  client::io_result io = client::connect_tcp(address.host, static_cast<std::uint16_t>(cluster_port),
                                             deadline, fd, client::ip_family::v4);
  unique_fd cluster_connection(fd);
  if (io.status != client::io_status::ok)
    return status(io.status == client::io_status::timeout ? errc::timeout : errc::io_error,
                  "cluster port " + std::to_string(cluster_port) + ": " + io.detail);

  peer_identity id;
  id.node_id = j["node_id"].get<std::string>();
  id.region = j.value("region", std::string());
  id.cluster_port = static_cast<std::uint16_t>(cluster_port);
  return id;
}

} // namespace minivault
