#include "storage/dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace minivault::storage {

result<std::unique_ptr<dir_lock>> dir_lock::acquire(const std::string& dir) {
  std::string path = dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return status(errc::io_error, "cannot create " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    status busy(errc::io_error,
                errno == EWOULDBLOCK
                    ? "data directory " + dir + " is in use by another minivault process"
                    : "cannot lock " + path + ": " + std::strerror(errno));
    ::close(fd);
    return busy;
  }
  return std::unique_ptr<dir_lock>(new dir_lock(fd));
}

dir_lock::~dir_lock() {
  ::close(fd_);
} // closing releases the flock

} // namespace minivault::storage
