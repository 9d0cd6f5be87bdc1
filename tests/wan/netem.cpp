// minivault-netem: a WAN and partition emulator for tests (see tests/wan/README.md).
//
// It creates N network namespaces named PREFIX-0 .. PREFIX-(N-1), each holding only `lo`
// and a TUN device `mv0` with the address SUBNET.0.(i+1)/16, and forwards IPv4 packets
// between the TUN devices with a per-pair one-way delay (plus jitter), loss, and
// partitions (one way or both ways), all changed at run time by commands on stdin.
//
// Safety contract: nothing is added to the namespace the emulator starts in (no address,
// route or interface); a TUN device is created only after entering its own namespace.
// At exit (stdin closed, `quit`, SIGTERM/SIGINT/SIGHUP, or the parent dying) every
// process still inside one of its namespaces is SIGKILLed by PID and every namespace it
// created is deleted by name; the TUN devices vanish with their namespaces.
//
// Commands (one per line; each answers one line, `ok ...` or `error ...`):
//   delay A B MS [JITTER_MS]   one-way delay A->B (A, B: namespace index or `*`)
//   loss A B PERCENT           drop this share of packets A->B
//   cut A B                    drop everything A->B (a one-way partition)
//   heal A B                   undo `cut` A->B;  `heal` alone heals every pair
//   stats                      ok packets=.. bytes=.. dropped_loss=.. dropped_cut=..
//   dropped_queue=.. quit
//   stats A B                  ok packets=.. bytes=..: IPv4 packets and bytes forwarded A->B
// Packets of one pair leave in the order they came (jitter never reorders them): a
// packet leaves at max(arrival + delay + jitter, the previous packet's departure).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr std::size_t namespaces_max = 64;
constexpr std::size_t packet_bytes_max = 65536;
constexpr std::size_t link_queue_bytes_max = 32u << 20; // a router's buffer, per pair
constexpr int exit_skip = 77;                           // ctest's "skipped"

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/// Runs `ip ARGS...` and waits for it; true when it exited 0.
bool run_ip(const std::vector<std::string>& args, bool quiet = false) {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (quiet) {
      int null = open("/dev/null", O_WRONLY);
      if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
      }
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>("ip"));
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp("ip", argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// The PIDs of the processes inside namespace `name` (`ip netns pids`).
std::vector<pid_t> pids_in(const std::string& name) {
  std::vector<pid_t> out;
  std::string cmd = "ip netns pids " + name + " 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  long pid = 0;
  while (std::fscanf(f, "%ld", &pid) == 1)
    if (pid > 1 && pid != getpid() && pid != getppid()) // never the test that started us
      out.push_back(static_cast<pid_t>(pid));
  pclose(f);
  return out;
}

struct packet {
  std::int64_t due_ns;
  std::string bytes;
};

/// One direction between two namespaces.
struct link {
  std::int64_t delay_ns = 0;
  std::int64_t jitter_ns = 0;
  double loss = 0;  // 0..1
  bool cut = false; // one-way partition
  std::deque<packet> queue;
  std::size_t queued_bytes = 0;
  std::int64_t last_due_ns = 0;
  std::uint64_t packets = 0, bytes = 0; // forwarded (accepted for delivery)
};

struct counters {
  std::uint64_t packets = 0, bytes = 0, dropped_loss = 0, dropped_cut = 0, dropped_queue = 0,
                dropped_unroutable = 0;
};

class emulator {
public:
  emulator(std::string prefix, std::size_t n, int subnet_a, int subnet_b)
      : prefix_(std::move(prefix)), n_(n), subnet_a_(subnet_a), subnet_b_(subnet_b), links_(n * n),
        rng_(std::random_device{}()) {}

  ~emulator() { teardown(); }

  std::string ns_name(std::size_t i) const { return prefix_ + "-" + std::to_string(i); }
  std::string address(std::size_t i) const {
    return std::to_string(subnet_a_) + "." + std::to_string(subnet_b_) + ".0." +
           std::to_string(i + 1);
  }

  /// Creates the namespaces and their TUN devices. Returns an error text, empty on success.
  std::string setup() {
    const int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) return std::string("open own netns: ") + std::strerror(errno);
    std::string err;
    for (std::size_t i = 0; i < n_ && err.empty(); ++i)
      err = add_namespace(i, home);
    // Back home whatever happened: nothing else of this process may live in a test netns.
    if (setns(home, CLONE_NEWNET) != 0 && err.empty())
      err = std::string("setns home: ") + std::strerror(errno);
    close(home);
    return err;
  }

  void teardown() {
    for (int fd : tun_fds_)
      if (fd >= 0) close(fd);
    tun_fds_.clear();
    for (const auto& name : created_) {
      for (int round = 0; round < 20; ++round) {
        auto pids = pids_in(name);
        if (pids.empty()) break;
        for (pid_t p : pids)
          kill(p, SIGKILL);
        usleep(50 * 1000);
      }
      run_ip({"netns", "delete", name}, true);
    }
    created_.clear();
  }

  int run();

private:
  std::string add_namespace(std::size_t i, int home) {
    const std::string name = ns_name(i);
    struct stat st {};
    if (stat(("/var/run/netns/" + name).c_str(), &st) == 0)
      return "namespace " + name + " already exists (not ours: left alone)";
    if (!run_ip({"netns", "add", name})) return "ip netns add " + name + " failed";
    created_.push_back(name);
    int fd = open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "open netns " + name + ": " + std::strerror(errno);
    int rc = setns(fd, CLONE_NEWNET);
    close(fd);
    if (rc != 0) return "setns " + name + ": " + std::strerror(errno);
    int tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (tun < 0) {
      setns(home, CLONE_NEWNET);
      return std::string("open /dev/net/tun: ") + std::strerror(errno);
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, "mv0", IFNAMSIZ - 1);
    rc = ioctl(tun, TUNSETIFF, &ifr);
    setns(home, CLONE_NEWNET); // the device stays in the namespace it was created in
    if (rc != 0) {
      close(tun);
      return std::string("TUNSETIFF: ") + std::strerror(errno);
    }
    tun_fds_.push_back(tun);
    const std::string cidr = address(i) + "/16";
    if (!run_ip({"-n", name, "link", "set", "lo", "up"}) ||
        !run_ip({"-n", name, "addr", "add", cidr, "dev", "mv0"}) ||
        !run_ip({"-n", name, "link", "set", "mv0", "up"}))
      return "configuring " + name + " failed";
    return {};
  }

  link& at(std::size_t from, std::size_t to) { return links_[from * n_ + to]; }

  /// `A`/`B` of a command: an index or `*`.
  bool pairs(const std::string& a, const std::string& b,
             std::vector<std::pair<std::size_t, std::size_t>>& out) const {
    auto range = [this](const std::string& s, std::size_t& lo, std::size_t& hi) {
      if (s == "*") {
        lo = 0;
        hi = n_;
        return true;
      }
      char* end = nullptr;
      unsigned long v = std::strtoul(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0' || v >= n_) return false;
      lo = v;
      hi = v + 1;
      return true;
    };
    std::size_t alo, ahi, blo, bhi;
    if (!range(a, alo, ahi) || !range(b, blo, bhi)) return false;
    for (std::size_t i = alo; i < ahi; ++i)
      for (std::size_t j = blo; j < bhi; ++j)
        if (i != j) out.emplace_back(i, j);
    return true;
  }

  std::string command(const std::string& line, bool& quit);
  void on_packet(std::size_t from, const char* data, std::size_t len);
  void deliver(std::size_t to, const std::string& bytes);
  std::int64_t flush_due(); // returns the next due time, 0 when nothing is queued
  void arm(int timer, std::int64_t due_ns);

  std::string prefix_;
  std::size_t n_;
  int subnet_a_, subnet_b_;
  std::vector<link> links_;
  std::vector<int> tun_fds_;
  std::vector<std::string> created_;
  counters c_;
  std::mt19937_64 rng_;
};

std::string emulator::command(const std::string& line, bool& quit) {
  std::istringstream in(line);
  std::string op, a, b;
  in >> op;
  if (op.empty()) return "error empty command";
  if (op == "quit") {
    quit = true;
    return "ok";
  }
  if (op == "stats" && (in >> a)) {
    in >> b;
    std::vector<std::pair<std::size_t, std::size_t>> targets;
    if (!pairs(a, b, targets)) return "error bad pair '" + a + " " + b + "'";
    std::uint64_t packets = 0, bytes = 0;
    for (auto [i, j] : targets) {
      packets += at(i, j).packets;
      bytes += at(i, j).bytes;
    }
    return "ok packets=" + std::to_string(packets) + " bytes=" + std::to_string(bytes);
  }
  if (op == "stats") {
    std::ostringstream out;
    out << "ok packets=" << c_.packets << " bytes=" << c_.bytes
        << " dropped_loss=" << c_.dropped_loss << " dropped_cut=" << c_.dropped_cut
        << " dropped_queue=" << c_.dropped_queue << " dropped_unroutable=" << c_.dropped_unroutable;
    return out.str();
  }
  if (op == "heal" && !(in >> a)) {
    for (auto& l : links_)
      l.cut = false;
    return "ok";
  }
  if (a.empty()) in >> a;
  in >> b;
  std::vector<std::pair<std::size_t, std::size_t>> targets;
  if (!pairs(a, b, targets)) return "error bad pair '" + a + " " + b + "'";
  double x = 0, y = 0;
  if (op == "delay") {
    if (!(in >> x) || x < 0 || x > 60000) return "error delay wants MS in 0..60000";
    if (!(in >> y)) y = 0;
    if (y < 0 || y > 60000) return "error jitter wants MS in 0..60000";
    for (auto [i, j] : targets) {
      at(i, j).delay_ns = static_cast<std::int64_t>(x * 1e6);
      at(i, j).jitter_ns = static_cast<std::int64_t>(y * 1e6);
    }
  } else if (op == "loss") {
    if (!(in >> x) || x < 0 || x > 100) return "error loss wants PERCENT in 0..100";
    for (auto [i, j] : targets)
      at(i, j).loss = x / 100.0;
  } else if (op == "cut" || op == "heal") {
    for (auto [i, j] : targets)
      at(i, j).cut = (op == "cut");
  } else {
    return "error unknown command '" + op + "'";
  }
  return "ok";
}

void emulator::deliver(std::size_t to, const std::string& bytes) {
  ssize_t w = write(tun_fds_[to], bytes.data(), bytes.size());
  if (w < 0) ++c_.dropped_queue; // the receiving stack's queue is full: a lost packet
}

void emulator::on_packet(std::size_t from, const char* data, std::size_t len) {
  if (len < 20 || (static_cast<unsigned char>(data[0]) >> 4) != 4) {
    ++c_.dropped_unroutable; // not IPv4 (e.g. IPv6 router solicitations)
    return;
  }
  const auto* dst = reinterpret_cast<const unsigned char*>(data + 16);
  const std::size_t to = static_cast<std::size_t>(dst[3]) - 1;
  if (dst[0] != subnet_a_ || dst[1] != subnet_b_ || dst[2] != 0 || dst[3] == 0 || to >= n_ ||
      to == from) {
    ++c_.dropped_unroutable;
    return;
  }
  link& l = at(from, to);
  if (l.cut) {
    ++c_.dropped_cut;
    return;
  }
  if (l.loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < l.loss) {
    ++c_.dropped_loss;
    return;
  }
  ++c_.packets;
  c_.bytes += len;
  ++l.packets;
  l.bytes += len;
  std::int64_t delay = l.delay_ns;
  if (l.jitter_ns > 0) delay += std::uniform_int_distribution<std::int64_t>(0, l.jitter_ns)(rng_);
  if (delay == 0 && l.queue.empty()) {
    deliver(to, std::string(data, len));
    return;
  }
  if (l.queued_bytes + len > link_queue_bytes_max) {
    ++c_.dropped_queue;
    return;
  }
  const std::int64_t due = std::max(now_ns() + delay, l.last_due_ns);
  l.last_due_ns = due;
  l.queued_bytes += len;
  l.queue.push_back(packet{due, std::string(data, len)});
}

std::int64_t emulator::flush_due() {
  const std::int64_t now = now_ns();
  std::int64_t next = 0;
  for (std::size_t k = 0; k < links_.size(); ++k) {
    link& l = links_[k];
    while (!l.queue.empty() && l.queue.front().due_ns <= now) {
      deliver(k % n_, l.queue.front().bytes);
      l.queued_bytes -= l.queue.front().bytes.size();
      l.queue.pop_front();
    }
    if (!l.queue.empty() && (next == 0 || l.queue.front().due_ns < next))
      next = l.queue.front().due_ns;
  }
  return next;
}

void emulator::arm(int timer, std::int64_t due_ns) {
  itimerspec its{};
  if (due_ns > 0) {
    its.it_value.tv_sec = due_ns / 1000000000;
    its.it_value.tv_nsec = due_ns % 1000000000;
  }
  timerfd_settime(timer, TFD_TIMER_ABSTIME, &its, nullptr);
}

/// The signals the emulator reads through its signalfd (blocked from delivery).
sigset_t handled_signals() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE})
    sigaddset(&mask, sig);
  return mask;
}

