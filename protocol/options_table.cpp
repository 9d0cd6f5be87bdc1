// The option table: one descriptor per setting (its name, help line, how to show its
// default, how to parse and validate it), the value parsers the descriptors use, the
// enum names, and the -h text generated from the table. One table drives the command
// line, the config file and the help text, so a setting cannot exist in one and be
// missing (or validated differently) in another.
#include <algorithm>
#include <iterator>
#include <limits>

#include "protocol/options_impl.hpp"
#include "protocol/utf8.hpp"

namespace minivault {
namespace options_detail {

namespace {

constexpr std::size_t help_column = 25; // where the meaning starts in options_help()
constexpr std::size_t workers_max = 10000;
constexpr std::size_t io_threads_max = 64;
constexpr std::size_t replication_factor_max = 64;
// The cache budget is converted to bytes by the node: keep that product in range.
constexpr std::size_t cache_mb_max = std::numeric_limits<std::size_t>::max() >> 20;
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
// Help texts below spell these limits out.
static_assert(value_bytes_max_ceiling == 536870912, "-value-max-bytes help text");
static_assert(cluster_port_offset == 1000, "-cluster-port help text");

std::string dquoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string range_text(std::uint64_t lo, std::uint64_t hi) {
  if (hi >= (std::uint64_t{1} << 40)) // "no practical limit" reads better than 2^64-1
    return "an integer >= " + std::to_string(lo);
  return "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
}

} // namespace

// Accepts only a complete unsigned decimal number: no sign, no spaces, no suffix, no
// overflow. Returns "" or the reason.
std::string parse_uint(std::string_view text, std::uint64_t lo, std::uint64_t hi,
                       std::uint64_t& out) {
  auto refuse = [&] { return "expected " + range_text(lo, hi) + ", got " + quoted(text); };
  if (text.empty()) return refuse();
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return refuse();
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (u64_max - digit) / 10) return refuse();
    v = v * 10 + digit;
  }
  if (v < lo || v > hi) return refuse();
  out = v;
  return {};
}

