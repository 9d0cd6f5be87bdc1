#include "actors/telemetry/metrics.hpp"

namespace minivault {

const char* to_string(op_kind k) noexcept {
  switch (k) {
  case op_kind::get:
    return "get";
  case op_kind::set:
    return "set";
  case op_kind::del:
    return "delete";
  case op_kind::health:
    return "health";
  case op_kind::auth:
    return "auth";
  case op_kind::metrics:
    return "metrics";
  case op_kind::count_:
    break;
  }
  return "unknown";
}

const char* to_string(op_result r) noexcept {
  switch (r) {
  case op_result::ok:
    return "ok";
  case op_result::not_found:
    return "not_found";
  case op_result::bad_request:
    return "bad_request";
  case op_result::unauthorized:
    return "unauthorized";
  case op_result::rate_limited:
    return "rate_limited";
  case op_result::error:
    return "error";
  case op_result::count_:
    break;
  }
  return "unknown";
}

const char* to_string(front_kind f) noexcept {
  return f == front_kind::binary ? "binary" : "http";
}

void front_tally::publish(front_metrics& m, std::uint64_t micros) noexcept {
  if (empty) return;
  for (std::size_t k = 0; k < op_kinds; ++k) {
    std::uint64_t answered = 0;
    for (std::size_t r = 0; r < op_results; ++r) {
      if (requests[k][r] == 0) continue;
      m.requests[k][r].fetch_add(requests[k][r], std::memory_order_relaxed);
      answered += requests[k][r];
      requests[k][r] = 0;
    }
    auto kind = static_cast<op_kind>(k);
    if (answered > 0 && kind != op_kind::set && kind != op_kind::del)
      m.observe(kind, micros, answered);
  }
  if (auth_failures) m.auth_failures.fetch_add(auth_failures, std::memory_order_relaxed);
  if (rate_limited) m.rate_limited.fetch_add(rate_limited, std::memory_order_relaxed);
  auth_failures = rate_limited = 0;
  empty = true;
}

} // namespace minivault