int emulator::run() {
  const sigset_t mask = handled_signals();
  const int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  auto watch = [ep](int fd, std::uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  };
  constexpr std::uint64_t tag_stdin = 1000, tag_signal = 1001, tag_timer = 1002;
  for (std::size_t i = 0; i < tun_fds_.size(); ++i)
    watch(tun_fds_[i], i);
  watch(0, tag_stdin);
  watch(sfd, tag_signal);
  watch(timer, tag_timer);

  std::string pending; // stdin bytes not yet a whole line
  std::vector<char> buf(packet_bytes_max);
  bool quit = false;
  while (!quit) {
    epoll_event events[64];
    int n = epoll_wait(ep, events, 64, -1);
    if (n < 0 && errno != EINTR) break;
    for (int e = 0; e < n && !quit; ++e) {
      const std::uint64_t tag = events[e].data.u64;
      if (tag < tun_fds_.size()) {
        for (int burst = 0; burst < 256; ++burst) { // drain, fairly bounded per wake-up
          ssize_t r = read(tun_fds_[tag], buf.data(), buf.size());
          if (r <= 0) break;
          on_packet(tag, buf.data(), static_cast<std::size_t>(r));
        }
      } else if (tag == tag_stdin) {
        char chunk[4096];
        ssize_t r = read(0, chunk, sizeof chunk);
        if (r <= 0) {
          quit = true; // the test is gone: clean up
          break;
        }
        pending.append(chunk, static_cast<std::size_t>(r));
        std::size_t nl;
        while (!quit && (nl = pending.find('\n')) != std::string::npos) {
          std::string reply = command(pending.substr(0, nl), quit);
          pending.erase(0, nl + 1);
          std::printf("%s\n", reply.c_str());
          std::fflush(stdout);
        }
      } else if (tag == tag_signal) {
        signalfd_siginfo si{};
        if (read(sfd, &si, sizeof si) > 0 && si.ssi_signo != SIGPIPE) quit = true;
      } else if (tag == tag_timer) {
        std::uint64_t expirations = 0;
        if (read(timer, &expirations, sizeof expirations) < 0) {
        }
      }
    }
    arm(timer, flush_due());
  }
  close(ep);
  close(timer);
  close(sfd);
  return 0;
}

