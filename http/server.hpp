#pragma once
// The HTTP/JSON front-end (SPEC §3) on cpp-httplib. It only translates: requests become
// the node's get/write calls, results become `{"success": ...}` JSON. JSON never
// reaches an actor; values are stored as the exact JSON text the client sent.
//
// Threads: cpp-httplib serves each connection on one worker thread for as long as it
// is kept alive (`-http-threads` of them); a worker blocks in the node's calls. Limits:
// bodies over the value limit (plus http_body_overhead_bytes) get 413 before they are
// read; a client must send its request (and take the reply) within http_io_timeout_s;
// idle keep-alive connections close after http_keep_alive_timeout_s.
//
// Connection close: after a 401, a 413 or a refusal that left a body unread, the
// connection closes, so every wrong-key guess costs a new TCP handshake.
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace minivault {
class node;
}

namespace minivault::http {

class server {
public:
  /// Listens on the node's bind address and -http port and serves in the background.
  /// Returns nullptr with `error` set when the port cannot be bound.
  [[nodiscard]] static std::unique_ptr<server> start(node& n, std::string& error);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Stops accepting, lets requests in progress finish, joins the workers. Idempotent.
  void stop();

private:
  explicit server(node& n);
  node& node_;
  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;
};

} // namespace minivault::http
