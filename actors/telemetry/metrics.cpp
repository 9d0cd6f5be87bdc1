#include "actors/telemetry/metrics.hpp"

#include <iterator>

#include "protocol/enum_names.hpp"

namespace minivault {

namespace {

constexpr const char* op_kind_names[] = {"get", "set", "delete", "health", "auth", "metrics"};
static_assert(std::size(op_kind_names) == op_kinds);
constexpr const char* op_result_names[] = {"ok",           "not_found",    "bad_request",
                                           "unauthorized", "rate_limited", "error"};
static_assert(std::size(op_result_names) == op_results);

} // namespace

const char* to_string(op_kind k) noexcept {
  return enum_name(k, op_kind_names, "unknown");
}

const char* to_string(op_result r) noexcept {
  return enum_name(r, op_result_names, "unknown");
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