namespace {

template <class T>
std::string set_uint(T& field, std::string_view text, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t v = 0;
  std::uint64_t type_max = std::numeric_limits<T>::max();
  auto err = parse_uint(text, lo, std::min(hi, type_max), v);
  if (err.empty()) field = static_cast<T>(v);
  return err;
}

std::string set_text(std::string& field, std::string_view text, bool required) {
  if (required && text.empty()) return "must not be empty";
  field = std::string(text);
  return {};
}

// Text that is shown in the health JSON must be valid UTF-8.
std::string set_label(std::string& field, std::string_view text, bool required) {
  if (!valid_utf8(text)) return "must be valid UTF-8 (it is shown in the health JSON)";
  return set_text(field, text, required);
}

// Maps `text` to one of `names` (index into it); the refusal lists the accepted words.
template <std::size_t N>
std::string set_choice(std::size_t& index, std::string_view text, const char* const (&names)[N]) {
  std::string allowed;
  for (std::size_t i = 0; i < N; ++i) {
    if (text == names[i]) {
      index = i;
      return {};
    }
    allowed += (i == 0 ? "" : "|") + std::string(names[i]);
  }
  return "expected " + allowed + ", got " + quoted(text);
}

constexpr const char* auth_mode_names[] = {"none", "writes", "all"};
constexpr const char* fsync_names[] = {"none", "interval", "always"};
constexpr const char* log_level_names[] = {"error", "warning", "info", "debug"};

std::string set_auth_mode(node_options& o, std::string_view v) {
  std::size_t i = 0;
  auto err = set_choice(i, v, auth_mode_names);
  if (err.empty()) o.auth = static_cast<auth_mode>(i);
  return err;
}

std::string set_fsync(node_options& o, std::string_view v) {
  std::size_t i = 0;
  auto err = set_choice(i, v, fsync_names);
  if (err.empty()) o.fsync = static_cast<fsync_policy>(i);
  return err;
}

std::string set_level(consistency& field, std::string_view text) {
  if (auto c = parse_consistency(text)) {
    field = *c;
    return {};
  }
  return "expected " + consistency_choices() + ", got " + quoted(text);
}

constexpr const char* yes_no_names[] = {"no", "yes"};

std::string set_protected(node_options& o, std::string_view v) {
  std::size_t i = 0;
  auto err = set_choice(i, v, yes_no_names);
  if (err.empty()) o.protected_mode = i == 1;
  return err;
}

std::string set_log_level(node_options& o, std::string_view v) {
  std::size_t i = 0;
  auto err = set_choice(i, v, log_level_names);
  if (err.empty()) o.log_level = log_level_names[i];
  return err;
}

std::string set_peers(node_options& o, std::string_view v) {
  auto peers = parse_peer_list(std::string(v));
  if (!peers) return peers.error().reason();
  o.peers = std::move(peers).value();
  return {};
}

std::string show_peers(const node_options& o) {
  std::string s;
  for (const auto& p : o.peers)
    s += (s.empty() ? "" : ",") + p.host + ":" + std::to_string(p.port) +
         (p.region.empty() ? "" : "@" + p.region);
  return dquoted(s);
}

// The table. Order is the order of the help text.
using opts = node_options;
using sv = std::string_view;

const option_desc option_table[] = {
    {"port", "N", "binary protocol TCP port, 1..65535", [](const opts& o) { return num(o.port); },
     [](opts& o, sv v) { return set_uint(o.port, v, 1, 65535); }},
    {"http", "N", "HTTP/JSON port, 0 = disabled", [](const opts& o) { return num(o.http_port); },
     [](opts& o, sv v) { return set_uint(o.http_port, v, 0, 65535); }},
    {"http-timeout-ms", "MS",
     "an HTTP request must arrive whole within this long; idle keep-alive closes after it, >= 100",
     [](const opts& o) { return num(o.http_timeout_ms); },
     [](opts& o, sv v) { return set_uint(o.http_timeout_ms, v, 100, u64_max); }},
    {"public-url", "HOST:PORT", "this node's host:port as peers reach it; needed with peers",
     [](const opts& o) { return dquoted(o.public_url); },
     [](opts& o, sv v) { return set_text(o.public_url, v, false); }},
    {"data", "DIR", "data directory (created if missing)",
     [](const opts& o) { return dquoted(o.data_dir); },
     [](opts& o, sv v) { return set_text(o.data_dir, v, true); }},
    {"auth", "KEY", "authentication key (clients and peers)",
     [](const opts& o) { return dquoted(o.auth_key); },
     [](opts& o, sv v) { return set_text(o.auth_key, v, false); }},
    {"authmode", "MODE", "none, writes (SET/DELETE need auth), all (all but HEALTH)",
     [](const opts& o) { return std::string(to_string(o.auth)); }, set_auth_mode},
    {"ratelimit", "N", "client ops/sec throttle, 0 = unlimited",
     [](const opts& o) { return num(o.rate_limit_ops); },
     [](opts& o, sv v) { return set_uint(o.rate_limit_ops, v, 0, u64_max); }},
    {"ratelimit-per-ip", "N", "client ops/sec per client IP address, 0 = unlimited",
     [](const opts& o) { return num(o.rate_limit_per_ip_ops); },
     [](opts& o, sv v) { return set_uint(o.rate_limit_per_ip_ops, v, 0, u64_max); }},
    {"cache", "MB", "in-memory cache budget in MB, >= 1",
     [](const opts& o) { return num(o.cache_mb); },
     [](opts& o, sv v) { return set_uint(o.cache_mb, v, 1, cache_mb_max); }},
    {"workers", "N", "replication concurrency, 1..10000",
     [](const opts& o) { return num(o.workers); },
     [](opts& o, sv v) { return set_uint(o.workers, v, 1, workers_max); }},
    {"config", "FILE", "INI config file; command-line flags override it",
     [](const opts& o) { return o.config_file.empty() ? "none" : dquoted(o.config_file); },
     [](opts& o, sv v) { return set_text(o.config_file, v, true); }},
    {"bind", "ADDR", "address the listening sockets bind to",
     [](const opts& o) { return dquoted(o.bind_address); },
     [](opts& o, sv v) {
       o.bind_explicit = true; // turns protected mode off, as Redis's `bind` does
       return set_text(o.bind_address, v, true);
     }},
    {"protected-mode", "yes|no", "with no -auth and no -bind: serve loopback clients only",
     [](const opts& o) { return std::string(o.protected_mode ? "yes" : "no"); }, set_protected},
    {"region", "NAME", "region label, shown in health and to peers",
     [](const opts& o) { return dquoted(o.region); },
     [](opts& o, sv v) { return set_label(o.region, v, true); }},
    {"node-id", "ID", "node identity; \"\" = generated once, kept in -data",
     [](const opts& o) { return dquoted(o.node_name); },
     [](opts& o, sv v) { return set_label(o.node_name, v, false); }},
    {"fsync", "POLICY", "none, interval or always (fsync before every ack)",
     [](const opts& o) { return std::string(to_string(o.fsync)); }, set_fsync},
    {"fsync-interval-ms", "MS", "fsync period with -fsync interval, >= 1",
     [](const opts& o) { return num(o.fsync_interval_ms); },
     [](opts& o, sv v) { return set_uint(o.fsync_interval_ms, v, 1, u64_max); }},
    {"value-max-bytes", "N", "largest value accepted, 1..536870912",
     [](const opts& o) { return num(o.value_bytes_max); },
     [](opts& o, sv v) { return set_uint(o.value_bytes_max, v, 1, value_bytes_max_ceiling); }},
    {"compress-min-bytes", "N", "values at least this large are compressed at rest",
     [](const opts& o) { return num(o.compress_bytes_min); },
     [](opts& o, sv v) { return set_uint(o.compress_bytes_min, v, 0, u64_max); }},
    {"io-threads", "N", "network I/O threads, 0..64, 0 = one per core but one (at least 1)",
     [](const opts& o) { return num(o.io_threads); },
     [](opts& o, sv v) { return set_uint(o.io_threads, v, 0, io_threads_max); }},
    {"max-connections", "N", "client connections served at once, >= 1",
     [](const opts& o) { return num(o.max_connections); },
     [](opts& o, sv v) { return set_uint(o.max_connections, v, 1, u64_max); }},
    {"replication-factor", "N", "replicas of every key, 1..64",
     [](const opts& o) { return num(o.replication_factor); },
     [](opts& o, sv v) { return set_uint(o.replication_factor, v, 1, replication_factor_max); }},
    {"write-quorum", "N", "a region's write quorum, 1..replication-factor",
     [](const opts& o) { return num(o.write_quorum); },
     [](opts& o, sv v) { return set_uint(o.write_quorum, v, 1, replication_factor_max); }},
    {"write-consistency", "LEVEL", "default level of writes (protocol/README.md §4)",
     [](const opts& o) { return std::string(to_string(o.write_consistency)); },
     [](opts& o, sv v) { return set_level(o.write_consistency, v); }},
    {"read-consistency", "LEVEL", "default level of quorum reads (QGET, ?consistency)",
     [](const opts& o) { return std::string(to_string(o.read_consistency)); },
     [](opts& o, sv v) { return set_level(o.read_consistency, v); }},
    {"geo-backlog-max", "N",
     "writes kept for other regions until shipped, >= 1; past it their partitions are marked "
     "for cross-region anti-entropy",
     [](const opts& o) { return num(o.geo_backlog_max); },
     [](opts& o, sv v) { return set_uint(o.geo_backlog_max, v, 1, u64_max); }},
    {"cluster-port", "N", "peer-to-peer TCP port, 0 = client port + 1000",
     [](const opts& o) { return num(o.cluster_port); },
     [](opts& o, sv v) { return set_uint(o.cluster_port, v, 0, 65535); }},
    {"request-timeout-ms", "MS", "how long a request waits for replicas, >= 1",
     [](const opts& o) { return num(o.request_timeout_ms); },
     [](opts& o, sv v) { return set_uint(o.request_timeout_ms, v, 1, u64_max); }},
    {"stall-timeout-ms", "MS", "close a client stalled mid-frame after this long, >= 1",
     [](const opts& o) { return num(o.stall_timeout_ms); },
     [](opts& o, sv v) { return set_uint(o.stall_timeout_ms, v, 1, u64_max); }},
    {"log-level", "LEVEL", "error, warning, info or debug",
     [](const opts& o) { return o.log_level; }, set_log_level},
    {"tls-cert", "FILE", "PEM certificate for peer TLS (needs -tls-key)",
     [](const opts& o) { return dquoted(o.tls_cert); },
     [](opts& o, sv v) { return set_text(o.tls_cert, v, false); }},
    {"tls-key", "FILE", "PEM private key for -tls-cert",
     [](const opts& o) { return dquoted(o.tls_key); },
     [](opts& o, sv v) { return set_text(o.tls_key, v, false); }},
    {"tls-ca", "FILE", "PEM CA bundle that peer certificates must chain to",
     [](const opts& o) { return dquoted(o.tls_ca); },
     [](opts& o, sv v) { return set_text(o.tls_ca, v, false); }},
    {"cluster-nodes", "LIST",
     "other nodes as host:port[@region],... (client ports; no region: this node's)", show_peers,
     set_peers},
};

} // namespace

