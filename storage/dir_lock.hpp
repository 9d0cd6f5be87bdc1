#pragma once
// An exclusive lock on a data directory (flock on `<dir>/LOCK`), held for the engine's
// lifetime. Two engines, in one process or two, never write the same directory: each
// keeps its own in-memory index, and the second would silently diverge from the first.
#include <memory>
#include <string>

#include "protocol/status.hpp"

namespace minivault::storage {

class dir_lock {
public:
  /// Locks `dir`. Fails with `io_error` when another holder has it, or the lock file
  /// cannot be created; the reason says which.
  [[nodiscard]] static result<std::unique_ptr<dir_lock>> acquire(const std::string& dir);
  ~dir_lock();
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;

private:
  explicit dir_lock(int fd) : fd_(fd) {}
  int fd_;
};

} // namespace minivault::storage
