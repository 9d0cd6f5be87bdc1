#include "tests/support/node_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace minivault::test {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

bool is_executable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string find_walking_up(fs::path dir) {
  for (int depth = 0; depth < 32 && !dir.empty(); ++depth) {
    for (const auto& candidate : {dir / "build" / "minivault", dir / "minivault"}) {
      if (is_executable_file(candidate)) return candidate.string();
    }
    if (dir == dir.root_path()) break;
    dir = dir.parent_path();
  }
  return {};
}

/// Connects to 127.0.0.1:port once; true if the connection was accepted.
bool port_accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string describe_wait_status(int st) {
  std::ostringstream out;
  if (WIFEXITED(st)) {
    out << "exited " << WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    out << "killed by signal " << WTERMSIG(st) << " (" << ::strsignal(WTERMSIG(st)) << ")";
  } else {
    out << "wait status " << st;
  }
  return out.str();
}

} // namespace

std::string find_minivault_binary() {
  if (const char* env = std::getenv("MINIVAULT_BIN"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  auto cwd = fs::current_path(ec);
  if (!ec) {
    if (auto found = find_walking_up(cwd); !found.empty()) return found;
  }
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    if (auto found = find_walking_up(exe.parent_path()); !found.empty()) return found;
  }
  return {};
}

namespace {

/// Can a listener bind 127.0.0.1:`port` now?
bool bindable(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

} // namespace

std::uint16_t pick_free_port() {
  // Below the kernel's ephemeral range (32768.. on Linux), never from it: a port the
  // kernel handed out as free could be taken, before the node binds it, as the local
  // port of any outgoing connection (the "Address already in use" flakes of parallel
  // runs). The cluster port (client port + 1000) stays below the range as well; tests
  // running at once each start at a random place, so they rarely try the same port.
  static thread_local std::uint32_t next = [] {
    std::random_device rd;
    return rd();
  }();
  // A port handed out is not bindable-checked again by anyone until its node starts, so
  // this process never hands out the same port (or one 1000 apart) twice: a fixture that
  // picks an HTTP port and then the node's own got the same one now and then.
  static std::mutex given_mutex;
  static std::set<std::uint16_t> given;
  constexpr std::uint32_t low = 12000, span = 19000; // 12000..30999
  for (int attempt = 0; attempt < 200; ++attempt) {
    next = next * 1664525u + 1013904223u;
    const auto port = static_cast<std::uint16_t>(low + (next >> 8) % span);
    const auto above = static_cast<std::uint16_t>(port + 1000);
    std::lock_guard<std::mutex> lock(given_mutex);
    if (given.count(port) || given.count(above) || given.count(port - 1000)) continue;
    if (bindable(port) && bindable(above)) {
      given.insert(port);
      return port;
    }
  }
  return 0;
}

node_process::node_process(std::vector<std::string> extra_args, std::string data_dir,
                           std::uint16_t port)
    : extra_args_(std::move(extra_args)), binary_(find_minivault_binary()) {
  if (data_dir.empty()) {
    char tmpl[] = "/tmp/minivault-itest-XXXXXX";
    if (char* made = ::mkdtemp(tmpl); made != nullptr) {
      data_dir_ = made;
      owns_data_dir_ = true;
    }
  } else {
    while (data_dir.size() > 1 && data_dir.back() == '/')
      data_dir.pop_back();
    data_dir_ = std::move(data_dir);
  }
  if (!data_dir_.empty()) log_path_ = data_dir_ + ".log";
  port_ = port != 0 ? port : pick_free_port();
}

node_process::~node_process() {
  if (pid_ > 0) stop();
  bool failed = ::testing::Test::HasFailure();
  if (failed && !log_path_.empty()) {
    std::cerr << "---- minivault log " << log_path_ << " (port " << port_ << ", data " << data_dir_
              << "), tail:\n"
              << log_tail() << "\n---- end of log tail\n";
  }
  if (owns_data_dir_) {
    std::error_code ec;
    fs::remove_all(data_dir_, ec);
    if (!failed) fs::remove(log_path_, ec);
  }
}

::testing::AssertionResult node_process::start(milliseconds ready_timeout) {
  if (pid_ > 0) return ::testing::AssertionFailure() << "node already running, pid " << pid_;
  if (binary_.empty()) {
    return ::testing::AssertionFailure()
           << "minivault binary not found: set MINIVAULT_BIN or build build/minivault";
  }
  if (data_dir_.empty()) return ::testing::AssertionFailure() << "mkdtemp failed";
  if (port_ == 0) return ::testing::AssertionFailure() << "no free port found";

  std::vector<std::string> args = {binary_, "-port", std::to_string(port_), "-data", data_dir_};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return ::testing::AssertionFailure()
           << "cannot open log " << log_path_ << ": " << std::strerror(errno);
  }
  {
    std::string banner = "==== starting:";
    for (const auto& a : args)
      banner += " " + a;
    banner += "\n";
    [[maybe_unused]] auto n = ::write(log_fd, banner.data(), banner.size());
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child < 0) {
    int err = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return ::testing::AssertionFailure() << "fork failed: " << std::strerror(err);
  }
  if (child == 0) {
    // Only async-signal-safe calls from here to exec. The node dies with the test
    // process, so a crashed test never leaves a node behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    // No test socket may leak into the node: a leaked client socket would keep a
    // connection open after the test closed it.
    if (::close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 4096; ++fd)
        ::close(fd);
    }
    ::execv(argv[0], argv.data());
    const char msg[] = "node_process: execv failed\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  pid_ = child;

  auto deadline = clock_type::now() + ready_timeout;
  while (true) {
    if (try_reap()) {
      return ::testing::AssertionFailure()
             << "minivault " << last_exit_description() << " before accepting on port " << port_
             << "; log tail:\n"
             << log_tail();
    }
    if (port_accepts(port_)) return ::testing::AssertionSuccess();
    if (clock_type::now() >= deadline) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  kill_hard();
  return ::testing::AssertionFailure() << "minivault did not accept on port " << port_ << " within "
                                       << ready_timeout.count() << " ms; log tail:\n"
                                       << log_tail();
}

bool node_process::stop(milliseconds grace) {
  if (pid_ <= 0) return true;
  if (try_reap()) return true;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT); // a frozen (SIGSTOPped) child takes SIGTERM only once resumed
  auto deadline = clock_type::now() + grace;
  while (clock_type::now() < deadline) {
    if (try_reap()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  reap_blocking();
  return false;
}

void node_process::kill_hard() {
  if (pid_ <= 0) return;
  if (try_reap()) return;
  ::kill(pid_, SIGKILL);
  reap_blocking();
}

::testing::AssertionResult node_process::restart(milliseconds ready_timeout) {
  stop();
  return start(ready_timeout);
}

bool node_process::send_signal(int sig) {
  if (pid_ <= 0 || try_reap()) return false;
  return ::kill(pid_, sig) == 0;
}

namespace {

/// Whether every thread of `pid` is stopped (state T in /proc/<pid>/task/*/stat).
bool all_threads_stopped(int pid) {
  std::error_code ec;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  bool any = false;
  for (const auto& t : std::filesystem::directory_iterator(dir, ec)) {
    std::ifstream in(t.path() / "stat");
    std::string line;
    std::getline(in, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size()) return false;
    if (line[close + 2] != 'T' && line[close + 2] != 't') return false;
    any = true;
  }
  return any && !ec;
}

} // namespace

bool node_process::freeze() {
  // SIGSTOP takes effect asynchronously, thread by thread: a request sent right after
  // kill() could still be answered. Returns once every thread has stopped (bounded).
  if (!send_signal(SIGSTOP)) return false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!all_threads_stopped(pid_)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

bool node_process::thaw() {
  return send_signal(SIGCONT);
}

bool node_process::running() {
  if (pid_ <= 0) return false;
  return !try_reap();
}

std::string node_process::last_exit_description() const {
  if (!last_status_) return "not reaped";
  return describe_wait_status(*last_status_);
}

void node_process::reap_blocking() {
  if (pid_ <= 0) return;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, 0);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) last_status_ = st;
  pid_ = -1;
}

bool node_process::try_reap() {
  if (pid_ <= 0) return true;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == 0) return false;
  if (r == pid_) last_status_ = st;
  pid_ = -1; // reaped (or not our child any more): never signal this PID again
  return true;
}

std::string node_process::log_tail(std::size_t bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  if (!in) return "(no log at " + log_path_ + ")";
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  std::size_t from = size > bytes ? size - bytes : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string out(size - from, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

std::optional<std::size_t> node_process::status_kib(const char* field) const {
  if (pid_ <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) == 0) {
      return static_cast<std::size_t>(std::strtoull(line.c_str() + prefix.size(), nullptr, 10));
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> node_process::open_fds() const {
  if (pid_ <= 0) return std::nullopt;
  std::error_code ec;
  fs::directory_iterator it("/proc/" + std::to_string(pid_) + "/fd", ec);
  if (ec) return std::nullopt;
  std::size_t n = 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++n;
  }
  return n;
}

} // namespace minivault::test
