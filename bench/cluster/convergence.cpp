// minivault-convergence: how long a write made through one node takes to become visible
// on another. For each sample it SETs a fresh key through the write node (one connection)
// and, without waiting for the SET's reply, polls GET on the read node (another
// connection) in a tight loop, no sleeps, until the value comes back. It records:
//   from send: first successful GET minus the moment the SET was sent;
//   from ack:  first successful GET minus the moment the SET's reply arrived (0 when the
//              value was already visible before the reply came);
//   ack:       the SET's own latency.
// While polling, the write connection is checked (without blocking) for the SET's reply
// between two GETs, so both instants are taken on one clock to within one GET round trip.
// Each sample is bounded by --timeout-ms; a sample that does not converge by then counts
// as a timeout (and is not in the percentiles). A SET answered with an error counts as a
// write error. Exit codes: 0 ok, 1 timeouts or errors were seen, 2 the run could not be
// made (usage, connection).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#include "client/socket.hpp"
#include "protocol/wire.hpp"

namespace {

using minivault::client::clock_type;
using minivault::client::io_status;
using minivault::client::socket_stream;
namespace wire = minivault::wire;

const char* usage_text =
    "usage: minivault-convergence --write-port A --read-port C [flags]\n"
    "  --host HOST        address of both nodes (default 127.0.0.1; sets both below)\n"
    "  --write-host HOST  address of the write node (default --host)\n"
    "  --read-host HOST   address of the read node (default --host)\n"
    "  --write-port PORT  binary port of the node the SETs go to\n"
    "  --read-port PORT   binary port of the node that is polled with GET\n"
    "  --samples N        writes to measure (default 1000)\n"
    "  --duration S       stop after S seconds even if fewer samples (default 0: no limit)\n"
    "  --timeout-ms T     give up on a sample after T ms (default 1000)\n"
    "  --gap-us U         pause between samples, not while polling (default 200)\n"
    "  --value-size N     value bytes (default 100)\n"
    "  --raw              include every sample (microseconds) in the JSON\n"
    "  --json             one JSON object instead of text\n";

struct settings {
  std::string write_host = "127.0.0.1";
  std::string read_host = "127.0.0.1";
  unsigned write_port = 0;
  unsigned read_port = 0;
  std::size_t samples = 1000;
  double duration_s = 0;
  long timeout_ms = 1000;
  long gap_us = 200;
  std::size_t value_bytes = 100;
  bool raw = false;
  bool json = false;
};

bool parse_num(const char* s, double lo, double hi, double& out) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) return false;
  out = v;
  return true;
}

/// Parses argv; returns an error message, empty on success.
std::string parse_args(int argc, char** argv, settings& s) {
  double d = 0;
  auto num = [&d](double lo, double hi) {
    return [&d, lo, hi](const char* v) { return parse_num(v, lo, hi, d); };
  };
  using check = std::function<bool(const char*)>;
  auto text = [](const char*) { return true; };
  // flag -> (how its value is checked, where it goes once checked)
  const std::map<std::string, std::pair<check, std::function<void(const char*)>>> flags = {
      {"--host", {text, [&](const char* v) { s.write_host = s.read_host = v; }}},
      {"--write-host", {text, [&](const char* v) { s.write_host = v; }}},
      {"--read-host", {text, [&](const char* v) { s.read_host = v; }}},
      {"--write-port", {num(1, 65535), [&](const char*) { s.write_port = unsigned(d); }}},
      {"--read-port", {num(1, 65535), [&](const char*) { s.read_port = unsigned(d); }}},
      {"--samples", {num(1, 1e8), [&](const char*) { s.samples = std::size_t(d); }}},
      {"--duration", {num(0, 86400), [&](const char*) { s.duration_s = d; }}},
      {"--timeout-ms", {num(1, 3.6e6), [&](const char*) { s.timeout_ms = long(d); }}},
      {"--gap-us", {num(0, 1e7), [&](const char*) { s.gap_us = long(d); }}},
      {"--value-size", {num(1, 1 << 20), [&](const char*) { s.value_bytes = std::size_t(d); }}},
  };
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--raw" || f == "--json") {
      (f == "--raw" ? s.raw : s.json) = true;
      continue;
    }
    auto it = flags.find(f);
    if (it == flags.end()) return "unknown flag " + f;
    if (i + 1 >= argc) return f + " needs a value";
    const char* v = argv[++i];
    if (!it->second.first(v)) return "bad value for " + f + ": " + v;
    it->second.second(v);
  }
  if (s.write_port == 0 || s.read_port == 0) return "--write-port and --read-port are required";
  return {};
}

