#pragma once
// unique_fd: the one owner of a file descriptor (a socket, an eventfd, a file). It
// closes the descriptor when it goes out of scope, so an early return on an error path
// cannot leak it; release() hands it on to an owner that closes it itself.
//
//   unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
//   if (!fd) return fail("socket");
//   if (::connect(fd.get(), ...) != 0) return fail("connect"); // closed here
//   return fd;                                                  // moved out, stays open
//
// Move-only; -1 means "owns nothing". Not thread-safe (like an int). close(2) errors are
// ignored, as every hand-written close in this code base did.
#include <unistd.h>

#include <utility>

namespace minivault {

class unique_fd {
public:
  unique_fd() noexcept = default;
  /// Takes ownership of `fd` (-1: none).
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  ~unique_fd() { reset(); }

  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  /// The descriptor (or -1); ownership stays here.
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  /// Gives up ownership: returns the descriptor (or -1) without closing it.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the descriptor held (if any) and takes ownership of `fd`.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0 && fd_ != fd) ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

} // namespace minivault
