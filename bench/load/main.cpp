// minivault-bench: closed-loop load generator for minivault's binary protocol and, with
// --redis, for Redis (RESP), so one client measures both. Prints throughput and latency
// percentiles from a histogram; --json prints one JSON object for scripts.
// Exit codes: 0 ok, 1 the run saw error replies, 2 the run could not be made.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/load/driver.hpp"

namespace {

using namespace minivault::bench;

const char* usage_text =
    "usage: minivault-bench [flags]\n"
    "  --host HOST          server address (default 127.0.0.1)\n"
    "  --port PORT          server port (default 3000)\n"
    "  --redis              speak Redis RESP instead of the minivault protocol\n"
    "  --auth KEY           authenticate every connection first\n"
    "  -c, --connections N  connections (default 50)\n"
    "  -P, --pipeline N     requests in flight per connection (default 1)\n"
    "  --threads N          client threads (default 1)\n"
    "  --keys N             key space: key:000000000000 .. (default 10000)\n"
    "  --value-size N       SET value bytes (default 100)\n"
    "  --reads F            fraction of GETs, 0..1 (default 0: only SET)\n"
    "  --zipf THETA         Zipf-skewed keys, 0 < THETA < 1 (e.g. 0.99); default 0: uniform\n"
    "  --duration S         measured seconds (default 5)\n"
    "  --warmup S           unmeasured seconds first (default 1)\n"
    "  --prefill            SET every key once before the run\n"
    "  --seed N             RNG seed (default 1)\n"
    "  --json               one JSON object instead of text\n";

bool parse_size(const std::string& s, std::size_t lo, std::size_t hi, std::size_t& out) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || s[0] == '-' || v < lo || v > hi) return false;
  out = static_cast<std::size_t>(v);
  return true;
}

bool parse_real(const std::string& s, double lo, double hi, double& out) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) return false;
  out = v;
  return true;
}

/// Parses argv into `w`; returns an error message, empty on success.
std::string parse_args(int argc, char** argv, workload& w, bool& json, bool& do_prefill) {
  std::size_t port = w.port;
  using setter = std::function<bool(const std::string&)>;
  const std::map<std::string, setter> valued = {
      {"--host", [&](const std::string& v) { return !(w.host = v).empty(); }},
      {"--port", [&](const std::string& v) { return parse_size(v, 1, 65535, port); }},
      {"--auth", [&](const std::string& v) { return !(w.auth = v).empty(); }},
      {"--connections",
       [&](const std::string& v) { return parse_size(v, 1, 100000, w.connections); }},
      {"--pipeline", [&](const std::string& v) { return parse_size(v, 1, 100000, w.pipeline); }},
      {"--threads", [&](const std::string& v) { return parse_size(v, 1, 256, w.threads); }},
      {"--keys", [&](const std::string& v) { return parse_size(v, 1, 100000000, w.keys); }},
      {"--value-size",
       [&](const std::string& v) { return parse_size(v, 0, 64u << 20, w.value_bytes); }},
      {"--reads", [&](const std::string& v) { return parse_real(v, 0, 1, w.read_fraction); }},
      {"--zipf", [&](const std::string& v) { return parse_real(v, 0, 0.999999, w.zipf_theta); }},
      {"--duration", [&](const std::string& v) { return parse_real(v, 0.1, 86400, w.duration_s); }},
      {"--warmup", [&](const std::string& v) { return parse_real(v, 0, 3600, w.warmup_s); }},
      {"--seed",
       [&](const std::string& v) {
         std::size_t s = 0;
         bool ok = parse_size(v, 0, ~std::size_t{0} >> 1, s);
         w.seed = s;
         return ok;
       }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], value;
    bool has_value = false;
    if (a == "-c") a = "--connections";
    if (a == "-P") a = "--pipeline";
    if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    if (a == "--redis") {
      w.protocol = wire_protocol::resp;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--prefill") {
      do_prefill = true;
    } else if (a == "-h" || a == "--help") {
      return "help";
    } else if (auto it = valued.find(a); it != valued.end()) {
      if (!has_value) {
        if (i + 1 >= argc) return a + ": missing value";
        value = argv[++i];
      }
      if (!it->second(value)) return a + ": bad value '" + value + "'";
    } else {
      return "unknown flag '" + a + "'";
    }
  }
  w.port = static_cast<std::uint16_t>(port);
  return {};
}

double us(std::uint64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

void print_text(const workload& w, const run_stats& s) {
  char keys[64];
  if (w.zipf_theta > 0)
    std::snprintf(keys, sizeof(keys), "%zu keys (zipf %.2f)", w.keys, w.zipf_theta);
  else
    std::snprintf(keys, sizeof(keys), "%zu keys", w.keys);
  std::printf("%s %s:%u  %zu conns x %zu in flight, %zu thread(s), %.0f%% GET, %s, "
              "%zu B values, %.1f s\n",
              w.protocol == wire_protocol::resp ? "redis" : "minivault", w.host.c_str(), w.port,
              w.connections, w.pipeline, w.threads, w.read_fraction * 100, keys, w.value_bytes,
              s.seconds);
  std::printf("  %.0f ops/s   (%llu ops, %llu errors, %llu misses)\n",
              static_cast<double>(s.ops) / s.seconds, static_cast<unsigned long long>(s.ops),
              static_cast<unsigned long long>(s.errors), static_cast<unsigned long long>(s.misses));
  std::printf("  latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
              us(s.latency.percentile(0.5)), us(s.latency.percentile(0.99)),
              us(s.latency.percentile(0.999)), us(s.latency.max()));
  if (s.errors > 0) std::printf("  first error: %s\n", s.first_error.c_str());
}

void print_json(const workload& w, const run_stats& s) {
  std::printf("{\"server\":\"%s\",\"connections\":%zu,\"pipeline\":%zu,\"threads\":%zu,"
              "\"read_fraction\":%g,\"keys\":%zu,\"value_bytes\":%zu,\"seconds\":%.3f,"
              "\"ops\":%llu,\"ops_per_sec\":%.1f,\"errors\":%llu,\"misses\":%llu,"
              "\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f}\n",
              w.protocol == wire_protocol::resp ? "redis" : "minivault", w.connections, w.pipeline,
              w.threads, w.read_fraction, w.keys, w.value_bytes, s.seconds,
              static_cast<unsigned long long>(s.ops), static_cast<double>(s.ops) / s.seconds,
              static_cast<unsigned long long>(s.errors), static_cast<unsigned long long>(s.misses),
              us(s.latency.percentile(0.5)), us(s.latency.percentile(0.99)),
              us(s.latency.percentile(0.999)), us(s.latency.max()));
}

} // namespace

int main(int argc, char** argv) {
  workload w;
  bool json = false, do_prefill = false;
  std::string err = parse_args(argc, argv, w, json, do_prefill);
  if (err == "help") {
    std::fputs(usage_text, stdout);
    return 0;
  }
  if (!err.empty()) {
    std::fprintf(stderr, "minivault-bench: %s\n\n%s", err.c_str(), usage_text);
    return 2;
  }
  if (do_prefill) {
    if (auto e = prefill(w); !e.empty()) {
      std::fprintf(stderr, "minivault-bench: %s\n", e.c_str());
      return 2;
    }
  }
  run_stats s;
  if (w.threads > w.connections) w.threads = w.connections; // what run_load uses
  if (auto e = run_load(w, s); !e.empty()) {
    std::fprintf(stderr, "minivault-bench: %s\n", e.c_str());
    return 2;
  }
  if (json)
    print_json(w, s);
  else
    print_text(w, s);
  return s.errors > 0 ? 1 : 0;
}
