#pragma once
// node_process: one real `minivault` binary running as a child process of the test, on a
// free 127.0.0.1 port and a private data directory, for integration tests.
//
// Contract:
// - Only the child's own PID is ever signalled; after it has been reaped the PID is
//   forgotten, so a recycled PID can never be hit.
// - The data directory is created with mkdtemp under /tmp unless the caller gives one;
//   a directory the object created is removed by the destructor (the caller's is not).
// - The child's stdout/stderr go to `<data dir>.log`, next to the data directory (in its
//   parent). When the current test has failed, the destructor prints the log's tail and
//   keeps the log file; otherwise the log is removed with the directory it belongs to.
// - Not thread-safe: one thread owns the object (other threads may only read `port()`).
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minivault::test {

/// The `minivault` binary: $MINIVAULT_BIN if set, else the first `build/minivault` or
/// `minivault` found walking up from the working directory, then from the directory of
/// the running test executable. Empty when nothing is found.
[[nodiscard]] std::string find_minivault_binary();

/// A port below the kernel's ephemeral range that was free on 127.0.0.1 a moment ago, and
/// so was the port 1000 above it (the default cluster port); 0 if none was found.
[[nodiscard]] std::uint16_t pick_free_port();

class node_process {
public:
  /// `extra_args` are appended after `-port P -data DIR`. An empty `data_dir` means a
  /// fresh mkdtemp directory owned (and removed) by this object. `port` 0 means a free
  /// port picked here; a cluster test passes ports it picked up front (every node must
  /// know its peers' ports before any starts).
  explicit node_process(std::vector<std::string> extra_args = {}, std::string data_dir = {},
                        std::uint16_t port = 0);
  ~node_process();

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  /// Starts the child and waits (at most `ready_timeout`) until its port accepts a TCP
  /// connection. Fails if the binary is missing, the child exits first, or the timeout
  /// passes; the failure message carries the log tail. Use as ASSERT_TRUE(node.start()).
  [[nodiscard]] ::testing::AssertionResult
  start(std::chrono::milliseconds ready_timeout = std::chrono::seconds(15));

  /// SIGTERM, wait up to `grace` for the child to exit, then SIGKILL and reap. Returns
  /// true when the child exited within `grace` by itself (a clean stop); true as well
  /// when no child was running.
  bool stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  /// SIGKILL and reap: a crash as far as the node can tell.
  void kill_hard();

  /// stop() if running, then start() again on the same port and data directory.
  [[nodiscard]] ::testing::AssertionResult
  restart(std::chrono::milliseconds ready_timeout = std::chrono::seconds(15));

  /// Sends `sig` to the child's own PID, only while it runs (never to a reaped PID).
  /// False when no child is running.
  bool send_signal(int sig);
  /// SIGSTOP / SIGCONT: the node freezes with its sockets open (a hung peer, not a dead
  /// one). stop() and kill_hard() work on a frozen node too.
  bool freeze(); // returns once every thread of the node has stopped
  bool thaw();

  /// True while the child has not exited (reaps it if it has).
  [[nodiscard]] bool running();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const std::string& data_dir() const noexcept { return data_dir_; }
  [[nodiscard]] const std::string& log_path() const noexcept { return log_path_; }
  /// Raw wait status of the last reaped child (see waitpid(2)), if any was reaped.
  [[nodiscard]] std::optional<int> last_wait_status() const noexcept { return last_status_; }
  /// Human-readable form of last_wait_status(): "exited 0", "killed by signal 9", ...
  [[nodiscard]] std::string last_exit_description() const;

  /// The last `bytes` of the child's log.
  [[nodiscard]] std::string log_tail(std::size_t bytes = 4096) const;

  /// A "VmRSS"/"VmHWM"-style field of /proc/PID/status in KiB; nullopt if unreadable.
  [[nodiscard]] std::optional<std::size_t> status_kib(const char* field) const;
  [[nodiscard]] std::optional<std::size_t> rss_kib() const { return status_kib("VmRSS"); }
  /// Number of open file descriptors of the child (entries of /proc/PID/fd).
  [[nodiscard]] std::optional<std::size_t> open_fds() const;

private:
  void reap_blocking();
  [[nodiscard]] bool try_reap();

  std::vector<std::string> extra_args_;
  std::string binary_;
  std::string data_dir_;
  std::string log_path_;
  bool owns_data_dir_ = false;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> last_status_;
};

} // namespace minivault::test