option_list all_options() noexcept {
  return {std::begin(option_table), std::end(option_table)};
}

const option_desc* find_option(std::string_view name) noexcept {
  for (const auto& d : option_table)
    if (name == d.name) return &d;
  return nullptr;
}

} // namespace options_detail

using namespace options_detail;

const char* to_string(fsync_policy p) noexcept {
  const auto i = static_cast<std::size_t>(p);
  return i < std::size(fsync_names) ? fsync_names[i] : "?";
}

const char* to_string(auth_mode m) noexcept {
  const auto i = static_cast<std::size_t>(m);
  return i < std::size(auth_mode_names) ? auth_mode_names[i] : "?";
}

std::string options_help() {
  auto row = [](std::string left, const std::string& meaning) {
    left.resize(std::max(left.size() + 1, help_column), ' ');
    return left + meaning + "\n";
  };
  const node_options defaults;
  std::string s = "Usage: minivault [options]\n"
                  "Options are written -name value, -name=value, --name value or --name=value."
                  "\n\n";
  s += row("  -h, -help", "print this help and exit");
  for (const auto& d : option_table)
    s += row("  -" + std::string(d.name) + " " + d.arg,
             std::string(d.help) + " (default " + d.show(defaults) + ")");
  s += "\nEnvironment:\n"
       "  CLUSTER_NODES=\"host:port,...\"  the other nodes' client addresses; when set and\n"
       "                                 non-empty it replaces -cluster-nodes (flag or file).\n"
       "\nConfig file (-config FILE): INI lines 'key = value', the key being the option name\n"
       "without dashes (port = 3001, cluster-nodes = localhost:3002,localhost:3003).\n"
       "'#' and ';' start comments, [section] headers are ignored, values may be \"quoted\".\n"
       "Unknown keys, bad values and duplicate keys are refused with file:line.\n"
       "Precedence: defaults < config file < command-line options < CLUSTER_NODES (peers).\n";
  return s;
}

} // namespace minivault
