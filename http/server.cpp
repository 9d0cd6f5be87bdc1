// Request flow (every request, on a cpp-httplib worker thread):
//   pre-routing: parse the target, check method, auth and rate limit, refuse an
//                oversized body -- all before the body is read
//   handler:     GET -> node.get -> render the stored value as JSON
//                PUT/POST -> extract the raw "value" text -> node.write (durable)
//                DELETE -> node.write(tombstone)
//   both record the request in the HTTP metrics shard.
#include "http/server.hpp"

#include <httplib.h>

#include <sys/socket.h>

#include <chrono>

#include "actors/io_thread.hpp" // now_us
#include "actors/node.hpp"
#include "http/json_text.hpp"
#include "http/request_target.hpp"
#include "protocol/limits.hpp"

namespace minivault::http {

namespace {

const char* const json_type = "application/json";

// The start of the request on this worker thread: set in pre-routing, read by the
// handler of the same request (cpp-httplib runs both on one thread, one request at a
// time).
thread_local std::int64_t request_start_us = 0;

int status_of(errc e) noexcept {
  switch (e) {
  case errc::ok:
    return 200;
  case errc::not_found:
    return 404;
  case errc::bad_request:
  case errc::bad_frame:
  case errc::bad_compression:
    return 400;
  case errc::unauthorized:
    return 401;
  case errc::too_large:
    return 413;
  case errc::rate_limited:
    return 429;
  case errc::no_quorum:
  case errc::overloaded:
  case errc::shutting_down:
    return 503;
  case errc::timeout:
    return 504;
  default:
    return 500;
  }
}

op_result result_of(errc e) noexcept {
  switch (e) {
  case errc::ok:
    return op_result::ok;
  case errc::not_found:
    return op_result::not_found;
  case errc::unauthorized:
    return op_result::unauthorized;
  case errc::rate_limited:
    return op_result::rate_limited;
  case errc::bad_request:
  case errc::bad_frame:
  case errc::bad_compression:
  case errc::too_large:
    return op_result::bad_request;
  default:
    return op_result::error;
  }
}

void set_error(httplib::Response& res, int status, std::string_view message) {
  std::string body = R"({"success":false,"error":)";
  append_json_string(body, message); // messages are ASCII or valid UTF-8
  body += '}';
  res.status = status;
  res.set_content(std::move(body), json_type);
}

/// Text for the statuses cpp-httplib answers by itself.
const char* reason_of(int status) noexcept {
  switch (status) {
  case 400:
    return "bad request";
  case 404:
    return "not found";
  case 405:
    return "method not allowed";
  case 413:
    return "body larger than the value limit";
  case 414:
    return "request target too long";
  case 416:
    return "range not satisfiable";
  case 431:
    return "request headers too large";
  default:
    return "error";
  }
}

/// Ends the connection after this response (cpp-httplib honours the header).
void close_after(httplib::Response& res) {
  if (!res.has_header("Connection")) res.set_header("Connection", "close");
}

/// Makes a response marked by close_after() really end the connection. cpp-httplib
/// 0.11 keeps a connection alive whatever the response's Connection header says; it
/// closes one when writing the body fails. So the body goes out through a content
/// provider that writes all of it and then reports failure: the client gets the whole
/// response, then the close. Must run after the body is final.
void seal(httplib::Response& res) {
  if (res.get_header_value("Connection") != "close") return;
  auto body = std::make_shared<std::string>(std::move(res.body));
  std::string type = res.get_header_value("Content-Type");
  res.body.clear();
  res.set_content_provider(body->size(), type.empty() ? json_type : type,
                           [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, length);
                             return false; // ends the connection once the body is out
                           });
}

/// What a method does to a key (or endpoint); `none` when the method is not allowed.
enum class action : std::uint8_t { none, get, put, del };

action action_of(const std::string& method, target_kind kind) {
  bool read = method == "GET" || method == "HEAD";
  if (kind != target_kind::key) return read ? action::get : action::none;
  if (read) return action::get;
  if (method == "PUT" || method == "POST") return action::put;
  if (method == "DELETE") return action::del;
  return action::none;
}

op_kind op_of(action a, target_kind kind) {
  if (kind == target_kind::health) return op_kind::health;
  switch (a) {
  case action::put:
    return op_kind::set;
  case action::del:
    return op_kind::del;
  default:
    return op_kind::get;
  }
}

bool has_body(const httplib::Request& req) {
  return req.has_header("Transfer-Encoding") ||
         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

class handlers {
public:
  explicit handlers(node& n) : node_(n), metrics_(n.http_metrics()) {}

  /// Runs before the body is read. Refusals here close the connection when a body is
  /// pending, so its bytes can never be taken for the next request.
  httplib::Server::HandlerResponse pre_route(const httplib::Request& req, httplib::Response& res) {
    request_start_us = now_us();
    parsed_target t = parse_target(req.target);
    if (t.kind == target_kind::invalid) return refuse(req, res, op_kind::get, 400, t.error);
    action a = action_of(req.method, t.kind);
    op_kind op = op_of(a, t.kind);
    if (a == action::none) {
      res.set_header("Allow",
                     t.kind == target_kind::key ? "GET, HEAD, PUT, POST, DELETE" : "GET, HEAD");
      return refuse(req, res, op, 405, "method " + req.method + " not allowed here");
    }
    const node_options& o = node_.options();
    if (t.kind != target_kind::health && !o.auth_key.empty() &&
        needs_auth(o.auth, a == action::put || a == action::del) &&
        !bearer_matches(req.get_header_value("Authorization"), o.auth_key)) {
      metrics_.auth_failures.fetch_add(1, std::memory_order_relaxed);
      res.set_header("WWW-Authenticate", "Bearer");
      close_after(res); // a new handshake per guess
      return refuse(req, res, op, 401, "unauthorized");
    }
    if (t.kind == target_kind::key && !node_.admit()) {
      metrics_.rate_limited.fetch_add(1, std::memory_order_relaxed);
      return refuse(req, res, op, 429, "rate limited");
    }
    if (a == action::put && req.has_header("Content-Length")) {
      auto length = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
      if (length > body_bytes_max()) {
        close_after(res);
        return refuse(req, res, op, 413, "body larger than the value limit");
      }
    }
    if (a == action::put || has_body(req)) return httplib::Server::HandlerResponse::Unhandled;
    // Nothing more to read: answer now, skipping cpp-httplib's regex routing.
    serve(req, res, t, a, op);
    return httplib::Server::HandlerResponse::Handled;
  }

  /// Requests with a body: cpp-httplib has read it (within the payload limit).
  void serve(const httplib::Request& req, httplib::Response& res) {
    parsed_target t = parse_target(req.target); // valid: pre_route checked it
    action a = action_of(req.method, t.kind);
    serve(req, res, t, a, op_of(a, t.kind));
  }

  void serve(const httplib::Request& req, httplib::Response& res, const parsed_target& t, action a,
             op_kind op) {
    op_result r = op_result::ok;
    switch (t.kind) {
    case target_kind::health:
      res.set_content(node_.health_json(), json_type);
      break;
    case target_kind::metrics:
      res.set_content(node_.metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
      break;
    case target_kind::key:
      r = a == action::get   ? get(t.key, res)
          : a == action::put ? put(t.key, req, res)
                             : del(t.key, res);
      break;
    case target_kind::invalid:
      r = op_result::bad_request;
      set_error(res, 400, t.error);
      break;
    }
    if (r != op_result::ok && has_body(req) && req.body.empty()) close_after(res);
    seal(res);
    record(op, r);
  }

  std::size_t body_bytes_max() const {
    return node_.options().value_bytes_max + http_body_overhead_bytes;
  }

private:
  httplib::Server::HandlerResponse refuse(const httplib::Request& req, httplib::Response& res,
                                          op_kind op, int status, const std::string& message) {
    if (has_body(req)) close_after(res);
    set_error(res, status, message);
    seal(res);
    record(op, status == 401   ? op_result::unauthorized
               : status == 429 ? op_result::rate_limited
                               : op_result::bad_request);
    return httplib::Server::HandlerResponse::Handled;
  }

  op_result get(const std::string& key, httplib::Response& res) {
    std::string body = R"({"success":true,"data":)";
    value_encoding enc = value_encoding::json;
    auto render = [&](std::string_view v) { enc = append_value(body, v); };
    switch (node_.get(key, storage::value_sink(render))) {
    case storage::get_status::found:
      if (enc == value_encoding::base64) body += R"(,"encoding":"base64")";
      body += '}';
      res.set_content(std::move(body), json_type);
      return op_result::ok;
    case storage::get_status::not_found:
      set_error(res, 404, "not found");
      return op_result::not_found;
    case storage::get_status::error:
      break;
    }
    set_error(res, 500, "io error");
    return op_result::error;
  }

  op_result put(const std::string& key, const httplib::Request& req, httplib::Response& res) {
    value_member v = extract_value(req.body);
    if (v.error != body_error::none) {
      set_error(res, 400, v.message);
      return op_result::bad_request;
    }
    if (v.text.size() > node_.options().value_bytes_max) {
      set_error(res, 413,
                "value larger than " + std::to_string(node_.options().value_bytes_max) + " bytes");
      return op_result::bad_request;
    }
    return finish_write(node_.write(false, key, v.text), res);
  }

  op_result del(const std::string& key, httplib::Response& res) {
    return finish_write(node_.write(true, key, {}), res);
  }

  op_result finish_write(errc e, httplib::Response& res) {
    if (e != errc::ok) {
      set_error(res, status_of(e), to_string(e));
      return result_of(e);
    }
    res.set_content(R"({"success":true})", json_type);
    return op_result::ok;
  }

  void record(op_kind op, op_result r) {
    metrics_.count(op, r);
    std::int64_t elapsed = now_us() - request_start_us;
    metrics_.observe(op, static_cast<std::uint64_t>(elapsed > 0 ? elapsed : 0));
  }

  node& node_;
  front_metrics& metrics_;
};

} // namespace

server::server(node& n) : node_(n), http_(std::make_unique<httplib::Server>()) {}

server::~server() {
  stop();
}

std::unique_ptr<server> server::start(node& n, std::string& error) {
  std::unique_ptr<server> s(new server(n));
  const node_options& o = n.options();
  auto h = std::make_shared<handlers>(n);
  httplib::Server& svr = *s->http_;
  const std::size_t threads = o.http_threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Without TCP_NODELAY a reply waited for the client's delayed ACK: 150 req/s.
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_max_count(std::numeric_limits<std::size_t>::max());
  svr.set_keep_alive_timeout(http_keep_alive_timeout_s);
  svr.set_read_timeout(http_io_timeout_s, 0);
  svr.set_write_timeout(http_io_timeout_s, 0);
  svr.set_payload_max_length(h->body_bytes_max());
  svr.set_pre_routing_handler(
      [h](const httplib::Request& req, httplib::Response& res) { return h->pre_route(req, res); });
  auto serve = [h](const httplib::Request& req, httplib::Response& res) { h->serve(req, res); };
  const std::string any = "[\\s\\S]*"; // every path: routing is done on the raw target
  svr.Get(any, serve);
  svr.Put(any, serve);
  svr.Post(any, serve);
  svr.Delete(any, serve);
  svr.Patch(any, serve);
  svr.Options(any, serve);
  // Statuses cpp-httplib produces itself (400 unparseable request, 413, 414 URI too long)
  // get the same JSON shape as ours.
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    // Called for every status >= 400, ours included: only fill in cpp-httplib's own
    // (ours have a body, or a sealed one that closes).
    if (!res.body.empty() || res.has_header("Connection")) return;
    set_error(res, res.status, reason_of(res.status));
    close_after(res);
    seal(res);
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                               std::exception_ptr) { set_error(res, 500, "internal error"); });
  // Replaces cpp-httplib's default socket options, which include SO_REUSEPORT: a second
  // node on the same HTTP port must fail to start, not share the port.
  int listen_fd = -1;
  svr.set_socket_options([&listen_fd](int fd) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    listen_fd = fd;
  });
  if (!svr.bind_to_port(o.bind_address, o.http_port)) {
    error = "cannot listen for HTTP on " + o.bind_address + ":" + std::to_string(o.http_port);
    return nullptr;
  }
  // cpp-httplib listens with a backlog of 5: 50 clients connecting at once overflowed it
  // and waited a second for their SYN to be retried. listen() again raises it.
  if (listen_fd >= 0) ::listen(listen_fd, 1024);
  s->listener_ = std::thread([&svr] { svr.listen_after_bind(); });
  return s;
}

void server::stop() {
  if (!listener_.joinable()) return;
  http_->stop();
  listener_.join();
}

} // namespace minivault::http