int usage() {
  std::fprintf(stderr, "usage: minivault-netem --prefix NAME --count N [--subnet A.B]\n"
                       "  commands on stdin: see tests/wan/README.md\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::string prefix;
  std::size_t count = 0;
  int sa = 10, sb = 213;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--prefix")
      prefix = v;
    else if (k == "--count")
      count = std::strtoul(v.c_str(), nullptr, 10);
    else if (k == "--subnet" && std::sscanf(v.c_str(), "%d.%d", &sa, &sb) == 2)
      ;
    else
      return usage();
  }
  if (prefix.empty() || prefix.size() > 40 || count < 2 || count > namespaces_max ||
      prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    return usage();
  if (geteuid() != 0) {
    std::fprintf(stderr, "minivault-netem: needs root (network namespaces, TUN): skipped\n");
    return exit_skip;
  }
  // Signals are read through a signalfd; the parent's death becomes a SIGTERM, so the
  // namespaces go away even when the test is SIGKILLed.
  const sigset_t mask = handled_signals();
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() == 1) return 1; // the parent is already gone

  emulator emu(prefix, count, sa, sb);
  std::string err = emu.setup();
  if (!err.empty()) {
    std::fprintf(stderr, "minivault-netem: %s\n", err.c_str());
    std::printf("error %s\n", err.c_str());
    std::fflush(stdout);
    emu.teardown();
    return (err.find("/dev/net/tun") != std::string::npos) ? exit_skip : 1;
  }
  std::printf("ready");
  for (std::size_t i = 0; i < count; ++i)
    std::printf(" %s=%s", emu.ns_name(i).c_str(), emu.address(i).c_str());
  std::printf("\n");
  std::fflush(stdout);
  int rc = emu.run();
  emu.teardown();
  return rc;
}