/// One connection with its receive buffer.
struct conn {
  socket_stream sock;
  std::string in;
  std::string out;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "minivault-convergence: %s\n", what.c_str());
  std::exit(2);
}

void open_conn(conn& c, const std::string& host, unsigned port) {
  int fd = -1;
  auto r = minivault::client::connect_tcp(host, static_cast<std::uint16_t>(port),
                                          clock_type::now() + std::chrono::seconds(5), fd);
  if (r.status != io_status::ok) die("connect: " + r.detail);
  c.sock = socket_stream(fd);
}

/// Takes one complete reply off `c.in` if there is one. Returns false when incomplete;
/// dies on an unparseable reply.
bool take_reply(conn& c, std::uint8_t& status, std::string& payload) {
  auto r = wire::parse_reply(c.in.data(), c.in.size(), 64u << 20);
  if (r.state == wire::parse_state::need_more) return false;
  if (r.state == wire::parse_state::invalid) die("unparseable reply");
  status = r.rep.status;
  payload.assign(r.rep.payload.data(), r.rep.payload.size());
  c.in.erase(0, r.consumed);
  return true;
}

/// Waits (until `deadline`; `deadline` in the past = just look) for one reply on `c`.
/// Returns false on timeout; dies on a broken connection.
bool read_reply(conn& c, clock_type::time_point deadline, std::uint8_t& status,
                std::string& payload) {
  while (!take_reply(c, status, payload)) {
    auto r = c.sock.recv_some(c.in, deadline);
    if (r.status == io_status::timeout) return false;
    if (r.status != io_status::ok) die(r.detail);
  }
  return true;
}

void send_frame(conn& c, wire::opcode op, const std::string& key, const std::string& value) {
  c.out.clear();
  wire::append_request(c.out, op, key, value);
  auto r = c.sock.send_all(c.out, clock_type::now() + std::chrono::seconds(5));
  if (r.status != io_status::ok) die("send: " + r.detail);
}

