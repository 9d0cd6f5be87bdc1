#pragma once
// The result type of minivault's non-actor code (storage, options, peer probes, cluster
// assembly): an `errc` with a human-readable reason, or a value. Actors reply with
// `caf::error` made from the same `errc` (protocol/actors.hpp), so one vocabulary runs from
// the disk to the wire (protocol/README.md, "Errors").
//
//   [[nodiscard]] result<std::unique_ptr<engine>> open(...);
//   auto db = engine::open(opts);
//   if (!db) return db.error();          // a status: code + reason
//   use(*db.value());
#include <optional>
#include <string>
#include <utility>

#include "protocol/assert.hpp"
#include "protocol/errc.hpp"

namespace minivault {

/// Success, or an error code with the reason a person would need to act on it.
class [[nodiscard]] status {
public:
  status() = default; // success
  status(errc code, std::string reason) : code_(code), reason_(std::move(reason)) {}

  [[nodiscard]] bool ok() const noexcept { return code_ == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] errc code() const noexcept { return code_; }
  /// Empty on success; otherwise never empty (falls back to the code's text).
  [[nodiscard]] std::string reason() const {
    if (ok() || !reason_.empty()) return reason_;
    return std::string(to_string(code_));
  }

private:
  errc code_ = errc::ok;
  std::string reason_;
};

/// A value of type T, or the status saying why there is none. Never an `ok` status
/// without a value.
template <class T> class [[nodiscard]] result {
public:
  result(T value) : value_(std::move(value)) {}
  result(status error) : error_(std::move(error)) { KV_ASSERT(!error_.ok()); }
  result(errc code, std::string reason) : result(status(code, std::move(reason))) {}

  [[nodiscard]] bool has_value() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  /// Only when has_value().
  T& value() & {
    KV_ASSERT(value_.has_value());
    return *value_;
  }
  const T& value() const& {
    KV_ASSERT(value_.has_value());
    return *value_;
  }
  T&& value() && {
    KV_ASSERT(value_.has_value());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  /// Only when !has_value().
  [[nodiscard]] const status& error() const noexcept { return error_; }

private:
  std::optional<T> value_;
  status error_;
};

} // namespace minivault