struct summary {
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

/// Exact percentiles (nearest rank) of `v` in microseconds.
summary summarize(std::vector<double> v) {
  summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    std::size_t rank = static_cast<std::size_t>(q * static_cast<double>(v.size()) + 0.999999);
    rank = std::clamp<std::size_t>(rank, 1, v.size());
    return v[rank - 1];
  };
  s.p50 = at(0.50);
  s.p90 = at(0.90);
  s.p99 = at(0.99);
  s.max = v.back();
  double sum = 0;
  for (double x : v)
    sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

void print_json_summary(const char* name, const summary& s) {
  std::printf("\"%s\":{\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
              "\"mean_us\":%.1f}",
              name, s.p50, s.p90, s.p99, s.max, s.mean);
}

void print_json_raw(const char* name, const std::vector<double>& v) {
  std::printf(",\"%s\":[", name);
  for (std::size_t i = 0; i < v.size(); ++i)
    std::printf("%s%.1f", i ? "," : "", v[i]);
  std::printf("]");
}

double us_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

} // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
      std::fputs(usage_text, stdout);
      return 0;
    }
  if (auto err = parse_args(argc, argv, s); !err.empty()) {
    std::fprintf(stderr, "minivault-convergence: %s\n%s", err.c_str(), usage_text);
    return 2;
  }
  conn writer, reader;
  open_conn(writer, s.write_host, s.write_port);
  open_conn(reader, s.read_host, s.read_port);

  // Unique keys per run: pid and start time, then the sample number.
  const std::string prefix =
      "convergence:" + std::to_string(::getpid()) + ":" +
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + ":";
  std::vector<double> from_send, from_ack, ack;
  std::size_t timeouts = 0, write_errors = 0, read_errors = 0, seen_before_ack = 0, polls = 0;
  const auto timeout = std::chrono::milliseconds(s.timeout_ms);
  const auto run_start = clock_type::now();
  const auto run_end = run_start + std::chrono::duration_cast<clock_type::duration>(
                                       std::chrono::duration<double>(s.duration_s));
  std::uint8_t status = 0;
  std::string payload;
  std::size_t n = 0;
  for (; n < s.samples; ++n) {
    if (s.duration_s > 0 && clock_type::now() >= run_end) break;
    std::string key = prefix + std::to_string(n);
    std::string value = std::to_string(n) + ":";
    value.resize(std::max(s.value_bytes, value.size()), 'v');

    const auto sent = clock_type::now();
    send_frame(writer, wire::opcode::set, key, value);
    const auto deadline = sent + timeout;
    bool acked = false, write_ok = false, seen = false, get_pending = false;
    clock_type::time_point acked_at{}, seen_at{};
    auto check_ack = [&](clock_type::time_point until) {
      if (acked || !read_reply(writer, until, status, payload)) return;
      acked = true;
      acked_at = clock_type::now();
      write_ok = status == wire::status_ok;
    };
    while (!seen && clock_type::now() < deadline) {
      send_frame(reader, wire::opcode::get, key, {});
      get_pending = true;
      if (!read_reply(reader, deadline, status, payload)) break;
      get_pending = false;
      ++polls;
      const auto now = clock_type::now();
      if (status == wire::status_ok) {
        if (payload != value) die("GET " + key + " returned a different value");
        seen = true;
        seen_at = now;
      } else if (payload != "not found") {
        ++read_errors; // e.g. rate limited: keep polling until the deadline
      }
      check_ack(clock_type::time_point{}); // look without waiting
      if (acked && !write_ok) break;
    }
    // The SET's reply must be read even after a timeout, to keep the stream in step.
    check_ack(clock_type::now() + std::chrono::seconds(10));
    if (!acked) die("no reply to SET " + key + " within 10 s");
    if (get_pending) { // the deadline cut a GET short: its late reply must not be read
      reader = conn{};
      open_conn(reader, s.read_host, s.read_port);
    }
    if (!write_ok) {
      ++write_errors;
    } else if (!seen) {
      ++timeouts;
    } else {
      from_send.push_back(us_between(sent, seen_at));
      ack.push_back(us_between(sent, acked_at));
      if (seen_at <= acked_at) ++seen_before_ack;
      from_ack.push_back(seen_at <= acked_at ? 0.0 : us_between(acked_at, seen_at));
    }
    if (s.gap_us > 0) ::usleep(static_cast<useconds_t>(s.gap_us));
  }
  const double elapsed_s = us_between(run_start, clock_type::now()) / 1e6;
  const summary fs = summarize(from_send), fa = summarize(from_ack), ak = summarize(ack);
  if (s.json) {
    std::printf("{\"samples\":%zu,\"converged\":%zu,\"timeouts\":%zu,\"write_errors\":%zu,"
                "\"read_errors\":%zu,\"seen_before_ack\":%zu,\"polls\":%zu,\"seconds\":%.3f,",
                n, from_send.size(), timeouts, write_errors, read_errors, seen_before_ack, polls,
                elapsed_s);
    print_json_summary("from_send", fs);
    std::printf(",");
    print_json_summary("from_ack", fa);
    std::printf(",");
    print_json_summary("ack", ak);
    if (s.raw) {
      print_json_raw("from_send_us", from_send);
      print_json_raw("from_ack_us", from_ack);
      print_json_raw("ack_us", ack);
    }
    std::printf("}\n");
  } else {
    std::printf("%zu samples in %.1f s: %zu converged, %zu timeouts (> %ld ms), %zu write "
                "errors, %zu read errors; %zu visible before the ack; %zu GETs\n",
                n, elapsed_s, from_send.size(), timeouts, s.timeout_ms, write_errors, read_errors,
                seen_before_ack, polls);
    auto line = [](const char* what, const summary& x) {
      std::printf("  %-28s p50 %8.1f  p90 %8.1f  p99 %8.1f  max %8.1f  mean %8.1f us\n", what,
                  x.p50, x.p90, x.p99, x.max, x.mean);
    };
    line("visible, from the SET's send", fs);
    line("visible, from the SET's ack", fa);
    line("SET acknowledged", ak);
  }
  return (timeouts || write_errors) ? 1 : 0;
}
